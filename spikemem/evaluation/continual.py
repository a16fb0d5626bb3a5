r"""Continual-learning metrics from predictions only (every backend is scored by this code).

:math:`R_{ij}` is the accuracy (fraction in [0, 1]) on task ``j`` after
training on task ``i``; all ``T x T`` entries are evaluated, also
:math:`j > i` (tasks not trained yet). :math:`b_j` is the accuracy of the
untrained model on task ``j``.

.. math::

    \mathrm{ACC} &= \frac1T \sum_{j} R_{T-1,j} \\
    \mathrm{LA} &= \frac1T \sum_{j} R_{jj} \\
    \mathrm{BWT} &= \frac1{T-1} \sum_{j<T-1} \bigl(R_{T-1,j} - R_{jj}\bigr) \\
    \mathrm{FWT} &= \frac1{T-1} \sum_{j>0} \bigl(R_{j-1,j} - b_j\bigr) \\
    \mathrm{forgetting} &= \frac1{T-1} \sum_{j<T-1} \Bigl(\max_{i<T-1} R_{ij} - R_{T-1,j}\Bigr)

(Lopez-Paz & Ranzato, 2017; LA, the learning accuracy, is the accuracy on each task just after
it was learned, as Riemer et al., 2019: stability bought by freezing shows as a low LA;
forgetting as Chaudhry et al., 2018, the maximum taken over every row before the last, as
DESIGN.md defines it). With a single
task BWT, FWT and forgetting are NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

METRICS = ("ACC", "LA", "BWT", "FWT", "forgetting")
"""Names of the scalar metrics, in report order."""
DERIVED = ("LA",)
"""Metrics of :data:`METRICS` that results written before they existed lack; :func:`metric_values` computes them
from ``R``."""


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of ``predictions`` equal to ``labels``."""
    predictions, labels = np.asarray(predictions), np.asarray(labels)
    if predictions.shape != labels.shape:
        raise ValueError(f"predictions {predictions.shape} and labels {labels.shape} differ in shape")
    return float(np.mean(predictions == labels)) if labels.size else float("nan")


def accuracy_matrix(predictions: Sequence[Sequence[np.ndarray]], labels: Sequence[np.ndarray]) -> np.ndarray:
    """``R`` from ``predictions[i][j]`` (labels predicted on task ``j`` after task ``i``) and ``labels[j]``."""
    tasks = len(labels)
    if len(predictions) != tasks or any(len(row) != tasks for row in predictions):
        raise ValueError(f"need {tasks} x {tasks} predictions (every task after every task)")
    return np.array([[accuracy(row[j], labels[j]) for j in range(tasks)] for row in predictions])


def _check(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"R must be a non-empty square matrix, got shape {matrix.shape}")
    return matrix


def average_accuracy(matrix: np.ndarray) -> float:
    """ACC: mean accuracy over all tasks after the last one."""
    return float(np.mean(_check(matrix)[-1]))


def learning_accuracy(matrix: np.ndarray) -> float:
    """LA: mean accuracy on each task just after learning it (the diagonal of R)."""
    return float(np.mean(np.diag(_check(matrix))))


def backward_transfer(matrix: np.ndarray) -> float:
    """BWT: mean change of each earlier task's accuracy from just after learning it to the end."""
    matrix = _check(matrix)
    tasks = matrix.shape[0]
    if tasks < 2:
        return float("nan")
    return float(np.mean(matrix[-1, :-1] - np.diag(matrix)[:-1]))


def forward_transfer(matrix: np.ndarray, baseline: Sequence[float]) -> float:
    """FWT: mean accuracy on each task just before learning it, minus the untrained model's."""
    matrix = _check(matrix)
    tasks = matrix.shape[0]
    untrained = np.asarray(baseline, dtype=float)
    if untrained.shape != (tasks,):
        raise ValueError(f"baseline needs one accuracy per task ({tasks}), got shape {untrained.shape}")
    if tasks < 2:
        return float("nan")
    return float(np.mean([matrix[j - 1, j] - untrained[j] for j in range(1, tasks)]))


def forgetting(matrix: np.ndarray) -> float:
    """Forgetting: mean drop from each earlier task's best accuracy (rows before the last) to the end."""
    matrix = _check(matrix)
    tasks = matrix.shape[0]
    if tasks < 2:
        return float("nan")
    best = matrix[:-1, :-1].max(axis=0)
    return float(np.mean(best - matrix[-1, :-1]))


def continual_metrics(matrix: np.ndarray, baseline: Sequence[float]) -> dict[str, float]:
    """ACC, LA, BWT, FWT and forgetting of one run."""
    return {
        "ACC": average_accuracy(matrix),
        "LA": learning_accuracy(matrix),
        "BWT": backward_transfer(matrix),
        "FWT": forward_transfer(matrix, baseline),
        "forgetting": forgetting(matrix),
    }


def metric_values(metrics: Mapping[str, object]) -> dict[str, float]:
    """The :data:`METRICS` of one run's stored ``metrics`` (``R`` and the scalars); :data:`DERIVED` ones from ``R``
    when the run predates them."""
    values = {k: float(metrics[k]) for k in METRICS if k in metrics}  # type: ignore[arg-type]
    if "LA" not in values:
        values["LA"] = learning_accuracy(np.asarray(metrics["R"], dtype=float))
    return {k: values[k] for k in METRICS}


def summarize_seeds(runs: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and sample standard deviation (``ddof=1``; 0 for one run) of each metric over runs (seeds).

    Returns ``{metric: {"mean": ..., "std": ..., "n": ...}}`` for every key present in all runs.
    """
    if not runs:
        return {}
    keys = [k for k in runs[0] if all(k in r for r in runs)]
    summary = {}
    for key in keys:
        values = np.array([float(r[key]) for r in runs])
        std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        summary[key] = {"mean": float(np.mean(values)), "std": std, "n": len(values)}
    return summary


def format_spread(entry: Mapping[str, float], signed: bool = False) -> str:
    """``mean ± std`` of a :func:`summarize_seeds` entry, or ``mean (n=1)`` for a single run (no spread to show)."""
    mean = f"{entry['mean']:+.3f}" if signed else f"{entry['mean']:.3f}"
    return f"{mean} (n=1)" if int(entry.get("n", 2)) == 1 else f"{mean} ± {entry['std']:.3f}"


def mean_matrix(matrices: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Element-wise mean and sample standard deviation (0 for one run) of accuracy matrices of several seeds."""
    stack = np.stack([_check(m) for m in matrices])
    return stack.mean(axis=0), (stack.std(axis=0, ddof=1) if len(stack) > 1 else np.zeros_like(stack[0]))


__all__ = [
    "DERIVED",
    "METRICS",
    "accuracy",
    "accuracy_matrix",
    "average_accuracy",
    "backward_transfer",
    "continual_metrics",
    "forgetting",
    "format_spread",
    "forward_transfer",
    "learning_accuracy",
    "mean_matrix",
    "metric_values",
    "summarize_seeds",
]
