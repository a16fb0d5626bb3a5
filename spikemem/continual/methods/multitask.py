"""Multitask joint training, the upper bound: at task ``i`` train on the union of tasks ``0..i``.

Each stage continues from the previous model and runs the configured number
of epochs over all training data seen so far (shuffled together, each sample
with its own head), so row ``i`` of the accuracy matrix is a model trained
jointly on the first ``i + 1`` tasks; the last row is the usual multitask
upper bound. Its cost grows with the task index (``T (T + 1) / 2`` task-epochs
in all).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch

from spikemem.continual.methods.base import Method
from spikemem.continual.streams import Task
from spikemem.continual.training import Batch, Trainer


class Multitask(Method):
    """Joint training on every task seen so far (module docstring)."""

    name = "multitask"

    def batches(
        self, index: int, task: Task, epoch: int, trainer: Trainer, generator: torch.Generator
    ) -> Iterator[Batch]:
        """Shuffled batches of the union of tasks ``0..index``."""
        parts = [trainer.data(i, t) for i, t in enumerate(self.stream.tasks[: index + 1])]
        x = torch.cat([p.x_train[:] for p in parts])  # [:]: a permuted view's rows
        y = torch.cat([p.y_train for p in parts])
        heads = torch.cat([torch.full_like(p.y_train, p.head) for p in parts])
        return trainer.batches(x, y, heads, trainer.config.batch_size, generator)

    def batch_count(self, index: int, task: Task, trainer: Trainer) -> int:
        """Batches of the union."""
        samples = sum(len(t.y_train) for t in self.stream.tasks[: index + 1])
        return math.ceil(samples / trainer.config.batch_size)


__all__ = ["Multitask"]
