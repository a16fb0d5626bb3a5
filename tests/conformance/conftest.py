"""Backend parametrisation for the conformance suite.

Every backend runs here. A backend that cannot run is skipped with its reason
on a developer machine, but FAILS on CI (``CI`` set in the environment): the
suite's promise is that every backend conforms, so an unavailable backend on
CI is a broken setup, not a pass.
"""

from __future__ import annotations

import os

import pytest

from spikemem.backend import Backend
from spikemem.backends import get_backend

SIMULATORS = ["brian2", "snntorch", "lava"]


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


@pytest.fixture(params=SIMULATORS)
def simulator(request: pytest.FixtureRequest) -> Backend:
    """Each simulator backend in turn."""
    return require(request.param)


@pytest.fixture
def reference() -> Backend:
    return get_backend("reference")
