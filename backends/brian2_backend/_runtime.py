"""Brian2 runtime simulation (``numpy`` or ``cython`` code generation).

State persists across :meth:`run` calls because the Brian2 objects do: the
network clock never goes back, each window's tables are read relative to the
window's start, and the spikes of a run's last step are put back into
Brian2's spike buffers before the next run (Brian2 clears them after every
run). A run longer than the table budget (``max_table_bytes``) is several
Brian2 runs, which changes nothing. :meth:`reset` rewrites the state
variables, drops the spikes in transit (spike queues, last step's spikes)
and leaves the clock where it is.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

import brian2 as b2
import numpy as np

from spikemem.backend import Simulation, UnsupportedFeatureError
from spikemem.spec import Monitor, Network
from spikemem.stimulus import InputWindow

from ._batch import BatchModel, copies_for
from ._build import MONITOR_ORDER, BrianModel, build_model, connect, read_monitors
from ._plan import (
    LAST_SPIKE,
    NEVER,
    NetworkPlan,
    add_spike_counter,
    add_spike_history,
    is_spike_step,
    plan_network,
    spike_history,
    window_inputs,
)
from ._tables import MIN_ROWS


def variable_names(lines: list[str]) -> list[str]:
    """Names of the state variables declared by model lines (summed variables excluded)."""
    return [line.split(":")[0].strip() for line in lines if "(summed)" not in line]


class WeightSnapshots:
    """Weights of projections every ``k`` steps of a run (``Monitor(..., every=k)``).

    A Python ``NetworkOperation`` in the ``end`` slot after plasticity: it
    exists only when such a monitor does, so no other network pays for it.
    """

    def __init__(self, monitors: list[Monitor], dense: Any, clock: Any) -> None:
        self._periods = [(m.key, m.target, m.every) for m in monitors if m.every is not None]
        self._dense = dense
        self._clock = clock
        self.first_step = 0
        self.snapshots: dict[str, list[np.ndarray]] = {key: [] for key, _, _ in self._periods}

    def record(self) -> None:
        """Take the snapshots due after the current step."""
        done = int(self._clock.timestep[:]) - self.first_step + 1  # steps of this run completed
        for key, target, every in self._periods:
            if done % every == 0:
                self.snapshots[key].append(self._dense(target))

    def start(self, first_step: int) -> None:
        self.first_step = first_step
        for frames in self.snapshots.values():
            frames.clear()

    def result(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        return np.array(self.snapshots[key]).reshape(-1, *shape)


class Brian2Simulation(Simulation):
    """A network as Brian2 objects on a runtime target (see the package docstring)."""

    backend_name = "brian2"

    def __init__(self, network: Network, numeric: str, codeobj_class: Any, target: str, max_table_bytes: int) -> None:
        super().__init__(network, numeric)
        self._spike_counters: frozenset[str] = frozenset()
        """Populations counted by :func:`._plan.add_spike_counter` (set when counting is enabled)."""
        self.target = target
        self._plan: NetworkPlan = plan_network(network)
        self._codeobj_class, self._max_table_bytes = codeobj_class, max_table_bytes
        self._built: BrianModel | None = None  # run()'s model, built at its first use (the _model property)
        self._batch: BatchModel | None = None  # run_batch's model, built at its first call
        self._step = 0  # Brian2 steps simulated so far (the network clock, never rewound)
        self._last_input_spikes: dict[str, np.ndarray] = {}  # spike input -> its spikes of the last step
        columns = sum(t.columns for t in self._plan.tables)
        self._max_rows = max(1, max_table_bytes // (8 * columns)) if columns else None
        self._snapshots: WeightSnapshots | None = None

    @property
    def _model(self) -> BrianModel:
        """The Brian2 objects of :meth:`run`, built at the first use.

        A simulation used only through ``run_batch`` never builds them (nor warns, at its end, about Brian2
        objects that never ran); until they exist the plan holds the weights (:meth:`_set_weights`).
        """
        if self._built is None:
            self._built = build_model(
                self._plan, self.network, MIN_ROWS, self._codeobj_class, counters=self._spike_counters
            )
            every = [m for m in self.network.monitors if m.variable == "weights" and m.every is not None]
            if every:
                self._snapshots = WeightSnapshots(every, self._get_weights, self._built.clock)
                self._built.network.add(
                    b2.NetworkOperation(
                        self._snapshots.record,
                        when="end",
                        order=MONITOR_ORDER,
                        clock=self._built.clock,
                        name="spikemem_weight_snapshots",
                    )
                )
        return self._built

    # -- running ------------------------------------------------------------------
    def _chunks(self, steps: int) -> list[tuple[int, int]]:
        size = steps if self._max_rows is None else self._max_rows
        return [(start, min(steps, start + size)) for start in range(0, steps, size)]

    def _load(self, window: InputWindow, start: int, stop: int) -> None:
        """Inputs of rows ``start:stop`` of the window, whose first row is network step ``self._step``."""
        self._model.load(window_inputs(self._plan, window, start, stop), self._step * self.network.dt)

    def _run(self, window: InputWindow) -> dict[str, np.ndarray]:
        model = self._model  # built now if it is the first run (with the weight snapshots)
        first = self._step
        if self._snapshots is not None:
            self._snapshots.start(first)
        for start, stop in self._chunks(window.steps):
            self._load(window, start, stop)
            self._restore_last_spikes()
            model.network.run((stop - start) * self.network.dt * b2.second, namespace={})
            self._step += stop - start
            self._last_input_spikes = {name: spikes[stop - 1] for name, spikes in window.spikes.items()}
        return self._collect(window, first)

    def _run_batch(self, windows: list[InputWindow]) -> dict[str, np.ndarray]:
        """All trials in one Brian2 run of the batch model (:mod:`._batch`), built at the first call (again for a
        batch that would run more copies side by side).

        The objects alive now are frozen for the garbage collector meanwhile: Brian2's ``Network.run``
        calls ``gc.collect()`` on every run (to warn about objects left out of a network); with torch and
        friends loaded that full collection costs ~0.1-0.2 s. ``gc.freeze()`` moves the existing objects to
        the permanent generation, so each collection only scans what the run creates.
        """
        gc.freeze()
        try:
            copies = copies_for(self.network, len(windows))
            if self._batch is None or self._batch.copies < copies:  # built for the first (or a larger) batch
                self._batch = None
                # the batch model records rasters anyway: the count reads the tail sources' from it
                network = self._tail_rasters_network()
                self._batch = BatchModel(
                    network, self._codeobj_class, self._max_table_bytes, copies, counters=self._spike_counters
                )
            self._batch.sync_weights(self._get_weights)
            return self._batch.run(windows, self._get_weights)
        finally:
            gc.unfreeze()

    # -- counting -------------------------------------------------------------------
    def _enable_counting(self, added_keys: frozenset[str], tails: frozenset[str] = frozenset()) -> None:
        """Count runs; a tail source keeps its last ``depth`` spike steps (:func:`._plan.add_spike_history`)."""
        super()._enable_counting(added_keys, tails)
        if self._built is not None:
            raise RuntimeError("counting must be enabled before the Brian2 model is built (Backend.compile does)")
        for source, depth in self._tail_depths.items():
            add_spike_history(self._plan.groups[source], depth)
        # a population the count alone reads, and only its total (it feeds no projection): a counter in
        # its reset code instead of a SpikeMonitor, which is one more Python call per step (batch runs too)
        populations = {pop.name for pop in self.network.populations}
        counted = {key[: -len(".count")] for key in added_keys if key.endswith(".count")}
        self._spike_counters = frozenset(counted & populations)
        for name in self._spike_counters:
            add_spike_counter(self._plan.groups[name])

    def _spike_tails(self, depths: Mapping[str, int], steps: int) -> dict[str, np.ndarray]:
        r"""Each source's spikes in the last ``depth`` steps of the run just made, from its last spike steps.

        The run covered network steps ``[end - steps, end)``; a spike step
        :math:`s` of ``ls``, ``ls1`` ... with :math:`s \ge \max(end - depth, end - steps)`
        sets row :math:`s - (end - depth)` (steps before the run stay False).
        """
        end = self._step
        tails: dict[str, np.ndarray] = {}
        for source, depth in depths.items():
            group = self._model.groups[source]
            tail = np.zeros((depth, self._plan.groups[source].size), dtype=bool)
            for name in spike_history(depth):
                step = np.asarray(group.variables[name].get_value(), dtype=np.int64)
                neurons = np.flatnonzero(step >= max(end - depth, end - steps))
                tail[step[neurons] - (end - depth), neurons] = True
            tails[source] = tail[None]
        return tails

    def _restore_last_spikes(self) -> None:
        """Put the spikes of the previous step back where the synapses read them.

        Brian2 empties every spike buffer at the end of a run (its threshold
        template's ``after_run`` code), which would lose the spikes of a run's
        last step; the spec delivers them in the next step, whatever the runs.
        """
        for name, group in self._model.groups.items():
            if not self._plan.groups[name].spiking:
                continue
            if self._plan.groups[name].population:
                spiked = np.flatnonzero(group.variables[LAST_SPIKE].get_value() == self._step - 1)
            else:  # a spike input: its last step is in the previous window
                spiked = np.flatnonzero(self._last_input_spikes.get(name, False))
            spikespace = group.variables["_spikespace"].get_value()
            spikespace[: len(spiked)] = spiked
            spikespace[-1] = len(spiked)

    # -- reading the monitors ------------------------------------------------------
    def _collect(self, window: InputWindow, first: int) -> dict[str, np.ndarray]:
        snapshots = self._snapshots.result if self._snapshots is not None else None
        data = read_monitors(self._model, self.network, window, first, self._get_weights, snapshots)
        self._clear_monitors()
        return data

    def _clear_monitors(self) -> None:
        self._model.clear_monitors()

    # -- state ------------------------------------------------------------------------
    def _reset(self, weights: bool) -> None:
        self._last_input_spikes = {}
        if self._built is None:  # nothing ran: only the weights can differ from the spec's
            if weights:
                for name, syn_plan in self._plan.synapses.items():
                    syn_plan.weights = syn_plan.index.values(self.network.projection(name).weights)
            return
        self._model.set_initial_potentials(self.network)
        for name, group_plan in self._plan.groups.items():
            group = self._model.groups[name]
            for var in variable_names(group_plan.variables):
                if var not in ("v", "I_ext"):
                    group.variables[var].set_value(NEVER if is_spike_step(var) else 0)
        for name, syn_plan in self._plan.synapses.items():
            syn = self._model.synapses[name]
            for var in variable_names(syn_plan.model):
                if var != "w":
                    syn.variables[var].set_value(0)
            if weights:
                syn.variables["w"].set_value(syn_plan.index.values(self.network.projection(name).weights))
            syn.pre.queue._restore_from_full_state(None)  # drop spikes in transit
        self._clear_monitors()

    def _get_weights(self, projection: str) -> np.ndarray:
        plan = self._plan.synapses[projection]
        if self._built is None:
            return plan.index.dense(plan.weights)
        return plan.index.dense(self._built.synapses[projection].variables["w"].get_value())

    def _set_weights(self, projection: str, weights: np.ndarray) -> None:
        plan = self._plan.synapses[projection]
        post, pre = plan.index.missing(weights)
        if len(post):
            self._add_synapses(projection, post, pre)
        if self._built is None:
            plan.weights = plan.index.values(weights)  # the weights the model will be built with
        else:
            self._built.synapses[projection].variables["w"].set_value(plan.index.values(weights))

    def _add_synapses(self, projection: str, post: np.ndarray, pre: np.ndarray) -> None:
        """Create synapses for new nonzero entries of a static projection's weights."""
        proj = self.network.projection(projection)
        field = f"set_weights[{projection!r}]"
        if proj.mask is not None and not np.all(np.asarray(proj.mask)[post, pre]):
            raise UnsupportedFeatureError(field, "has nonzero weights where the projection's mask is False")
        if proj.delay > 1 and self.t > 0:
            raise UnsupportedFeatureError(
                field,
                f"adds {len(post)} synapses to a projection with delay {proj.delay} while spikes may be in transit; "
                "call reset() first, or give the projection a mask (or nonzero initial weights) covering them",
            )
        if self._built is not None:
            connect(self._built.synapses[projection], pre, post)
        self._plan.synapses[projection].index.extend(post, pre)

    def _close(self) -> None:
        self._built = None  # drop the Brian2 objects (and their arrays); a closed simulation never reads them
        self._batch = None
        self._snapshots = None
