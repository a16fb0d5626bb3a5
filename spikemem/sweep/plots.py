"""Plots of a sweep's groups: forgetting curves with seed bands, ACC/BWT bars, capacity curves.

Forgetting curves reuse :func:`spikemem.evaluation.continual_plots.comparison_figure` (one
panel per group, accuracy axes [0, 1] shared). Bars and capacity curves are drawn here:

- ``acc_bwt.png``: for every continual group, ACC and BWT (mean over seeds) as bars with
  +/- one standard deviation as error bars, groups side by side (method x backend);
- ``capacity.png``: for every memory group whose runs hold a ``curve`` over loads, the mean
  final overlap against alpha = P / N with a +/- std band, all backends overlaid.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spikemem.evaluation.continual import mean_matrix
from spikemem.evaluation.continual_plots import CurveSet, comparison_figure, save_figure


def _continual(groups: Sequence[Any]) -> list[Any]:
    return [g for g in groups if g.results and all("R" in r.get("metrics", {}) for r in g.results)]


def forgetting_figure(groups: Sequence[Any]) -> Any:
    """Forgetting curves (mean, +/- std band over seeds) and mean R of each continual group."""
    panels = []
    for group in groups:
        mean, std = mean_matrix([np.asarray(r["metrics"]["R"], dtype=float) for r in group.results])
        panels.append(CurveSet(group.label, mean, std, seeds=len(group.results)))
    return comparison_figure(panels)


def acc_bwt_figure(groups: Sequence[Any]) -> Any:
    """ACC and BWT bars with std error bars, one pair per group."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(max(4.0, 0.9 * len(groups) + 2), 4.2), layout="constrained")
    axes = figure.subplots(1, 2)
    x = np.arange(len(groups))
    for ax, metric in zip(axes, ("ACC", "BWT"), strict=True):
        summaries = [g.summary().get(metric, {"mean": np.nan, "std": 0.0}) for g in groups]
        ax.bar(x, [s["mean"] for s in summaries], yerr=[s["std"] for s in summaries], capsize=3, color="C0")
        ax.set_xticks(x, [g.label for g in groups], rotation=45, ha="right", fontsize=7)
        ax.set_title(metric, fontsize=10)
        ax.set_ylabel("mean ± std over seeds")
        ax.axhline(0.0, color="black", lw=0.6)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylim(0.0, 1.0)
    return figure


def capacity_figure(curves: Sequence[tuple[str, dict[str, Any]]]) -> Any:
    """Mean overlap against load of each group (band +/- std over seeds), overlaid."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5, 4), layout="constrained")
    ax = figure.add_subplot()
    for label, curve in curves:
        alpha, mean, std = (np.asarray(curve[k]) for k in ("alpha", "mean", "std"))
        (line,) = ax.plot(alpha, mean, "-o", ms=3, label=f"{label} ({curve['n']} seeds)")
        ax.fill_between(alpha, mean - std, mean + std, color=line.get_color(), alpha=0.15, lw=0)
    ax.axvline(0.138, color="gray", ls=":", lw=0.8)
    ax.set_xlabel("load alpha = P / N")
    ax.set_ylabel("final overlap")
    ax.set_ylim(-0.05, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return figure


def save_plots(
    directory: Path, groups: Sequence[Any], capacity: Sequence[tuple[str, dict[str, list[float]]]] = ()
) -> dict[str, Path]:
    """Write every plot that applies to ``groups`` into ``directory``; return their paths by name.

    ``capacity``: ``(label, curve)`` of every group with a capacity curve (drawn overlaid).
    """
    paths: dict[str, Path] = {}
    continual = _continual(groups)
    if continual:
        paths["forgetting_curves"] = save_figure(forgetting_figure(continual), directory / "forgetting_curves.png")
        paths["acc_bwt"] = save_figure(acc_bwt_figure(continual), directory / "acc_bwt.png")
    curves = list(capacity)
    if curves:
        paths["capacity"] = save_figure(capacity_figure(curves), directory / "capacity.png")
    return paths


__all__ = ["acc_bwt_figure", "capacity_figure", "forgetting_figure", "save_plots"]
