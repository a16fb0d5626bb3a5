"""The snnTorch backend's simulation loop (imports torch; loaded by ``SnnTorchBackend._compile``).

Per step ``t`` (the reference's order, see :mod:`spikemem.backends.reference`):

1. each population's input ``I[t] = I_ext[t] + sum_p W_p s_pre(p)[t - d_p]``,
2. the neuron update by :class:`~spikemem.backends.snntorch_layers.LIFLayer`,
3. plasticity from the spikes emitted at step ``t`` (:func:`spikemem.learning.rule_step`),
4. the spikes of step ``t`` enter each source's ring of past spikes.

Every state tensor has a leading batch axis ``B`` (1 for :meth:`run`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from spikemem.backend import Simulation
from spikemem.backends.snntorch_layers import LIFLayer, LIFState, SurrogateSpec
from spikemem.learning import RuleState, initial_state, rule_step
from spikemem.spec import Monitor, Network, ThreeFactor
from spikemem.spec.inputs import SPIKE_SOURCE_TYPES
from spikemem.stimulus import InputWindow

SPARSE_FRACTION = 0.1
"""Below this fraction of active presynaptic neurons, gathering rows beats a dense product (CPU)."""


@dataclass
class _State:
    """Dynamic state of one (possibly batched) simulation.

    ``history[source]`` is a ring of ``max delay`` spike tensors ``(B, n)``:
    the spikes of step ``t`` sit in slot ``t % len(ring)``.
    """

    neurons: dict[str, LIFState]
    history: dict[str, list[torch.Tensor]]
    step: int = 0


class SnnTorchSimulation(Simulation):
    """A network on torch tensors (see :mod:`spikemem.backends.snntorch_backend`)."""

    backend_name = "snntorch"

    def __init__(
        self,
        network: Network,
        numeric: str,
        *,
        device: str,
        dtype: torch.dtype,
        surrogate: SurrogateSpec,
        leaky: bool,
    ) -> None:
        super().__init__(network, numeric)
        self.device = torch.device(device)
        self.dtype = dtype
        self._layers: dict[str, LIFLayer] = {}
        self._v_init: dict[str, torch.Tensor] = {}
        for pop in network.populations:
            v_init = np.broadcast_to(np.asarray(pop.v_init, dtype=np.float64), (pop.size,))
            exact_for_leaky = bool(np.all(v_init <= pop.neuron.v_th))
            layer = LIFLayer(pop.neuron, network.dt, surrogate=surrogate, leaky=leaky and exact_for_leaky)
            self._layers[pop.name] = layer.to(device=self.device, dtype=dtype)
            self._v_init[pop.name] = self._tensor(v_init)
        self._static = {proj.name for proj in network.projections if proj.plasticity is None}
        self._weights: dict[str, torch.Tensor] = {}
        self._rows: dict[str, torch.Tensor] = {}
        for proj in network.projections:
            self._store_weights(proj.name, proj.weights)
        # masks as 0/1 floats: rule_step multiplies by them, and float x float needs no cast each step
        self._masks = {p.name: None if p.mask is None else self._tensor(p.mask) for p in network.projections}
        self._incoming = {
            pop.name: [(proj.name, proj.pre, proj.delay) for proj in network.projections if proj.post == pop.name]
            for pop in network.populations
        }
        self._depth: dict[str, int] = {}
        for proj in network.projections:
            self._depth[proj.pre] = max(self._depth.get(proj.pre, 1), proj.delay)
        self._plastic = [proj for proj in network.projections if proj.plasticity is not None]
        self._state = self._fresh_state(batch=1)
        self._rule_states = self._fresh_rule_states()

    @property
    def paths(self) -> dict[str, str]:
        """Execution path of each population: ``"snntorch.Leaky"`` or ``"lif_step"``."""
        return {name: "snntorch.Leaky" if layer.uses_leaky else "lif_step" for name, layer in self._layers.items()}

    def _store_weights(self, projection: str, weights: Any) -> None:
        """Keep a projection's weights on the device.

        Static projections on CPU are stored as ``W.T`` (one contiguous row
        per presynaptic neuron, for :meth:`_synaptic_input`) and exposed as
        its transposed view, so that the matrix is held once.
        """
        tensor = self._tensor(weights)
        if self.device.type == "cpu" and projection in self._static:
            self._rows[projection] = tensor.T.contiguous()
            tensor = self._rows[projection].T
        self._weights[projection] = tensor

    def _tensor(self, array: Any) -> torch.Tensor:
        return torch.from_numpy(np.array(array, dtype=np.float64)).to(device=self.device, dtype=self.dtype)

    # -- state ----------------------------------------------------------------------
    def _fresh_state(self, batch: int) -> _State:
        neurons = {
            pop.name: self._layers[pop.name].initial_state(
                batch, pop.size, self._v_init[pop.name], dtype=self.dtype, device=self.device
            )
            for pop in self.network.populations
        }
        silent = {  # no spikes before the first step
            source: torch.zeros((batch, self.network.source_size(source)), dtype=self.dtype, device=self.device)
            for source in self._depth
        }
        history = {source: [silent[source]] * depth for source, depth in self._depth.items()}
        return _State(neurons, history)

    def _fresh_rule_states(self) -> dict[str, RuleState]:
        return {proj.name: initial_state(proj.plasticity, self._weights[proj.name]) for proj in self._plastic}

    def _reset(self, weights: bool) -> None:
        if weights:
            for proj in self.network.projections:
                self._store_weights(proj.name, proj.weights)
        self._state = self._fresh_state(batch=1)
        self._rule_states = self._fresh_rule_states()

    def _get_weights(self, projection: str) -> np.ndarray:
        return self._weights[projection].cpu().numpy().astype(np.float64)

    def _set_weights(self, projection: str, weights: np.ndarray) -> None:
        self._store_weights(projection, weights)

    def _close(self) -> None:
        for layer in self._layers.values():
            layer.release()
        self._layers.clear()
        self._weights.clear()
        self._rows.clear()

    # -- running ----------------------------------------------------------------------
    def _run(self, window: InputWindow) -> dict[str, np.ndarray]:
        data = self._simulate(self._state, [window], learn=True)
        return {key: value if key in self._unbatched else value[0] for key, value in data.items()}

    def _run_batch(self, windows: list[InputWindow]) -> dict[str, np.ndarray]:
        return self._simulate(self._fresh_state(batch=len(windows)), windows, learn=False)

    @property
    def _unbatched(self) -> set[str]:
        return {m.key for m in self.network.monitors if m.variable == "weights"}

    def _on_device(self, arrays: list[np.ndarray]) -> torch.Tensor:
        """``(steps, B, n)`` tensor of the trials' arrays, moved to the device once."""
        return torch.from_numpy(np.stack(arrays, axis=1)).to(device=self.device, dtype=self.dtype)

    def _synaptic_input(self, spikes: torch.Tensor, projection: str) -> torch.Tensor:
        r""":math:`W s` for spikes ``(B, n_pre)``: ``(B, n_post)``.

        One trial on CPU through a static projection sums only the rows of
        ``W.T`` of the neurons that spiked when they are few (under
        ``SPARSE_FRACTION`` of the presynaptic neurons); otherwise, and for
        batches, a dense matrix product.
        """
        rows = self._rows.get(projection)
        if rows is not None and spikes.shape[0] == 1:
            active = spikes[0].nonzero().squeeze(1)
            if active.numel() < SPARSE_FRACTION * spikes.shape[1]:
                return rows.index_select(0, active).sum(0, keepdim=True)
        return F.linear(spikes, self._weights[projection])

    def _simulate(self, state: _State, windows: list[InputWindow], learn: bool) -> dict[str, np.ndarray]:
        net = self.network
        steps, batch = windows[0].steps, len(windows)
        spikes_in = {
            name: self._on_device([w.spikes[name] for w in windows])
            for name in self._depth
            if name in windows[0].spikes
        }
        currents = {name: self._on_device([w.currents[name] for w in windows]) for name in windows[0].currents}
        modulators = {name: self._tensor(values) for name, values in windows[0].modulators.items()}
        zeros = {
            pop.name: torch.zeros((batch, pop.size), dtype=self.dtype, device=self.device)
            for pop in net.populations
            if pop.name not in currents and not self._incoming[pop.name]
        }
        populations = [(name, layer, self._incoming[name]) for name, layer in self._layers.items()]
        plastic = self._plastic if learn else []
        recorder = _DeviceRecorder(net, steps, batch, self.device, self.dtype)
        weights, history, neurons = self._weights, state.history, state.neurons
        with torch.no_grad():
            for k in range(steps):
                t = state.step
                emitted: dict[str, torch.Tensor] = {name: spikes[k] for name, spikes in spikes_in.items()}
                for name, layer, incoming in populations:
                    current = currents[name][k] if name in currents else None
                    for proj_name, pre, delay in incoming:
                        ring = history[pre]
                        synaptic = self._synaptic_input(ring[(t - delay) % len(ring)], proj_name)
                        current = synaptic if current is None else current + synaptic
                    spikes, neurons[name] = layer(zeros[name] if current is None else current, neurons[name])
                    emitted[name] = spikes
                for proj in plastic:
                    rule = proj.plasticity
                    weights[proj.name] = rule_step(
                        rule,
                        weights[proj.name],
                        self._rule_states[proj.name],
                        emitted[proj.pre][0],
                        emitted[proj.post][0],
                        net.dt,
                        modulator=modulators[rule.modulator][k] if isinstance(rule, ThreeFactor) else None,
                        mask=self._masks[proj.name],
                    )
                for source, ring in history.items():
                    ring[t % len(ring)] = emitted[source]
                recorder.step(k, emitted, neurons, weights)
                state.step = t + 1
            return recorder.finish(windows, weights)


class _DeviceRecorder:
    """Monitored variables of one run, in preallocated device tensors, copied back once."""

    def __init__(self, network: Network, steps: int, batch: int, device: torch.device, dtype: torch.dtype) -> None:
        self.network = network
        self.monitors: list[Monitor] = list(network.monitors)
        self.buffers: dict[str, torch.Tensor] = {}
        spike_inputs = {inp.name for inp in network.inputs if isinstance(inp, SPIKE_SOURCE_TYPES)}
        self.per_step: list[Monitor] = []
        for monitor in self.monitors:
            if monitor.target in spike_inputs:
                continue  # read from the input window at the end
            if monitor.variable == "weights":
                if monitor.every is None:
                    continue
                shape = np.shape(network.projection(monitor.target).weights)
                buffer = torch.zeros((steps // monitor.every, *shape), dtype=dtype, device=device)
            else:
                size = network.population(monitor.target).size
                shapes = {"spikes": (batch, steps, size), "v": (batch, steps, size), "count": (batch, size)}
                kind = torch.bool if monitor.variable == "spikes" else dtype
                buffer = torch.zeros(shapes[monitor.variable], dtype=kind, device=device)
            self.buffers[monitor.key] = buffer
            self.per_step.append(monitor)

    def step(
        self, k: int, emitted: dict[str, torch.Tensor], neurons: dict[str, LIFState], weights: dict[str, torch.Tensor]
    ) -> None:
        for monitor in self.per_step:
            buffer = self.buffers[monitor.key]
            if monitor.variable == "spikes":
                buffer[:, k] = emitted[monitor.target]
            elif monitor.variable == "v":
                buffer[:, k] = neurons[monitor.target].v
            elif monitor.variable == "count":
                buffer += emitted[monitor.target]
            elif (k + 1) % monitor.every == 0:
                buffer[(k + 1) // monitor.every - 1] = weights[monitor.target]

    def finish(self, windows: list[InputWindow], weights: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
        data: dict[str, np.ndarray] = {}
        for monitor in self.monitors:
            key = monitor.key
            if key in self.buffers:
                value = self.buffers[key].cpu().numpy()
                if monitor.variable == "count":
                    value = value.astype(np.int64)
                elif monitor.variable != "spikes":
                    value = value.astype(np.float64, copy=False)
            elif monitor.variable == "weights":
                value = weights[monitor.target].cpu().numpy().astype(np.float64)
            else:  # a spike input: its raster is the window itself
                raster = np.stack([w.spikes[monitor.target] for w in windows])
                value = raster if monitor.variable == "spikes" else raster.sum(axis=1, dtype=np.int64)
            data[key] = value
        return data
