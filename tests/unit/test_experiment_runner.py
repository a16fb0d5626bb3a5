"""The experiment runner: overrides, result files, resume, and one-line CLI errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spikemem.cli import main
from spikemem.experiments import ConfigError, ExperimentContext, apply_overrides, run_experiment
from spikemem.experiments.registry import KINDS, register_kind

CONFIG = """
[experiment]
kind = "counting"
seed = 3

[work]
units = 4
scale = 0.5
label = "x"
"""

CALLS: list[int] = []
FAIL_AT: set[int] = set()  # units that raise, to simulate a killed run


def counting(ctx: ExperimentContext) -> dict:
    """A toy kind: one checkpointed unit per step; can fail on purpose to test resume."""
    total = 0.0
    for unit in range(ctx.config["work"]["units"]):
        key = f"unit-{unit}"
        if key not in ctx.checkpoint:
            if unit in FAIL_AT:
                raise RuntimeError("interrupted")
            CALLS.append(unit)
            ctx.checkpoint.put(key, float(ctx.rng("unit", unit).random() * ctx.config["work"]["scale"]))
        total += ctx.checkpoint.get(key)
    return {"total": total}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    register_kind("counting", f"{__name__}:counting")
    path = tmp_path / "counting.toml"
    path.write_text(CONFIG)
    yield path
    KINDS.pop("counting", None)


def test_overrides_are_checked_against_keys_and_types() -> None:
    base = {"a": {"n": 3, "x": 0.5, "flag": True, "name": "s", "list": [1, 2]}}
    out = apply_overrides(base, ["a.n=5", "a.x=1", "a.flag=false", "a.name=async", "a.list=[3]"])
    assert out["a"] == {"n": 5, "x": 1.0, "flag": False, "name": "async", "list": [3]}
    assert base["a"]["n"] == 3
    for bad, word in [("a.m=1", "no key"), ("b.n=1", "no table"), ("a.n=0.5", "expects a int"), ("a.n", "key.path")]:
        with pytest.raises(ConfigError, match=word):
            apply_overrides(base, [bad])


def test_result_json_and_resume_after_interruption(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    CALLS.clear()
    FAIL_AT.add(2)
    try:
        with pytest.raises(RuntimeError, match="interrupted"):
            run_experiment(config, backend="reference", out=out, show_progress=False)
    finally:
        FAIL_AT.clear()
    assert CALLS == [0, 1]
    assert not (out / "result.json").exists()
    CALLS.clear()
    path = run_experiment(config, backend="reference", out=out, show_progress=False)
    assert CALLS == [2, 3], "only the unfinished units run again"
    result = json.loads(path.read_text())
    assert result["seed"] == 3 and result["backend"] == "reference"
    assert result["config"]["work"]["units"] == 4
    assert result["metrics"]["total"] > 0
    assert "numpy" in result["versions"]
    fresh = run_experiment(config, backend="reference", out=tmp_path / "fresh", show_progress=False)
    assert json.loads(fresh.read_text())["metrics"] == result["metrics"], "the same seed gives the same result"


def test_a_directory_holding_another_run_is_refused(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_experiment(config, backend="reference", out=out, show_progress=False)
    with pytest.raises(ConfigError, match="another config"):
        run_experiment(config, backend="reference", overrides=["work.scale=2.0"], out=out, show_progress=False)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--set", "work.nope=1"], "no key"),
        (["--set", "work.units=many"], "expects a int"),
        (["--backend", "nest"], "unknown backend"),
    ],
)
def test_cli_errors_are_one_line_with_exit_code_2(config: Path, tmp_path: Path, capsys, argv, fragment) -> None:
    code = main(["run", str(config), "--out", str(tmp_path / "o"), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and fragment in err


def test_cli_missing_config_file(tmp_path: Path, capsys) -> None:
    assert main(["run", str(tmp_path / "missing.toml")]) == 2
    assert "no such config file" in capsys.readouterr().err
