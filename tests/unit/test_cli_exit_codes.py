"""Exit codes that scripts can trust (spikemem.cli): 0, 2, 3, 130, 143; run directories guarded."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

import spikemem.experiments
from spikemem import cli

CONFIG = Path(__file__).resolve().parents[2] / "experiments" / "hopfield_recall.toml"
SMALL = ["model.neurons=60", "recall.cues=2", "recall.basin_noise=[0.1]", "recall.basin_cues=2", "output.plots=false"]


def _run_args(out: Path, *extra: str) -> list[str]:
    return ["run", str(CONFIG), "--out", str(out), *(a for s in SMALL for a in ("--set", s)), *extra]


def _fake_run(result: dict):
    def run_experiment(config, backend=None, seed=None, overrides=None, out=None, force=False):
        path = Path(out) / "result.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result))
        return path

    return run_experiment


def test_a_run_whose_declared_check_fails_exits_3_after_writing_its_result(tmp_path, monkeypatch, capsys) -> None:
    checks = [{"name": "overlap", "holds": True}, {"name": "alpha=0.1 overlap_mean", "holds": False}]
    monkeypatch.setattr(spikemem.experiments, "run_experiment", _fake_run({"metrics": {"checks": checks}}))
    assert cli.main(["run", str(CONFIG), "--out", str(tmp_path / "r")]) == cli.EXIT_CHECK_FAILED == 3
    assert "alpha=0.1 overlap_mean" in capsys.readouterr().err
    assert (tmp_path / "r" / "result.json").exists()
    monkeypatch.setattr(spikemem.experiments, "run_experiment", _fake_run({"metrics": {"checks": checks[:1]}}))
    assert cli.main(["run", str(CONFIG), "--out", str(tmp_path / "s")]) == 0


@pytest.mark.parametrize(
    ("argv", "fix"),
    [
        (["run", str(CONFIG)], "--set backend_options.lava.timeout_s=SECONDS"),
        (["evaluate", "RUN", "--backend", "lava"], "--timeout SECONDS"),
    ],
)
def test_a_lava_timeout_exits_4_in_one_line_naming_the_fix(argv, fix, monkeypatch, capsys) -> None:
    from spikemem.backends.lava_backend._client import LavaRunError

    def timed_out(*args, **kwargs):
        raise LavaRunError("'run' did not finish within timeout_s=1 s; the Lava runtime has been stopped.\nlog...")

    monkeypatch.setattr(spikemem.experiments, "run_experiment", timed_out)
    monkeypatch.setattr("spikemem.continual.evaluate.evaluate_run", timed_out)
    monkeypatch.setattr(cli, "_backend", lambda name, **options: None)
    assert cli.main(argv) == cli.EXIT_SIMULATOR_FAILED == 4
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "timeout_s=1 s" in err[0] and fix in err[0], err


def test_ctrl_c_exits_130_with_one_line(monkeypatch, capsys) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(spikemem.experiments, "run_experiment", interrupted)
    assert cli.main(["run", str(CONFIG)]) == cli.EXIT_INTERRUPTED == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["spikemem run: interrupted; run the same command again to resume"]


def test_sigterm_unwinds_and_exits_143(monkeypatch, capsys) -> None:
    unwound = []

    def terminated(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        finally:
            unwound.append(True)  # a `with sim:` block here would close its simulator

    monkeypatch.setattr(spikemem.experiments, "run_experiment", terminated)
    before = signal.getsignal(signal.SIGTERM)
    assert cli.main(["run", str(CONFIG)]) == cli.EXIT_TERMINATED == 143
    assert unwound == [True]
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is the CLI's only while it runs
    assert "terminated (SIGTERM)" in capsys.readouterr().err


def test_a_user_folder_is_refused_with_exit_2_and_written_only_with_force(tmp_path, capsys) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    assert cli.main(_run_args(mine)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--force" in err[0]
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert cli.main(_run_args(mine, "--force")) in (0, 3)
    assert (mine / "result.json").exists() and (mine / "notes.txt").read_text() == "my notes"


def test_a_finished_run_says_so_and_a_second_run_into_it_changes_nothing(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert cli.main(_run_args(out)) in (0, 3)
    first = (out / "result.json").read_bytes()
    capsys.readouterr()
    assert cli.main(_run_args(out)) in (0, 3)
    assert "already holds this finished run" in capsys.readouterr().err
    assert (out / "result.json").read_bytes() == first


@pytest.mark.parametrize("target", ["file", "directory-as-network"])
def test_paths_of_the_wrong_kind_exit_2(tmp_path, target, capsys) -> None:
    if target == "file":
        afile = tmp_path / "out.txt"
        afile.write_text("x")
        argv = _run_args(afile)
    else:
        argv = ["validate", str(tmp_path)]
    assert cli.main(argv) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize("content", [b"\xff\xfe not utf-8", b'{"dt": ', b'{"not": "a network"}'])
def test_an_unreadable_network_file_exits_2_in_one_line(tmp_path, content, capsys) -> None:
    path = tmp_path / "net.json"
    path.write_bytes(content)
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "net." in err[0]  # the file named (the .json, or its .npz arrays file)
