"""Comparing continual-learning runs: seeds aggregated, a metrics table and one figure.

``spikemem compare DIR... --out FILE.png`` calls :func:`compare_runs`; where the
runs carry a ``cost`` section it also draws accuracy against synaptic
operations per inference (``FILE_cost.png``, one point per method x backend,
the Pareto front marked; :mod:`spikemem.evaluation.cost_plots`). Each
``DIR`` is a run directory (with ``result.json``), a folder whose
sub-directories are run directories, or a sweep directory (its ``runs/``).
Runs whose config and backend agree in everything but the seed form one
group (mean +/- standard deviation over the seeds). Each group is labelled
by the parts that differ between groups: stream, method, backend.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikemem.evaluation.continual import DERIVED, METRICS, format_spread, mean_matrix, metric_values, summarize_seeds
from spikemem.evaluation.continual_plots import CurveSet, comparison_figure, save_figure
from spikemem.evaluation.cost_plots import CostPoint, pareto_front, save_cost_figure
from spikemem.io import InputFileError, read_json_object
from spikemem.tables import format_table


class CompareError(ValueError):
    """A directory holds no usable continual-learning result."""


@dataclass
class RunGroup:
    """Runs of one configuration on one backend (several seeds)."""

    stream: str
    method: str
    backend: str
    results: list[dict[str, Any]] = field(default_factory=list)
    label: str = ""

    @property
    def seeds(self) -> list[int]:
        """Seeds of the runs."""
        return [int(r["seed"]) for r in self.results]

    @property
    def matrices(self) -> list[np.ndarray]:
        """The accuracy matrix of every run."""
        return [np.asarray(r["metrics"]["R"], dtype=float) for r in self.results]

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean and std of every scalar metric over seeds."""
        return summarize_seeds([metric_values(r["metrics"]) for r in self.results])

    def cost_point(self) -> CostPoint | None:
        """Mean ACC and mean cost per test inference over seeds; None when a run has no ``cost`` section."""
        inference = [r["metrics"].get("cost", {}).get("per_test_inference") for r in self.results]
        if not inference or any(not isinstance(c, dict) for c in inference):
            return None
        ops = [float(c["counts"]["total"]["synaptic_ops"]) for c in inference]
        joules = [float(c["energy"]["loihi"]["estimate_joules"]) for c in inference]
        acc = [float(r["metrics"]["ACC"]) for r in self.results]
        numeric = str(inference[0]["counts"].get("numeric", "float"))
        return CostPoint(self.label, float(np.mean(acc)), float(np.mean(ops)), float(np.mean(joules)), numeric)

    def curves(self) -> CurveSet:
        """Mean and std accuracy matrix, for plotting."""
        mean, std = mean_matrix(self.matrices)
        return CurveSet(self.label, mean, std, seeds=len(self.results))


def find_results(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """``result.json`` of every run directory named, or of the run directories inside each folder named.

    Raises
    ------
    CompareError
        A path holds no result, or a run is reached twice (``compare A A``, or a run and a folder holding it):
        it would count as two seeds.
    """
    found: list[Path] = []
    given: dict[Path, Path] = {}
    for argument in map(Path, paths):
        for result in _results_under(argument):
            first = given.setdefault(result.resolve(), argument)
            if first is not argument:
                raise CompareError(f"{result.parent}: given twice (through {first} and {argument}); name each run once")
            found.append(result)
    return found


def _results_under(path: Path) -> list[Path]:
    """``result.json`` of the run directory ``path``, of the runs of a sweep directory, or of a folder's runs."""
    path = path / "runs" if (path / "runs").is_dir() else path  # a sweep directory
    if (path / "result.json").is_file():
        return [path / "result.json"]
    inner = sorted(p / "result.json" for p in path.iterdir() if (p / "result.json").is_file()) if path.is_dir() else []
    if not inner:
        raise CompareError(f"{path}: no result.json here or in its sub-directories")
    return inner


def load_result(path: Path) -> dict[str, Any]:
    """One run's result, checked to be a spikemem result (JSON object) of a continual-learning run."""
    try:
        result = read_json_object(path, "spikemem result (JSON)")
    except InputFileError as exc:
        raise CompareError(str(exc)) from None
    metrics = result.get("metrics")
    if not isinstance(metrics, dict) or not {"config", "backend", "seed"} <= result.keys():
        raise CompareError(f"{path}: not a spikemem result (it lacks config, backend, seed or metrics)")
    missing = [k for k in ("R", *METRICS) if k not in metrics and k not in DERIVED]
    if missing:
        raise CompareError(f"{path}: not a continual-learning result (metrics lack {', '.join(missing)})")
    return result


def _identity(result: dict[str, Any]) -> str:
    config = copy.deepcopy(result.get("config", {}))
    config.get("experiment", {}).pop("seed", None)
    return json.dumps({"config": config, "backend": result.get("backend")}, sort_keys=True)


def group_runs(results: Sequence[dict[str, Any]]) -> list[RunGroup]:
    """Runs grouped by (config without the seed, backend), in first-seen order, labelled."""
    groups: dict[str, RunGroup] = {}
    for result in results:
        key = _identity(result)
        if key not in groups:
            metrics = result["metrics"]
            groups[key] = RunGroup(
                str(metrics.get("stream", "?")), str(metrics.get("method", "?")), str(result.get("backend", "?"))
            )
        groups[key].results.append(result)
    ordered = list(groups.values())
    varying = [name for name in ("stream", "method", "backend") if len({getattr(g, name) for g in ordered}) > 1]
    parts = varying or ["method"]
    seen: dict[str, int] = {}
    for group in ordered:
        label = " / ".join(getattr(group, name) for name in parts)
        seen[label] = seen.get(label, 0) + 1
        group.label = label if seen[label] == 1 else f"{label} #{seen[label]}"
    return ordered


def comparison_table(groups: Sequence[RunGroup]) -> str:
    """ACC, LA, BWT, FWT and forgetting (mean +/- std over seeds; ``(n=1)`` for a single seed) of every group.

    With the runs' ``cost`` sections: synaptic operations and the Loihi energy ESTIMATE per test inference
    (means over seeds), and whether the group is on the accuracy/operations Pareto front.
    """
    points = [g.cost_point() for g in groups]
    costed = [p for p in points if p is not None]
    front = dict(zip([p.label for p in costed], pareto_front(costed), strict=True))
    rows = []
    for group, point in zip(groups, points, strict=True):
        summary = group.summary()
        cells = [format_spread(summary[m], signed=m not in ("ACC", "LA")) for m in METRICS]
        if costed:
            if point is None:
                cells += ["-", "-", "-"]
            else:
                mark = "*" if front[point.label] else ""
                cells += [f"{point.synaptic_ops:,.0f}", f"{point.loihi_joules * 1e9:,.1f}", mark]
        rows.append([group.label, len(group.results), *cells])
    cost_columns = ["syn ops/inf", "Loihi nJ/inf (est.)", "front"] if costed else []
    return format_table(["run", "seeds", *METRICS, *cost_columns], rows)


def cost_figure_path(out: str | os.PathLike[str]) -> Path:
    """Where :func:`compare_runs` writes the accuracy-against-cost figure: ``<out stem>_cost.png`` beside ``out``."""
    out = Path(out)
    return out.with_name(f"{out.stem}_cost.png")


def compare_runs(paths: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str]) -> tuple[str, Path]:
    """Load, group and compare runs; write the figure to ``out``; return (table, figure path)."""
    groups = group_runs([load_result(p) for p in find_results(paths)])
    figure = comparison_figure([g.curves() for g in groups])
    table = comparison_table(groups)
    points = [p for p in (g.cost_point() for g in groups) if p is not None]
    if points:
        cost_path = save_cost_figure(points, cost_figure_path(out))
        table += f"\naccuracy against synaptic operations per inference (Pareto front marked): {cost_path}"
    return table, save_figure(figure, out)


__all__ = [
    "CompareError",
    "RunGroup",
    "compare_runs",
    "comparison_table",
    "cost_figure_path",
    "find_results",
    "group_runs",
    "load_result",
]
