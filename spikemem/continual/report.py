"""What a continual-learning run writes and prints about its accuracy matrix (numpy only)."""

from __future__ import annotations

from typing import Any

import numpy as np

from spikemem.io import atomic_write


def write_matrix_csv(path: Any, matrix: np.ndarray) -> None:
    """``R.csv``: one row per training stage, one column per evaluated task."""
    tasks = matrix.shape[1]
    lines = ["after_task," + ",".join(f"task_{j}" for j in range(tasks))]
    lines += [f"{i}," + ",".join(f"{v:.6f}" for v in row) for i, row in enumerate(matrix)]
    text = ("\n".join(lines) + "\n").encode()
    atomic_write(path, lambda handle: handle.write(text))


def print_summary(label: str, matrix: np.ndarray, metrics: dict[str, float]) -> None:
    """The accuracy matrix and the metrics as text."""
    from spikemem.tables import format_table

    tasks = matrix.shape[0]
    rows = [[f"after task {i}", *(f"{v:.3f}" for v in row)] for i, row in enumerate(matrix)]
    print(label)
    print(format_table(["R", *(f"task {j}" for j in range(tasks))], rows))
    print("  ".join(f"{k} {v:+.4f}" for k, v in metrics.items()))


__all__ = ["print_summary", "write_matrix_csv"]
