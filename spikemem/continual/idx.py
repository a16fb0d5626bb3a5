"""Reading and writing IDX files, the format of the MNIST distribution (``train-images-idx3-ubyte``...).

Layout (big-endian): two zero bytes, one type byte, one byte with the number
of dimensions ``d``, ``d`` 32-bit sizes, then the values in C order. Files
ending in ``.gz`` are (de)compressed transparently.

:func:`find_mnist_files` finds the four files of the MNIST distribution in a
directory (``[stream] source = "mnist"``, :mod:`spikemem.continual.streams`).
"""

from __future__ import annotations

import gzip
import io
import os
import struct
from pathlib import Path

import numpy as np

from spikemem.io import atomic_write

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX type byte -> numpy dtype (as stored, big-endian)."""


MNIST_FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
"""Role -> file name in the MNIST distribution. :func:`find_mnist_files` also accepts ``.gz`` and the
``train-images.idx3-ubyte`` spelling (a dot before ``idx``) that some mirrors use."""


class IdxFormatError(ValueError):
    """A file is not a well-formed IDX file."""


def find_mnist_files(directory: str | os.PathLike[str]) -> dict[str, Path]:
    """The paths of the four MNIST files in ``directory``, by role (the keys of :data:`MNIST_FILES`).

    Each file may be plain or gzip-compressed (``.gz``), and named with ``-idx``
    or ``.idx`` before its type.

    Raises
    ------
    FileNotFoundError
        The directory does not exist or lacks a file (the message names the missing ones).
    """
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such directory")
    found, missing = {}, []
    for role, name in MNIST_FILES.items():
        spellings = (name, name.replace("-idx", ".idx"))
        candidates = [folder / (stem + suffix) for stem in spellings for suffix in ("", ".gz")]
        present = [path for path in candidates if path.is_file()]
        if present:
            found[role] = present[0]
        else:
            missing.append(f"{name}[.gz]")
    if missing:
        raise FileNotFoundError(f"{folder}: no {', '.join(missing)}")
    return found


def _open(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """The array stored in an IDX file (native byte order).

    Raises
    ------
    IdxFormatError
        Bad magic number, unknown type byte, or a size that does not match the data.
    """
    path = Path(path)
    with _open(path) as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise IdxFormatError(f"{path}: not an IDX file (magic number)")
    type_code, ndim = data[2], data[3]
    if type_code not in IDX_TYPES:
        raise IdxFormatError(f"{path}: unknown IDX type byte 0x{type_code:02x}")
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_TYPES[type_code]
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise IdxFormatError(f"{path}: {len(data) - header} data bytes, shape {shape} needs {expected}")
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))


def write_idx(path: str | os.PathLike[str], array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (atomically; gzip when ``path`` ends in ``.gz``)."""
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise IdxFormatError(f"IDX cannot store dtype {array.dtype}; use one of {sorted(map(str, codes))}")
    code = codes[native]
    payload = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload += np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        payload = gzip.compress(payload)
    return atomic_write(path, lambda handle: handle.write(payload))


__all__ = ["IDX_TYPES", "MNIST_FILES", "IdxFormatError", "find_mnist_files", "read_idx", "write_idx"]
