"""Experience replay (Chaudhry et al., 2019): a small buffer of past samples mixed into every batch.

After task ``i``, ``per_task`` of its training samples (chosen at random) join
the buffer. While training later tasks, every batch of the current task is
extended by ``batch`` samples drawn at random from the buffer; each replayed
sample keeps its own head (split streams).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from spikemem.continual.config import require
from spikemem.continual.methods.base import Method
from spikemem.continual.streams import Task, TaskStream
from spikemem.continual.training import Batch, Trainer

if TYPE_CHECKING:
    from spikemem.continual.model import SpikingMLP


@dataclass(frozen=True)
class ReplayConfig:
    """The ``[replay]`` table: ``per_task`` samples kept per task, ``batch`` replayed per training batch."""

    per_task: int = 100
    batch: int = 32

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        require(self.per_task >= 1, f"{table}.per_task", "must be >= 1")
        require(self.batch >= 1, f"{table}.batch", "must be >= 1")


def with_heads(batch: Batch) -> torch.Tensor:
    """The batch's heads as one entry per sample."""
    if isinstance(batch.heads, int):
        return torch.full_like(batch.labels, batch.heads)
    return batch.heads


class Replay(Method):
    """Fine-tuning with a replay buffer (module docstring)."""

    name = "replay"

    def __init__(self, model: SpikingMLP, stream: TaskStream, config: ReplayConfig) -> None:
        super().__init__(model, stream)
        self.config = config
        self.x: torch.Tensor | None = None
        self.y: torch.Tensor | None = None
        self.heads: torch.Tensor | None = None

    def batches(
        self, index: int, task: Task, epoch: int, trainer: Trainer, generator: torch.Generator
    ) -> Iterator[Batch]:
        """The task's batches, each extended by ``batch`` buffered samples."""
        for batch in super().batches(index, task, epoch, trainer, generator):
            if self.x is None or self.y is None or self.heads is None:
                yield batch
                continue
            pick = torch.randint(0, self.x.shape[0], (self.config.batch,), generator=generator).to(trainer.device)
            yield Batch(
                torch.cat([batch.pixels, self.x[pick]]),
                torch.cat([batch.labels, self.y[pick]]),
                torch.cat([with_heads(batch), self.heads[pick]]),
            )

    def end_task(self, index: int, task: Task, trainer: Trainer, generator: torch.Generator) -> dict[str, Any]:
        """Store ``per_task`` random samples of this task."""
        data = trainer.data(index, task)
        pick = torch.randperm(data.x_train.shape[0], generator=generator)[: self.config.per_task].to(trainer.device)
        x, y = data.x_train[pick], data.y_train[pick]
        heads = torch.full_like(y, data.head)
        if self.x is None or self.y is None or self.heads is None:
            self.x, self.y, self.heads = x, y, heads
        else:
            self.x, self.y, self.heads = torch.cat([self.x, x]), torch.cat([self.y, y]), torch.cat([self.heads, heads])
        return {"buffer": int(self.x.shape[0])}

    def state_dict(self) -> dict[str, Any]:
        """The buffer."""
        return {"x": self.x, "y": self.y, "heads": self.heads}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        device = next(self.model.parameters()).device
        self.x, self.y, self.heads = (None if state[k] is None else state[k].to(device) for k in ("x", "y", "heads"))


__all__ = ["Replay", "ReplayConfig"]
