"""Every continual-learning config runs from the CLI at a tiny size; resume after a kill; compare."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("snntorch")

from spikemem.cli import main
from spikemem.continual.training import Trainer
from spikemem.experiments import run_experiment

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
STREAMS = ("pmnist", "pdigits", "splitdigits")
METHODS = ("hlop", "finetune", "ewc", "gpm", "replay", "multitask")
CONFIGS = [EXPERIMENTS / f"{stream}_{method}.toml" for stream in STREAMS for method in METHODS]
TINY = [
    "stream.tasks=2",
    "stream.max_train=48",
    "stream.max_test=32",
    "training.epochs=1",
    "training.batch_size=16",
    "model.hidden=[12, 10]",
    "encoding.steps=3",
]
HLOP_TINY = ["hlop.initial=[6]", "hlop.increment=[2]"]
"""Lateral neurons that fit TINY's layers (the configs' own would fill them: an error, spikemem.continual.capacity)."""
SHARED_TABLES = ("experiment", "stream", "encoding", "model", "training")


def _set(overrides: list[str]) -> list[str]:
    return [part for item in overrides for part in ("--set", item)]


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_config_runs_from_the_cli(config: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    tiny = TINY + (HLOP_TINY if config.stem.endswith("_hlop") else [])
    argv = ["run", str(config), "--backend", "snntorch", "--out", str(out), "--seed", "1", *_set(tiny)]
    assert main(argv) == 0, capsys.readouterr().err
    result = json.loads((out / "result.json").read_text())
    metrics = result["metrics"]
    assert np.asarray(metrics["R"]).shape == (2, 2)
    for key in ("ACC", "BWT", "FWT", "forgetting"):
        assert -1.0 <= metrics[key] <= 1.0
    assert metrics["method"] == config.stem.split("_")[1]
    assert len(metrics["per_task"]) == 2 and len(metrics["baseline"]) == 2
    assert (out / "R.csv").read_text().startswith("after_task,task_0,task_1")
    assert (out / "forgetting_curves.png").stat().st_size > 1000
    assert (out / "accuracy_matrix.png").stat().st_size > 1000
    assert sorted(p.name for p in out.glob("state-*.pt")) == ["state-1.pt"]


@pytest.mark.parametrize("stream", STREAMS)
def test_configs_of_a_stream_share_everything_but_the_method(stream: str) -> None:
    tables = [tomllib.loads((EXPERIMENTS / f"{stream}_{m}.toml").read_text()) for m in METHODS]
    for table in SHARED_TABLES:
        assert all(t[table] == tables[0][table] for t in tables), f"[{table}] differs between {stream}_*.toml"
    for method, config in zip(METHODS, tables, strict=True):
        assert config["continual"]["method"] == method


def test_resume_after_an_interruption_gives_the_same_result(tmp_path: Path, monkeypatch) -> None:
    config = EXPERIMENTS / "pdigits_hlop.toml"
    overrides = [*TINY, *HLOP_TINY, "stream.tasks=3"]
    fresh = json.loads(run_experiment(config, "snntorch", 0, overrides, tmp_path / "fresh", False).read_text())

    original = Trainer.train_task
    calls: list[int] = []

    def killed_at_task_2(self, method, index, task, generator):
        if index == 2:
            raise KeyboardInterrupt("killed")
        calls.append(index)
        return original(self, method, index, task, generator)

    out = tmp_path / "resumed"
    monkeypatch.setattr(Trainer, "train_task", killed_at_task_2)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(config, "snntorch", 0, overrides, out, False)
    assert calls == [0, 1]
    assert not (out / "result.json").exists()
    assert sorted(p.name for p in out.glob("state-*.pt")) == ["state-1.pt"]

    def counting(self, method, index, task, generator):
        calls.append(index)
        return original(self, method, index, task, generator)

    calls.clear()
    monkeypatch.setattr(Trainer, "train_task", counting)
    resumed = json.loads(run_experiment(config, "snntorch", 0, overrides, out, False).read_text())
    assert calls == [2], "only the unfinished task runs again"
    assert resumed["metrics"]["R"] == fresh["metrics"]["R"]
    assert resumed["metrics"]["baseline"] == fresh["metrics"]["baseline"]


def test_compare_draws_runs_side_by_side(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "runs"
    for method, seed in (("finetune", 0), ("finetune", 1), ("hlop", 0)):
        tiny = TINY + (HLOP_TINY if method == "hlop" else [])
        run_experiment(EXPERIMENTS / f"pdigits_{method}.toml", "snntorch", seed, tiny, runs / f"{method}-{seed}", False)
    capsys.readouterr()
    figure = tmp_path / "compare.png"
    assert (
        main(
            ["compare", str(runs / "finetune-0"), str(runs / "finetune-1"), str(runs / "hlop-0"), "--out", str(figure)]
        )
        == 0
    )
    table = capsys.readouterr().out
    assert figure.stat().st_size > 10_000
    lines = {line.split()[0]: line.split() for line in table.splitlines() if line.split()}
    assert lines["finetune"][1] == "2" and lines["hlop"][1] == "1", table
    assert "BWT" in table and "±" in table
    assert main(["compare", str(runs), "--out", str(tmp_path / "folder.png")]) == 0, "a folder of runs works too"
    assert main(["compare", str(tmp_path / "nothing-here"), "--out", str(tmp_path / "x.png")]) == 2
    assert "no result.json" in capsys.readouterr().err


def test_errors_name_the_problem(tmp_path: Path, capsys) -> None:
    config = str(EXPERIMENTS / "pmnist_hlop.toml")
    assert main(["run", config, "--backend", "reference", "--out", str(tmp_path / "a")]) == 2
    assert "use --backend snntorch" in capsys.readouterr().err
    assert (
        main(
            [
                "run",
                config,
                "--backend",
                "snntorch",
                "--out",
                str(tmp_path / "b"),
                "--set",
                "hlop.initial=[10, 10]",
                *_set(TINY),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "hlop.initial" in err and "one per protected layer" in err
    assert (
        main(["run", config, "--backend", "snntorch", "--out", str(tmp_path / "c"), "--set", "continual.method=sgd"])
        == 2
    )
    assert "continual.method" in capsys.readouterr().err


def test_the_accepted_methods_are_the_registry(monkeypatch) -> None:
    from spikemem.continual.config import ConfigError, parse_section
    from spikemem.continual.experiment import ContinualConfig
    from spikemem.continual.methods import METHODS, Method

    assert parse_section(ContinualConfig, {"method": "gpm"}, "continual").method == "gpm"
    with pytest.raises(ConfigError, match=r"continual\.method.*'finetune', 'hlop', 'ewc'"):
        parse_section(ContinualConfig, {"method": "sgd"}, "continual")
    monkeypatch.setitem(METHODS, "sgd", (Method, None))
    assert parse_section(ContinualConfig, {"method": "sgd"}, "continual").method == "sgd", "registering is enough"
