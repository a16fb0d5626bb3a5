"""Atomic result files: a reader never sees a half-written file.

Every writer writes to a temporary file in the destination directory and
renames it over the target (``os.replace`` is atomic on POSIX and Windows).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from spikemem.recording import Recording


def _file_mode() -> int:
    """The mode a plain ``open`` would give a new file: ``0o666`` less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary file (its return value is ignored), then rename it to ``path``.

    The file gets the mode any other new file of the process gets (the temporary file starts
    private, ``0o600``, and is opened up to the umask's mode before the rename).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    text = json.dumps(data, indent=2, sort_keys=False, default=_json_default).encode()
    return atomic_write(path, lambda handle: handle.write(text))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def save_recording(recording: Recording, directory: str | os.PathLike[str], name: str = "recording") -> Path:
    """Write a recording as ``directory/name.npz`` (arrays) with its metadata, atomically."""
    arrays = {f"data/{key}": value for key, value in recording.data.items()}
    meta = {
        "dt": recording.dt,
        "steps": recording.steps,
        "t_start": recording.t_start,
        "backend": recording.backend,
        "numeric": recording.numeric,
        "wall_time_s": recording.wall_time_s,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return atomic_write(Path(directory) / f"{name}.npz", lambda handle: np.savez_compressed(handle, **arrays))


def load_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a recording written by :func:`save_recording`."""
    with np.load(path, allow_pickle=False) as archive:
        meta = json.loads(archive["meta"].tobytes().decode())
        data = {key[len("data/") :]: archive[key] for key in archive.files if key.startswith("data/")}
    return Recording(data=data, **meta)
