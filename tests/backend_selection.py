"""Backend selection shared by the test folders (``tests/`` is on ``sys.path``, see pyproject's pytest options).

A backend that cannot run is skipped with its reason on a developer machine,
but FAILS on CI (``CI`` set in the environment): the suites promise that every
backend works, so an unavailable backend on CI is a broken setup, not a pass.
"""

from __future__ import annotations

import os

import pytest

from spikemem.backend import Backend
from spikemem.backends import get_backend

SIMULATORS = ["brian2", "snntorch", "lava"]
"""The simulator backends (every backend but the numpy reference)."""
BACKENDS = ["reference", "snntorch", "brian2", "lava"]

TEST_OPTIONS: dict[str, dict[str, object]] = {"brian2": {"target": "numpy"}}
"""Brian2's numpy target: no compiler run on a cold cache (cython compiles each network first, 30-45 s)."""


def require(name: str, **options: object) -> Backend:
    """The backend ``name``; skip (locally) or fail (on CI) when it cannot run here."""
    backend = get_backend(name, **options)
    availability = backend.available()
    if not availability:
        message = f"backend {name!r} unavailable: {availability.reason}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI must run every backend)")
        pytest.skip(message)
    return backend
