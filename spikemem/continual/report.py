"""What a continual-learning run writes and prints about its accuracy matrix (numpy; matplotlib for the plots)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from spikemem.evaluation.continual import continual_metrics
from spikemem.evaluation.continual_plots import CurveSet, save_run_plots
from spikemem.io import atomic_write
from spikemem.tables import format_table


def write_matrix_csv(path: Any, matrix: np.ndarray) -> None:
    """``R.csv``: one row per training stage, one column per evaluated task."""
    tasks = matrix.shape[1]
    lines = ["after_task," + ",".join(f"task_{j}" for j in range(tasks))]
    lines += [f"{i}," + ",".join(f"{v:.6f}" for v in row) for i, row in enumerate(matrix)]
    text = ("\n".join(lines) + "\n").encode()
    atomic_write(path, lambda handle: handle.write(text))


def print_summary(label: str, matrix: np.ndarray, metrics: dict[str, float]) -> None:
    """The accuracy matrix and the metrics as text."""
    tasks = matrix.shape[0]
    rows = [[f"after task {i}", *(f"{v:.3f}" for v in row)] for i, row in enumerate(matrix)]
    print(label)
    print(format_table(["R", *(f"task {j}" for j in range(tasks))], rows))
    print("  ".join(f"{k} {v:+.4f}" for k, v in metrics.items()))


def run_report(
    out: Path, records: list[dict[str, Any]], baseline: list[float], label: str, info: dict[str, Any]
) -> dict[str, Any]:
    """``R.csv``, the plots and the printed summary of a finished run; return its metrics.

    Parameters
    ----------
    out
        The run directory.
    records
        One per task, in order: ``accuracy`` (row ``i`` of R), ``train_seconds``, ``samples`` and any statistics.
    baseline
        The untrained model's accuracy on every task.
    label
        Title of the plots and the summary.
    info
        Entries placed after ``baseline`` (method, stream, ...).

    Returns
    -------
    dict
        ``R``, ACC, BWT, FWT, forgetting (:func:`spikemem.evaluation.continual.continual_metrics`),
        ``baseline``, ``info``, ``train_seconds``, ``train_samples_per_s`` and ``per_task`` (the records
        without their accuracy rows).
    """
    matrix = np.array([r["accuracy"] for r in records])
    metrics = continual_metrics(matrix, baseline)
    write_matrix_csv(out / "R.csv", matrix)
    save_run_plots(out, CurveSet(label, matrix))
    print_summary(label, matrix, metrics)
    train_seconds = sum(r["train_seconds"] for r in records)
    return {
        "R": matrix.tolist(),
        **metrics,
        "baseline": baseline,
        **info,
        "train_seconds": train_seconds,
        "train_samples_per_s": sum(r["samples"] for r in records) / train_seconds if train_seconds else None,
        "per_task": [{k: v for k, v in r.items() if k != "accuracy"} for r in records],
    }


__all__ = ["print_summary", "run_report", "write_matrix_csv"]
