"""The driver of ``spikemem sweep``: plan (what is done, what runs), execute, aggregate.

``spikemem sweep SWEEP.toml [--executor local|ray] [--workers N] [--address ADDR] [--out DIR]
[--dry-run]``: :func:`plan` reads the state of every point's run directory; the points not
done are executed (:mod:`spikemem.sweep.executors`), failed and interrupted ones included,
so re-running a sweep retries only what is missing; then :func:`spikemem.sweep.aggregate.aggregate`
writes the summary and plots. The sweep file is copied to ``DIR/sweep.toml``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from spikemem.io import atomic_write
from spikemem.sweep.executors import execute, run_directory
from spikemem.sweep.plan import Point, Sweep, load_sweep
from spikemem.sweep.worker import CHANGED, DONE, run_state
from spikemem.tables import format_table


def default_out(sweep: Sweep) -> Path:
    """``results/sweeps/<name>``."""
    return Path("results") / "sweeps" / sweep.name


def plan(sweep: Sweep, out: str | Path) -> dict[str, str]:
    """The state of every point (``done``, ``failed``, ``partial``, ``missing``, ``changed``) by id."""
    return {p.id: run_state(p, run_directory(Path(out), p)) for p in sweep.points}


def format_plan(sweep: Sweep, states: dict[str, str], verbose: bool = False) -> str:
    """A one-line count of runs by state (and, verbose, one row per run)."""
    counts = Counter(states.values())
    todo = sum(n for s, n in counts.items() if s not in (DONE, CHANGED))
    parts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    lines = [f"sweep {sweep.name}: {len(states)} runs ({parts}); {todo} to run"]
    if counts.get(CHANGED):
        lines.append(f"{counts[CHANGED]} run directories hold another point's run (changed sweep file?): delete them")
    if verbose:
        rows = [[p.id, p.backend, p.seed, " ".join(p.overrides) or "-", states[p.id]] for p in sweep.points]
        lines += ["", format_table(["run", "backend", "seed", "overrides", "state"], rows)]
    return "\n".join(lines)


def run_sweep(
    sweep_path: str | Path,
    out: str | Path | None = None,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    dry_run: bool = False,
    progress: bool = True,
    plots: bool = True,
    echo: Any = print,
) -> dict[str, Any]:
    """Plan, run and aggregate a sweep; return ``{"out", "states", "statuses", "summary"}``."""
    from spikemem.sweep.aggregate import aggregate

    sweep = load_sweep(sweep_path)
    out = Path(out) if out else default_out(sweep)
    states = plan(sweep, out)
    echo(format_plan(sweep, states, verbose=dry_run))
    if dry_run:
        return {"out": out, "states": states, "statuses": {}, "summary": None}
    out.mkdir(parents=True, exist_ok=True)
    text = Path(sweep_path).read_bytes()
    atomic_write(out / "sweep.toml", lambda handle: handle.write(text))
    todo: list[Point] = [p for p in sweep.points if states[p.id] not in (DONE, CHANGED)]
    statuses = execute(
        todo, out, executor, workers, address, sweep.transfer, sweep.max_retries, progress, f"sweep {sweep.name}"
    )
    table, summary = aggregate(out, plots=plots, order=[p.id for p in sweep.points])
    echo(table)
    failed = [s for s in statuses.values() if s.get("status") != "ok"]
    for status in failed:
        echo(f"failed: {status['id']}: {status.get('error', '')}")
    echo(f"wrote {out / 'summary.json'} and {out / 'summary.csv'}")
    return {"out": out, "states": states, "statuses": statuses, "summary": summary}


__all__ = ["default_out", "format_plan", "plan", "run_sweep"]
