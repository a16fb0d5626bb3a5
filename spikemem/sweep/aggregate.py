"""Aggregating a sweep directory: statistics over seeds, a terminal table, plots.

Runs are grouped by (configuration point, method, backend, numeric mode): the configuration
point is the base config plus the grid axes' values, the method is the run's
``metrics.method`` (``-`` for kinds without one), the numeric mode is the resolved config's
``experiment.numeric`` (default ``float``). For every
scalar metric (numbers in ``metrics``, nested tables flattened as ``a.b``, plus ``wall_time_s``)
a group gets ``mean``, ``std`` (sample standard deviation, ``ddof = 1``; 0 for one seed) and
``n`` over its finished seeds; its failed or unfinished runs are listed with their error.
The ``cost`` sections of the results (:mod:`spikemem.cost`) are aggregated like every other
number; the table shows synaptic operations and the Loihi energy estimate per test inference
(continual) or per recall (memory), means over seeds (:data:`COST_HEADLINE`).

Written into the sweep directory (read from ``runs/*/``, so it works on any sweep directory):
``summary.json``, ``summary.csv`` (one row per group and metric), and under ``plots/``:
``forgetting_curves.png`` (continual runs: mean accuracy per task and stage, a band of +/- one
std over seeds, one panel per group; :func:`spikemem.evaluation.continual_plots.comparison_figure`),
``acc_bwt.png`` (ACC and BWT bars with std error bars per group) and ``capacity.png`` (memory
runs with a ``curve`` over loads: mean overlap against alpha, one line with a band per group).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikemem.evaluation.continual import format_spread, summarize_seeds
from spikemem.io import atomic_write, write_json
from spikemem.sweep.plan import Point
from spikemem.sweep.plots import save_plots
from spikemem.sweep.worker import DONE, read_json, run_state
from spikemem.tables import format_table

HEADLINE = ("ACC", "LA", "BWT", "FWT", "forgetting", "overlap_mean", "exact_recall_fraction")
COST_HEADLINE = {
    "syn ops/unit": (
        "cost.per_test_inference.counts.total.synaptic_ops",
        "point.cost.counts.total.synaptic_ops",
    ),
    "Loihi J/unit (est.)": (
        "cost.per_test_inference.energy.loihi.estimate_joules",
        "point.cost.energy.loihi.estimate_joules",
    ),
}
"""Cost columns of the table: label -> the flattened metrics they show, the first present (a continual run's
cost per test inference, a memory run's per recall; every number of the ``cost`` sections is aggregated in
``summary.json`` and ``summary.csv`` like any metric)."""


@dataclass
class Group:
    """Runs of one (configuration point, method, backend, numeric) over seeds."""

    config_point: str
    method: str
    backend: str
    numeric: str
    axes: dict[str, Any] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``config point / backend`` (numeric added when it is not float)."""
        numeric = f" ({self.numeric})" if self.numeric != "float" and self.numeric not in self.backend else ""
        return f"{self.config_point} / {self.backend}{numeric}"

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean, std and n over seeds of every scalar metric present in all finished runs."""
        return summarize_seeds([scalar_metrics(r) for r in self.results])


def scalar_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The numbers of ``result["metrics"]`` (nested tables flattened as ``a.b``; lists left out) and the wall time."""
    flat: dict[str, float] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
            flat[prefix] = float(value)

    walk("", result.get("metrics", {}))
    if isinstance(result.get("wall_time_s"), (int, float)):
        flat["wall_time_s"] = float(result["wall_time_s"])
    return flat


def numeric_mode(config: dict[str, Any]) -> str:
    """``experiment.numeric`` of a resolved config (default float)."""
    return str(config.get("experiment", {}).get("numeric", "float"))


def collect(directory: str | Path, order: Sequence[str] = ()) -> tuple[list[Group], dict[str, int]]:
    """Groups of the runs under ``directory/runs`` and counts of runs by state.

    Groups come in the order of their first run in ``order`` (run ids, e.g. the sweep file's), then by name.
    """
    groups: dict[tuple[str, str, str, str], Group] = {}
    counts: dict[str, int] = {}
    pending: list[tuple[Point, str, dict[str, Any]]] = []
    rank = {run_id: i for i, run_id in enumerate(order)}
    runs = sorted(Path(directory, "runs").iterdir()) if Path(directory, "runs").is_dir() else []
    for run in sorted(runs, key=lambda r: (rank.get(r.name, len(rank)), r.name)):
        stored = read_json(run / "point.json")
        if stored is None:
            continue
        point = Point.from_dict(stored)
        state = run_state(point, run)
        counts[state] = counts.get(state, 0) + 1
        result = read_json(run / "result.json") if state == DONE else None
        if result is None:
            status = read_json(run / "status.json") or {}
            pending.append((point, state, status))
            continue
        method = str(result.get("metrics", {}).get("method", "-"))
        key = (point.group, method, point.backend_label, numeric_mode(result.get("config", {})))
        groups.setdefault(key, Group(*key, axes=point.axes)).results.append(result)
    for point, state, status in pending:  # failures join their group (by config point and backend)
        group = next(
            (g for g in groups.values() if (g.config_point, g.backend) == (point.group, point.backend_label)), None
        )
        if group is None:
            group = groups.setdefault(
                (point.group, "-", point.backend_label, "?"),
                Group(point.group, "-", point.backend_label, "?", point.axes),
            )
        group.failures.append(
            {"id": point.id, "seed": point.seed, "state": state, "error": (status or {}).get("error", "")}
        )
    return list(groups.values()), counts


def summary_table(groups: Sequence[Group]) -> str:
    """The headline metrics (mean +/- std over seeds) of every group, with seeds and failures."""
    summaries = [g.summary() for g in groups]
    present = {k for s in summaries for k in s}
    columns = [k for k in HEADLINE if k in present]
    costs = {
        label: [k for k in keys if k in present] for label, keys in COST_HEADLINE.items() if present.intersection(keys)
    }
    rows = []
    for group, summary in zip(groups, summaries, strict=True):
        cells = [format_spread(summary[k]) if k in summary else "-" for k in columns]
        for keys in costs.values():
            key = next((k for k in keys if k in summary), None)
            cells.append("-" if key is None else f"{summary[key]['mean']:.4g}")
        rows.append(
            [
                group.config_point,
                group.method,
                group.backend,
                group.numeric,
                len(group.results),
                len(group.failures),
                *cells,
            ]
        )
    header = ["config point", "method", "backend", "numeric", "seeds", "failed", *columns, *costs]
    return format_table(header, rows)


def _csv(groups: Sequence[Group]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["config_point", "method", "backend", "numeric", "metric", "mean", "std", "n", "failed"])
    for group in groups:
        head = [group.config_point, group.method, group.backend, group.numeric]
        for metric, stats in group.summary().items():
            writer.writerow([*head, metric, repr(stats["mean"]), repr(stats["std"]), stats["n"], len(group.failures)])
        if not group.results:
            writer.writerow([*head, "", "", "", 0, len(group.failures)])
    return buffer.getvalue().encode()


def capacity_curve(results: Sequence[dict[str, Any]]) -> dict[str, list[float]] | None:
    """Mean and std over seeds of the overlap at each load of memory runs with a ``curve`` over loads, else None."""
    curves = []
    for result in results:
        curve = result.get("metrics", {}).get("curve")
        if not isinstance(curve, list) or not all(isinstance(p, dict) and "alpha" in p for p in curve):
            return None
        curves.append({float(p["alpha"]): float(p["overlap_mean"]) for p in curve})
    if not curves or len(curves[0]) < 2:  # a recall run's basin curve is at one load
        return None
    alphas = sorted(set.intersection(*(set(c) for c in curves)))
    values = np.array([[c[a] for a in alphas] for c in curves])
    std = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(len(alphas))
    return {"alpha": alphas, "mean": values.mean(axis=0).tolist(), "std": std.tolist(), "n": len(values)}


def aggregate(directory: str | Path, plots: bool = True, order: Sequence[str] = ()) -> tuple[str, dict[str, Any]]:
    """Write ``summary.json``, ``summary.csv`` and the plots of a sweep directory; return (table, summary).

    ``order``: run ids in the order their groups should appear (default: by name).
    """
    directory = Path(directory)
    groups, counts = collect(directory, order)
    summary = {
        "runs": counts,
        "groups": [
            {
                "config_point": g.config_point,
                "method": g.method,
                "backend": g.backend,
                "numeric": g.numeric,
                "axes": g.axes,
                "seeds": [int(r["seed"]) for r in g.results],
                "metrics": g.summary(),
                "failures": g.failures,
                **({"capacity": curve} if (curve := capacity_curve(g.results)) else {}),
            }
            for g in groups
        ],
    }
    write_json(directory / "summary.json", summary)
    data = _csv(groups)
    atomic_write(directory / "summary.csv", lambda handle: handle.write(data))
    if plots:
        curves = [(g.label, c) for g in groups if g.results and (c := capacity_curve(g.results))]
        paths = save_plots(directory / "plots", groups, curves)
        summary["plots"] = {k: str(v) for k, v in paths.items()}
        write_json(directory / "summary.json", summary)
    return summary_table(groups), summary


__all__ = ["Group", "aggregate", "capacity_curve", "collect", "numeric_mode", "scalar_metrics", "summary_table"]
