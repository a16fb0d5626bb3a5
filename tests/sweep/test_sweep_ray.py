"""The Ray executor: same results as the local one, a clear error without Ray, a two-node cluster losing a node."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest
from sweep_helpers import LOCAL_SET, result, stable, write_sweep

from spikemem.cli import main
from spikemem.sweep import SweepError, load_sweep, run_sweep
from spikemem.sweep.executors import RAY_MISSING, execute

ray = pytest.importorskip("ray", reason="the ray executor's tests need the distributed extra")


def test_missing_ray_is_one_clear_line(memory_run: tuple[Path, Path], monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(SweepError, match=r"pip install 'spikemem\[distributed\]'"):
        execute(load_sweep(memory_run[0]).points, memory_run[1], executor="ray")
    assert main(["sweep", str(memory_run[0]), "--out", str(memory_run[1] / "x"), "--executor", "ray"]) == 2
    assert capsys.readouterr().err.strip().endswith(RAY_MISSING)


def test_ray_equals_local(memory_run: tuple[Path, Path], tmp_path: Path) -> None:
    path, local = memory_run
    out = tmp_path / "ray"
    outcome = run_sweep(path, out, executor="ray", workers=2, progress=False, plots=False, echo=lambda *_: None)
    assert len(outcome["statuses"]) == 8 and all(s["status"] == "ok" for s in outcome["statuses"].values())
    for point in load_sweep(path).points:
        swept, alone = result(out / "runs" / point.id), result(local / "runs" / point.id)
        assert swept["config"] == alone["config"]
        assert stable(swept["metrics"]) == stable(alone["metrics"]), point.id
    assert not ray.is_initialized()  # the executor shut down the Ray it started


@pytest.mark.slow
def test_two_nodes_and_a_node_lost_mid_sweep(tmp_path: Path) -> None:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        second = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        path = write_sweep(
            tmp_path / "nodes.toml",
            f"""
[sweep]
name = "nodes"
seeds = [0, 1, 2, 3, 4, 5]
configs = ["@EXP@/local_pdigits_finetune.toml"]
set = {json.dumps(LOCAL_SET)}
max_retries = 3
""",
        )
        out = tmp_path / "out"
        removed: list[float] = []

        def remove_second_node() -> None:  # as soon as the second node has finished one run
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                for status in out.glob("runs/*/status.json"):
                    if json.loads(status.read_text()).get("node") == second.node_id:
                        cluster.remove_node(second)
                        removed.append(time.monotonic())
                        return
                time.sleep(0.1)

        watcher = threading.Thread(target=remove_second_node, daemon=True)
        watcher.start()
        outcome = run_sweep(
            path, out, executor="ray", address=cluster.address, progress=False, plots=False, echo=lambda *_: None
        )
        watcher.join(timeout=5)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
    assert removed, "the second node never finished a run"
    statuses = outcome["statuses"]
    assert len(statuses) == 6 and all(s["status"] == "ok" for s in statuses.values()), statuses
    assert {s["node"] for s in statuses.values()} >= {second.node_id}
    assert len({s["node"] for s in statuses.values()}) == 2  # tasks ran on both nodes
    assert len(list(out.glob("runs/*/result.json"))) == 6  # every result reached --out
