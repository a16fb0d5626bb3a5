"""Every associative-memory config runs from the CLI at a small size: result.json, table, plots, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from memory_backends import TEST_OPTIONS, require

from spikemem.cli import EXIT_CHECK_FAILED, main

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"

SMALL = {
    "hopfield_recall": [
        "model.neurons=200",
        "model.load=0.05",
        "dynamics.updates=6",
        "recall.cues=6",
        "recall.basin_noise=[0.1,0.4]",
        "recall.basin_cues=4",
    ],
    "hopfield_capacity": ["model.neurons=200", "dynamics.updates=6", "recall.cues=5", "recall.loads=[0.05,0.2]"],
    "dense_memory": [
        "model.features=30",
        "model.patterns=20",
        "model.updates=2",
        "recall.cues=6",
        'model.models=["classical","polynomial_n3","winner_take_all"]',
    ],
    "multitask": [
        "model.neurons=300",
        "model.patterns=3",
        "model.dilutions=[0.4]",
        "recall.cues=3",
        "dynamics.updates=6",
    ],
    "learn_from_examples": [
        "model.neurons=300",
        "model.archetypes=2",
        "model.examples=[11]",
        "recall.cues_per_archetype=1",
        "dynamics.updates=6",
    ],
    "stdp_storage": ["model.neurons=100", "stdp.gap=12", "dynamics.updates=6"],
}

PLOTS = {
    "hopfield_recall": "basin.png",
    "hopfield_capacity": "capacity.png",
    "dense_memory": "dense_memory.png",
    "multitask": "multitask.png",
    "learn_from_examples": "learn_from_examples.png",
    "stdp_storage": "stdp_weights.png",
}


def run_cli(config: Path, backend: str, out: Path, extra: list[str]) -> int:
    """Run a config through the CLI; check that the exit code is 0, or 3 exactly when a declared check fails."""
    argv = ["run", str(config), "--backend", backend, "--out", str(out)]
    for item in extra:
        argv += ["--set", item]
    code = main(argv)
    if (out / "result.json").exists():
        checks = json.loads((out / "result.json").read_text())["metrics"].get("checks", [])
        assert code == (EXIT_CHECK_FAILED if any(not c["holds"] for c in checks) else 0), (code, checks)
        return 0
    return code


@pytest.mark.parametrize("name", list(SMALL))
def test_config_runs_on_reference(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / name
    assert run_cli(EXPERIMENTS / f"{name}.toml", "reference", out, SMALL[name]) == 0
    printed = capsys.readouterr().out
    assert "overlap_mean" in printed or "overlap" in printed, "the run prints its table"
    result = json.loads((out / "result.json").read_text())
    assert result["backend"] == "reference" and result["experiment"] == name
    metrics = result["metrics"]
    for key in ("overlap_mean", "overlap_min", "exact_recall_fraction", "checks"):
        assert key in metrics, key
    assert -1.0 <= metrics["overlap_min"] <= metrics["overlap_mean"] <= 1.0
    if name not in ("stdp_storage",):
        assert isinstance(metrics["curve"], list) and metrics["curve"], "sweeps report a curve"
    assert (out / PLOTS[name]).stat().st_size > 1000


def test_a_finished_run_resumes_without_recomputing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = EXPERIMENTS / "hopfield_capacity.toml"
    out = tmp_path / "capacity"
    extra = SMALL["hopfield_capacity"]
    assert run_cli(config, "reference", out, extra) == 0
    first = json.loads((out / "result.json").read_text())["metrics"]
    checkpoint = json.loads((out / "checkpoint.json").read_text())
    assert sorted(checkpoint["units"]) == ["load-0", "load-1"]
    assert run_cli(config, "reference", out, extra) == 0
    assert json.loads((out / "result.json").read_text())["metrics"]["curve"] == first["curve"]


@pytest.mark.parametrize("backend", ["snntorch", "brian2", "lava"])
def test_a_config_runs_on_each_simulator(backend: str, tmp_path: Path) -> None:
    require(backend)
    config = tmp_path / "recall.toml"
    text = (EXPERIMENTS / "hopfield_recall.toml").read_text()
    options = TEST_OPTIONS.get(backend, {})
    if options:
        text += f"\n[backend_options.{backend}]\n" + "".join(f'{k} = "{v}"\n' for k, v in options.items())
    config.write_text(text)
    out = tmp_path / backend
    assert run_cli(config, backend, out, SMALL["hopfield_recall"]) == 0
    reference_out = tmp_path / "reference"
    assert run_cli(config, "reference", reference_out, SMALL["hopfield_recall"]) == 0
    measured = json.loads((out / "result.json").read_text())["metrics"]
    expected = json.loads((reference_out / "result.json").read_text())["metrics"]
    assert measured["point"]["trajectory"] == expected["point"]["trajectory"], "identical recall to the reference"
    assert [p["overlap_mean"] for p in measured["curve"]] == [p["overlap_mean"] for p in expected["curve"]]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--set", "model.nope=1"], "no key"),
        (["--set", "model.neurons=many"], "expects an integer"),
        (["--backend", "nest"], "unknown backend"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(tmp_path: Path, capsys, argv: list[str], fragment: str) -> None:
    code = main(["run", str(EXPERIMENTS / "hopfield_recall.toml"), "--out", str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and fragment in err


@pytest.mark.parametrize(
    ("config", "setting", "fragment"),
    [
        ("hopfield_recall", "dynamics.mode=sometimes", "dynamics"),
        ("hopfield_capacity", "dynamics.structure=ring", "dynamics.structure"),
        ("multitask", "experiment.batching=sideways", "experiment.batching"),
        ("dense_memory", 'model.models=["polynomial_nx"]', "model.models"),
        ("learn_from_examples", 'model.modes=["self-taught"]', "model.modes"),
    ],
)
def test_bad_values_give_one_line_and_exit_2(tmp_path: Path, capsys, config: str, setting: str, fragment: str) -> None:
    code = main(["run", str(EXPERIMENTS / f"{config}.toml"), "--out", str(tmp_path / "o"), "--set", setting])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and fragment in err, err
