"""The shipped sweep files (experiments/sweeps/) expand, and every override of every point applies to its config."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_helpers import EXPERIMENTS

from spikemem.experiments import apply_overrides, load_config
from spikemem.sweep import load_sweep
from spikemem.sweep.worker import merge_tables

SWEEPS = sorted((EXPERIMENTS / "sweeps").glob("*.toml"))


def test_there_are_sweep_files_and_the_readme_names_each() -> None:
    readme = (EXPERIMENTS / "README.md").read_text()
    assert {p.stem for p in SWEEPS} >= {"pmnist", "pdigits", "local_pdigits", "hopfield_capacity"}
    assert [p.name for p in SWEEPS if f"sweeps/{p.name}" not in readme] == []


@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_every_point_resolves(path: Path) -> None:
    sweep = load_sweep(path)
    assert len({p.seed for p in sweep.points}) == 3
    for point in sweep.points:
        config = merge_tables(load_config(point.config), point.patch)
        apply_overrides(config, list(point.overrides))  # raises ConfigError naming the key when one is wrong
