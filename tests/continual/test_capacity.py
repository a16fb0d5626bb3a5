"""HLOP's lateral schedule against the layer widths: a warning where it is capped, an error where nothing can learn."""

from __future__ import annotations

from pathlib import Path

import pytest

from spikemem.cli import main
from spikemem.config import ConfigError
from spikemem.continual.capacity import check_lateral_capacity
from spikemem.experiments import load_config
from spikemem.experiments.parsing import parse_run

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
COUNT = 'hlop.growth="count"'
"""The fixed lateral schedule, checked before the run (energy growth is sized by the data, at run time)."""


def _warnings(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("spikemem: warning:")]


def test_a_schedule_within_the_widths_is_silent(capsys) -> None:
    check_lateral_capacity(["a", "b"], [10, 20], [[4, 5], [4, 5], [2, 10]])
    assert _warnings(capsys) == []


def test_a_capped_layer_warns_once_naming_its_key_and_the_task_it_starts(capsys) -> None:
    check_lateral_capacity(["hlop.initial", "hlop.increment"], [10, 20], [[4, 5], [4, 5], [4, 5]])
    assert _warnings(capsys) == [
        "spikemem: warning: hlop.initial: layer 0's lateral neurons are capped at its 10 inputs "
        "(12 asked over 3 tasks; from task 2 on it gets fewer than asked)"
    ]


def test_one_full_layer_is_allowed_while_another_still_learns(capsys) -> None:
    check_lateral_capacity(["a", "b"], [10, 20], [[10, 5], [0, 5], [0, 5]])  # pdigits_hlop freezes its input layer
    assert _warnings(capsys) == []


@pytest.mark.parametrize(
    ("widths", "added", "tasks"),
    [([10], [[5], [5], [5]], "task 2"), ([10, 4], [[10, 4], [0, 0], [0, 0]], "tasks 1..2")],
)
def test_every_layer_full_before_the_last_task_is_an_error(widths, added, tasks) -> None:
    with pytest.raises(ConfigError, match=f"{tasks} could not learn"):
        check_lateral_capacity(["x"] * len(widths), widths, added)


def test_an_unknown_width_never_counts_as_full() -> None:
    check_lateral_capacity(["a", "b"], [None, 4], [[100, 4], [0, 0], [0, 0]])


def test_every_shipped_config_parses_without_a_warning(capsys) -> None:
    for path in sorted(EXPERIMENTS.glob("*.toml")):
        parse_run(load_config(path), [], None, None)
    assert _warnings(capsys) == []


@pytest.mark.parametrize(
    ("config", "overrides", "expected"),
    [
        ("local_pdigits_hlop.toml", ["network.hidden=100", "local.lateral_per_task=24"], "warning"),
        ("local_pdigits_hlop.toml", ["network.hidden=100", "local.lateral_per_task=25"], "error"),
        ("pmnist_hlop.toml", [COUNT, "model.hidden=[100, 100]"], "warning"),
        ("pdigits_hlop.toml", [COUNT, "model.hidden=[64, 64]", "hlop.initial=[64, 64, 64]"], "error"),
        ("splitdigits_hlop.toml", [COUNT, "hlop.initial=[64, 400]", "hlop.increment=[0]"], "error"),
    ],
)
def test_hlop_configs_warn_or_fail_before_anything_runs(config, overrides, expected, tmp_path, capsys) -> None:
    """A fixed schedule is checked before anything runs (energy growth: tests/continual/test_hlop_growth.py)."""
    out = tmp_path / "run"
    argv = ["run", str(EXPERIMENTS / config), "--out", str(out), *(a for s in overrides for a in ("--set", s))]
    if expected == "error":
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "could not learn" in err[0] and not out.exists(), err
    else:
        settings = parse_run(load_config(EXPERIMENTS / config), overrides, None, None).settings
        assert settings is not None
        warnings = _warnings(capsys)
        assert warnings and all("capped" in line for line in warnings)


def test_a_run_prints_its_warning_once_and_runs(tmp_path, capsys) -> None:
    """The kind reuses the settings the runner parsed: the warning is not repeated."""
    tiny = ["stream.tasks=2", "stream.max_train=40", "stream.max_test=20", "network.hidden=16", "encoding.steps=3"]
    argv = ["run", str(EXPERIMENTS / "local_pdigits_hlop.toml"), "--backend", "reference", "--out", str(tmp_path / "r")]
    assert main([*argv, *(a for s in [*tiny, "local.lateral_per_task=10"] for a in ("--set", s))]) == 0
    warnings = _warnings(capsys)
    assert len(warnings) == 1 and "local.lateral_per_task" in warnings[0] and "capped at its 16 inputs" in warnings[0]
    assert (tmp_path / "r" / "result.json").exists()
