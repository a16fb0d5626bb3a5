"""Every benchmark script runs at a tiny size (``--quick``) in a subprocess and writes JSON that validates
against the harness's schema; no timing is asserted, only that the implementations ran and agreed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import harness
import pytest

from spikemem.backends import get_backend

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 600  # the scripts take well under a minute on an idle machine; a shared one is slower


def run_script(tmp_path: Path, script: str, *options: str) -> dict:
    """Run ``benchmarks/<script>.py --quick --out ...``; the validated document."""
    out = tmp_path / f"{script}.json"
    command = [sys.executable, str(ROOT / "benchmarks" / f"{script}.py"), "--quick", "--out", str(out), *options]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    doc = json.loads(out.read_text())
    harness.validate(doc)
    assert doc["benchmark"] == script
    return doc


def needs(*backends: str) -> None:
    for name in backends:
        availability = get_backend(name).available()
        assert availability, f"{name} is part of the benchmark and must run here: {availability.reason}"


def test_network_throughput_without_lava(tmp_path: Path) -> None:
    doc = run_script(tmp_path, "network_throughput", "--brian2-target", "numpy", "--backends", "reference", "brian2")
    (case,) = doc["cases"]
    assert set(case["implementations"]) == {
        "bare numpy loop",
        "spikemem reference",
        "handwritten brian2 (numpy)",
        "spikemem brian2 (numpy)",
    }
    assert case["checks"]["spike_counts_agree"]
    assert {c["name"] for c in case["comparisons"]} >= {
        "reference / bare numpy, wall",
        "brian2 backend / handwritten brian2, wall",
    }
    assert all(len(r["runs"]) == case["repeats"] for r in case["implementations"].values())


@pytest.mark.slow
def test_network_throughput_every_backend(tmp_path: Path) -> None:
    needs("lava", "brian2", "snntorch")
    doc = run_script(tmp_path, "network_throughput", "--brian2-target", "numpy")
    lava, simulation = doc["cases"]
    assert lava["checks"]["spike_counts_agree"] and simulation["checks"]["spike_counts_agree"]
    assert "spikemem snntorch" in simulation["implementations"]
    assert lava["comparisons"][0]["direction"] == ">="


@pytest.mark.slow
def test_recall_throughput(tmp_path: Path) -> None:
    needs("lava", "brian2", "snntorch")
    doc = run_script(tmp_path, "recall_throughput", "--brian2-target", "numpy", "--no-plot")
    (case,) = doc["cases"]
    assert set(case["implementations"]) == {"bare numpy", "bare torch", "lava", "reference", "snntorch", "brian2"}
    assert all(case["checks"]["final_state_equal_to_bare_numpy"].values())


@pytest.mark.slow
def test_hlop_throughput(tmp_path: Path) -> None:
    doc = run_script(tmp_path, "hlop_throughput", "--device", "cpu")
    (case,) = doc["cases"]
    assert set(case["implementations"]) == {"plain", "hlop", "hlop-projection-only"}
    (target,) = [c for c in case["comparisons"] if c["target"] is not None]
    assert (target["name"], target["target"], target["direction"]) == ("hlop / plain", 1.5, "<=")


@pytest.mark.slow
def test_inference_throughput(tmp_path: Path) -> None:
    needs("lava", "brian2", "snntorch")
    doc = run_script(tmp_path, "inference_throughput", "--brian2-target", "numpy")
    (case,) = doc["cases"]
    equal = case["checks"]["fraction_of_counts_equal_to_reference:float"]
    assert all(equal[t] == 1.0 for t in equal if t.endswith(":float"))
    assert equal["lava:fixed"] > 0.9  # fixed point: quantized weights, nearly the same counts


@pytest.mark.slow
def test_local_learning_throughput(tmp_path: Path) -> None:
    needs("lava", "brian2", "snntorch")
    doc = run_script(tmp_path, "local_learning_throughput", "--brian2-target", "numpy")
    (case,) = doc["cases"]
    gaps = case["checks"]["max_abs_readout_diff_vs_reference"]
    assert set(gaps) == set(case["implementations"])
    assert all(gaps[t] < 1e-6 for t in gaps if not t.startswith("lava-fixed"))


@pytest.mark.slow
def test_sweep_throughput(tmp_path: Path) -> None:
    doc = run_script(tmp_path, "sweep_throughput")
    (case,) = doc["cases"]
    assert case["checks"]["identical_accuracy_matrices"] is True
    assert set(case["implementations"]) == {"local 1 worker", "local 2 workers", "ray 2 cpus"}


def test_cost_overhead(tmp_path: Path) -> None:
    needs("snntorch")
    doc = run_script(tmp_path, "cost_overhead", "--backends", "reference", "snntorch")
    labels = [case["label"] for case in doc["cases"]]
    assert labels == ["network, reference", "inference, reference", "network, snntorch", "inference, snntorch"]
    for case in doc["cases"]:
        assert case["checks"]["spike_counts_agree"], case["label"]
        assert [c["metric"] for c in case["comparisons"]] == ["seconds", "cpu_seconds"]
        assert all(c["target"] == 1.05 and c["direction"] == "<=" for c in case["comparisons"])
        counting = case["implementations"][f"{case['label'].split(', ')[1]} counting"]
        assert all(run["info"]["count_cpu_s"] > 0 for run in counting["runs"]), case["label"]
        assert 0 < counting["count_share"] < 1, case["label"]


def test_backend_speed_reference_and_brian2(tmp_path: Path) -> None:
    """The three workloads at a tiny size on the reference and Brian2 (numpy target): ratios, breakdown, checks."""
    doc = run_script(
        tmp_path, "backend_speed", "--backends", "reference:float", "brian2:float", "--brian2-target", "numpy"
    )
    assert [case["label"] for case in doc["cases"]] == ["recall", "inference", "learning"]
    for case in doc["cases"]:
        assert set(case["implementations"]) == {"reference:float", "brian2:float"}
        (comparison,) = case["comparisons"]
        assert comparison["name"] == "brian2:float / reference:float"
        profile = case["implementations"]["brian2:float"]["info"]["profile"]
        assert profile["brian2_runs"] >= 1 and profile["brian2_setup"] > 0
    recall, inference, learning = doc["cases"]
    assert all(all(models.values()) for models in recall["checks"]["final_states_equal_to_reference"].values())
    assert inference["checks"]["fraction_of_counts_equal_to_reference"]["brian2:float"] == 1.0
    assert inference["implementations"]["brian2:float"]["info"]["profile"]["brian2_runs"] == 1  # one batch, one run
    assert learning["checks"]["max_abs_readout_diff_vs_reference"]["brian2:float"] < 1e-9
