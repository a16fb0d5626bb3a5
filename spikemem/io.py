"""Atomic result files: a reader never sees a half-written file; a damaged file is one line, not a traceback.

Every writer writes to a temporary file in the destination directory and
renames it over the target (``os.replace`` is atomic on POSIX and Windows).
Every reader of a file a user names (result, model, checkpoint state) goes
through :func:`read_checked`, which turns whatever a truncated, corrupt or
unreadable file raises into one :class:`InputFileError` naming the file.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np

from spikemem.recording import Recording

T = TypeVar("T")

_DAMAGE = (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, RuntimeError, zipfile.BadZipFile)
"""What readers raise on a damaged file: numpy/zip (BadZipFile, ValueError, EOFError, KeyError), json and UTF-8
(ValueError), torch (RuntimeError, pickle.UnpicklingError), permissions (OSError)."""


class InputFileError(ValueError):
    """A file given to spikemem is missing a part, truncated, corrupt, of the wrong kind or unreadable."""


def read_checked(path: str | os.PathLike[str], what: str, read: Callable[[Path], T], hint: str = "") -> T:
    """``read(path)``, with any sign of a damaged file raised as one :class:`InputFileError` naming it.

    Parameters
    ----------
    path
        The file.
    what
        What the file should be (``"trained model"``, ``"checkpoint state"``), for the message.
    read
        The reader; whatever it returns is returned.
    hint
        What the user can do about it, appended to the message.
    """
    file = Path(path)
    if not file.is_file():
        raise InputFileError(f"{file}: no such {what} file" + (f"; {hint}" if hint else ""))
    try:
        return read(file)
    except (*_DAMAGE, pickle.UnpicklingError) as exc:
        detail = (str(exc).strip().splitlines() or [""])[0][:160]
        message = f"{file}: not a readable {what} (truncated or corrupt? {type(exc).__name__}: {detail})"
        raise InputFileError(message + (f"; {hint}" if hint else "")) from None


def read_json_object(path: str | os.PathLike[str], what: str) -> dict[str, Any]:
    """A JSON file that must hold one object (a ``result.json``): :class:`InputFileError` otherwise."""

    def read(file: Path) -> dict[str, Any]:
        value = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(value, dict):
            raise ValueError(f"holds a JSON {type(value).__name__}, not an object")
        return value

    return read_checked(path, what, read)


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _file_mode() -> int:
    """The mode a plain ``open`` would give a new file: ``0o666`` less the process's umask."""
    return 0o666 & ~_umask()


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


@contextmanager
def staged_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary sibling folder that becomes ``target`` only when the block ends without an error.

    The block fills the folder it is given (``.NAME.partial-XXXX`` next to ``target``); on success a previous
    ``target`` is replaced by it (two renames), on any error or interrupt it is removed and ``target`` is left
    as it was: a failed command never leaves a complete-looking folder.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        os.chmod(stage, 0o777 & ~_umask())  # what mkdir would give, not mkdtemp's 0700
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    previous = None
    if final.exists():
        previous = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        os.replace(final, previous / final.name)
    os.replace(stage, final)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)


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
