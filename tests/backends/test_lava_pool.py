"""The kept Lava worker (``_client.acquire_worker`` / ``release_worker``), with stand-in workers: no Lava needed.

One released worker per caller process is kept for the next compile; a second one, one that failed, one that
will not release, or one started by another process (a forked child inherits its parent's) is never handed out.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from spikemem.backends.lava_backend import _client
from spikemem.backends.lava_backend._client import LavaRunError, acquire_worker, release_worker


class StandIn:
    """Records what the pool asks of a worker."""

    def __init__(self, timeout_s: float, fail_release: bool = False) -> None:
        self.timeout_s = timeout_s
        self.alive = True
        self.owner = os.getpid()
        self.fail_release = fail_release
        self.calls: list[str] = []
        self.profile = _client.Profile()

    def usable(self) -> bool:
        return self.alive and self.owner == os.getpid()

    def request(self, *message: Any, timeout_s: float | None = None) -> None:
        self.calls.append(message[0])
        if self.fail_release:
            self.alive = False
            raise LavaRunError("the worker did not stop its runtime")

    def close(self, timeout_s: float = 10.0) -> None:
        self.calls.append("close")
        self.alive = False

    def kill(self) -> None:
        self.calls.append("kill")
        self.alive = False


@pytest.fixture(autouse=True)
def empty_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_client, "_SPARE", {})


def test_one_released_worker_is_kept_and_handed_out_once() -> None:
    first, second = acquire_worker(5.0, StandIn), acquire_worker(5.0, StandIn)
    release_worker(first)  # type: ignore[arg-type]
    release_worker(second)  # type: ignore[arg-type]
    assert first.calls == ["release"] and second.calls == ["close"]  # one kept, the other one closed
    again = acquire_worker(7.0, StandIn)
    assert again is first and again.timeout_s == 7.0  # the caller's timeout, not the earlier one's
    assert acquire_worker(5.0, StandIn) is not first  # taken: the next compile starts a new worker


def test_failed_foreign_or_unreleasable_workers_are_not_kept() -> None:
    failed = acquire_worker(5.0, StandIn)
    failed.alive = False  # killed after a failure
    release_worker(failed)  # type: ignore[arg-type]
    assert _client._SPARE == {}
    stuck = StandIn(5.0, fail_release=True)
    release_worker(stuck)  # type: ignore[arg-type]
    assert stuck.calls == ["release", "kill"] and _client._SPARE == {}
    inherited = StandIn(5.0)
    inherited.owner = os.getpid() + 1  # started by the parent of a forked child
    release_worker(inherited)  # type: ignore[arg-type]
    assert inherited.calls == ["close"] and _client._SPARE == {}


def test_a_kept_worker_that_died_is_replaced() -> None:
    kept = acquire_worker(5.0, StandIn)
    release_worker(kept)  # type: ignore[arg-type]
    kept.alive = False  # e.g. its lifeline ended it
    fresh = acquire_worker(5.0, StandIn)
    assert fresh is not kept and kept.calls[-1] == "kill"
