"""Per-task state files and records of a continual-learning run (resume after the last finished task).

After task ``i`` the state goes to ``DIR/<prefix>-i.<suffix>`` (written
atomically), then the task's record (accuracy row, timings, diagnostics)
becomes unit ``task-i`` of the run's checkpoint (``checkpoint.json``, any
:class:`UnitStore`: the runner's ``Checkpoint`` is one), and only then is the
state file of task ``i - 1`` removed. A run killed at any point therefore
finds, for its last recorded task, the state file it needs. The learner
chooses the file format (torch, numpy): :mod:`~spikemem.continual.task_loop`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

from spikemem.io import atomic_write


class UnitStore(Protocol):
    """Finished units of work of a run, persisted after each ``put`` (the runner's ``Checkpoint``)."""

    def __contains__(self, key: str) -> bool: ...

    def get(self, key: str) -> Any:
        """The JSON data stored under ``key``."""
        ...

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON data) under ``key`` and persist it."""
        ...


class TaskRecords:
    """State files and records, one per finished task (module docstring).

    Parameters
    ----------
    directory
        The run directory.
    checkpoint
        The run's checkpoint.
    prefix, suffix
        State file names: ``<prefix>-<task>.<suffix>``.
    """

    def __init__(self, directory: Path, checkpoint: UnitStore, prefix: str, suffix: str) -> None:
        self.directory = Path(directory)
        self.checkpoint = checkpoint
        self.prefix, self.suffix = prefix, suffix

    def state_path(self, index: int) -> Path:
        """File holding the state after task ``index``."""
        return self.directory / f"{self.prefix}-{index}.{self.suffix}"

    def finished(self) -> int:
        """Number of tasks recorded (tasks ``0 .. finished-1``)."""
        count = 0
        while f"task-{count}" in self.checkpoint:
            count += 1
        return count

    def records(self) -> list[dict[str, Any]]:
        """The record of every finished task, in order."""
        return [self.checkpoint.get(f"task-{i}") for i in range(self.finished())]

    def save_state(self, index: int, write: Callable[[IO[bytes]], None], record: dict[str, Any]) -> None:
        """Write the state after task ``index`` with ``write``, then its record, then drop the previous state."""
        atomic_write(self.state_path(index), write)
        self.checkpoint.put(f"task-{index}", record)
        if index > 0:
            self.state_path(index - 1).unlink(missing_ok=True)

    def last_state(self) -> Path | None:
        """The state file of the last finished task (None before the first)."""
        done = self.finished()
        if done == 0:
            return None
        path = self.state_path(done - 1)
        if not path.exists():
            raise FileNotFoundError(f"{path}: the checkpoint records task {done - 1} but its state file is missing")
        return path


__all__ = ["TaskRecords", "UnitStore"]
