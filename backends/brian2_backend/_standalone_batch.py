"""The batch model (:mod:`._batch`) as ONE C++ standalone program, built once and re-run for every batch.

On the runtime targets a batch model still calls every code object from
Python at every step; here the whole step loop is compiled. The program is
generated for a *shape*: the trial length ``S`` and a capacity of ``R``
copies side by side times ``P`` periods (``R P`` trials per program run, the
run length ``P (S + G)`` steps being compiled in). A batch of that trial
length runs as ``ceil(B / (R P))`` runs of the program, the last one padded
with trials without input; each run passes only what differs from the values
compiled in through ``device.run(run_args=...)``: the input tables and the
weights when they changed (the phase table is compiled in). A larger batch
than the capacity, where the table budget allows more periods or copies, or
another trial length, builds a new program (about 25 s on 2 cores).

Current inputs always go through their table here (a constant current is
broadcast to the rows): the membrane code of a table step adds the same value
as the constant step, so the spikes do not change, and one program serves
both.

Brian2's device is global: the program is generated on a private
``CPPStandaloneDevice`` that is set only while the objects are created and
the code generated (:func:`._device.standalone_program`), so the runtime
targets of other simulations in the process are unaffected.
"""

from __future__ import annotations

import os
from typing import Any

import brian2 as b2
import numpy as np

from spikemem.backend import UnsupportedFeatureError
from spikemem.spec import Network

from ._batch import BatchModel
from ._build import BrianModel, build_model
from ._device import standalone_program
from ._plan import SynapseIndex, WindowInputs, plan_network, trial_phases


def batch_shape(network: Network, trials: int, steps: int, max_table_bytes: int) -> tuple[int, int]:
    """``(copies, periods)`` of a program for ``trials`` trials of ``steps`` steps.

    One copy: copies side by side share the runtime targets' per-step Python calls, which a compiled
    loop does not have (a step without spikes costs microseconds), while every copy multiplies what each
    program run loads, creates and writes back (its synapses: measured 4.4 s per run of the 64-800-800-10
    MLP with 6 copies). Periods: enough for every trial, at most as many as the input tables of one
    program run hold within ``max_table_bytes``.
    """
    copies = 1
    columns = copies * sum(table.columns for table in plan_network(network).tables) + 1  # + the phase column
    gap = max((int(proj.delay) for proj in network.projections), default=1)
    most = max(1, max_table_bytes // (8 * columns) // (steps + gap))
    return copies, min(-(-trials // copies), most)


class StandaloneBatchModel(BatchModel):
    """A batch model compiled as a C++ standalone program (module docstring).

    Parameters
    ----------
    network
        The simulation's (validated, static) network.
    directory
        Project directory of the program.
    steps
        Steps of every trial.
    copies, periods
        The shape (:func:`batch_shape`).
    openmp_threads
        OpenMP threads of the program (0: none; :func:`._device.standalone_program`).
    """

    def __init__(
        self, network: Network, directory: str, steps: int, copies: int, periods: int, openmp_threads: int = 0
    ) -> None:
        self.directory, self.steps, self.periods = directory, steps, periods
        self.openmp_threads = openmp_threads
        self._device: Any = None
        self._compiled: dict[str, np.ndarray] = {}  # run argument -> the values compiled in
        self._weights: dict[str, np.ndarray] = {}  # projection -> the values of every synapse for the next run
        super().__init__(network, None, 1, copies)

    @property
    def capacity(self) -> int:
        """Trials of one program run."""
        return self.copies * self.periods

    def _build(self, codeobj_class: Any) -> BrianModel:
        """Generate and compile the program (nothing runs yet)."""
        gap = self.plan.gap
        rows = self.periods * (self.steps + gap)
        with standalone_program(self.directory, run=False, openmp_threads=self.openmp_threads) as device:
            model = build_model(self.plan, self.network, rows, codeobj_class=None, exact_rows=True)
            for name, group in self.plan.groups.items():
                if group.current is not None:
                    model.use_current(name, "table")
            assert self.plan.phase is not None
            for name, table in model.tables.items():
                values = trial_phases(self.periods, self.steps, gap) if name == self.plan.phase.name else 0.0
                table.timed_array.values[:] = values
                self._compiled[f"table {name}"] = table.timed_array.values.copy()
            for name, syn_plan in self.plan.synapses.items():
                self._compiled[f"weights {name}"] = syn_plan.weights.copy()
                self._weights[name] = syn_plan.weights
            model.network.run(rows * self.network.dt * b2.second, namespace={})
        self._device = device
        return model

    def _add_synapses(self, projection: str, new: SynapseIndex) -> None:
        raise UnsupportedFeatureError(
            f"set_weights[{projection!r}]",
            f"adds {len(new.post)} synapses where the compiled projection has none; cpp_standalone compiles the "
            "synapses in: give the projection a mask covering them, or use target='cython'",
        )

    def _set_weights(self, projection: str, values: np.ndarray) -> None:
        self._weights[projection] = values

    def _trials_per_run(self, period: int) -> int:
        return self.capacity

    def _periods(self) -> int | None:
        return self.periods

    def _simulate(self, inputs: WindowInputs, steps: int) -> int:
        """One run of the program with ``inputs`` (and the current weights); its records start at step 0."""
        args: dict[Any, np.ndarray] = {}
        tables = dict(inputs.tables)
        for name, current in inputs.constant_currents.items():
            table = self.plan.groups[name].current
            assert table is not None
            tables[table.name] = np.broadcast_to(current, (steps, len(current)))
        for name, values in tables.items():
            timed_array = self.model.tables[name].timed_array
            values = np.ascontiguousarray(values, dtype=float)
            if not np.array_equal(values, self._compiled[f"table {name}"]):
                args[timed_array] = values
        for name, values in self._weights.items():
            if not np.array_equal(values, self._compiled[f"weights {name}"]):
                args[self.model.synapses[name].w] = values
        try:
            self._device.run(directory=self.directory, with_output=False, run_args=args)
        finally:  # the argument files (one per distinct value) would pile up batch after batch
            for name in self._device.run_args_arrays:
                path = os.path.join(self.directory, "static_arrays", name)
                if os.path.exists(path):
                    os.remove(path)
        return 0

    def _clear(self) -> None:
        """Nothing to empty: every program run starts with empty monitors."""
