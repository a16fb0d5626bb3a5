"""The hooks through which a continual-learning method changes the shared training loop.

A method sees the model and the trainer only through these calls (the loop's
:class:`~spikemem.continual.training.Hooks`), in this
order per task (see :mod:`spikemem.continual.training`)::

    begin_task -> (batches -> [bases, records] -> forward -> penalty -> SGD step
                   -> after_step)* -> end_task

Every hook has a do-nothing default, so fine-tuning is the base class itself.
State that must survive a restart goes through ``state_dict`` /
``load_state_dict`` (tensors and plain data, saved with the model after
every task).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from spikemem.continual.config import require
from spikemem.continual.streams import Task, TaskStream
from spikemem.continual.training import Batch, Trainer

if TYPE_CHECKING:
    from spikemem.continual.model import Forward, SpikingMLP


class Method:
    """Plain fine-tuning (SGD on each task in turn); the base of every method.

    Parameters
    ----------
    model
        The network being trained.
    stream
        The task stream (methods that revisit data, like multitask training, read it).
    """

    name = "finetune"

    def __init__(self, model: SpikingMLP, stream: TaskStream) -> None:
        self.model = model
        self.stream = stream

    def begin_task(self, index: int, task: Task, trainer: Trainer, generator: torch.Generator) -> None:
        """Called before the first epoch of task ``index``."""

    def batches(
        self, index: int, task: Task, epoch: int, trainer: Trainer, generator: torch.Generator
    ) -> Iterator[Batch]:
        """Training batches of one epoch: the task's own training set, shuffled."""
        data = trainer.data(index, task)
        return trainer.batches(data.x_train, data.y_train, data.head, trainer.config.batch_size, generator)

    def batch_count(self, index: int, task: Task, trainer: Trainer) -> int:
        """Number of batches :meth:`batches` yields per epoch (for progress bars)."""
        return math.ceil(len(task.y_train) / trainer.config.batch_size)

    def bases(self) -> list[torch.Tensor | None] | None:
        """Per protected layer, the basis whose row space weight updates must avoid (None: no projection)."""
        return None

    def records(self, epoch: int) -> bool:
        """Whether the forward pass of this epoch must record layer inputs for :meth:`after_step`."""
        return False

    def penalty(self) -> torch.Tensor | None:
        """A regularisation term added to the loss (None: none)."""
        return None

    def after_step(self, forward: Forward, epoch: int) -> None:
        """Called after each optimiser step of an epoch where :meth:`records` is True."""

    def end_task(self, index: int, task: Task, trainer: Trainer, generator: torch.Generator) -> dict[str, Any] | None:
        """Called after the last epoch of task ``index``; may return diagnostics (JSON data)."""
        return None

    def state_dict(self) -> dict[str, Any]:
        """What must be restored to continue after a restart."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""


def per_layer(values: tuple, count: int, field: str) -> tuple:
    """``values`` for ``count`` protected layers: one value for all, or exactly one per layer."""
    require(
        len(values) in (1, count),
        field,
        f"has {len(values)} entries; give 1 (every layer) or {count} (one per protected layer: the hidden layers"
        " and the classifier when it is shared)",
    )
    return tuple(values) * count if len(values) == 1 else tuple(values)


__all__ = ["Method", "per_layer"]
