"""The caller's handle on a Lava worker process: requests with a deadline, and a kill that always works.

Lava runs each ProcessModel in a forked process; when one of them fails the
runtime waits forever for its answer. So the runtime lives in a worker
process (:mod:`._worker`) started in a new session, every request waits at
most ``timeout_s`` seconds, the worker's shared directory is polled for the
error reports the models write (so a failure surfaces in a fraction of a
second, with its traceback), and any failure ends the whole process group.

A simulation that closes cleanly hands its worker back (:func:`release_worker`:
runtimes stopped, files removed) and the next ``compile`` in the same process
takes it (:func:`acquire_worker`), so a caller that compiles many networks (the
models of a recall experiment, a learning network per task) pays the worker's
start and Lava's first imports once.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from spikemem.backend import SimulatorError

from ._lava.buffers import ERROR_FILE
from ._profile import Profile

POLL_S = 0.05


class LavaRunError(SimulatorError):
    """The Lava runtime failed, hung or timed out; the worker and its processes have been stopped."""


WORKER_PREFIX = "spikemem-lava-"
"""Name prefix of every worker's shared directory (in ``/dev/shm`` where it exists)."""
OWNERS_FILE = "owners"
"""In each shared directory: the process ids of the caller and of its worker."""
LOG_FILE = "worker.log"
"""In each shared directory: the worker's stdout and stderr."""


def _shared_root() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_directories(root: str | None = None) -> list[str]:
    """Remove the shared directories of workers whose caller and worker are both dead; return them.

    A worker removes its own directory on every way out it controls; what a machine crash or a kill of
    the whole process group leaves behind is removed here, at the next start of a worker.
    """
    base = Path(root or _shared_root() or tempfile.gettempdir())
    removed = []
    for directory in base.glob(f"{WORKER_PREFIX}*"):
        try:
            owners = [int(pid) for pid in (directory / OWNERS_FILE).read_text().split()]
        except (OSError, ValueError):
            continue  # being created right now, or not ours
        if owners and not any(_alive(pid) for pid in owners):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(str(directory))
    return removed


def group_members(pgid: int) -> list[tuple[int, str]] | None:
    """``(pid, command line)`` of the live processes of a process group (None without ``/proc``)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append((int(entry.name), command))
    return members


def _kill(process: subprocess.Popen[bytes], directory: str, log: Any) -> None:
    """End the worker's process group (the worker and every Lava process) and remove its files.

    Lava's channels are ``multiprocessing`` shared-memory segments registered
    with the worker's resource tracker; the tracker is spared until the others
    are dead, so that it unlinks the segments of a killed runtime (otherwise
    they would stay in ``/dev/shm``). Then the whole group is killed.
    """
    pgid = process.pid
    members = group_members(pgid)
    for pid, command in members or []:
        if "resource_tracker" not in command:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not wait
        pass
    deadline = time.monotonic() + 5
    while members and time.monotonic() < deadline and group_members(pgid):
        time.sleep(POLL_S)  # the resource tracker cleans up and exits once the worker is gone
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    shutil.rmtree(directory, ignore_errors=True)
    log.close()


class Worker:
    """One Lava worker process.

    Parameters
    ----------
    timeout_s
        Longest wait for any request.
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        remove_stale_directories()
        self.directory = tempfile.mkdtemp(prefix=WORKER_PREFIX, dir=_shared_root())
        self._log = open(os.path.join(self.directory, LOG_FILE), "w+b")
        parent_r, child_w = os.pipe()
        child_r, parent_w = os.pipe()
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
        env.setdefault("PYTHONUNBUFFERED", "1")
        command = [sys.executable, "-m", "spikemem.backends.lava_backend._worker"]
        self._process = subprocess.Popen(
            [*command, str(child_r), str(child_w), self.directory, str(os.getpid())],
            pass_fds=(child_r, child_w),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        os.close(child_r)
        os.close(child_w)
        Path(self.directory, OWNERS_FILE).write_text(f"{os.getpid()} {self._process.pid}\n")
        self._send = Connection(parent_w, readable=False)
        self._recv = Connection(parent_r, writable=False)
        self._finalizer = weakref.finalize(self, _kill, self._process, self.directory, self._log)
        self.alive = True
        self.owner = os.getpid()
        """The process that started the worker (the only one that may reuse it)."""
        self._runs = 0
        self.profile = Profile()
        """This side of the requests: round trips (``client.request.<name>_s``) and input files."""

    @property
    def pid(self) -> int:
        """Process id (and process-group id) of the worker."""
        return self._process.pid

    def request(self, *message: Any, timeout_s: float | None = None) -> Any:
        """Send one request and return the worker's answer.

        Raises
        ------
        LavaRunError
            The worker reported an error, a Lava process failed, the worker
            died, or no answer came within the timeout. The worker is killed
            in every case but the first (a Python error in the worker itself,
            which leaves the runtime usable).
        """
        self.check_alive()
        self.profile.count("client.requests")
        with self.profile.phase(f"client.request.{message[0]}_s"):
            return self._request(message, timeout_s)

    def _request(self, message: tuple[Any, ...], timeout_s: float | None) -> Any:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout
        try:
            self._send.send(message)
        except OSError as exc:
            self._fail(f"cannot reach the Lava worker ({exc})")
        while True:
            if self._recv.poll(POLL_S):
                try:
                    status, value = self._recv.recv()
                except EOFError:
                    self._fail("the Lava worker exited unexpectedly")
                if status == "error":
                    if self._errors():
                        self._fail(f"a Lava process failed during {message[0]!r}")
                    raise LavaRunError(f"Lava worker error during {message[0]!r}:\n{value}")
                return value
            if self._errors():
                self._fail(f"a Lava process failed during {message[0]!r}")
            if self._process.poll() is not None:
                self._fail(f"the Lava worker exited with status {self._process.returncode}")
            if time.monotonic() > deadline:
                self._fail(
                    f"{message[0]!r} did not finish within timeout_s={timeout:g} s; the Lava runtime and its "
                    "processes have been stopped (raise the backend option timeout_s for longer runs)"
                )

    def save_inputs(self, steps: int, arrays: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
        """Write a run's input arrays as ``.npy`` files in the shared directory; returns the ``run`` request body."""
        self.check_alive()
        with self.profile.phase("client.save_inputs_s"):
            return self._save_inputs(steps, arrays)

    def _save_inputs(self, steps: int, arrays: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
        self._runs += 1
        directory = os.path.join(self.directory, f"run-{self._runs}")
        os.mkdir(directory)
        request: dict[str, Any] = {"steps": steps, "dir": directory}
        for kind, named in arrays.items():
            request[kind] = {}
            for index, (name, array) in enumerate(named.items()):
                path = os.path.join(directory, f"{kind}-{index}.npy")
                np.save(path, np.ascontiguousarray(array))
                request[kind][name] = path
        return request

    def check_alive(self) -> None:
        """Raise :class:`LavaRunError` if the worker has been stopped."""
        if not self.alive:
            raise LavaRunError("the Lava worker has been stopped after an earlier failure; compile the network again")

    def _errors(self) -> str:
        path = os.path.join(self.directory, ERROR_FILE)
        if not os.path.exists(path):
            return ""
        time.sleep(POLL_S)  # let the model finish writing its traceback
        return Path(path).read_text()

    def _log_tail(self, chars: int = 3000) -> str:
        try:
            self._log.flush()
            self._log.seek(0)
            return self._log.read().decode(errors="replace")[-chars:]
        except (OSError, ValueError):
            return ""

    def _fail(self, reason: str) -> None:
        errors, log = self._errors(), self._log_tail()
        self.kill()
        details = errors.strip() or log.strip()
        raise LavaRunError(f"{reason}.\n{details}" if details else f"{reason}.")

    def kill(self) -> None:
        """Stop the worker and every Lava process now; idempotent."""
        self.alive = False
        self._finalizer()

    def usable(self) -> bool:
        """Whether this process may send the worker another request (alive, ours, not exited)."""
        return self.alive and self.owner == os.getpid() and self._process.poll() is None

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the Lava runtime cleanly, then make sure nothing is left; idempotent."""
        if self.alive:
            try:
                self.request("close", timeout_s=timeout_s)
            except LavaRunError:
                pass
            try:
                self._process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


_SPARE: dict[int, Worker] = {}
"""At most one released worker per caller process (keyed by its pid: a forked child never takes its parent's)."""


def acquire_worker(timeout_s: float, factory: Any = Worker) -> Worker:
    """A worker for a new simulation: the one a closed simulation released, else a new one from ``factory``.

    A released worker has already imported spikemem, numpy and Lava's compiler and runtime (about
    half of a fresh worker's first ``compile`` and first runtime start); it holds no runtime and no buffers.
    """
    spare = _SPARE.pop(os.getpid(), None)
    if spare is not None and spare.usable():
        spare.timeout_s = timeout_s
        spare.profile.take()
        return spare
    if spare is not None:
        spare.kill()
    worker: Worker = factory(timeout_s)
    return worker


def release_worker(worker: Worker, timeout_s: float = 10.0) -> None:
    """End a simulation's use of ``worker``: its runtimes stopped and files removed, kept for the next one.

    Kept only when this process has no spare yet and the worker stopped cleanly; otherwise closed (or
    killed), as before. At exit a kept worker is killed like any other (its finalizer), and its lifeline
    ends it if this process dies.
    """
    if not worker.usable() or os.getpid() in _SPARE:
        worker.close(timeout_s)
        return
    try:
        worker.request("release", timeout_s=timeout_s)
    except LavaRunError:
        worker.kill()
        return
    _SPARE[os.getpid()] = worker
