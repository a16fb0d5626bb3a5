"""Running the points of a sweep: a local process pool, or Ray tasks on a cluster.

Both executors call :func:`spikemem.sweep.worker.run_point` (hence ``run_experiment``, the code
of ``spikemem run``) once per point, in a separate process, and report each status to the
driver, which shows one progress bar over runs (done / running / failed, elapsed, estimate).
Per-run progress bars are off; what a run prints goes to its ``run.log``.

``local`` (the default, no dependency): a ``ProcessPoolExecutor`` of N workers started with the
``spawn`` context (Lava forks its own processes and torch's thread pools do not survive a fork).
Workers write straight into ``DIR/runs/<id>/``.

``ray``: each point is a Ray task declaring its resources (``cpus``, ``gpus``, custom
``resources`` of its backend entry). Without ``--address`` Ray starts a local cluster of
``--workers`` CPUs; ``--address auto`` or ``HOST:PORT`` joins a running one (every node needs
spikemem and the simulators installed). Results reach the driver's ``--out`` in one of two ways
(``[sweep.ray] transfer``):

- ``"return"`` (default; no shared file system needed): the driver sends the base config's text
  and the run directory's current files (a checkpoint to resume from) with the task; the worker runs in a scratch
  directory of its node (``<tmp>/spikemem-sweep/<key>/<id>``) and returns every file, which the
  driver writes into ``DIR/runs/<id>/`` (``status.json`` last). A worker that dies is retried
  (``max_retries``, default 2); on the same node the retry resumes from the scratch
  directory's checkpoint, on another node from what the driver sent.
- ``"shared"``: ``--out`` is a path every node sees (NFS, a cluster file system); workers
  write there directly, and a retried task resumes from the checkpoint wherever it runs.

Ctrl-C stops the workers: pending runs are cancelled; local workers ignore SIGINT themselves and
get SIGTERM from the driver, which unwinds the running experiment (simulators are closed by
their context managers) before the process exits; Ray tasks are cancelled (``force=True``).
Finished runs are intact, since every file is written atomically, and the next invocation
resumes the interrupted ones from their checkpoints.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from spikemem.io import atomic_write
from spikemem.sweep.plan import Point, SweepError
from spikemem.sweep.worker import record_failure, run_point, run_state

Report = Callable[[Point, dict[str, Any]], None]
EXECUTORS = ("local", "ray")
RAY_MISSING = "the ray executor needs Ray: pip install 'spikemem[distributed]'"


def run_directory(out: Path, point: Point) -> Path:
    """``DIR/runs/<id>``: where a point's run lives."""
    return Path(out) / "runs" / point.id


class Progress:
    """One progress bar over the runs of a sweep with done / running / failed counts."""

    def __init__(self, total: int, workers: int, desc: str, enabled: bool = True) -> None:
        from tqdm.auto import tqdm

        self.total, self.workers = total, workers
        self.done = self.failed = 0
        self.bar = tqdm(total=total, desc=desc, unit="run", disable=not enabled, dynamic_ncols=True)
        self._postfix()

    def _postfix(self) -> None:
        running = min(self.workers, self.total - self.done - self.failed)
        self.bar.set_postfix(done=self.done, running=running, failed=self.failed, refresh=False)

    def update(self, status: dict[str, Any]) -> None:
        """Count one finished run."""
        if status.get("status") == "ok":
            self.done += 1
        else:
            self.failed += 1
        self._postfix()
        self.bar.update(1)

    def close(self) -> None:
        """Close the bar."""
        self.bar.close()


def _stop_worker(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _worker_init() -> None:
    """Ctrl-C is the driver's to handle; the driver's SIGTERM unwinds the run (closing simulators) and exits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_worker)


def _local_task(point: dict[str, Any], directory: str) -> dict[str, Any]:
    try:
        return run_point(Point.from_dict(point), directory, node=f"pid{os.getpid()}")
    except SystemExit as stop:  # terminated by the driver: the run has unwound; take no further task
        sys.stdout.flush()
        os._exit(int(stop.code or 1))


def run_local(
    points: list[Point], out: Path, workers: int, report: Report, max_retries: int = 2, task: Callable = _local_task
) -> None:
    """Run ``points`` on a spawn-context process pool of ``workers`` processes.

    A worker process that dies (killed, out of memory, a crash in native code) breaks the pool and
    every run in it at that moment; those runs go to a fresh pool, each at most ``max_retries``
    times more (the one that killed its worker cannot be told from its neighbours), then count as
    failed. ``task(point_dict, directory)`` is the worker's function (module level, picklable).
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")
    attempts = dict.fromkeys((p.id for p in points), 0)
    queue = list(points)
    while queue:
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_init)
        try:
            futures = {pool.submit(task, p.as_dict(), str(run_directory(out, p))): p for p in queue}
            queue = []
            for future in as_completed(futures):
                point = futures[future]
                try:
                    status = future.result()
                except BrokenProcessPool as exc:
                    attempts[point.id] += 1
                    if attempts[point.id] <= max_retries:
                        queue.append(point)
                        continue
                    status = record_failure(point, run_directory(out, point), f"worker died: {exc}")
                except Exception as exc:  # e.g. the task could not be sent to the worker
                    status = record_failure(
                        point, run_directory(out, point), f"worker failed: {type(exc).__name__}: {exc}"
                    )
                report(point, status)
        except BaseException:
            _terminate(pool)
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _terminate(pool: Any) -> None:
    """Cancel what has not started and terminate the workers (their checkpoints stay for resuming)."""
    processes = list(getattr(pool, "_processes", {}).values())  # no public handle on the workers
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SweepError("--executor ray", RAY_MISSING) from None
    return ray


def _read_files(directory: Path) -> dict[str, bytes]:
    if not directory.is_dir():
        return {}
    files = (p for p in sorted(directory.rglob("*")) if p.is_file() and not p.name.endswith(".tmp"))
    return {str(p.relative_to(directory)): p.read_bytes() for p in files}  # not the temporaries of atomic writes


def _write_files(directory: Path, files: dict[str, bytes]) -> None:
    """Write returned files into ``directory``, ``status.json`` last (a run is done only when all is there)."""
    for name in sorted(files, key=lambda n: n == "status.json"):
        atomic_write(directory / name, functools.partial(_write_bytes, files[name]))


def _write_bytes(data: bytes, handle: BinaryIO) -> None:
    handle.write(data)


def _ray_task(
    point: dict[str, Any], directory: str, files: dict[str, bytes], config: bytes, transfer: str, key: str
) -> Any:
    """Body of a Ray task: run the point; in ``return`` mode in a node-local scratch directory, returning its files.

    ``config`` is the base config's text, used where the node does not have the driver's file.
    """
    import ray

    node = ray.get_runtime_context().get_node_id()
    spec = Point.from_dict(point)
    if transfer == "shared":
        return run_point(spec, directory, node), {}
    root = Path(tempfile.gettempdir()) / "spikemem-sweep" / key
    scratch = root / spec.id
    if run_state(spec, scratch) not in ("partial", "missing"):  # nothing of this point's own to resume
        shutil.rmtree(scratch, ignore_errors=True)
    if not scratch.is_dir():
        _write_files(scratch, files)
    base = None
    if not Path(spec.config).is_file():
        base = atomic_write(root / "configs" / f"{spec.config_name}.toml", lambda handle: handle.write(config))
    status = run_point(spec, scratch, node, base)
    returned = _read_files(scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    with contextlib.suppress(OSError):
        root.rmdir()  # when it is empty
    return status, returned


def infeasible(points: list[Point], totals: dict[str, float]) -> list[str]:
    """What a cluster with resources ``totals`` (``ray.cluster_resources()``) can never run: one line per point.

    Ray would keep such a task pending forever; the sweep refuses it before submitting anything.
    """
    problems = []
    for point in points:
        wanted = {"CPU": point.cpus, "GPU": point.gpus, **point.resources}
        short = [f"{v:g} {k} (cluster: {totals.get(k, 0):g})" for k, v in wanted.items() if v > totals.get(k, 0)]
        if short:
            problems.append(f"{point.id} needs {', '.join(short)}")
    return problems


def run_ray(
    points: list[Point],
    out: Path,
    workers: int,
    report: Report,
    address: str | None = None,
    transfer: str = "return",
    max_retries: int = 2,
) -> None:
    """Run ``points`` as Ray tasks (see the module docstring for ``address`` and ``transfer``)."""
    ray = _import_ray()
    started = not ray.is_initialized()
    if started:
        options: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False, "logging_level": "WARNING"}
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=workers, **options)
    problems = infeasible(points, ray.cluster_resources())
    if problems:
        if started:
            ray.shutdown()
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise SweepError("backends", f"the Ray cluster cannot run {problems[0]}{more}; change cpus/gpus/resources")
    key = hashlib.sha256(str(Path(out).resolve()).encode()).hexdigest()[:12]
    task = ray.remote(_ray_task)
    pending: dict[Any, Point] = {}
    try:
        for point in points:
            directory = run_directory(out, point)
            files = _read_files(directory) if transfer == "return" else {}
            config = Path(point.config).read_bytes() if transfer == "return" else b""
            ref = task.options(
                num_cpus=point.cpus,
                num_gpus=point.gpus,
                resources=point.resources or None,
                max_retries=max_retries,
                retry_exceptions=False,
                name=f"spikemem-sweep:{point.id}",
            ).remote(point.as_dict(), str(Path(directory).resolve()), files, config, transfer, key)
            pending[ref] = point
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)  # returns to Python: Ctrl-C works
            for ref in ready:
                point = pending.pop(ref)
                directory = run_directory(out, point)
                try:
                    status, files = ray.get(ref)
                    _write_files(directory, files)
                except Exception as exc:  # the task's worker died more often than max_retries, or Ray failed
                    status = record_failure(point, directory, f"ray task failed: {type(exc).__name__}: {exc}")
                report(point, status)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started:
            ray.shutdown()


def execute(
    points: list[Point],
    out: str | Path,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    transfer: str = "return",
    max_retries: int = 2,
    progress: bool = True,
    desc: str = "sweep",
) -> dict[str, dict[str, Any]]:
    """Run ``points`` into ``out/runs/`` with the named executor; return each point's status by id."""
    if executor not in EXECUTORS:
        raise SweepError("--executor", f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
    if address and executor != "ray":
        raise SweepError("--address", "joins a Ray cluster; use it with --executor ray")
    workers = int(workers or os.cpu_count() or 1)
    if workers < 1:
        raise SweepError("--workers", f"must be >= 1, got {workers}")
    if executor == "ray":
        _import_ray()  # the clear error before anything starts
    out = Path(out)
    statuses: dict[str, dict[str, Any]] = {}
    if not points:
        return statuses
    bar = Progress(len(points), workers, desc, progress)

    def report(point: Point, status: dict[str, Any]) -> None:
        statuses[point.id] = status
        bar.update(status)

    try:
        if executor == "local":
            run_local(points, out, workers, report, max_retries)
        else:
            run_ray(points, out, workers, report, address, transfer, max_retries)
    finally:
        bar.close()
    return statuses


__all__ = ["EXECUTORS", "RAY_MISSING", "Progress", "execute", "infeasible", "run_directory", "run_local", "run_ray"]
