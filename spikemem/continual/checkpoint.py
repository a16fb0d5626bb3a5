"""Per-task checkpoints of a continual-learning run: resume after the last finished task.

After task ``i``: the model and the method's state go to ``DIR/state-i.pt``
(torch file, written atomically), then the task's record (accuracy row,
timings, diagnostics) becomes unit ``task-i`` of the run's
:class:`~spikemem.experiments.runner.Checkpoint` (``checkpoint.json``), and
only then is ``state-(i-1).pt`` removed. A run killed at any point therefore
finds, for its last recorded task, the state file it needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from spikemem.continual.methods.base import Method
from spikemem.continual.model import SpikingMLP
from spikemem.experiments.runner import Checkpoint
from spikemem.io import atomic_write


class TaskCheckpoints:
    """Saves and restores the state after each task (module docstring)."""

    def __init__(self, directory: Path, checkpoint: Checkpoint) -> None:
        self.directory = Path(directory)
        self.checkpoint = checkpoint

    def state_path(self, index: int) -> Path:
        """File holding the model and method state after task ``index``."""
        return self.directory / f"state-{index}.pt"

    def finished(self) -> int:
        """Number of tasks recorded (tasks ``0 .. finished-1``)."""
        count = 0
        while f"task-{count}" in self.checkpoint:
            count += 1
        return count

    def records(self) -> list[dict[str, Any]]:
        """The record of every finished task, in order."""
        return [self.checkpoint.get(f"task-{i}") for i in range(self.finished())]

    def save(self, index: int, model: SpikingMLP, method: Method, record: dict[str, Any]) -> None:
        """Persist the state after task ``index`` and its record (in that order)."""
        state = {"task": index, "model": model.state_dict(), "method": method.state_dict()}
        atomic_write(self.state_path(index), lambda handle: torch.save(state, handle))
        self.checkpoint.put(f"task-{index}", record)
        if index > 0:
            self.state_path(index - 1).unlink(missing_ok=True)

    def restore(self, model: SpikingMLP, method: Method) -> int:
        """Load the state after the last finished task into ``model`` and ``method``; return the next task."""
        done = self.finished()
        if done == 0:
            return 0
        path = self.state_path(done - 1)
        if not path.exists():
            raise FileNotFoundError(f"{path}: the checkpoint records task {done - 1} but its state file is missing")
        state = torch.load(path, map_location=next(model.parameters()).device, weights_only=True)
        model.load_state_dict(state["model"])
        method.load_state_dict(state["method"])
        return done


__all__ = ["TaskCheckpoints"]
