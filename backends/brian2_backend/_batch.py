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
simulation's current ones (synced before each batch, new synapses
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
from ._plan import NetworkPlan, batch_plan, trial_phases, window_inputs
from ._tables import MIN_ROWS


def concatenate_trials(windows: list[InputWindow], gap: int) -> InputWindow:
    """One window of ``len(windows)`` trials, each followed by ``gap`` steps without input."""
    steps = windows[0].steps
    period = steps + gap
    rows = len(windows) * period

    def stacked(arrays: list[np.ndarray]) -> np.ndarray:
        out = np.zeros((len(arrays), period, *arrays[0].shape[1:]), dtype=arrays[0].dtype)
        out[:, :steps] = np.stack(arrays)
        return out.reshape(rows, *arrays[0].shape[1:])

    first = windows[0]
    return InputWindow(
        t_start=0,
        steps=rows,
        spikes={name: stacked([w.spikes[name] for w in windows]) for name in first.spikes},
        currents={name: stacked([w.currents[name] for w in windows]) for name in first.currents},
        modulators={name: stacked([w.modulators[name] for w in windows]) for name in first.modulators},
    )


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
    """

    def __init__(self, network: Network, codeobj_class: Any, max_table_bytes: int) -> None:
        self.network = network
        self.plan: NetworkPlan = batch_plan(network)
        self.model: BrianModel = build_model(self.plan, network, MIN_ROWS, codeobj_class)
        self._step = 0  # steps simulated so far (the batch model's clock, never rewound)
        columns = sum(table.columns for table in self.plan.tables)
        self._max_rows = max(1, max_table_bytes // (8 * columns))

    def sync_weights(self, weights: Callable[[str], np.ndarray]) -> None:
        """Give every projection the weights ``weights(name)`` (creating synapses for new nonzero entries)."""
        for name, plan in self.plan.synapses.items():
            dense = weights(name)
            post, pre = plan.index.missing(dense)
            syn = self.model.synapses[name]
            if len(post):
                connect(syn, pre, post)
                plan.index.extend(post, pre)
            syn.variables["w"].set_value(plan.index.values(dense))

    def run(self, windows: list[InputWindow], weights: Callable[[str], np.ndarray]) -> dict[str, np.ndarray]:
        """Every trial's records, stacked on a leading trial axis (weights: once, they are static)."""
        period = windows[0].steps + self.plan.gap
        per_run = max(1, self._max_rows // period)
        parts = [self._run_trials(windows[start : start + per_run]) for start in range(0, len(windows), per_run)]
        data = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        for monitor in self.network.monitors:
            if monitor.variable == "weights":
                current = weights(monitor.target)
                frames = None if monitor.every is None else windows[0].steps // monitor.every
                data[monitor.key] = current if frames is None else np.repeat(current[None], frames, axis=0)
        return data

    def _run_trials(self, windows: list[InputWindow]) -> dict[str, np.ndarray]:
        """One Brian2 run of ``windows``; their records (no weights)."""
        dt, gap = self.network.dt, self.plan.gap
        steps, trials = windows[0].steps, len(windows)
        layout = concatenate_trials(windows, gap)
        inputs = window_inputs(self.plan, layout, 0, layout.steps)
        assert self.plan.phase is not None
        inputs.tables[self.plan.phase.name] = trial_phases(trials, steps, gap)
        self.model.load(inputs, self._step * dt)
        first = self._step
        self.model.network.run(layout.steps * dt * b2.second, namespace={})
        self._step += layout.steps
        try:
            return self._records(windows, first)
        finally:
            self.model.clear_monitors()

    def _records(self, windows: list[InputWindow], first: int) -> dict[str, np.ndarray]:
        """The monitored arrays of the trials of the run that started at batch-model step ``first``."""
        steps, trials = windows[0].steps, len(windows)
        period = steps + self.plan.gap
        data: dict[str, np.ndarray] = {}
        for monitor in self.network.monitors:
            key, target = monitor.key, monitor.target
            if target in windows[0].spikes:  # a spike input: what the trials fed in
                spikes = np.stack([w.spikes[target] for w in windows])
                data[key] = spikes if monitor.variable == "spikes" else spikes.sum(axis=1).astype(np.int64)
            elif monitor.variable in ("spikes", "count"):
                variables = self.model.spike_monitors[target].variables
                step = np.rint(variables["t"].get_value() / self.network.dt).astype(np.int64) - first
                trial, within = np.divmod(step, period)  # no spike in a gap step
                neuron = np.asarray(variables["i"].get_value(), dtype=np.int64)
                size = self.network.population(target).size
                if monitor.variable == "spikes":
                    raster = np.zeros((trials, steps, size), dtype=bool)
                    raster[trial, within, neuron] = True
                    data[key] = raster
                else:
                    data[key] = np.bincount(trial * size + neuron, minlength=trials * size).reshape(trials, size)
            elif monitor.variable == "v":
                v = np.array(self.model.v_monitors[target].variables["v"].get_value(), dtype=float)
                data[key] = v.reshape(trials, period, -1)[:, :steps]
        return data
