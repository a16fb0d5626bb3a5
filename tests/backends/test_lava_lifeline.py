"""A Lava run whose caller is killed leaves no process and no shared directory behind (issue: robustness).

The caller is a child Python process that compiles a network on Lava, runs a few steps (which starts the
Lava processes) and then either waits (idle) or is in the middle of a long run; the test kills it with
SIGTERM or SIGKILL and checks that, within a few seconds, every process of the worker's group (the worker,
Lava's processes, the resource tracker) has exited and the worker's shared directory is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from backend_selection import require

from spikemem.backends.lava_backend._client import OWNERS_FILE, group_members, remove_stale_directories

CALLER = """
import sys, time
import numpy as np
from spikemem.backends import get_backend
from spikemem.spec import LIF, Monitor, Network, Population, Projection

net = Network(
    dt=1e-3,
    populations=[Population("a", 8, LIF(tau_mem=0.02, v_th=1.0))],
    projections=[Projection("a", "a", np.full((8, 8), 0.01))],
    monitors=[Monitor("a", "count")],
)
sim = get_backend("lava", timeout_s=600).compile(net)
sim.run(5)  # the Lava processes start lazily, at the first run
print(sim.worker_pid, sim._worker.directory, flush=True)
if sys.argv[1] == "running":
    sim.run(2_000_000)  # no inputs to prepare: the worker is inside this run a moment after the print
else:
    time.sleep(600)
"""

SETTLE_S = 20.0


def _wait_until(condition, limit_s: float) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.mark.parametrize("state", ["idle", "running"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_the_caller_leaves_no_lava_process_or_directory(state: str, signum: int) -> None:
    require("lava")
    caller = subprocess.Popen([sys.executable, "-c", CALLER, state], stdout=subprocess.PIPE, text=True)
    try:
        assert caller.stdout is not None
        worker_pid, directory = caller.stdout.readline().split()
        pgid = int(worker_pid)
        assert len(group_members(pgid) or []) >= 3, "the Lava worker and its processes did not start"
        if state == "running":
            time.sleep(3.0)  # inside the long run
        caller.send_signal(signum)
        caller.wait(timeout=30)
        assert _wait_until(lambda: not group_members(pgid), SETTLE_S), (
            f"left behind after {signal.Signals(signum).name}: {group_members(pgid)}"
        )
        assert _wait_until(lambda: not Path(directory).exists(), SETTLE_S), f"{directory} left behind"
    finally:
        if caller.poll() is None:
            caller.kill()
        members = group_members(int(worker_pid)) if "worker_pid" in locals() else None
        for pid, _ in members or []:
            os.kill(pid, signal.SIGKILL)


def test_stale_directories_of_dead_owners_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / "spikemem-lava-stale"
    stale.mkdir()
    (stale / OWNERS_FILE).write_text(f"{dead.pid} {dead.pid}\n")
    live = tmp_path / "spikemem-lava-live"
    live.mkdir()
    (live / OWNERS_FILE).write_text(f"{os.getpid()} {dead.pid}\n")
    foreign = tmp_path / "spikemem-lava-foreign"
    foreign.mkdir()  # no owners file: not removed
    assert remove_stale_directories(str(tmp_path)) == [str(stale)]
    assert not stale.exists() and live.exists() and foreign.exists()
