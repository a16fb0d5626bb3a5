"""Brian2 C++ standalone simulation: build once, re-run the program with new inputs and weights.

The network is generated and compiled at the first :meth:`run` (its length is
compiled in), on a private ``CPPStandaloneDevice`` (Brian2's global device is
set back right after), in its own project directory. Later runs of the same
length start the compiled program again with ``device.run(run_args=...)``:
the window's tables (spikes, time-varying currents, modulators), constant
currents and the current weights are its arguments, so learning carries over
from run to run through :meth:`reset` (``weights=False``).

What it refuses (``UnsupportedFeatureError``), and why:

- **continuing a run**: every ``run()`` starts from the reset state (the
  program starts at ``t = 0`` with empty spike queues; spikes in transit and
  the network time cannot be passed in). Call ``reset()`` before each
  ``run()``, or use ``target="cython"``.
- **weights every k steps** (``Monitor(..., every=k)``): snapshots need
  Python code during the run; use a runtime target.
- **new synapses** through ``set_weights`` (nonzero entries where a static
  projection had a zero weight): the synapses are compiled in.

``run_batch`` runs a separate program, the batch model
(:mod:`._standalone_batch`), in the subdirectory ``batch``.

A run of another length, or whose current inputs switch between constant and
time-varying, rebuilds the program in the same directory (measured: 15-25 s
for the first build and for a rebuild of a small network on 2 busy cores;
a re-run costs ~35 ms for 1,000 neurons x 1,000 steps).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import brian2 as b2
import numpy as np

from spikemem.backend import Simulation, UnsupportedFeatureError
from spikemem.spec import Network
from spikemem.stimulus import InputWindow

from ._build import BrianModel, build_model, read_monitors
from ._device import standalone_program
from ._plan import NetworkPlan, WindowInputs, plan_network, window_inputs
from ._standalone_batch import StandaloneBatchModel, batch_shape

FIX = "use target='cython' (or 'numpy') for this"


def check_standalone(network: Network) -> None:
    """Refuse at compile time what the C++ standalone target cannot run (see the module docstring)."""
    for index, monitor in enumerate(network.monitors):
        if monitor.variable == "weights" and monitor.every is not None:
            raise UnsupportedFeatureError(
                f"monitors[{index}].every",
                f"weight snapshots every {monitor.every} steps need Python code during the run, which "
                f"cpp_standalone cannot call; monitor the final weights (every=None), or {FIX}",
            )


class StandaloneSimulation(Simulation):
    """A network as a compiled Brian2 C++ program (see the module docstring)."""

    backend_name = "brian2"
    target = "cpp_standalone"

    def __init__(
        self,
        network: Network,
        numeric: str,
        directory: str | None,
        max_table_bytes: int = 64 * 2**20,
        openmp_threads: int = 0,
    ) -> None:
        check_standalone(network)
        super().__init__(network, numeric)
        self._plan: NetworkPlan = plan_network(network)
        self._own_directory = directory is None
        self._directory = directory or tempfile.mkdtemp(prefix="spikemem-brian2-")
        self._device: Any = None
        self._model: BrianModel | None = None
        self._built: tuple[int, dict[str, str]] | None = None  # (steps, current modes) compiled in
        self._compiled: dict[str, tuple[Any, np.ndarray]] = {}  # run arguments and the values compiled in
        self._weights = {name: plan.weights.copy() for name, plan in self._plan.synapses.items()}
        self._fresh = True
        self._max_table_bytes = max_table_bytes
        self._openmp_threads = openmp_threads
        self._batch: StandaloneBatchModel | None = None  # run_batch's program, built at its first call

    # -- running --------------------------------------------------------------------
    def _run(self, window: InputWindow) -> dict[str, np.ndarray]:
        if not self._fresh:
            raise UnsupportedFeatureError(
                "run",
                "cpp_standalone starts every run() from the reset state (spikes in transit and the network "
                f"time cannot be passed to the compiled program); call reset() before run(), or {FIX}",
            )
        inputs = window_inputs(self._plan, window, 0, window.steps)
        layout = (
            window.steps,
            {name: inputs.current_mode(name) for name, g in self._plan.groups.items() if g.current is not None},
        )
        if layout != self._built:
            self._build(window.steps, inputs)
            self._built = layout
        else:
            self._device.run(directory=self._directory, with_output=False, run_args=self._run_args(inputs))
        self._fresh = False
        for name in self._weights:
            self._weights[name] = np.array(self._program.synapses[name].variables["w"].get_value(), dtype=float)
        return read_monitors(self._program, self.network, window, 0, self._get_weights)

    def _run_batch(self, windows: list[InputWindow]) -> dict[str, np.ndarray]:
        """All trials in runs of one compiled batch program (:mod:`._standalone_batch`), built at the first call
        and again for another trial length or a batch that needs a larger program."""
        steps = windows[0].steps
        copies, periods = batch_shape(self.network, len(windows), steps, self._max_table_bytes)
        batch = self._batch
        if batch is None or batch.steps != steps or batch.capacity < copies * periods:
            self._batch = None
            directory = os.path.join(self._directory, "batch")
            batch = self._batch = StandaloneBatchModel(
                self.network, directory, steps, copies, periods, self._openmp_threads
            )
        batch.sync_weights(self._get_weights)
        return batch.run(windows, self._get_weights)

    def _build(self, steps: int, inputs: WindowInputs) -> None:
        """Generate, compile and run the program for ``steps`` steps with ``inputs``."""
        with standalone_program(self._directory, run=True, openmp_threads=self._openmp_threads) as device:
            model = build_model(self._plan, self.network, steps, codeobj_class=None, exact_rows=True)
            for name, group_plan in self._plan.groups.items():
                if group_plan.current is not None:
                    model.use_current(name, inputs.current_mode(name))
            self._compiled = self._arguments(model, inputs)
            for key, values in self._compiled.values():
                if isinstance(key, b2.TimedArray):
                    key.values[:] = values
                else:
                    key.group.variables[key.name].set_value(values)
            model.network.run(steps * self.network.dt * b2.second, namespace={})
        self._device, self._model = device, model

    @property
    def _program(self) -> BrianModel:
        """The model of the compiled program (the first run builds it)."""
        if self._model is None:
            raise RuntimeError("the standalone program is not built yet: run() builds it")
        return self._model

    def _arguments(self, model: BrianModel, inputs: WindowInputs) -> dict[str, tuple[Any, np.ndarray]]:
        """Every value a run takes from outside, by label: the tables its code reads, constant currents, weights.

        Each entry is ``(key, values)`` with ``key`` what ``device.run(run_args=...)`` takes.
        """
        args: dict[str, tuple[Any, np.ndarray]] = {}
        for name, values in inputs.tables.items():
            args[f"table {name}"] = (model.tables[name].timed_array, np.ascontiguousarray(values, dtype=float))
        for name, current in inputs.constant_currents.items():
            args[f"current {name}"] = (model.groups[name].I_ext, np.asarray(current, dtype=float))
        for name, syn in model.synapses.items():
            args[f"weights {name}"] = (syn.w, self._weights[name])
        return args

    def _run_args(self, inputs: WindowInputs) -> dict[Any, np.ndarray]:
        """The arguments of a re-run that differ from the values compiled in (fewer files to write and read)."""
        return {
            key: values
            for label, (key, values) in self._arguments(self._program, inputs).items()
            if not np.array_equal(values, self._compiled[label][1])
        }

    # -- state -------------------------------------------------------------------------
    def _reset(self, weights: bool) -> None:
        if weights:
            self._weights = {
                name: plan.index.values(self.network.projection(name).weights)
                for name, plan in self._plan.synapses.items()
            }
        self._fresh = True

    def _get_weights(self, projection: str) -> np.ndarray:
        return self._plan.synapses[projection].index.dense(self._weights[projection])

    def _set_weights(self, projection: str, weights: np.ndarray) -> None:
        index = self._plan.synapses[projection].index
        post, _ = index.missing(weights)
        if len(post):
            raise UnsupportedFeatureError(
                f"set_weights[{projection!r}]",
                f"adds {len(post)} synapses where the compiled projection has none (zero initial weight); "
                f"cpp_standalone compiles the synapses in: give the projection a mask covering them, or {FIX}",
            )
        self._weights[projection] = index.values(weights)

    def _close(self) -> None:
        if self._own_directory:
            shutil.rmtree(self._directory, ignore_errors=True)
