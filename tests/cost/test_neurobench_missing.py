"""Without the ``neurobench`` extra, the adapter and ``spikemem evaluate --neurobench`` say what to install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from spikemem.cli import EXIT_USAGE, main
from spikemem.continual.neurobench import INSTALL, NeuroBenchMissing, require_neurobench


@pytest.fixture
def no_neurobench(monkeypatch: pytest.MonkeyPatch) -> None:
    """NeuroBench as if not installed (a None entry in sys.modules makes its import fail)."""
    monkeypatch.setitem(sys.modules, "neurobench", None)
    monkeypatch.setitem(sys.modules, "neurobench.benchmarks", None)


def test_the_adapter_names_the_extra_and_the_install_command(no_neurobench: None) -> None:
    with pytest.raises(NeuroBenchMissing, match=r"optional extra 'neurobench'") as info:
        require_neurobench()
    assert INSTALL in str(info.value) and "spikemem[neurobench]" in INSTALL


def test_evaluate_neurobench_stops_before_any_run(
    no_neurobench: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing_run = tmp_path / "no_run_here"  # refused for the extra first: nothing is loaded or run
    assert main(["evaluate", str(missing_run), "--backend", "reference", "--neurobench"]) == EXIT_USAGE
    error = capsys.readouterr().err.strip()
    assert error.startswith("spikemem evaluate: error: --neurobench: NeuroBench is not installed")
    assert "'neurobench'" in error and INSTALL in error and len(error.splitlines()) == 1
