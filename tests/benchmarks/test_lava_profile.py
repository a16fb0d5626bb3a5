"""``benchmarks/lava_profile.py --quick``: each Lava run's profile is recorded; Lava agrees with the reference."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_benchmarks import needs, run_script

PHASES = {"lava_run_s", "lava_steps", "lava_runs", "requests", "client.requests"}


@pytest.mark.slow
def test_lava_profile_inference(tmp_path: Path) -> None:
    needs("lava")  # the sessions are compiled once, before the warm-up: their runtime start is not in the runs
    doc = run_script(tmp_path, "lava_profile", "--cases", "inference")
    (case,) = doc["cases"]
    assert all(case["checks"].values()), case["checks"]
    for name, record in case["implementations"].items():
        if name.startswith("lava"):
            assert PHASES <= set(record["info"]["profile"]), name
    batched, before = (case["implementations"][f"lava fixed{s}"]["info"]["profile"] for s in ("", " (before)"))
    assert batched["lava_runs"] < before["lava_runs"]  # B samples per Lava run instead of one Lava run per sample
    assert {c["name"] for c in case["comparisons"]} >= {"lava float / reference", "lava fixed / reference (fixed)"}


@pytest.mark.slow
def test_lava_profile_steps(tmp_path: Path) -> None:
    needs("lava")
    doc = run_script(tmp_path, "lava_profile", "--cases", "steps")  # quick: a ring of 1, 10 steps
    (case,) = doc["cases"]
    records = case["implementations"]
    assert set(records) == {"ring 1", "ring 1 + learning"}
    for record in records.values():
        info = record["info"]
        assert info["processes"] == 2 and info["ms_per_step"] > 0
        assert info["profile"]["lava_steps"] == 10  # the timed run's steps only (the start was the warm-up's)
