"""One writer per run directory, and no user folder written over.

A run directory (``--out``) is claimed before anything is written into it:

1. ``--out`` must be a directory or not exist yet (a file, or a folder that
   cannot be written, is refused with one line naming it);
2. an existing, non-empty folder must already be a spikemem run directory
   (it holds the marker file :data:`MARKER`, or the ``checkpoint.json`` /
   ``result.json`` an earlier spikemem run wrote); anything else is the
   user's and is refused unless ``force`` (``--force`` on the command line);
3. an advisory lock (``fcntl.flock`` on :data:`LOCK_FILE`) is held for the
   whole run; a second run into the same directory is refused, naming the
   holder's process id. The kernel drops the lock when its holder dies, so a
   stale lock of a killed run is taken over by the next run without a word.

The marker and the lock file are small; results stay atomic (see
:mod:`spikemem.io`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spikemem.experiments.config import ConfigError

MARKER = ".spikemem-run"
"""Written into every run directory when it is first claimed."""
LOCK_FILE = ".spikemem-lock"
"""Held (``flock``) by the process that writes into the run directory."""
RUN_FILES = ("checkpoint.json", "result.json")
"""Files whose presence marks a directory written by an earlier spikemem version."""


def is_run_directory(path: Path) -> bool:
    """Whether ``path`` was written by spikemem (marker, or a checkpoint/result of spikemem's form)."""
    if (path / MARKER).is_file():
        return True
    for name in RUN_FILES:
        try:
            data = json.loads((path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        spikemem_keys = ({"identity", "units"}, {"experiment", "versions"})
        if isinstance(data, dict) and any(keys <= data.keys() for keys in spikemem_keys):
            return True
    return False


def check_run_directory(path: Path, force: bool = False) -> None:
    """Refuse an ``--out`` that is a file, unwritable, or a non-empty folder of the user's (see module docstring)."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path}", "is a file; give a directory")
    parent = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {path}", f"cannot be written ({parent} is not writable); choose another directory")
    if path.is_dir() and any(path.iterdir()) and not is_run_directory(path) and not force:
        raise ConfigError(
            f"--out {path}",
            "is a non-empty folder that is not a spikemem run directory; choose another --out, or pass --force "
            "to write into it anyway",
        )


@contextmanager
def claimed(path: str | os.PathLike[str], force: bool = False) -> Iterator[Path]:
    """Hold ``path`` as this process's run directory for the duration of the block.

    Raises
    ------
    ConfigError
        ``path`` is refused (module docstring), or another live process holds it.
    """
    import fcntl

    directory = Path(path)
    check_run_directory(directory, force)
    directory.mkdir(parents=True, exist_ok=True)
    handle = open(directory / LOCK_FILE, "a+", encoding="utf-8")  # held open for the block
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ConfigError(
                f"--out {directory}", f"is in use by another spikemem run (pid {holder}); wait for it or choose another"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        marker = directory / MARKER
        if not marker.exists():
            marker.write_text("spikemem run directory\n", encoding="utf-8")
        yield directory
    finally:
        handle.close()  # closing releases the lock


__all__ = ["LOCK_FILE", "MARKER", "check_run_directory", "claimed", "is_run_directory"]
