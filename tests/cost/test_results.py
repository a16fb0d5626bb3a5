"""The ``cost`` sections of result.json: per recall (memory), per test inference and per training sample (continual)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spikemem.experiments import run_experiment

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
SMALL = ["stream.tasks=2", "stream.max_train=32", "stream.max_test=16"]


def _check_section(section: dict, unit: str) -> None:
    assert section["per"] == unit
    total = section["counts"]["total"]
    assert total["synaptic_ops"] == total["accumulate_ops"] + total["multiply_accumulate_ops"] > 0
    assert 0.0 <= total["activation_sparsity"] <= 1.0
    energy = section["energy"]
    assert "estimate" in energy["note"] and "estimate" in energy["loihi"]["model"]
    assert energy["loihi"]["estimate_joules"] > 0 and energy["dense_mac"]["estimate_joules"] > 0


def test_a_recall_reports_its_cost(tmp_path: Path) -> None:
    extra = ["model.neurons=100", "model.load=0.05", "dynamics.updates=4", "recall.cues=4", "recall.basin_cues=2"]
    result = json.loads(
        run_experiment(EXPERIMENTS / "hopfield_recall.toml", "reference", 0, extra, tmp_path, False).read_text()
    )
    point = result["metrics"]["point"]
    _check_section(point["cost"], "recall")
    assert point["cost"]["units_counted"] == point["trials"]
    assert point["cost"]["counts"]["total"]["spikes"] == pytest.approx(point["spikes_per_recall"])


def test_a_bptt_run_reports_inference_and_training_cost(tmp_path: Path) -> None:
    pytest.importorskip("snntorch")
    extra = [*SMALL, "training.epochs=1", "model.hidden=[12]", "encoding.steps=3"]
    result = json.loads(
        run_experiment(EXPERIMENTS / "pdigits_finetune.toml", "snntorch", 0, extra, tmp_path, False).read_text()
    )
    cost = result["metrics"]["cost"]
    inference = cost["per_test_inference"]
    _check_section(inference, "test inference")
    assert set(inference["counts"]["populations"]) == {"hidden_1", "readout"}
    assert set(inference["counts"]["projections"]) == {"heads"}
    # direct encoding: the drive of hidden_1 is W_1 x, 64 MACs per graded input element
    assert inference["counts"]["populations"]["hidden_1"]["graded_macs"] % 64 == 0
    assert inference["footprint"]["fixed"]["weight_bytes"] * 4 == inference["footprint"]["float"]["weight_bytes"]
    training = cost["per_training_sample"]
    assert training["backward_dense_macs"] == 2 * training["forward"]["counts"]["total"]["dense_macs"]


def test_a_local_run_counts_its_training(tmp_path: Path) -> None:
    extra = [*SMALL, "network.hidden=20", "local.lateral_per_task=4"]
    result = json.loads(
        run_experiment(EXPERIMENTS / "local_pdigits_hlop.toml", "reference", 0, extra, tmp_path, False).read_text()
    )
    metrics = result["metrics"]
    _check_section(metrics["cost"]["per_test_inference"], "test inference")
    for task in metrics["per_task"]:
        _check_section(task["cost"], "training sample")
        assert task["cost"]["units_counted"] == task["samples"]
        assert task["cost"]["counts"]["total"]["plasticity_updates"] > 0
