"""Fixtures of the sweep tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_helpers import memory_sweep

from spikemem.cli import main


@pytest.fixture(scope="session")
def memory_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The memory sweep run once with 2 local workers: (sweep file, sweep directory)."""
    tmp = tmp_path_factory.mktemp("memory")
    path = memory_sweep(tmp)
    assert main(["sweep", str(path), "--out", str(tmp / "out"), "--workers", "2"]) == 0
    return path, tmp / "out"
