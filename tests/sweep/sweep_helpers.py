"""Helpers of the sweep tests (their own module: conftest.py is not importable by name).

Tiny sweeps: about a second per run on the reference backend and Brian2 (numpy target).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
MEMORY_SET = ["model.neurons=80", "output.plots=false"]
LOCAL_SET = [
    "stream.tasks=3",
    "stream.max_train=48",
    "stream.max_test=30",
    "network.hidden=30",
    "encoding.steps=4",
    "local.lateral_per_task=8",  # the configs' 40 would fill the 30 hidden neurons (spikemem.continual.capacity)
]
TIMING = ("_s", "seconds", "per_s")


def write_sweep(path: Path, body: str) -> Path:
    """Write a sweep file whose relative config paths point into experiments/."""
    path.write_text(body.replace("@EXP@", str(EXPERIMENTS)))
    return path


def memory_sweep(tmp_path: Path, extra: str = "") -> Path:
    """2 seeds x 2 configs (recall at one load, a 2-load capacity curve) x 2 backends (reference, brian2)."""
    return write_sweep(
        tmp_path / "memory.toml",
        f"""
[sweep]
name = "memory"
seeds = [0, 1]
backends = ["reference", "brian2"]
set = {json.dumps(MEMORY_SET)}

[[sweep.configs]]
path = "@EXP@/hopfield_recall.toml"
name = "sync"
set = ["recall.basin_cues=4", "recall.basin_noise=[0.2]"]

[[sweep.configs]]
path = "@EXP@/hopfield_capacity.toml"
name = "capacity"
set = ["recall.loads=[0.05,0.2]", "recall.report_load=0.05"]
{extra}
""",
    )


def stable(value: Any) -> Any:
    """Metrics without timings (what must be identical between two runs of the same point)."""
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items() if not any(k.endswith(t) for t in TIMING)}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def result(directory: Path) -> dict[str, Any]:
    """``result.json`` of a run directory."""
    return json.loads((directory / "result.json").read_text())
