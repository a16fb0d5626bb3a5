"""Independent trials of a static network as ONE Brian2 run: the batch model (``Simulation.run_batch``).

A Brian2 run has a fixed cost before its first step: ``Network.before_run``
generates and creates the code object of every object (about 20 ms per
object with cython; 0.36 s for the 17 objects of the 64-800-800-10 MLP)
however short the run. Run trial by trial, a 9-step inference sample paid
it for every sample. The batch model (:func:`._plan.batch_plan`) lays the
trials out in time, ``S`` steps each followed by ``G`` gap steps (the
largest delay), and resets every population at each trial's first step by
code inside the run, so a whole batch pays it once per Brian2 run (once per
``max_table_bytes`` of inputs).

It is a second set of Brian2 objects beside the simulation's own model,
built at the first ``run_batch`` (code generation and, with cython, one
compilation of its slightly different code, cached across processes) and
kept: later batches only refill its tables. Its weights are the
simulation's current ones (synced before each batch when they changed, new synapses
included). Each trial's records are identical to a run from the reset
state (tests/backends/test_brian2.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import brian2 as b2
import numpy as np

from spikemem.spec import Network
from spikemem.stimulus import InputWindow

from ._build import BrianModel, build_model, connect
from ._plan import (
    SPIKE_COUNTER,
    NetworkPlan,
    SynapseIndex,
    WindowInputs,
    add_spike_counter,
    batch_plan,
    trial_phases,
    window_inputs,
)
from ._tables import MIN_ROWS

MAX_BATCH_SYNAPSES = 4_000_000
"""Most synapses of a batch model (all its copies): bounds the copies of large networks (about 40 bytes each
in Brian2, so ~160 MB)."""


def copies_for(network: Network, trials: int) -> int:
    """Copies of ``network`` for a batch of ``trials``: a power of two up to ``trials``, within the synapse budget."""
    synapses = sum(int(np.count_nonzero(proj.weights)) for proj in network.projections)
    most = max(1, MAX_BATCH_SYNAPSES // max(1, synapses))
    return max(1, min(most, 1 << (max(1, trials) - 1).bit_length()))


def lay_out(windows: list[InputWindow], copies: int, gap: int, periods: int | None = None) -> InputWindow:
    """The trials in periods of ``steps + gap`` steps, ``copies`` trials side by side in each period.

    Trial ``k R + r`` is copy ``r`` of period ``k`` (columns ``r n .. r n + n - 1``); the periods past the
    trials (``periods``, default just enough) are filled with trials without input; every gap step is
    without input.
    """
    steps = windows[0].steps
    periods = -(-len(windows) // copies) if periods is None else periods

    def arranged(arrays: list[np.ndarray]) -> np.ndarray:
        width = arrays[0].shape[1]
        out = np.zeros((periods * copies, steps + gap, width), dtype=arrays[0].dtype)
        out[: len(arrays), :steps] = np.stack(arrays)
        out = out.reshape(periods, copies, steps + gap, width).transpose(0, 2, 1, 3)
        return out.reshape(periods * (steps + gap), copies * width)

    first = windows[0]
    return InputWindow(
        t_start=0,
        steps=periods * (steps + gap),
        spikes={name: arranged([w.spikes[name] for w in windows]) for name in first.spikes},
        currents={name: arranged([w.currents[name] for w in windows]) for name in first.currents},
        modulators={name: arranged([w.modulators[name] for w in windows]) for name in first.modulators},
    )


def _one_copy(index: SynapseIndex, copies: int) -> SynapseIndex:
    """The synapses of copy 0 of a block-diagonal index (:meth:`SynapseIndex.repeated`), in its matrix."""
    rows, columns = index.shape
    size = len(index.post) // copies
    return SynapseIndex((rows // copies, columns // copies), index.post[:size], index.pre[:size])


class BatchModel:
    """The batch model of a static network on a runtime target (module docstring).

    Parameters
    ----------
    network
        The simulation's (validated, static) network.
    codeobj_class
        Brian2 code object class (numpy or cython).
    max_table_bytes
        Memory bound of the input tables of one Brian2 run; a batch needing more runs in several.
    copies
        Trials run side by side (:func:`._plan.batch_plan`).
    counters
        Populations whose ``count`` monitor only the operation count reads: a
        reset-code counter (:func:`._plan.add_spike_counter`) gives their total
        over the batch, shape ``(1, n)`` per Brian2 run, not per trial.
    """

    def __init__(
        self,
        network: Network,
        codeobj_class: Any,
        max_table_bytes: int,
        copies: int = 1,
        counters: frozenset[str] = frozenset(),
    ) -> None:
        self.network = network
        self.copies = copies
        self.plan: NetworkPlan = batch_plan(network, copies)
        self.counters = counters
        for name in counters:
            add_spike_counter(self.plan.groups[name])
        # each projection's synapses as blocks of one copy's synapses, each block repeated in every copy
        self._blocks = {name: [_one_copy(plan.index, copies)] for name, plan in self.plan.synapses.items()}
        self._synced: dict[str, np.ndarray] = {}  # the weights the model holds now (dense, one copy)
        self.model: BrianModel = self._build(codeobj_class)
        self._step = 0  # steps simulated so far (the batch model's clock, never rewound)
        columns = sum(table.columns for table in self.plan.tables)
        self._max_rows = max(1, max_table_bytes // (8 * columns))

    def _build(self, codeobj_class: Any) -> BrianModel:
        """The Brian2 objects of the plan."""
        return build_model(self.plan, self.network, MIN_ROWS, codeobj_class, counters=self.counters)

    def sync_weights(self, weights: Callable[[str], np.ndarray]) -> None:
        """Give every copy of every projection the weights ``weights(name)`` (new nonzero entries get synapses).

        Skipped for a projection whose weights have not changed since the last call (a batch after a batch
        costs one comparison); else the values of every copy are one gather of the matrix, tiled.
        """
        for name in self.plan.synapses:
            dense = np.asarray(weights(name), dtype=float)
            if name in self._synced and np.array_equal(self._synced[name], dense):
                continue
            blocks = self._blocks[name]
            present = np.zeros(dense.shape, dtype=bool)
            for block in blocks:
                present[block.post, block.pre] = True
            post, pre = np.nonzero((dense != 0) & ~present)
            if len(post):
                new = SynapseIndex(blocks[0].shape, post.astype(np.int32), pre.astype(np.int32))
                self._add_synapses(name, new)
                blocks.append(new)
            self._set_weights(name, np.concatenate([np.tile(block.values(dense), self.copies) for block in blocks]))
            self._synced[name] = dense.copy()

    def _add_synapses(self, projection: str, new: SynapseIndex) -> None:
        """Create the synapses of ``new`` (one copy's positions) in every copy, after the existing ones."""
        repeated = new.repeated(self.copies)
        connect(self.model.synapses[projection], repeated.pre, repeated.post)
        self.plan.synapses[projection].index.extend(repeated.post, repeated.pre)

    def _set_weights(self, projection: str, values: np.ndarray) -> None:
        """Set the values of every synapse of ``projection`` (in the order of its index)."""
        self.model.synapses[projection].variables["w"].set_value(values)

    def run(self, windows: list[InputWindow], weights: Callable[[str], np.ndarray]) -> dict[str, np.ndarray]:
        """Every trial's records, stacked on a leading trial axis (weights: once, they are static)."""
        per_run = self._trials_per_run(windows[0].steps + self.plan.gap)
        parts = [self._run_trials(windows[start : start + per_run]) for start in range(0, len(windows), per_run)]
        data = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        for monitor in self.network.monitors:
            if monitor.variable == "weights":
                current = weights(monitor.target)
                frames = None if monitor.every is None else windows[0].steps // monitor.every
                data[monitor.key] = current if frames is None else np.repeat(current[None], frames, axis=0)
        return data

    def _trials_per_run(self, period: int) -> int:
        """Trials of one Brian2 run: every copy in as many periods as the table budget holds."""
        return self.copies * max(1, self._max_rows // period)

    def _run_trials(self, windows: list[InputWindow]) -> dict[str, np.ndarray]:
        """One Brian2 run of ``windows``; their records (no weights)."""
        gap = self.plan.gap
        layout = lay_out(windows, self.copies, gap, self._periods())
        periods = layout.steps // (windows[0].steps + gap)
        inputs = window_inputs(self.plan, layout, 0, layout.steps)
        assert self.plan.phase is not None
        inputs.tables[self.plan.phase.name] = trial_phases(periods, windows[0].steps, gap)
        first = self._simulate(inputs, layout.steps)
        try:
            return self._records(windows, first, periods)
        finally:
            self._clear()

    def _periods(self) -> int | None:
        """Periods of every run (``None``: as many as the trials need)."""
        return None

    def _simulate(self, inputs: WindowInputs, steps: int) -> int:
        """Run ``steps`` steps with ``inputs``; the batch-model step of the first (where the records start)."""
        self.model.load(inputs, self._step * self.network.dt)
        first = self._step
        self.model.network.run(steps * self.network.dt * b2.second, namespace={})
        self._step += steps
        return first

    def _clear(self) -> None:
        """Empty the monitors after their records were read."""
        self.model.clear_monitors()

    def _records(self, windows: list[InputWindow], first: int, periods: int) -> dict[str, np.ndarray]:
        """The monitored arrays of the trials of the run that started at batch-model step ``first``."""
        steps, trials, copies = windows[0].steps, len(windows), self.copies
        period = steps + self.plan.gap
        data: dict[str, np.ndarray] = {}
        for monitor in self.network.monitors:
            key, target = monitor.key, monitor.target
            if target in windows[0].spikes:  # a spike input: what the trials fed in
                spikes = np.stack([w.spikes[target] for w in windows])
                data[key] = spikes if monitor.variable == "spikes" else spikes.sum(axis=1).astype(np.int64)
            elif monitor.variable == "count" and target in self.counters:  # the total of the run's trials
                total = self.model.groups[target].variables[SPIKE_COUNTER].get_value().astype(np.int64)
                data[key] = total.reshape(copies, -1).sum(axis=0)[None]
            elif monitor.variable in ("spikes", "count"):
                variables = self.model.spike_monitors[target].variables
                step = np.rint(variables["t"].get_value() / self.network.dt).astype(np.int64) - first
                index = np.asarray(variables["i"].get_value(), dtype=np.int64)
                size = self.network.population(target).size
                copy, neuron = np.divmod(index, size)
                k, within = np.divmod(step, period)  # no spike in a gap step
                trial = k * copies + copy
                if monitor.variable == "spikes":
                    raster = np.zeros((periods * copies, steps, size), dtype=bool)
                    raster[trial, within, neuron] = True
                    data[key] = raster[:trials]
                else:
                    counts = np.bincount(trial * size + neuron, minlength=periods * copies * size)
                    data[key] = counts.reshape(periods * copies, size)[:trials]
            elif monitor.variable == "v":
                v = np.array(self.model.v_monitors[target].variables["v"].get_value(), dtype=float)
                v = v.reshape(periods, period, copies, -1).transpose(0, 2, 1, 3)
                data[key] = v.reshape(periods * copies, period, -1)[:trials, :steps]
        return data
