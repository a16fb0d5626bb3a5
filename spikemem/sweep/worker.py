"""One sweep point, run in a worker process, and the state of its run directory.

A point runs through :func:`spikemem.experiments.run_experiment`, the function behind
``spikemem run``, into ``DIR/runs/<id>/``; next to the runner's files the worker writes

- ``point.json``: the point (base config, overrides, backend, seed, axes), before the run;
- ``config.toml``: the resolved config (overrides applied, backend and seed set), after it:
  ``spikemem run runs/<id>/config.toml --out runs/<id>`` reproduces the run;
- ``status.json``: ``{"status": "ok" | "failed", "error", "traceback", "result_sha256", ...}``;
- ``run.log``: what the experiment printed.

A run is *done* when ``status.json`` says ok, its point is the current one and ``result.json``
still has the SHA-256 recorded there; a done run is never redone. Any other run directory
(failed, interrupted, missing) is run again, and the runner's own checkpoint resumes what it
finished (a failed run whose error came before any unit finished simply starts over).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from spikemem.io import atomic_write, write_json
from spikemem.sweep.plan import Point
from spikemem.sweep.tomlw import dumps

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10
    import tomli as tomllib

DONE, FAILED, PARTIAL, MISSING, CHANGED = "done", "failed", "partial", "missing", "changed"


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON file's data, or None when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def run_state(point: Point, directory: Path) -> str:
    """``done``, ``failed``, ``partial`` (started, not finished), ``changed`` (another point's files) or ``missing``."""
    directory = Path(directory)
    if not directory.is_dir():
        return MISSING
    stored = read_json(directory / "point.json")
    if stored is not None and Point.from_dict(stored).fingerprint() != point.fingerprint():
        return CHANGED
    status = read_json(directory / "status.json")
    if status is None:
        return PARTIAL if stored is not None else MISSING
    if status.get("status") == "ok":
        result = directory / "result.json"
        ok = result.is_file() and sha256_file(result) == status.get("result_sha256")
        return DONE if ok else PARTIAL
    return FAILED


def merge_tables(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``patch`` merged in, table by table (a patch value replaces a non-table)."""
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_tables(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _config_path(point: Point, directory: Path, base: Path) -> Path:
    """The base config, or (when the point patches it) the patched copy ``base.toml`` in the run directory."""
    if not point.patch:
        return base
    config = merge_tables(tomllib.loads(base.read_text()), point.patch)
    text = dumps(config).encode()
    return atomic_write(directory / "base.toml", lambda handle: handle.write(text))


def run_point(point: Point, directory: str | Path, node: str = "", base: str | Path | None = None) -> dict[str, Any]:
    """Run one point into ``directory``; return its status (also written to ``status.json``).

    ``base`` is where the base config is on this machine when not at ``point.config`` (a Ray node
    without the driver's files); ``node`` names the worker in the status.

    An exception of the experiment is caught and recorded (status ``failed``); an interrupt
    (``KeyboardInterrupt``) is not: it propagates and leaves the runner's checkpoint for resuming.
    """
    from spikemem.experiments import run_experiment

    directory = Path(directory)
    status: dict[str, Any] = {"id": point.id, "host": socket.gethostname(), "node": node}
    if run_state(point, directory) == CHANGED:  # another point's files: left untouched
        return {**status, "status": "failed", "error": f"{directory} holds another point's run; delete it"}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "status.json").unlink(missing_ok=True)
    write_json(directory / "point.json", point.as_dict())
    start = time.perf_counter()
    with open(directory / "run.log", "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            result = run_experiment(
                _config_path(point, directory, Path(base or point.config)),
                backend=point.backend,
                seed=point.seed,
                overrides=list(point.overrides),
                out=directory,
                show_progress=False,
                force=True,  # the sweep's own run directory: it already holds point.json and the config
            )
            resolved = json.loads(Path(result).read_text())["config"]
            text = dumps(resolved).encode()
            atomic_write(directory / "config.toml", lambda handle: handle.write(text))
            status.update(status="ok", result_sha256=sha256_file(Path(result)))
        except Exception as exc:  # recorded; the other points go on
            traceback.print_exc(file=log)
            status.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
    status["wall_time_s"] = time.perf_counter() - start
    write_json(directory / "status.json", status)
    return status


def record_failure(point: Point, directory: str | Path, error: str) -> dict[str, Any]:
    """Write a ``failed`` status for a point whose worker never reported (e.g. it died every retry)."""
    directory = Path(directory)
    if not (directory / "point.json").is_file():  # never started: the summary still lists it
        write_json(directory / "point.json", point.as_dict())
    status = {"id": point.id, "status": "failed", "error": error, "host": "", "node": ""}
    write_json(directory / "status.json", status)
    return status


__all__ = [
    "CHANGED",
    "DONE",
    "FAILED",
    "MISSING",
    "PARTIAL",
    "merge_tables",
    "read_json",
    "record_failure",
    "run_point",
    "run_state",
]
