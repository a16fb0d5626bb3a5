"""A run directory's state (checksum of result.json, changed points) and a base config given apart from the point."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from sweep_helpers import EXPERIMENTS, MEMORY_SET

from spikemem.sweep.plan import Point
from spikemem.sweep.worker import run_point, run_state


def _point(config: Path) -> Point:
    return Point(
        id="p",
        config=str(config),
        config_name="recall",
        group="recall",
        axes={},
        overrides=(*MEMORY_SET, "recall.basin_cues=4", "recall.basin_noise=[0.2]"),
        backend="reference",
        backend_label="reference",
        seed=1,
    )


def test_states_follow_the_files(tmp_path: Path) -> None:
    point, run = _point(EXPERIMENTS / "hopfield_recall.toml"), tmp_path / "run"
    assert run_state(point, run) == "missing"
    run.mkdir()
    (run / "point.json").write_text(json.dumps(point.as_dict()))
    assert run_state(point, run) == "partial"  # started, never finished
    status = run_point(point, run)
    assert status["status"] == "ok" and run_state(point, run) == "done"
    result = run / "result.json"
    result.write_text(result.read_text().replace('"seed": 1', '"seed": 2'))
    assert run_state(point, run) == "partial"  # result.json no longer has the recorded checksum
    other = replace(point, overrides=(*point.overrides, "model.load=0.05"))
    assert run_state(other, run) == "changed"
    assert run_point(other, run)["status"] == "failed"  # another point's directory is left alone
    assert json.loads((run / "point.json").read_text()) == point.as_dict()
    assert replace(point, cpus=4.0).fingerprint() == point.fingerprint()  # resources do not change a result


def test_base_config_elsewhere_keeps_the_point(tmp_path: Path) -> None:
    point = _point(tmp_path / "not-on-this-node.toml")
    base = tmp_path / "copy.toml"
    base.write_text((EXPERIMENTS / "hopfield_recall.toml").read_text())
    status = run_point(point, tmp_path / "run", base=base)
    assert status["status"] == "ok", status.get("error")
    assert json.loads((tmp_path / "run" / "point.json").read_text())["config"] == point.config
    assert run_state(point, tmp_path / "run") == "done"
    failed = run_point(replace(point, id="q"), tmp_path / "q")  # without it: a missing config, recorded
    assert failed["status"] == "failed" and "no such config file" in failed["error"]


def test_a_failure_recorded_by_the_driver_shows_in_the_summary(tmp_path: Path) -> None:
    from spikemem.sweep.aggregate import collect
    from spikemem.sweep.worker import record_failure

    point = _point(EXPERIMENTS / "hopfield_recall.toml")
    record_failure(point, tmp_path / "runs" / point.id, "worker failed: BrokenProcessPool")
    assert run_state(point, tmp_path / "runs" / point.id) == "failed"
    groups, counts = collect(tmp_path)
    assert counts == {"failed": 1}
    assert groups[0].failures == [
        {"id": "p", "seed": 1, "state": "failed", "error": "worker failed: BrokenProcessPool"}
    ]


def _dying_task(point: dict, directory: str) -> dict:
    """A worker function (imported by the spawned workers) whose process dies: seed 1 once, seed 2 always."""
    from spikemem.sweep.executors import _local_task

    marker = Path(directory) / "died"
    if point["seed"] == 2 or (point["seed"] == 1 and not marker.exists()):
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        os._exit(9)
    return _local_task(point, directory)


def test_a_dead_local_worker_is_replaced_and_its_run_retried(tmp_path: Path) -> None:
    from spikemem.sweep.executors import run_local

    points = [replace(_point(EXPERIMENTS / "hopfield_recall.toml"), id=f"s{s}", seed=s) for s in range(3)]
    statuses: dict[str, dict] = {}
    run_local(points, tmp_path, 1, lambda p, s: statuses.__setitem__(p.id, s), max_retries=1, task=_dying_task)
    assert statuses["s0"]["status"] == "ok" and statuses["s1"]["status"] == "ok"  # s1 died once, then ran
    assert statuses["s2"]["status"] == "failed" and "worker died" in statuses["s2"]["error"]
    assert run_state(points[2], tmp_path / "runs" / "s2") == "failed"
