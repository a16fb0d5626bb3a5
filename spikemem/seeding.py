"""Named random streams derived from one seed (numpy only).

Every random choice of a run comes from :func:`derived_rng` ``(seed, *stream)``:
the same seed and stream name give the same draws in every process, so a
resumed run, ``spikemem evaluate`` and every backend see the same numbers.
The experiment runner hands it out as ``ExperimentContext.rng``; the
continual-learning code, which sits below the runner, imports it from here.
"""

from __future__ import annotations

import zlib

import numpy as np


def derived_rng(seed: int, *stream: int | str) -> np.random.Generator:
    """The generator of a named stream of a run with ``seed``: ``default_rng([seed, *keys])``.

    String parts become :func:`hash_text` values (absolute), integers stay as they are.
    """
    key = [abs(hash_text(str(s))) if isinstance(s, str) else int(s) for s in stream]
    return np.random.default_rng([seed, *key])


def hash_text(text: str) -> int:
    """A stable (process-independent) 32-bit hash of a string (CRC-32), for RNG stream names."""
    return zlib.crc32(text.encode())


__all__ = ["derived_rng", "hash_text"]
