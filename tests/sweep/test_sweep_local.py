"""The local executor: same results as single `spikemem run` calls, failures alone, Ctrl-C and resume, aggregation."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from sweep_helpers import LOCAL_SET, result, stable, write_sweep

from spikemem.cli import EXIT_CHECK_FAILED, main
from spikemem.sweep import load_sweep, plan, run_sweep

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_sweep_equals_single_runs(memory_run: tuple[Path, Path], tmp_path: Path) -> None:
    path, out = memory_run
    points = load_sweep(path).points
    assert len(points) == 8
    for point in points:
        run = out / "runs" / point.id
        single = tmp_path / point.id
        args = ["run", point.config, "--backend", point.backend, "--seed", str(point.seed), "--out", str(single)]
        # the shrunken memory configs miss some of their declared checks: exit 3, results written all the same
        assert main([*args, *(f"--set={o}" for o in point.overrides)]) in (0, EXIT_CHECK_FAILED)
        swept, alone = result(run), result(single)
        assert swept["config"] == alone["config"]
        assert stable(swept["metrics"]) == stable(alone["metrics"]), point.id
        # the resolved config beside the result reproduces the run
        assert tomllib.loads((run / "config.toml").read_text()) == swept["config"]
        status = json.loads((run / "status.json").read_text())
        assert status["status"] == "ok" and status["host"]
    assert {p.backend for p in points} == {"reference", "brian2"}


def test_rerun_redoes_nothing_and_dry_run_shows_the_plan(memory_run: tuple[Path, Path], capsys) -> None:
    path, out = memory_run
    before = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/result.json")}
    assert main(["sweep", str(path), "--out", str(out), "--dry-run"]) == 0
    assert "8 runs (8 done); 0 to run" in capsys.readouterr().out
    outcome = run_sweep(path, out, workers=2, progress=False, plots=False, echo=lambda *_: None)
    assert outcome["statuses"] == {}
    assert before == {p: p.stat().st_mtime_ns for p in out.glob("runs/*/result.json")}


def test_a_bad_override_fails_alone_and_only_it_is_retried(tmp_path: Path, capsys) -> None:
    path = write_sweep(
        tmp_path / "bad.toml",
        """
[sweep]
configs = ["@EXP@/hopfield_recall.toml"]
set = ["recall.basin_cues=4", "recall.basin_noise=[0.2]", "output.plots=false"]
[[sweep.axes]]
key = "model.neurons"
values = [80, "many"]
name = "n"
""",
    )
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--workers", "2"]) == 1
    printed = capsys.readouterr().out
    assert "failed: hopfield_recall-nmany-reference-seed0" in printed and "model.neurons" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == {"done": 1, "failed": 1}
    failures = [f for g in summary["groups"] for f in g["failures"]]
    assert [f["id"] for f in failures] == ["hopfield_recall-nmany-reference-seed0"]
    assert "model.neurons" in failures[0]["error"]
    good = out / "runs" / "hopfield_recall-n80-reference-seed0" / "result.json"
    stamp = good.stat().st_mtime_ns
    outcome = run_sweep(path, out, workers=2, progress=False, plots=False, echo=lambda *_: None)
    assert list(outcome["statuses"]) == ["hopfield_recall-nmany-reference-seed0"]  # only the failed one again
    assert good.stat().st_mtime_ns == stamp


@pytest.fixture(scope="module")
def continual_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A continual sweep (2 methods x 2 seeds): interrupted by SIGINT after its first run, then run again."""
    tmp = tmp_path_factory.mktemp("continual")
    own = f"set = {json.dumps(LOCAL_SET)}"
    path = write_sweep(
        tmp / "continual.toml",
        f"""
[sweep]
name = "continual"
seeds = [0, 1]
[[sweep.configs]]
path = "@EXP@/local_pdigits_hlop.toml"
{own}
[[sweep.configs]]
path = "@EXP@/local_pdigits_finetune.toml"
{own}
""",
    )
    out = tmp / "out"
    command = [sys.executable, "-m", "spikemem.cli", "sweep", str(path), "--out", str(out), "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob("runs/*/status.json")) and time.monotonic() < deadline:
            time.sleep(0.05)
        workers = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGINT)  # Ctrl-C of the driver
        code = process.wait(timeout=60)
        _, alive = psutil.wait_procs(workers, timeout=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    finished = {p: p.read_bytes() for p in out.glob("runs/*/result.json")}
    leftovers = list((out / "runs").rglob("*.tmp"))
    states = plan(load_sweep(path), out)
    outcome = run_sweep(path, out, workers=2, progress=False, echo=lambda *_: None)
    return {
        "out": out,
        "code": code,
        "workers": workers,
        "alive": alive,
        "states": states,
        "finished": finished,
        "leftovers": leftovers,
        "outcome": outcome,
        "tmp": tmp,
    }


def test_interrupt_then_resume(continual_run: dict) -> None:
    out, finished, outcome = continual_run["out"], continual_run["finished"], continual_run["outcome"]
    assert continual_run["code"] != 0
    assert continual_run["workers"] and not continual_run["alive"]  # the worker processes stopped with the driver
    assert set(continual_run["states"].values()) <= {"done", "partial", "missing"}
    assert 1 <= len(finished) < 4 and not continual_run["leftovers"]
    assert len(outcome["statuses"]) == 4 - len(finished)  # only the unfinished ones ran again
    assert all(s["status"] == "ok" for s in outcome["statuses"].values())
    assert all(p.read_bytes() == data for p, data in finished.items())  # finished runs untouched
    assert len(list(out.glob("runs/*/result.json"))) == 4
    # `spikemem compare` takes a sweep directory
    figure = continual_run["tmp"] / "compare.png"
    assert main(["compare", str(out), "--out", str(figure)]) == 0
    assert figure.is_file()


def test_aggregate_matches_hand_computed_means(continual_run: dict, memory_run: tuple[Path, Path]) -> None:
    out = continual_run["out"]
    summary = json.loads((out / "summary.json").read_text())
    groups = {(g["config_point"], g["method"]): g for g in summary["groups"]}
    assert set(groups) == {("local_pdigits_hlop", "local-hlop"), ("local_pdigits_finetune", "local-finetune")}
    for (name, _), group in groups.items():
        runs = [result(out / "runs" / f"{name}-reference-seed{s}") for s in (0, 1)]
        assert group["seeds"] == [0, 1] and group["failures"] == []
        for metric in ("ACC", "BWT", "forgetting"):
            values = np.array([r["metrics"][metric] for r in runs])
            assert group["metrics"][metric] == {"mean": np.mean(values), "std": np.std(values, ddof=1), "n": 2}
    with open(out / "summary.csv") as handle:
        rows = list(csv.DictReader(handle))
    acc = next(r for r in rows if r["config_point"] == "local_pdigits_hlop" and r["metric"] == "ACC")
    assert float(acc["mean"]) == groups[("local_pdigits_hlop", "local-hlop")]["metrics"]["ACC"]["mean"]
    for name in ("forgetting_curves", "acc_bwt"):
        assert (out / "plots" / f"{name}.png").stat().st_size > 1000
    # capacity curves of the memory sweep, one per backend
    out = memory_run[1]
    summary = json.loads((out / "summary.json").read_text())
    for backend in ("reference", "brian2"):
        group = next(g for g in summary["groups"] if (g["config_point"], g["backend"]) == ("capacity", backend))
        curves = [
            [p["overlap_mean"] for p in result(out / "runs" / f"capacity-{backend}-seed{s}")["metrics"]["curve"]]
            for s in (0, 1)
        ]
        assert group["capacity"]["alpha"] == [0.05, 0.2]
        assert np.allclose(group["capacity"]["mean"], np.mean(curves, axis=0))
    assert (out / "plots" / "capacity.png").stat().st_size > 1000
