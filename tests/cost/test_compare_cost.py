"""`spikemem compare` draws accuracy against synaptic operations, one point per method x backend, the front marked."""

from __future__ import annotations

import json
from pathlib import Path

from spikemem.cli import main
from spikemem.evaluation.compare import cost_figure_path
from spikemem.evaluation.cost_plots import CostPoint, pareto_front


def _result(directory: Path, method: str, backend: str, seed: int, acc: float, ops: float | None) -> None:
    metrics = {
        "R": [[acc, 0.1], [acc, acc]],
        "ACC": acc,
        "BWT": 0.0,
        "FWT": 0.0,
        "forgetting": 0.0,
        "method": method,
        "stream": "pdigits",
    }
    if ops is not None:
        counts = {"numeric": "float", "total": {"synaptic_ops": ops}}
        energy = {"loihi": {"estimate_joules": ops * 23.6e-12}}
        metrics["cost"] = {"per_test_inference": {"counts": counts, "energy": energy}}
    config = {"experiment": {"kind": "continual", "seed": seed}, "continual": {"method": method}}
    directory.mkdir(parents=True)
    (directory / "result.json").write_text(
        json.dumps({"config": config, "backend": backend, "seed": seed, "metrics": metrics})
    )


def test_pareto_front() -> None:
    points = [
        CostPoint("cheap, bad", 0.5, 100.0, 0.0),
        CostPoint("dear, good", 0.9, 1000.0, 0.0),
        CostPoint("dominated", 0.6, 2000.0, 0.0),
        CostPoint("tie", 0.5, 100.0, 0.0),
    ]
    assert pareto_front(points) == [True, True, False, True]


def test_compare_draws_accuracy_against_operations(tmp_path: Path, capsys) -> None:
    _result(tmp_path / "runs" / "a0", "hlop", "snntorch", 0, 0.8, 5000.0)
    _result(tmp_path / "runs" / "a1", "hlop", "snntorch", 1, 0.9, 7000.0)
    _result(tmp_path / "runs" / "b0", "finetune", "snntorch", 0, 0.7, 9000.0)
    out = tmp_path / "compare.png"
    assert main(["compare", str(tmp_path / "runs"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "syn ops/inf" in printed and "6,000" in printed  # the mean over the two seeds of hlop
    hlop_row = next(line for line in printed.splitlines() if line.startswith("hlop"))
    finetune_row = next(line for line in printed.splitlines() if line.startswith("finetune"))
    assert hlop_row.rstrip().endswith("*") and not finetune_row.rstrip().endswith("*")
    assert cost_figure_path(out).stat().st_size > 1000


def test_runs_without_cost_compare_as_before(tmp_path: Path, capsys) -> None:
    _result(tmp_path / "runs" / "a0", "hlop", "snntorch", 0, 0.8, None)
    out = tmp_path / "compare.png"
    assert main(["compare", str(tmp_path / "runs"), "--out", str(out)]) == 0
    assert "syn ops/inf" not in capsys.readouterr().out
    assert not cost_figure_path(out).exists()
