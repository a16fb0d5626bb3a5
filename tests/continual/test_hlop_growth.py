"""HLOP's lateral subspaces grow with the layer's input (energy criterion), stop at a cap, and say so."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("snntorch")

from spikemem.config import ConfigError  # noqa: E402
from spikemem.continual.config import parse_section  # noqa: E402
from spikemem.continual.methods.gpm import energy_rank, extend_basis  # noqa: E402
from spikemem.continual.methods.hlop import HLOPConfig  # noqa: E402
from spikemem.experiments import run_experiment  # noqa: E402

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
TINY = [
    "stream.tasks=3",
    "stream.max_train=60",
    "stream.max_test=30",
    "training.epochs=1",
    "training.batch_size=20",
    "model.hidden=[16, 12]",
    "encoding.steps=3",
]


def _rows(seed: int, rank: int, n: int = 12, count: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` rows spanning a random ``rank``-d subspace of R^n, and an orthonormal basis of it (rows)."""
    gen = torch.Generator().manual_seed(seed)
    basis = torch.linalg.qr(torch.randn(n, rank, generator=gen, dtype=torch.float64))[0].T
    return torch.randn(count, rank, generator=gen, dtype=torch.float64) @ basis, basis


def test_energy_rank_counts_the_directions_a_new_task_needs() -> None:
    x, basis = _rows(0, 3)
    assert energy_rank(torch.zeros(0, 12, dtype=torch.float64), x, 0.999)[0] == 3
    assert energy_rank(basis, x, 0.999)[0] == 0, "a task inside the subspace asks for nothing"
    y, _ = _rows(1, 2)
    both = torch.cat([x, y])
    assert energy_rank(basis, both, 0.999)[0] == 2, "only the directions the subspace lacks"
    assert energy_rank(basis, both, 0.1)[0] == 0, "the subspace already holds that fraction"


def test_gpm_extends_by_the_same_count() -> None:
    x, basis = _rows(2, 4)
    extended = extend_basis(torch.zeros(0, 12, dtype=torch.float64), x, 0.999)
    assert extended.shape == (4, 12)
    assert torch.allclose(extended.T @ extended, basis.T @ basis, atol=1e-9), "the same subspace"


@pytest.mark.parametrize(
    ("key", "value"),
    [("threshold", [0.0]), ("threshold", [1.5]), ("max_fraction", [-0.1]), ("samples", 0), ("growth", "all")],
)
def test_bad_growth_settings_name_their_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"hlop.{key}"):
        parse_section(HLOPConfig, {key: value}, "hlop")


def _warnings(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("spikemem: warning:")]


def _run(tmp_path: Path, overrides: list[str]) -> list[dict]:
    path = run_experiment(EXPERIMENTS / "pdigits_hlop.toml", "snntorch", 0, TINY + overrides, tmp_path / "run", False)
    return [task["method"] for task in json.loads(path.read_text())["metrics"]["per_task"]]


def test_energy_growth_stops_at_the_cap_and_warns_naming_the_layer_and_key(tmp_path: Path, capsys) -> None:
    tasks = _run(tmp_path, ['hlop.growth="energy"', "hlop.threshold=[0.999]", "hlop.max_fraction=[0.5]"])
    caps = [math.floor(0.5 * n) for n in (64, 16, 12)]
    for task in tasks:
        assert all(k <= cap for k, cap in zip(task["lateral_neurons"], caps, strict=True)), task
    # 0.999 of a task's energy needs more than half of each hidden layer's inputs (the classifier's input,
    # the second layer's spikes, may be silent in so small and short a run: it is not asserted)
    assert tasks[0]["lateral_neurons"][:2] == caps[:2] and tasks[0]["at_cap"][:2] == [True, True]
    warnings = _warnings(capsys)
    assert len(warnings) == sum(tasks[-1]["at_cap"]), warnings  # once per layer, not once per task
    for layer, (line, cap, n) in enumerate(zip(warnings[:2], caps[:2], (64, 16), strict=True)):
        assert line.startswith("spikemem: warning: hlop.threshold: ")
        assert f"layer {layer}'s lateral subspace reaches its cap of {cap} of its {n} inputs at task 0" in line


def test_a_loose_threshold_grows_little_and_stays_silent(tmp_path: Path, capsys) -> None:
    tasks = _run(tmp_path, ['hlop.growth="energy"', "hlop.threshold=[0.5]", "hlop.max_fraction=[0.9]"])
    sizes = [task["lateral_neurons"] for task in tasks]
    assert all(0 < k < 0.5 * n for k, n in zip(sizes[0][:2], (64, 16), strict=True)), sizes
    assert not _warnings(capsys)


def test_a_count_schedule_that_fills_a_layer_is_no_longer_silent(tmp_path: Path, capsys) -> None:
    """The old silent case: 64 lateral neurons on 64 inputs freeze the first layer after task 0."""
    tasks = _run(
        tmp_path,
        ['hlop.growth="count"', "hlop.initial=[64, 4, 4]", "hlop.increment=[0, 2, 2]", "hlop.max_fraction=[1.0]"],
    )
    assert tasks[0]["lateral_neurons"] == [64, 4, 4]
    warnings = _warnings(capsys)
    assert len(warnings) == 1 and "hlop.increment: layer 0's" in warnings[0] and "frozen" in warnings[0], warnings
