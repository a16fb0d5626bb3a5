"""Bad input at every command: exit 2 (or the documented code), one line on stderr, no traceback, nothing written.

``BAD_INPUTS`` is the growing table (add a row for every new boundary); the config cases of
``test_config_parsing.BAD_CONFIGS`` run here too, through the same assertions. The run directories the
table needs are made once per module from a tiny ``continual_local`` run on the reference backend.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from spikemem.cli import EXIT_SIMULATOR_FAILED, main
from spikemem.experiments import run_experiment
from spikemem.io import staged_directory

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
LOCAL = EXPERIMENTS / "local_pdigits_finetune.toml"
TINY_LOCAL = ["stream.tasks=2", "stream.max_train=40", "stream.max_test=20", "network.hidden=16", "encoding.steps=3"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny continual-learning run (reference backend, ~2 s)."""
    out = tmp_path_factory.mktemp("runs") / "finished"
    run_experiment(LOCAL, "reference", 0, TINY_LOCAL, out, show_progress=False)
    return out


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


# -- friction fixes -------------------------------------------------------------------------------


def test_a_failed_deploy_leaves_no_folder(finished: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from spikemem.backends.lava_backend import LavaRunError
    from spikemem.continual import deployment

    original = deployment.evaluate_model

    def lava_times_out(model, tasks, seed, backend, *args, **kwargs):
        if backend == "lava":
            raise LavaRunError("'run' did not finish within timeout_s=1 s; the Lava runtime has been stopped.\nlog")
        return original(model, tasks, seed, backend, *args, **kwargs)

    monkeypatch.setattr(deployment, "evaluate_model", lava_times_out)
    out = tmp_path / "deploy"
    assert main(["deploy", str(finished), "--out", str(out), "--timeout", "1"]) == EXIT_SIMULATOR_FAILED
    assert "--timeout SECONDS" in _one_line(capsys)
    assert list(tmp_path.iterdir()) == [], "neither the folder nor its temporary sibling is left"


def test_deploy_refuses_a_folder_of_user_files(finished: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["deploy", str(finished), "--out", str(out)]) == 2
    assert "not a spikemem deployment" in _one_line(capsys)
    assert _snapshot(out) == {"notes.txt": b"mine"}


def test_a_staged_directory_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "d"
    with pytest.raises(RuntimeError), staged_directory(target) as stage:
        (stage / "a").write_text("half")
        raise RuntimeError("failed")
    assert list(tmp_path.iterdir()) == []
    for text in ("first", "second"):
        with staged_directory(target) as stage:
            (stage / "a").write_text(text)
            assert not (target / "a").exists() or (target / "a").read_text() == "first"
    assert _snapshot(target) == {"a": b"second"} and [p.name for p in tmp_path.iterdir()] == ["d"]


def test_compare_shows_n_1_for_a_single_seed(finished: Path, tmp_path: Path, capsys) -> None:
    assert main(["compare", str(finished), "--out", str(tmp_path / "c.png")]) == 0
    table = capsys.readouterr().out
    assert "(n=1)" in table and "±" not in table


@pytest.mark.parametrize("twice", [lambda run: [run, run], lambda run: [run.parent, run]], ids=["same", "inside"])
def test_compare_refuses_a_run_given_twice(twice, finished: Path, tmp_path: Path, capsys) -> None:
    assert main(["compare", *map(str, twice(finished)), "--out", str(tmp_path / "c.png")]) == 2
    assert "given twice" in _one_line(capsys)
    assert not (tmp_path / "c.png").exists()
