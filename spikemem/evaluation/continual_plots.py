"""Plots of continual-learning results: forgetting curves and accuracy-matrix heatmaps.

Forgetting curves show the accuracy on each task (one line per task) after
every training stage: solid from the stage that learned the task on, dotted
before it (accuracy on a task not trained yet). Accuracy axes are always
[0, 1], so curves of several methods or backends drawn side by side share one
scale. With several seeds, lines are means and bands +/- one standard
deviation. Figures are built with ``matplotlib.figure.Figure`` (no pyplot
state); pass an ``Axes`` to draw into your own figure.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikemem.io import atomic_write


@dataclass
class CurveSet:
    """What one panel shows: a label, the mean accuracy matrix and its standard deviation over seeds."""

    label: str
    mean: np.ndarray
    std: np.ndarray | None = None
    seeds: int = 1


def plot_forgetting_curves(ax: Any, curves: CurveSet, legend: bool = True) -> None:
    """Accuracy on each task after each training stage, on ``ax`` (y axis [0, 1])."""
    mean = np.asarray(curves.mean)
    tasks = mean.shape[0]
    stages = np.arange(tasks)
    colors = _colors(tasks)
    for j in range(tasks):
        trained = stages >= j
        ax.plot(stages[trained], mean[trained, j], "-o", color=colors[j], ms=3, lw=1.5, label=f"task {j}")
        if j > 0:
            ax.plot(stages[: j + 1], mean[: j + 1, j], ":", color=colors[j], lw=0.8)
        if curves.std is not None and curves.seeds > 1:
            std = np.asarray(curves.std)
            ax.fill_between(
                stages[trained], (mean - std)[trained, j], (mean + std)[trained, j], color=colors[j], alpha=0.15, lw=0
            )
    ax.set_ylim(0.0, 1.02)
    ax.set_xticks(stages)
    ax.set_xlabel("after training task")
    ax.set_ylabel("test accuracy")
    suffix = f" ({curves.seeds} seeds)" if curves.seeds > 1 else ""
    ax.set_title(curves.label + suffix, fontsize=10)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(fontsize=7, loc="lower left", ncol=2 if tasks > 5 else 1)


def plot_accuracy_matrix(ax: Any, matrix: np.ndarray, title: str = "") -> Any:
    """Heatmap of ``R`` (row: after training task i; column: task j), values written in the cells."""
    matrix = np.asarray(matrix)
    image = ax.imshow(matrix, vmin=0.0, vmax=1.0, cmap="viridis")
    tasks = matrix.shape[0]
    if tasks <= 12:
        for i in range(tasks):
            for j in range(tasks):
                value = matrix[i, j]
                ax.text(
                    j,
                    i,
                    f"{value:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6 if tasks > 6 else 8,
                    color="black" if value > 0.6 else "white",
                )
    ax.set_xticks(range(tasks))
    ax.set_yticks(range(tasks))
    ax.set_xlabel("evaluated on task j")
    ax.set_ylabel("after training task i")
    if title:
        ax.set_title(title, fontsize=10)
    return image


def _colors(count: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if count <= 10 else "viridis"]
    return [cmap(i if count <= 10 else i / max(count - 1, 1)) for i in range(count)]


def save_figure(figure: Any, path: str | os.PathLike[str]) -> Path:
    """Write a figure as PNG, atomically."""
    return atomic_write(path, lambda handle: figure.savefig(handle, format="png", dpi=120, bbox_inches="tight"))


def save_run_plots(directory: str | os.PathLike[str], curves: CurveSet) -> dict[str, Path]:
    """``forgetting_curves.png`` and ``accuracy_matrix.png`` of one run in ``directory``."""
    from matplotlib.figure import Figure

    directory = Path(directory)
    figure = Figure(figsize=(5.5, 4))
    plot_forgetting_curves(figure.add_subplot(), curves)
    paths = {"forgetting_curves": save_figure(figure, directory / "forgetting_curves.png")}
    figure = Figure(figsize=(4.5, 4))
    ax = figure.add_subplot()
    image = plot_accuracy_matrix(ax, curves.mean, f"R: {curves.label}")
    figure.colorbar(image, ax=ax, fraction=0.046)
    paths["accuracy_matrix"] = save_figure(figure, directory / "accuracy_matrix.png")
    return paths


def comparison_figure(panels: Sequence[CurveSet]) -> Any:
    """Forgetting curves of several runs side by side on shared axes, each with its R heatmap below."""
    from matplotlib.figure import Figure

    count = len(panels)
    figure = Figure(figsize=(3.6 * count + 0.8, 7.6), layout="constrained")
    axes = figure.subplots(2, count, squeeze=False, sharey="row")
    image = None
    for column, panel in enumerate(panels):
        plot_forgetting_curves(axes[0, column], panel, legend=column == 0)
        image = plot_accuracy_matrix(axes[1, column], panel.mean, "R (mean)" if panel.seeds > 1 else "R")
        if column:
            axes[0, column].set_ylabel("")
            axes[1, column].set_ylabel("")
    if image is not None:
        figure.colorbar(image, ax=list(axes[1]), shrink=0.9)
    return figure


__all__ = [
    "CurveSet",
    "comparison_figure",
    "plot_accuracy_matrix",
    "plot_forgetting_curves",
    "save_figure",
    "save_run_plots",
]
