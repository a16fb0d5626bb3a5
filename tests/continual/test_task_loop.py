"""The one task loop: any learner of the protocol runs through it, resumes after a kill, and is reported once."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest

import spikemem
from spikemem.continual.task_loop import Learner, run_task_loop
from spikemem.continual.trained import MODEL_FILE, TrainedMLP
from spikemem.seeding import derived_rng
from spikemem.spec import LIF

TASKS = 3


class MemoryStore:
    """A checkpoint kept as JSON text (what the runner's Checkpoint stores), without a file."""

    def __init__(self) -> None:
        self.units: dict[str, str] = {}

    def __contains__(self, key: str) -> bool:
        return key in self.units

    def get(self, key: str) -> Any:
        return json.loads(self.units[key])

    def put(self, key: str, value: Any) -> None:
        self.units[key] = json.dumps(value)


class Context:
    """The smallest :class:`~spikemem.continual.task_loop.RunContext`."""

    def __init__(self, out: Path, checkpoint: MemoryStore, seed: int = 4) -> None:
        self.config: dict[str, Any] = {}
        self.backend = "reference"
        self.seed = seed
        self.out = out
        self.checkpoint = checkpoint
        self.numeric = "float"
        self.backend_options: dict[str, Any] = {}

    def rng(self, *stream: int | str) -> np.random.Generator:
        return derived_rng(self.seed, *stream)

    def progress(self, iterable: Iterable[Any], desc: str, total: int | None = None) -> Iterator[Any]:
        yield from iterable


class CountingLearner:
    """Learns a random vector per task; its accuracies are functions of the weights and the generators."""

    state_prefix = "fake"
    state_suffix = "npz"

    def __init__(self, kill_at: int | None = None) -> None:
        self.weights = np.zeros(5)
        self.kill_at = kill_at
        self.trained: list[int] = []
        self.closed = 0

    def train_task(self, index: int, rng: np.random.Generator) -> dict[str, Any]:
        if index == self.kill_at:
            raise KeyboardInterrupt("killed")
        self.trained.append(index)
        self.weights = self.weights + rng.random(5)
        return {"train_seconds": 0.5, "samples": 10, "norm": float(np.linalg.norm(self.weights))}

    def evaluate(self, rng: np.random.Generator) -> list[float]:
        score = np.tanh(self.weights.sum() / 10 + 0.01 * rng.random())
        return [float(score) / (1 + j) for j in range(TASKS)]

    def write_state(self, index: int, handle: IO[bytes]) -> None:
        np.savez(handle, weights=self.weights, task=index)

    def read_state(self, path: Path) -> None:
        with np.load(path) as data:
            self.weights = data["weights"]

    def trained_model(self) -> TrainedMLP:
        return TrainedMLP([np.ones((2, 3))], [self.weights[None, :2]], LIF(tau_mem=0.01), 4)

    def close(self) -> None:
        self.closed += 1


def _loop(out: Path, store: MemoryStore, learner: CountingLearner) -> dict[str, Any]:
    return run_task_loop(Context(out, store), learner, TASKS, "fake / stream", {"method": "fake", "tasks": TASKS})


def test_a_learner_of_the_protocol_runs_resumes_and_is_reported(tmp_path: Path) -> None:
    assert isinstance(CountingLearner(), Learner)
    fresh = CountingLearner()
    expected = _loop(tmp_path / "fresh", MemoryStore(), fresh)
    assert fresh.trained == [0, 1, 2] and fresh.closed == 1

    store, out = MemoryStore(), tmp_path / "resumed"
    killed = CountingLearner(kill_at=2)
    with pytest.raises(KeyboardInterrupt):
        _loop(out, store, killed)
    assert killed.closed == 1, "the learner is released after an error too"
    assert sorted(p.name for p in out.glob("fake-*.npz")) == ["fake-1.npz"] and not (out / MODEL_FILE).exists()
    resumed = CountingLearner()
    got = _loop(out, store, resumed)
    assert resumed.trained == [2], "finished tasks are not trained again"

    assert got == expected
    assert list(got)[:9] == ["R", "ACC", "LA", "BWT", "FWT", "forgetting", "baseline", "method", "tasks"]
    assert got["train_seconds"] == 1.5 and got["train_samples_per_s"] == 20.0
    assert [t["norm"] for t in got["per_task"]] == [t["norm"] for t in expected["per_task"]]
    assert (out / "R.csv").read_text() == (tmp_path / "fresh" / "R.csv").read_text()
    assert (out / "R.csv").read_text().startswith("after_task,task_0,task_1,task_2\n0,")
    assert (out / "forgetting_curves.png").stat().st_size > 1000 and (out / "accuracy_matrix.png").exists()
    np.testing.assert_array_equal(TrainedMLP.load(out / MODEL_FILE).heads[0], resumed.weights[None, :2])
    assert sorted(p.name for p in out.glob("fake-*.npz")) == ["fake-2.npz"]


def test_the_loop_draws_the_runs_named_streams(tmp_path: Path) -> None:
    """Training task i draws from rng("train", i), the evaluation after it from rng("eval", i + 1)."""
    learner = CountingLearner()
    metrics = _loop(tmp_path, MemoryStore(), learner)
    weights = sum(derived_rng(4, "train", i).random(5) for i in range(TASKS))
    np.testing.assert_array_equal(learner.weights, weights)
    last = np.tanh(weights.sum() / 10 + 0.01 * derived_rng(4, "eval", TASKS).random())
    assert metrics["R"][-1][0] == float(last)
    assert metrics["baseline"][0] == float(np.tanh(0.01 * derived_rng(4, "eval", 0).random()))


EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
KINDS = [
    (
        "spikemem.continual.experiment",
        "pdigits_finetune.toml",
        "snntorch",
        ["training.epochs=1", "model.hidden=[12]", "encoding.steps=3"],
    ),
    ("spikemem.continual.local.experiment", "local_pdigits_finetune.toml", "reference", ["network.hidden=20"]),
]


@pytest.mark.parametrize(("module", "config", "backend", "extra"), KINDS, ids=["continual", "continual_local"])
def test_both_kinds_run_through_the_one_loop(
    module: str, config: str, backend: str, extra: list[str], tmp_path: Path, monkeypatch
) -> None:
    import importlib

    if backend == "snntorch":
        pytest.importorskip("snntorch")
    from spikemem.experiments import run_experiment

    kind = importlib.import_module(module)
    seen: list[Any] = []

    def spy(ctx: Any, learner: Any, *args: Any) -> dict[str, Any]:
        seen.append(learner)
        return run_task_loop(ctx, learner, *args)

    monkeypatch.setattr(kind, "run_task_loop", spy)
    small = ["stream.tasks=2", "stream.max_train=32", "stream.max_test=16", *extra]
    result = json.loads(run_experiment(EXPERIMENTS / config, backend, 0, small, tmp_path, False).read_text())
    assert len(seen) == 1 and isinstance(seen[0], Learner)
    assert np.asarray(result["metrics"]["R"]).shape == (2, 2) and (tmp_path / MODEL_FILE).exists()


def _imports(path: Path) -> set[str]:
    """Every spikemem name ``path`` imports (modules and ``module.name``), at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
    return {name for name in found if name.startswith("spikemem")}


def test_the_continual_package_has_no_cycles_and_does_not_import_the_layers_above() -> None:
    root = Path(spikemem.__file__).parent / "continual"
    modules = {}
    for path in root.rglob("*.py"):
        parts = ("spikemem", "continual", *path.relative_to(root).with_suffix("").parts)
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {name: _imports(path) for name, path in modules.items()}
    above = ("spikemem.experiments", "spikemem.cli")
    wrong = {(m, i) for m, imports in graph.items() for i in imports if i.startswith(above)}
    assert not wrong, f"spikemem.continual imports the layers above it: {sorted(wrong)}"
    edges = {m: {i for i in imports if i in modules and i != m} for m, imports in graph.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in edges[node]:
            assert state.get(nxt) != 1, f"import cycle: {' -> '.join([*path, node, nxt])}"
            if nxt not in state:
                visit(nxt, [*path, node])
        state[node] = 2

    for name in sorted(modules):
        if name not in state:
            visit(name, [])
