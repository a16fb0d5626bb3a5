"""`spikemem deploy`'s parity report carries the cost per test inference: source vs Lava float vs Lava fixed."""

from __future__ import annotations

from pathlib import Path

import pytest
from backend_selection import require

from spikemem.continual.deployment import deploy, print_report
from spikemem.experiments import run_experiment

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def test_deploy_reports_cost_per_layer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("snntorch")
    require("lava")
    extra = [
        "stream.tasks=2",
        "stream.max_train=32",
        "stream.max_test=8",
        "training.epochs=1",
        "model.hidden=[12, 12]",
        "encoding.steps=3",
    ]
    run_experiment(EXPERIMENTS / "pdigits_finetune.toml", "snntorch", 0, extra, tmp_path / "run", False)
    report = deploy(tmp_path / "run", tmp_path / "deploy", fixed_point=True)
    source = report["source"]["cost"]
    lava_float, lava_fixed = (target["cost"] for target in report["targets"])
    assert source["counts"]["projections"].keys() == {"layer_2", "heads"}
    # float backends: identical counts, hence identical estimates
    assert lava_float["counts"]["total"] == source["counts"]["total"]
    assert lava_float["energy"]["loihi"] == source["energy"]["loihi"]
    assert lava_fixed["counts"]["numeric"] == "fixed"
    assert lava_fixed["counts"]["total"]["synaptic_ops"] > 0
    print_report(report)
    printed = capsys.readouterr().out
    assert "layer_2 synaptic ops" in printed and "Loihi energy estimate, nJ" in printed
    assert "lava fixed" in printed
