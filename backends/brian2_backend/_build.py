"""Brian2 objects from a :class:`~._plan.NetworkPlan`, collected in one explicit ``brian2.Network``.

Never uses Brian2's implicit global network or ``defaultclock``: every object
runs on one ``Clock`` of the spec's ``dt``, resolves names only in its own
namespace, and is named deterministically (``pop0``, ``syn1`` ...), so that
compiled code is shared by every network of the same structure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import brian2 as b2
import numpy as np

from spikemem.spec import Network
from spikemem.stimulus import InputWindow

from ._plan import (
    END_ORDER,
    NEVER,
    SPIKE_COUNTER,
    GroupPlan,
    NetworkPlan,
    SynapsePlan,
    WindowInputs,
    is_spike_step,
)
from ._tables import StepTable

# Order of the plasticity code inside the "end" slot (summed variables from the
# weights of step t, then the weight updates, then the monitors): _plan.END_ORDER.
LEARN_ORDER, MONITOR_ORDER = END_ORDER["learn"], END_ORDER["monitor"]


@dataclass
class BrianModel:
    """The Brian2 objects of one simulation, by spec name.

    Attributes
    ----------
    plan
        The plan they were built from.
    network
        The explicit ``brian2.Network`` holding every object.
    clock
        The one clock of every object (the spec's ``dt``).
    groups
        Population or spike input name -> ``NeuronGroup``.
    steppers
        Population name -> its ``groups``-slot code runners by current mode
        (``"none"``, ``"constant"``, ``"table"``; one active at a time); spike
        input name -> ``{"none": runner}`` where it has traces.
    synapses
        Projection name -> ``Synapses``.
    tables
        TimedArray name -> :class:`StepTable`.
    spike_monitors, v_monitors
        Population name -> ``SpikeMonitor`` / ``StateMonitor`` of ``v``.
    """

    plan: NetworkPlan
    network: Any
    clock: Any
    groups: dict[str, Any] = field(default_factory=dict)
    steppers: dict[str, dict[str, Any]] = field(default_factory=dict)
    synapses: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, StepTable] = field(default_factory=dict)
    spike_monitors: dict[str, Any] = field(default_factory=dict)
    v_monitors: dict[str, Any] = field(default_factory=dict)
    counters: frozenset[str] = frozenset()
    """Populations whose ``count`` monitor is the reset-code counter (:func:`._plan.add_spike_counter`)."""

    def set_initial_potentials(self, network: Network) -> None:
        """Set every population's ``v`` to its ``v_init`` (in every copy of a batch model's group)."""
        for pop in network.populations:
            v_init = np.broadcast_to(np.asarray(pop.v_init, dtype=float), (pop.size,))
            self.groups[pop.name].variables["v"].set_value(np.tile(v_init, self.plan.copies))

    def load(self, inputs: WindowInputs, t0: float) -> None:
        """Set a window's inputs (tables, constant currents, each current's mode); its first step is at ``t0`` s."""
        for name, group_plan in self.plan.groups.items():
            if group_plan.current is not None:
                mode = inputs.current_mode(name)
                if mode == "constant":
                    self.groups[name].variables["I_ext"].set_value(inputs.constant_currents[name])
                self.use_current(name, mode)
        for name, block in inputs.tables.items():
            self.tables[name].fill(block, t0)

    def clear_monitors(self) -> None:
        """Empty every spike and state monitor."""
        for mon in self.spike_monitors.values():
            if mon.record:
                mon.resize(0)
                mon.variables["N"].set_value(0)
            mon.variables["count"].set_value(0)
        for name in self.counters:
            self.groups[name].variables[SPIKE_COUNTER].set_value(0)
        for mon in self.v_monitors.values():
            mon.resize(0)

    def use_current(self, population: str, mode: str) -> None:
        """Activate the population's code runner for current mode ``mode``."""
        for name, runner in self.steppers[population].items():
            runner.active = name == mode


def _group(plan: GroupPlan, clock: Any, tables: dict[str, StepTable], codeobj_class: Any) -> Any:
    namespace: dict[str, Any] = dict(plan.namespace)
    for table in plan.reads:
        tables[table.name].attach(namespace)
    group = b2.NeuronGroup(
        plan.size,
        "\n".join(plan.variables),
        threshold=plan.threshold or None,
        reset="\n".join(plan.reset) or None,
        clock=clock,
        namespace=namespace,
        name=plan.brian_name,
        codeobj_class=codeobj_class,
    )
    for name in group.variables:
        if is_spike_step(name):
            group.variables[name].set_value(NEVER)
    return group


def _steppers(plan: GroupPlan, group: Any, codeobj_class: Any) -> dict[str, Any]:
    """The ``groups``-slot code of a group, one runner per current mode."""
    if not plan.population:
        modes = {"none": ""} if plan.step else {}
    elif plan.current is None:
        modes = {"none": ""}
    else:
        modes = {"table": plan.current.call()}
        if plan.constant_current:
            modes["constant"] = "I_ext"
    runners = {}
    for mode, drive in modes.items():
        runners[mode] = group.run_regularly(
            plan.step_code(drive), when="groups", name=f"{plan.brian_name}_step_{mode}", codeobj_class=codeobj_class
        )
        runners[mode].active = len(modes) == 1 or mode == "constant"
    return runners


def _synapses(plan: SynapsePlan, groups: dict[str, Any], clock: Any, dt: float, codeobj_class: Any) -> Any:
    # one scalar delay (also for the spec's one step): else Brian2 gives every synapse a delay variable
    delay = (plan.delay_steps - 1) * dt * b2.second if plan.on_pre else None
    syn = b2.Synapses(
        groups[plan.pre],
        groups[plan.post],
        model="\n".join(plan.model),
        on_pre=plan.on_pre or None,
        delay=delay,
        clock=clock,
        namespace=dict(plan.namespace),
        name=plan.brian_name,
        codeobj_class=codeobj_class,
    )
    if plan.on_pre:  # spikes of step t-1 (delay 0) reach v before the threshold of step t
        syn.pre.when = "before_thresholds"
    connect(syn, plan.index.pre, plan.index.post)
    syn.variables["w"].set_value(plan.weights)
    for summed, order in plan.summed:
        updater = syn.summed_updaters[summed]
        updater.when, updater.order = "end", order
    if plan.learn:
        syn.run_regularly(
            plan.learn, when="end", order=LEARN_ORDER, name=f"{plan.brian_name}_learn", codeobj_class=codeobj_class
        )
    return syn


def connect(syn: Any, pre: np.ndarray, post: np.ndarray) -> None:
    """Create synapses from index arrays.

    On runtime targets the one-off creation code runs as numpy whatever the
    network's target: compiling it with cython would cost seconds per
    projection for a loop over arrays that numpy does as fast. A projection
    without synapses (all weights zero) stays inactive until it gets some.
    """
    from brian2.codegen.runtime.cython_rt import CythonCodeObject
    from brian2.codegen.runtime.numpy_rt import NumpyCodeObject

    if len(pre) == 0:
        syn.active = False
        return
    syn.active = True
    target = syn.codeobj_class
    if target is CythonCodeObject:
        syn.codeobj_class = NumpyCodeObject
    try:
        syn.connect(i=pre, j=post)
    finally:
        syn.codeobj_class = target


def build_model(
    plan: NetworkPlan,
    network: Network,
    rows: int,
    codeobj_class: Any = None,
    exact_rows: bool = False,
    counters: frozenset[str] = frozenset(),
) -> BrianModel:
    """Create the Brian2 objects of ``plan`` (monitors from ``network.monitors``).

    Parameters
    ----------
    plan
        The translated network.
    network
        The spec (for its monitors and initial potentials).
    rows
        Initial length of the input tables (steps of the first window).
    codeobj_class
        Brian2 code object class (numpy or cython); ``None`` lets the active
        device choose (C++ standalone).
    exact_rows
        Keep tables exactly ``rows`` long (C++ standalone).
    counters
        Populations whose ``count`` monitors read the reset-code counter the
        plan gives them (:func:`._plan.add_spike_counter`) instead of a
        ``SpikeMonitor``.
    """
    clock = b2.Clock(dt=plan.dt * b2.second, name="spikemem_clock")
    model = BrianModel(plan=plan, network=None, clock=clock, counters=counters)
    model.tables = {t.name: StepTable(t, plan.dt, rows, exact=exact_rows) for t in plan.tables}
    objects: list[Any] = []
    for name, group_plan in plan.groups.items():
        group = _group(group_plan, clock, model.tables, codeobj_class)
        model.groups[name] = group
        model.steppers[name] = _steppers(group_plan, group, codeobj_class)
        objects.append(group)  # brings its steppers (contained objects)
    model.set_initial_potentials(network)
    if plan.phase is not None:  # a batch model resets v to v0 at each trial's first step
        for pop in network.populations:
            model.groups[pop.name].variables["v0"].set_value(model.groups[pop.name].variables["v"].get_value())
    by_brian_name = {g.brian_name: model.groups[name] for name, g in plan.groups.items()}
    for name, syn_plan in plan.synapses.items():
        syn = _synapses(syn_plan, by_brian_name, clock, plan.dt, codeobj_class)
        model.synapses[name] = syn
        objects.append(syn)
    for syn_plan in plan.helpers.values():
        objects.append(_synapses(syn_plan, by_brian_name, clock, plan.dt, codeobj_class))
    populations = {pop.name for pop in network.populations}
    for monitor in network.monitors:
        target = monitor.target
        if target not in populations:
            continue  # spike inputs are known from the window, weights are read directly
        group = model.groups[target]
        if monitor.variable == "count" and target in counters:
            continue  # read from the group's counter
        if monitor.variable in ("spikes", "count") and target not in model.spike_monitors:
            # a batch model splits its spikes by trial, counts included
            record = plan.phase is not None or any(
                m.target == target and m.variable == "spikes" for m in network.monitors
            )
            model.spike_monitors[target] = b2.SpikeMonitor(
                group, record=record, name=f"{group.name}_spikes", codeobj_class=codeobj_class
            )
            objects.append(model.spike_monitors[target])
        elif monitor.variable == "v":
            model.v_monitors[target] = b2.StateMonitor(
                group,
                "v",
                record=True,
                when="end",
                order=MONITOR_ORDER,
                name=f"{group.name}_v",
                codeobj_class=codeobj_class,
            )
            objects.append(model.v_monitors[target])
    model.network = b2.Network(*objects, name="spikemem_network")
    return model


def read_monitors(
    model: BrianModel,
    network: Network,
    window: InputWindow,
    first: int,
    weights: Callable[[str], np.ndarray],
    snapshots: Callable[[str, tuple[int, ...]], np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """The monitored arrays of a run of ``window.steps`` steps that started at network step ``first``.

    Spike inputs are what the window fed in; ``weights(projection)`` gives a
    projection's current matrix, ``snapshots(key, shape)`` the every-k frames.
    """
    data: dict[str, np.ndarray] = {}
    for monitor in network.monitors:
        key, target = monitor.key, monitor.target
        if target in window.spikes:
            spikes = window.spikes[target]
            data[key] = spikes.copy() if monitor.variable == "spikes" else spikes.sum(axis=0).astype(np.int64)
        elif monitor.variable == "spikes":
            variables = model.spike_monitors[target].variables
            step = np.rint(variables["t"].get_value() / network.dt).astype(np.int64) - first
            raster = np.zeros((window.steps, network.population(target).size), dtype=bool)
            raster[step, variables["i"].get_value()] = True
            data[key] = raster
        elif monitor.variable == "count" and target in model.counters:
            data[key] = model.groups[target].variables[SPIKE_COUNTER].get_value().astype(np.int64)
        elif monitor.variable == "count":
            data[key] = model.spike_monitors[target].variables["count"].get_value().astype(np.int64)
        elif monitor.variable == "v":
            data[key] = np.array(model.v_monitors[target].variables["v"].get_value(), dtype=float)
        elif monitor.every is None:
            data[key] = weights(target)
        elif snapshots is None:
            raise ValueError(f"monitor {key!r} records every {monitor.every} steps: read_monitors needs snapshots")
        else:
            data[key] = snapshots(key, np.shape(network.projection(target).weights))
    return data
