r"""The training loop shared by every continual-learning method.

Per task: ``method.begin_task``; ``epochs`` times over the method's batches
(by default the task's own training set, shuffled): encode, forward (through
the method's projection bases, recording layer inputs when the method asks),
cross-entropy plus the method's penalty, backward, SGD step, then
``method.after_step`` (e.g. HLOP's Hebbian update); finally
``method.end_task``. Methods change training only through these hooks.

The optimiser is plain SGD (optionally with momentum): a sum of projected
gradients stays orthogonal to the protected subspaces, which an adaptive
optimiser (Adam's per-weight scaling) would break.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
import torch
import torch.nn.functional as F

from spikemem.continual.config import require
from spikemem.continual.encoding import Encoder
from spikemem.continual.model import Forward, SpikingMLP
from spikemem.continual.streams import PermutedRows, Pixels, Task

T = TypeVar("T")
Progress = Callable[[Iterable[T], str, int], Iterable[T]]


@dataclass(frozen=True)
class TrainingConfig:
    """The ``[training]`` table.

    Attributes
    ----------
    epochs
        Epochs per task.
    batch_size
        Minibatch size.
    lr, momentum
        SGD learning rate and momentum (a new optimiser per task).
    eval_batch_size
        Batch size of evaluation passes.
    device
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
    threads
        torch CPU threads for this run (0: leave torch's default).
    """

    epochs: int = 5
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.0
    eval_batch_size: int = 500
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = 0

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        require(self.epochs >= 1, f"{table}.epochs", "must be >= 1")
        require(self.batch_size >= 1 and self.eval_batch_size >= 1, f"{table}.batch_size", "must be >= 1")
        require(self.lr > 0, f"{table}.lr", "must be > 0")
        require(0.0 <= self.momentum < 1.0, f"{table}.momentum", "must be in [0, 1)")
        require(self.threads >= 0, f"{table}.threads", "must be >= 0 (0: torch's default)")


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def generator_from(rng: np.random.Generator, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator on ``device`` seeded from a numpy generator (so from the run's seed)."""
    generator = torch.Generator(device=device)
    generator.manual_seed(int(rng.integers(0, 2**62)))
    return generator


@dataclass
class Batch:
    """Pixels ``(B, n)``, labels ``(B,)`` and the head of each sample (``(B,)`` or one int)."""

    pixels: torch.Tensor
    labels: torch.Tensor
    heads: torch.Tensor | int


DevicePixels = torch.Tensor | PermutedRows[torch.Tensor]
"""Inputs on the device: a tensor, or a permuted view of a tensor shared by the tasks of a stream."""


@dataclass
class TaskData:
    """One task's arrays on the device (pixels as the task holds them: a permuted stream's are views)."""

    x_train: DevicePixels
    y_train: torch.Tensor
    x_test: DevicePixels
    y_test: torch.Tensor
    head: int


class Hooks(Protocol):
    """What the loop calls on a continual-learning method, in the order of the module docstring.

    :class:`spikemem.continual.methods.base.Method` implements every hook (doing
    nothing by default); the methods import this module, not the other way round.
    """

    def begin_task(self, index: int, task: Task, trainer: Trainer, generator: torch.Generator) -> None:
        """Before the first epoch of task ``index``."""
        ...

    def batches(
        self, index: int, task: Task, epoch: int, trainer: Trainer, generator: torch.Generator
    ) -> Iterator[Batch]:
        """The training batches of one epoch."""
        ...

    def batch_count(self, index: int, task: Task, trainer: Trainer) -> int:
        """Number of batches :meth:`batches` yields per epoch."""
        ...

    def bases(self) -> list[torch.Tensor | None] | None:
        """Per protected layer, the basis weight updates must avoid (None: no projection)."""
        ...

    def records(self, epoch: int) -> bool:
        """Whether the forward pass must record layer inputs for :meth:`after_step`."""
        ...

    def penalty(self) -> torch.Tensor | None:
        """A term added to the loss (None: none)."""
        ...

    def after_step(self, forward: Forward, epoch: int) -> None:
        """After each optimiser step of an epoch where :meth:`records` is True."""
        ...

    def end_task(self, index: int, task: Task, trainer: Trainer, generator: torch.Generator) -> dict[str, Any] | None:
        """After the last epoch of task ``index``; may return diagnostics (JSON data)."""
        ...


def _no_progress(iterable: Iterable[T], desc: str, total: int | None = None) -> Iterable[T]:
    return iterable


class Trainer:
    """Runs the model on a task stream: batches, encoding, training epochs, predictions.

    Parameters
    ----------
    model
        The spiking MLP.
    encoder
        Input encoding.
    config
        The ``[training]`` table.
    device
        Where model and data live.
    progress
        ``progress(iterable, desc, total)`` wrapper (e.g. a tqdm bar).
    """

    def __init__(
        self,
        model: SpikingMLP,
        encoder: Encoder,
        config: TrainingConfig,
        device: torch.device,
        progress: Progress | None = None,
    ) -> None:
        self.model = model.to(device)
        self.encoder = encoder
        self.config = config
        self.device = device
        self.progress = progress or _no_progress
        self._data: dict[int, TaskData] = {}
        self._shared: dict[int, tuple[np.ndarray, torch.Tensor]] = {}

    def data(self, index: int, task: Task) -> TaskData:
        """The task's arrays as tensors on the device (cached).

        A permuted stream's pixels stay views: the data set they share goes to
        the device once, and each batch is permuted when it is read.
        """
        if index not in self._data:
            train, test = self._pixels(task.train_pixels), self._pixels(task.test_pixels)
            self._data[index] = TaskData(train, self._put(task.y_train), test, self._put(task.y_test), task.head)
        return self._data[index]

    def _put(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(array).to(self.device)

    def _put_shared(self, array: np.ndarray) -> torch.Tensor:
        if id(array) not in self._shared:  # the array is kept with its tensor, so its id stays unique
            self._shared[id(array)] = (array, self._put(array))
        return self._shared[id(array)][1]

    def _pixels(self, pixels: Pixels) -> DevicePixels:
        return self._put(pixels) if isinstance(pixels, np.ndarray) else pixels.convert(self._put_shared)

    def batches(
        self,
        x: DevicePixels,
        y: torch.Tensor,
        heads: torch.Tensor | int,
        batch_size: int,
        generator: torch.Generator | None,
    ) -> Iterator[Batch]:
        """Minibatches in random order (``generator``) or in order (None)."""
        n = x.shape[0]
        order = torch.randperm(n, generator=generator).to(self.device) if generator is not None else None
        for start in range(0, n, batch_size):
            index = order[start : start + batch_size] if order is not None else slice(start, start + batch_size)
            sample_heads = heads if isinstance(heads, int) else heads[index]
            yield Batch(x[index], y[index], sample_heads)

    def forward(
        self, batch: Batch, generator: torch.Generator | None, bases: list | None = None, record: bool = False
    ) -> Forward:
        """Encode and run one batch."""
        return self.model(self.encoder(batch.pixels, generator), batch.heads, bases, record)

    def train_task(self, method: Hooks, index: int, task: Task, generator: torch.Generator) -> dict[str, Any]:
        """Train on task ``index`` with ``method``; returns timing and loss statistics."""
        model, config = self.model, self.config
        model.train()
        method.begin_task(index, task, self, generator)
        optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
        samples, losses, start = 0, [], time.perf_counter()
        for epoch in self.progress(range(config.epochs), f"task {index} epochs", config.epochs):
            total, correct, count = 0.0, 0, 0
            batches = method.batches(index, task, epoch, self, generator)
            for batch in self.progress(batches, f"task {index} epoch {epoch}", method.batch_count(index, task, self)):
                record = method.records(epoch)
                out = self.forward(batch, generator, method.bases(), record)
                loss = F.cross_entropy(out.logits, batch.labels)
                penalty = method.penalty()
                optimizer.zero_grad(set_to_none=True)
                (loss if penalty is None else loss + penalty).backward()
                optimizer.step()
                if record:
                    method.after_step(out, epoch)
                size, value = batch.labels.shape[0], float(loss.detach())
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"training diverged (loss {value}) in task {index}, epoch {epoch}: lower training.lr"
                    )
                total += value * size
                correct += int((out.logits.argmax(1) == batch.labels).sum())
                count += size
            samples += count
            losses.append({"loss": total / max(count, 1), "train_accuracy": correct / max(count, 1)})
        train_seconds = time.perf_counter() - start
        diagnostics = method.end_task(index, task, self, generator) or {}
        return {
            "train_seconds": train_seconds,
            "end_task_seconds": time.perf_counter() - start - train_seconds,
            "samples": samples,
            "samples_per_s": samples / train_seconds if train_seconds > 0 else float("nan"),
            "epochs": losses,
            "method": diagnostics,
        }

    @torch.no_grad()
    def predict(self, index: int, task: Task, generator: torch.Generator | None = None) -> np.ndarray:
        """Predicted labels on the task's test set (argmax over its head's classes)."""
        self.model.eval()
        data = self.data(index, task)
        predictions = []
        for batch in self.batches(data.x_test, data.y_test, data.head, self.config.eval_batch_size, None):
            logits = self.forward(batch, generator).logits[:, : task.classes]
            predictions.append(logits.argmax(1).cpu())
        return torch.cat(predictions).numpy()


__all__ = [
    "Batch",
    "DevicePixels",
    "Hooks",
    "TaskData",
    "Trainer",
    "TrainingConfig",
    "generator_from",
    "resolve_device",
]
