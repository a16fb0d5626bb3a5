r"""THE step loop of the array backends (the numpy reference and snnTorch).

Per step ``t`` (the order every backend reproduces; see :class:`spikemem.spec.LIF`):

1. each population's input, its incoming projections summed in the network's order,

   .. math:: I[t] = I_{ext}[t] + \sum_p W_p\, s_{pre(p)}[t - d_p]

   (a projection whose input is zero, e.g. from a silent source, adds
   nothing; how :math:`W_p s` is computed is the kernel's, with the values
   of the plain product),
2. the neuron update of each population, in the network's order (the
   kernel's step, :func:`spikemem.dynamics.lif_step` or its integer form):
   the spikes :math:`s[t]`,
3. plasticity from the spikes emitted at step ``t``
   (:func:`spikemem.learning.rule_step`, one trial runs only),
4. the spikes of step ``t`` enter each source's ring of past spikes
   (:attr:`spikemem.engine.topology.Topology.depth`),
5. the monitors record step ``t`` (:class:`spikemem.engine.recorder.Recorder`).

Every state array has a leading batch axis ``B`` (1 for a plain run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikemem.engine.kernel import Kernel, SynapticInput
from spikemem.engine.recorder import Recorder
from spikemem.engine.topology import Topology
from spikemem.learning import RuleState, initial_state, rule_step
from spikemem.spec import MODULATED_RULES
from spikemem.stimulus import InputWindow


@dataclass
class EngineState:
    """Dynamic state of one (possibly batched) simulation.

    Attributes
    ----------
    neurons
        Population name -> the kernel's neuron state.
    history
        Source name -> ring of its last ``depth`` spike arrays ``(B, n)``; the
        spikes of step ``t`` sit in slot ``t % depth``.
    rules
        Plastic projection name -> its traces.
    step
        Steps simulated since the state was made.
    """

    neurons: dict[str, Any]
    history: dict[str, list[Any]]
    rules: dict[str, RuleState]
    step: int = 0

    @classmethod
    def initial(cls, topology: Topology, kernel: Kernel, batch: int) -> EngineState:
        """The state before the first step: initial potentials, no spikes in transit, zero traces."""
        neurons = {name: kernel.initial_neurons(name, batch) for name in topology.populations}
        history = {
            source: [kernel.silent(batch, topology.sizes[source])] * depth for source, depth in topology.depth.items()
        }
        rules = {name: initial_state(rule, kernel.weights[name]) for name, rule in topology.rules.items()}
        return cls(neurons, history, rules)


def stack_trials(arrays: list[np.ndarray]) -> np.ndarray:
    """``(steps, B, n)`` from one ``(steps, n)`` array per trial (a view for one trial)."""
    return arrays[0][:, None, :] if len(arrays) == 1 else np.stack(arrays, axis=1)


def simulate(
    topology: Topology,
    kernel: Kernel,
    state: EngineState,
    windows: list[InputWindow],
    *,
    dt: float,
    masks: dict[str, Any],
    recorder: Recorder,
    learn: bool,
    synaptic_input: Callable[[str, int], SynapticInput] | None = None,
) -> dict[str, np.ndarray]:
    """Advance ``state`` by the steps of ``windows`` (one per trial) and return the recorded arrays.

    Parameters
    ----------
    topology, kernel
        The network's structure and the backend's arrays and kernels.
    state
        Advanced in place.
    windows
        The inputs of each trial (``B = len(windows)``).
    dt
        The time step in seconds (for the plasticity traces).
    masks
        Plastic projection name -> its mask in the kernel's form (:meth:`Kernel.mask`), or None.
    recorder
        Collects the monitors, sized for this run.
    learn
        Apply plasticity (one trial only).
    synaptic_input
        ``(projection, batch) -> its input function``; the kernel's
        :meth:`Kernel.synaptic_input` when omitted.
    """
    steps, batch = windows[0].steps, len(windows)
    synaptic_input = synaptic_input or kernel.synaptic_input
    spikes_in = {
        name: kernel.spikes(stack_trials([w.spikes[name] for w in windows]))
        for name in topology.depth
        if name in windows[0].spikes
    }
    currents = {
        name: list(kernel.external(name, stack_trials([w.currents[name] for w in windows])))  # one view per step
        for name in windows[0].currents
    }
    modulators = {name: kernel.modulator(values) for name, values in windows[0].modulators.items()}
    weights, history, neurons = kernel.weights, state.history, state.neurons
    # per population: its step, external current (or None), incoming (input function, source ring, delay),
    # and zeros for a step without input
    plan = [
        (
            name,
            kernel.neuron_step(name),
            currents.get(name),
            [(synaptic_input(link.projection, batch), history[link.source], link.delay) for link in incoming],
            kernel.no_current(name, batch),
        )
        for name, incoming in topology.incoming.items()
    ]
    plastic = [
        (proj.name, topology.rules[proj.name], proj.pre, proj.post, state.rules[proj.name], masks[proj.name])
        for proj in (topology.plastic if learn else ())
    ]
    rings = list(history.items())
    with kernel.running():
        for k in range(steps):
            t = state.step
            emitted: dict[str, Any] = {name: spikes[k] for name, spikes in spikes_in.items()}
            for name, neuron_step, external, incoming, zeros in plan:
                current = None if external is None else external[k]
                for project, ring, delay in incoming:
                    synaptic = project(ring[(t - delay) % len(ring)])
                    if synaptic is not None:
                        current = synaptic if current is None else current + synaptic
                spikes, neurons[name] = neuron_step(zeros if current is None else current, neurons[name])
                emitted[name] = spikes
            for proj_name, rule, pre, post, traces, mask in plastic:
                weights[proj_name] = rule_step(
                    rule,
                    weights[proj_name],
                    traces,
                    emitted[pre][0],
                    emitted[post][0],
                    dt,
                    modulator=modulators[rule.modulator][k] if isinstance(rule, MODULATED_RULES) else None,
                    mask=mask,
                )
            for source, ring in rings:
                ring[t % len(ring)] = emitted[source]
            recorder.step(k, emitted, neurons, weights)
            state.step = t + 1
        return recorder.finish(windows, weights)
