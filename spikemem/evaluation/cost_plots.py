"""Accuracy against the cost of inference: one point per run group, the Pareto front marked.

A point is on the Pareto front when no other point is at least as accurate
with at most as many synaptic operations per inference, and strictly better
in one of the two.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spikemem.evaluation.continual_plots import save_figure


@dataclass(frozen=True)
class CostPoint:
    """One run group: its label, mean accuracy, synaptic ops and Loihi energy estimate per test inference."""

    label: str
    accuracy: float
    synaptic_ops: float
    loihi_joules: float
    numeric: str = "float"


def pareto_front(points: Sequence[CostPoint]) -> list[bool]:
    """Per point, whether it is on the front (fewest synaptic ops for its accuracy; module docstring)."""

    def dominated(p: CostPoint) -> bool:
        return any(
            q.synaptic_ops <= p.synaptic_ops
            and q.accuracy >= p.accuracy
            and (q.synaptic_ops < p.synaptic_ops or q.accuracy > p.accuracy)
            for q in points
        )

    return [not dominated(p) for p in points]


def cost_figure(points: Sequence[CostPoint]) -> Any:
    """Accuracy (ACC) against synaptic operations per test inference (log scale), the front as a line."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 4.2), layout="constrained")
    axes = figure.add_subplot()
    front = pareto_front(points)
    for point, on_front in zip(points, front, strict=True):
        marker = "*" if on_front else "o"
        axes.scatter([point.synaptic_ops], [point.accuracy], marker=marker, s=120 if on_front else 40, zorder=3)
        axes.annotate(point.label, (point.synaptic_ops, point.accuracy), textcoords="offset points", xytext=(5, 4))
    line = sorted((p for p, f in zip(points, front, strict=True) if f), key=lambda p: p.synaptic_ops)
    if len(line) > 1:
        axes.step([p.synaptic_ops for p in line], [p.accuracy for p in line], where="post", color="k", lw=0.8)
    axes.set_xscale("log")
    axes.set_xlabel("synaptic operations per test inference (AC + MAC, counted)")
    axes.set_ylabel("ACC (mean over seeds)")
    axes.set_title("accuracy against cost (* Pareto front)")
    return figure


def save_cost_figure(points: Sequence[CostPoint], path: str | os.PathLike[str]) -> Path:
    """Write :func:`cost_figure` as PNG."""
    return save_figure(cost_figure(points), path)
