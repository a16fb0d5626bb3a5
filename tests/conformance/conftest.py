"""Backend parametrisation for the conformance suite (selection rules in ``tests/backend_selection.py``).

Every backend runs here; one that cannot run is skipped locally and fails on CI.
"""

from __future__ import annotations

import pytest
from backend_selection import SIMULATORS, require

from spikemem.backend import Backend
from spikemem.backends import get_backend


@pytest.fixture(params=SIMULATORS)
def simulator(request: pytest.FixtureRequest) -> Backend:
    """Each simulator backend in turn."""
    return require(request.param)


@pytest.fixture
def reference() -> Backend:
    return get_backend("reference")
