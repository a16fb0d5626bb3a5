"""Backends for the associative-memory tests: the conformance suite's ``require`` (skip locally, fail on CI)."""

from __future__ import annotations

import pytest
from memory_backends import BACKENDS, TEST_OPTIONS, require


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest):
    """Each backend in turn (unavailable: skipped locally, failed on CI)."""
    return require(request.param, **TEST_OPTIONS.get(request.param, {}))
