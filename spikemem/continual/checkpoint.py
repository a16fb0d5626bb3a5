"""Per-task checkpoints of a BPTT continual-learning run: torch state files (see :mod:`.task_records`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from spikemem.continual.methods.base import Method
from spikemem.continual.model import SpikingMLP
from spikemem.continual.task_records import TaskRecords
from spikemem.experiments.runner import Checkpoint


class TaskCheckpoints(TaskRecords):
    """The model and the method's state after each task, in ``state-i.pt``."""

    def __init__(self, directory: Path, checkpoint: Checkpoint) -> None:
        super().__init__(directory, checkpoint, "state", "pt")

    def save(self, index: int, model: SpikingMLP, method: Method, record: dict[str, Any]) -> None:
        """Persist the state after task ``index`` and its record (in that order)."""
        state = {"task": index, "model": model.state_dict(), "method": method.state_dict()}
        self.save_state(index, lambda handle: torch.save(state, handle), record)

    def restore(self, model: SpikingMLP, method: Method) -> int:
        """Load the state after the last finished task into ``model`` and ``method``; return the next task."""
        path = self.last_state()
        if path is None:
            return 0
        state = torch.load(path, map_location=next(model.parameters()).device, weights_only=True)
        model.load_state_dict(state["model"])
        method.load_state_dict(state["method"])
        return self.finished()


__all__ = ["TaskCheckpoints"]
