"""Per-step inputs as Brian2 ``TimedArray`` s that are refilled between runs without recompiling.

A table is read as ``name(t - name_t0, i)``: row ``k`` holds the values of the
``k``-th step of the current window, whatever the network time. Brian2's
cython and C++ code bake a TimedArray's name and shape into the generated
code, so each table keeps one name and one shape: its rows are overwritten in
place for each window (zero past the window's end) and ``name_t0`` (a
namespace constant, read at every run) moves to the window's start. A window
longer than the table grows it to the next power of two: one new
compilation, then cached.
"""

from __future__ import annotations

import brian2 as b2
import numpy as np

from ._plan import TablePlan

MIN_ROWS = 64


def _rows_for(steps: int) -> int:
    return max(MIN_ROWS, 1 << (int(steps) - 1).bit_length())


class StepTable:
    """One per-step input (spikes, current or modulator) of the Brian2 network.

    Parameters
    ----------
    plan
        Name, width and origin of the table.
    dt
        Time step in seconds.
    rows
        Initial number of rows; ``exact=True`` keeps exactly this many (C++
        standalone, whose run length is fixed), else it is rounded up to a
        power of two.
    """

    def __init__(self, plan: TablePlan, dt: float, rows: int, exact: bool = False) -> None:
        self.plan = plan
        self._dt = dt
        self._namespaces: list[dict] = []
        self.timed_array = self._new(rows if exact else _rows_for(rows))

    @property
    def rows(self) -> int:
        return int(self.timed_array.values.shape[0])

    def _new(self, rows: int) -> b2.TimedArray:
        return b2.TimedArray(np.zeros((rows, self.plan.columns)), dt=self._dt * b2.second, name=self.plan.name)

    def attach(self, namespace: dict) -> None:
        """Make the table callable from code that resolves names in ``namespace``."""
        namespace[self.plan.name] = self.timed_array
        namespace[f"{self.plan.name}_t0"] = 0.0 * b2.second
        self._namespaces.append(namespace)

    def fill(self, block: np.ndarray, t0: float) -> None:
        """Load a window ``(steps, columns)`` whose first step is at time ``t0`` (seconds)."""
        steps = len(block)
        if steps > self.rows:
            self.timed_array = self._new(_rows_for(steps))
            for namespace in self._namespaces:
                namespace[self.plan.name] = self.timed_array
        values = self.timed_array.values  # the array the generated code reads (see TimedArray._init_2d)
        values[:steps] = block
        values[steps:] = 0.0
        for namespace in self._namespaces:
            namespace[f"{self.plan.name}_t0"] = t0 * b2.second
