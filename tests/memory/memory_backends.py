"""Backend selection shared by the associative-memory tests (imported by conftest and the test files)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "spikemem_conformance_conftest", Path(__file__).resolve().parents[1] / "conformance" / "conftest.py"
)
_conformance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conformance)

require = _conformance.require
"""The conformance suite's ``require(name, **options)``: skip locally, fail on CI when a backend cannot run."""

BACKENDS = ["reference", "snntorch", "brian2", "lava"]

TEST_OPTIONS: dict[str, dict[str, object]] = {"brian2": {"target": "numpy"}}
"""Brian2's numpy target: no compiler run on a cold cache (cython compiles each network first, 30-45 s)."""
