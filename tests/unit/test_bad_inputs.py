"""Bad input at every command: exit 2 (or the documented code), one line on stderr, no traceback, nothing written.

``BAD_INPUTS`` is the growing table (add a row for every new boundary); the config cases of
``test_config_parsing.BAD_CONFIGS`` run here too, through the same assertions. The run directories,
networks and damaged files the table needs are made once per module from a tiny ``continual_local``
run on the reference backend (a few seconds).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_config_parsing import BAD_CONFIGS, _with

from spikemem.cli import EXIT_SIMULATOR_FAILED, EXIT_USAGE, main
from spikemem.demo import demo_network
from spikemem.experiments import run_experiment
from spikemem.io import staged_directory
from spikemem.spec import save

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
LOCAL = EXPERIMENTS / "local_pdigits_finetune.toml"
RECALL = EXPERIMENTS / "hopfield_recall.toml"
TINY_LOCAL = ["stream.tasks=2", "stream.max_train=40", "stream.max_test=20", "network.hidden=16", "encoding.steps=3"]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny continual-learning run (reference backend, ~2 s)."""
    out = tmp_path_factory.mktemp("runs") / "finished"
    run_experiment(LOCAL, "reference", 0, TINY_LOCAL, out, show_progress=False)
    return out


def _damaged_run(finished: Path, folder: Path, name: str, damage: Callable[[Path], None]) -> None:
    shutil.copytree(finished, folder / name)
    damage(folder / name)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:60])


@pytest.fixture(scope="module")
def files(finished: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every damaged or wrong-kind input of the table, in one folder (read-only for the tests)."""
    root = tmp_path_factory.mktemp("inputs")
    (root / "folder").mkdir()
    (root / "empty").mkdir()
    (root / "a_file").write_text("not a folder")
    (root / "latin1.toml").write_bytes("# caf\xe9\n[experiment]\nkind = 'x'\n".encode("latin-1"))
    (root / "broken.toml").write_text("[experiment\nkind = ")
    (root / "nokind.toml").write_text("[experiment]\nseed = 1\n")
    (root / "unknown_kind.toml").write_text('[experiment]\nkind = "nope"\n')
    (root / "nosweep.toml").write_text("[other]\nx = 1\n")
    net = save(demo_network(), root / "net.json")
    (root / "net_not_json.json").write_text("{ not json")
    (root / "net_latin1.json").write_bytes(b'{"format": "caf\xe9"}')
    (root / "net_empty_object.json").write_text("{}")
    text = net.read_text()
    for name, (old, new) in {
        "net_tau": ('"tau_mem": 0.02', '"tau_mem": -1.0'),
        "net_dt": ('"dt": 0.001', '"dt": 0.0'),
    }.items():
        (root / f"{name}.json").write_text(_with(text, old, new))
        shutil.copy(root / "net.npz", root / f"{name}.npz")
    shutil.copy(net, root / "net_trunc.json")
    (root / "net_trunc.npz").write_bytes((root / "net.npz").read_bytes()[:100])
    _damaged_run(finished, root, "result_not_json", lambda d: (d / "result.json").write_text("{ nope"))
    _damaged_run(finished, root, "result_list", lambda d: (d / "result.json").write_text("[1, 2]"))
    _damaged_run(finished, root, "result_latin1", lambda d: (d / "result.json").write_bytes(b'{"a": "\xe9"}'))
    _damaged_run(finished, root, "result_foreign", lambda d: (d / "result.json").write_text('{"answer": 42}'))
    memory = {"config": {"experiment": {"kind": "hopfield_recall"}}, "backend": "reference", "seed": 0}
    _damaged_run(
        finished, root, "result_memory", lambda d: (d / "result.json").write_text(json.dumps(memory | {"metrics": {}}))
    )
    _damaged_run(finished, root, "model_truncated", lambda d: _truncate(d / "trained_model.npz"))
    _damaged_run(finished, root, "model_garbage", lambda d: (d / "trained_model.npz").write_bytes(b"\0" * 500))

    def unfinished_with_a_truncated_state(d: Path) -> None:
        (d / "result.json").unlink()
        (d / "trained_model.npz").unlink()
        _truncate(d / "local-state-1.npz")

    _damaged_run(finished, root, "state_truncated", unfinished_with_a_truncated_state)
    (root / "deployment_of_mine").mkdir()
    (root / "deployment_of_mine" / "notes.txt").write_text("mine")
    return root


@dataclass(frozen=True)
class Paths:
    """What a row's arguments may name: the finished run, the prepared inputs, and ``out`` (must stay absent)."""

    run: Path
    files: Path
    out: Path

    def __getitem__(self, name: str) -> str:
        return str(self.files / name)


@dataclass(frozen=True)
class Bad:
    """One bad input: its arguments, a fragment of the one line, the exit code, the lines on stderr."""

    argv: Callable[[Paths], list[str]]
    fragment: str
    code: int = EXIT_USAGE
    lines: int = 1


def _run(config: str, *extra: str) -> Callable[[Paths], list[str]]:
    return lambda p: ["run", config if config.startswith("/") else p[config], "--out", str(p.out), *extra]


def _evaluate(run: str | None, *extra: str) -> Callable[[Paths], list[str]]:
    return lambda p: ["evaluate", str(p.run) if run is None else p[run], "--backend", "reference", *extra]


def _deploy(run: str | None, *extra: str) -> Callable[[Paths], list[str]]:
    return lambda p: ["deploy", str(p.run) if run is None else p[run], "--out", str(p.out), *extra]


def _compare(*dirs: str, out: bool = True) -> Callable[[Paths], list[str]]:
    def argv(p: Paths) -> list[str]:
        named = [str(p.run) if d == "RUN" else str(p.run.parent) if d == "RUNS" else p[d] for d in dirs]
        return ["compare", *named, *(["--out", str(p.out / "c.png")] if out else [])]

    return argv


TINY = [a for item in TINY_LOCAL for a in ("--set", item)]
BAD_INPUTS: dict[str, Bad] = {
    # backends
    "backends-unknown-option": Bad(lambda p: ["backends", "--bogus"], "unrecognized arguments"),
    "backends-extra-argument": Bad(lambda p: ["backends", "extra"], "unrecognized arguments"),
    "no-command": Bad(lambda p: [], "required: command"),
    "unknown-command": Bad(lambda p: ["bogus"], "invalid choice"),
    # validate
    "validate-missing-file": Bad(lambda p: ["validate", p["nothing.json"]], "no such file"),
    "validate-a-folder": Bad(lambda p: ["validate", p["folder"]], "is a directory"),
    "validate-not-json": Bad(
        lambda p: ["validate", p["net_not_json.json"]], "not a JSON file written by spikemem.spec.save"
    ),
    "validate-not-utf8": Bad(lambda p: ["validate", p["net_latin1.json"]], "not a JSON file written by"),
    "validate-not-a-network": Bad(lambda p: ["validate", p["net_empty_object.json"]], "arrays"),
    "validate-negative-tau": Bad(lambda p: ["validate", p["net_tau.json"]], "tau_mem: must be > 0"),
    "validate-zero-dt": Bad(lambda p: ["validate", p["net_dt.json"]], "dt"),
    "validate-truncated-arrays": Bad(lambda p: ["validate", p["net_trunc.json"]], "SHA-256"),
    # simulate
    "simulate-missing-network": Bad(lambda p: ["simulate", p["nothing.json"], "--steps", "5"], "no such file"),
    "simulate-zero-steps": Bad(lambda p: ["simulate", p["net.json"], "--steps", "0"], "--steps: 0 is not >= 1"),
    "simulate-negative-steps": Bad(lambda p: ["simulate", p["net.json"], "--steps", "-5"], "--steps"),
    "simulate-steps-not-int": Bad(lambda p: ["simulate", p["net.json"], "--steps", "1.5"], "not an integer"),
    "simulate-no-steps": Bad(lambda p: ["simulate", p["net.json"]], "required: --steps"),
    "simulate-unknown-backend": Bad(lambda p: ["simulate", p["net.json"], "--steps", "5", "--backend", "nest"], "nest"),
    "simulate-unknown-numeric": Bad(
        lambda p: ["simulate", p["net.json"], "--steps", "5", "--numeric", "half"], "invalid choice"
    ),
    "simulate-out-is-a-file": Bad(lambda p: ["simulate", p["net.json"], "--steps", "5", "--out", p["a_file"]], "file"),
    # run
    "run-missing-config": Bad(_run("nothing.toml"), "no such config file"),
    "run-config-is-a-folder": Bad(_run("folder"), "is a directory"),
    "run-config-not-utf8": Bad(_run("latin1.toml"), "not UTF-8"),
    "run-config-not-toml": Bad(_run("broken.toml"), "not valid TOML"),
    "run-config-without-kind": Bad(_run("nokind.toml"), "experiment.kind: missing"),
    "run-unknown-kind": Bad(_run("unknown_kind.toml"), "unknown kind 'nope'"),
    "run-unknown-backend": Bad(_run(str(RECALL), "--backend", "nest"), "nest"),
    "run-set-without-value": Bad(_run(str(RECALL), "--set", "model.load"), "expected key.path=value"),
    "run-set-unknown-key": Bad(_run(str(RECALL), "--set", "model.lod=0.1"), "known keys"),
    "run-set-inf": Bad(_run(str(LOCAL), "--set", "local.lr=inf"), "local.lr"),
    "run-negative-seed": Bad(_run(str(RECALL), "--seed", "-1"), ">= 0"),
    "run-seed-not-int": Bad(_run(str(RECALL), "--seed", "one"), "invalid int value"),
    "run-hlop-fills-every-layer": Bad(
        _run(
            str(EXPERIMENTS / "local_pdigits_hlop.toml"),
            "--set",
            "network.hidden=50",
            "--set",
            "local.lateral_per_task=40",
        ),
        "could not learn",
    ),
    "run-out-is-a-file": Bad(lambda p: ["run", str(RECALL), "--out", p["a_file"]], "is a file"),
    "run-out-is-a-user-folder": Bad(lambda p: ["run", str(RECALL), "--out", p["deployment_of_mine"]], "--force"),
    "run-out-holds-another-run": Bad(lambda p: ["run", str(RECALL), "--out", str(p.run)], "another config"),
    "run-resume-from-a-truncated-state": Bad(
        lambda p: ["run", str(LOCAL), "--backend", "reference", "--out", p["state_truncated"], *TINY],
        "local-state-1.npz: not a readable checkpoint state",
        lines=2,  # "resuming ..." then the error
    ),
    # sweep
    "sweep-missing-file": Bad(lambda p: ["sweep", p["nothing.toml"], "--out", str(p.out)], "no such sweep file"),
    "sweep-a-folder": Bad(lambda p: ["sweep", p["folder"], "--out", str(p.out)], "is a directory"),
    "sweep-not-utf8": Bad(lambda p: ["sweep", p["latin1.toml"], "--out", str(p.out)], "not UTF-8"),
    "sweep-not-toml": Bad(lambda p: ["sweep", p["broken.toml"], "--out", str(p.out)], "not valid TOML"),
    "sweep-without-sweep-table": Bad(lambda p: ["sweep", p["nosweep.toml"], "--out", str(p.out)], "[sweep]"),
    "sweep-out-is-a-file": Bad(
        lambda p: ["sweep", str(EXPERIMENTS / "sweeps" / "local_pdigits.toml"), "--out", p["a_file"]], "is a file"
    ),
    "sweep-zero-workers": Bad(lambda p: ["sweep", p["nosweep.toml"], "--workers", "0"], "--workers: 0 is not >= 1"),
    "sweep-unknown-executor": Bad(lambda p: ["sweep", p["nosweep.toml"], "--executor", "slurm"], "invalid choice"),
    # compare
    "compare-missing-dir": Bad(_compare("nothing"), "no result.json"),
    "compare-empty-folder": Bad(_compare("empty"), "no result.json"),
    "compare-result-not-json": Bad(_compare("result_not_json"), "not a readable spikemem result"),
    "compare-result-not-utf8": Bad(_compare("result_latin1"), "not a readable spikemem result"),
    "compare-result-a-list": Bad(_compare("result_list"), "not an object"),
    "compare-result-foreign": Bad(_compare("result_foreign"), "not a spikemem result"),
    "compare-result-not-continual": Bad(_compare("result_memory"), "not a continual-learning result"),
    "compare-the-same-run-twice": Bad(_compare("RUN", "RUN"), "given twice"),
    "compare-a-run-and-its-folder": Bad(_compare("RUNS", "RUN"), "given twice"),
    "compare-out-is-a-folder": Bad(lambda p: ["compare", str(p.run), "--out", p["folder"]], "is a directory"),
    "compare-without-out": Bad(_compare("RUN", out=False), "required: --out"),
    # evaluate
    "evaluate-missing-dir": Bad(_evaluate("nothing"), "no such directory"),
    "evaluate-a-file": Bad(_evaluate("a_file"), "is a file"),
    "evaluate-empty-folder": Bad(_evaluate("empty"), "no result.json"),
    "evaluate-result-not-json": Bad(_evaluate("result_not_json"), "not a readable spikemem result"),
    "evaluate-result-a-list": Bad(_evaluate("result_list"), "not an object"),
    "evaluate-result-not-continual": Bad(_evaluate("result_memory"), "not from a continual-learning config"),
    "evaluate-model-truncated": Bad(_evaluate("model_truncated"), "trained_model.npz: not a readable trained model"),
    "evaluate-model-garbage": Bad(_evaluate("model_garbage"), "trained_model.npz: not a readable trained model"),
    "evaluate-unknown-backend": Bad(lambda p: ["evaluate", str(p.run), "--backend", "nest"], "nest"),
    "evaluate-no-backend": Bad(lambda p: ["evaluate", str(p.run)], "required: --backend"),
    "evaluate-unknown-against": Bad(_evaluate(None, "--against", "nest"), "nest"),
    "evaluate-unknown-numeric": Bad(_evaluate(None, "--numeric", "half"), "invalid choice"),
    "evaluate-negative-max-test": Bad(_evaluate(None, "--max-test", "-1"), "--max-test: -1 is not >= 0"),
    "evaluate-max-test-not-int": Bad(_evaluate(None, "--max-test", "ten"), "not an integer"),
    "evaluate-zero-timeout": Bad(_evaluate(None, "--timeout", "0"), "--timeout: 0 is not a finite number"),
    "evaluate-negative-timeout": Bad(_evaluate(None, "--timeout", "-3"), "--timeout"),
    "evaluate-nan-timeout": Bad(_evaluate(None, "--timeout", "nan"), "not a finite number"),
    "evaluate-out-is-a-folder": Bad(_evaluate(None, "--out", "FOLDER"), "is a directory"),
    # deploy
    "deploy-missing-dir": Bad(_deploy("nothing"), "no such directory"),
    "deploy-a-file": Bad(_deploy("a_file"), "is a file"),
    "deploy-result-not-json": Bad(_deploy("result_not_json"), "not a readable spikemem result"),
    "deploy-result-not-continual": Bad(_deploy("result_memory"), "not from a continual-learning config"),
    "deploy-model-truncated": Bad(_deploy("model_truncated"), "not a readable trained model"),
    "deploy-negative-max-test": Bad(_deploy(None, "--max-test", "-2"), "--max-test: -2 is not >= 0"),
    "deploy-zero-timeout": Bad(_deploy(None, "--timeout", "0"), "--timeout: 0 is not a finite number"),
    "deploy-infinite-timeout": Bad(_deploy(None, "--timeout", "inf"), "not a finite number"),
    "deploy-to-reference": Bad(_deploy(None, "--to", "reference"), "invalid choice"),
    "deploy-out-is-a-file": Bad(lambda p: ["deploy", str(p.run), "--out", p["a_file"]], "is a file"),
    "deploy-out-is-a-user-folder": Bad(
        lambda p: ["deploy", str(p.run), "--out", p["deployment_of_mine"]], "not a spikemem deployment"
    ),
    # demo
    "demo-zero-steps": Bad(lambda p: ["demo", "--out", str(p.out), "--steps", "0"], "--steps: 0 is not >= 1"),
    "demo-steps-not-int": Bad(lambda p: ["demo", "--out", str(p.out), "--steps", "many"], "not an integer"),
    "demo-out-is-a-file": Bad(lambda p: ["demo", "--out", p["a_file"]], "is a file"),
    "demo-extra-argument": Bad(lambda p: ["demo", "--out", str(p.out), "extra"], "unrecognized arguments"),
}
"""Every bad input the CLI must refuse cleanly (name: the command first). Add rows; never remove one."""


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def test_the_table_covers_every_command_with_at_least_60_inputs() -> None:
    from spikemem.cli import build_parser

    commands = {name.split("-")[0] for name in BAD_INPUTS}
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(subparsers.choices) <= commands, set(subparsers.choices) - commands
    assert len(BAD_INPUTS) + len(BAD_CONFIGS) >= 60 and len(BAD_INPUTS) >= 60


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_a_bad_input_exits_cleanly_and_writes_nothing(name: str, finished: Path, files: Path, tmp_path, capsys) -> None:
    bad = BAD_INPUTS[name]
    paths = Paths(finished, files, tmp_path / "out")
    argv = [str(files / "folder") if a == "FOLDER" else a for a in bad.argv(paths)]
    before = (_snapshot(finished), _snapshot(files))
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == bad.code, captured.err
    assert len(lines) == bad.lines, captured.err
    assert "Traceback" not in captured.err + captured.out
    assert bad.fragment in lines[-1], lines
    assert not paths.out.exists(), "nothing written"
    assert (_snapshot(finished), _snapshot(files)) == before, "no input changed"
    assert not [p for p in files.rglob(".*") if "partial" in p.name or p.name.endswith(".tmp")], "no temporary left"


@pytest.mark.parametrize(("config", "edit", "extra", "field_name", "fragment"), BAD_CONFIGS)
def test_every_bad_config_exits_cleanly_from_run(config, edit, extra, field_name, fragment, tmp_path, capsys) -> None:
    """The parser's table (test_config_parsing.BAD_CONFIGS) through the same CLI assertions."""
    path = EXPERIMENTS / f"{config}.toml"
    if edit is not None:
        path = tmp_path / f"{config}.toml"
        path.write_text(_with((EXPERIMENTS / f"{config}.toml").read_text(), *edit))
    argv = ["run", str(path), "--out", str(tmp_path / "out"), *(a for item in extra for a in ("--set", item))]
    assert main(argv + (["--backend", "snntorch"] if config.startswith("pdigits") else [])) == EXIT_USAGE
    assert field_name in _one_line(capsys)
    assert not (tmp_path / "out").exists()


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
