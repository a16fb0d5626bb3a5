"""The snnTorch backend's simulation loop (imports torch; loaded by ``SnnTorchBackend._compile``).

Per step ``t`` (the reference's order, see :mod:`spikemem.backends.reference`):

1. each population's input ``I[t] = I_ext[t] + sum_p W_p s_pre(p)[t - d_p]``,
2. the neuron update by :class:`~spikemem.backends.snntorch_layers.LIFLayer`,
3. plasticity from the spikes emitted at step ``t`` (:func:`spikemem.learning.rule_step`),
4. the spikes of step ``t`` enter each source's ring of past spikes.

Every state tensor has a leading batch axis ``B`` (1 for :meth:`run`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from spikemem.backend import Simulation
from spikemem.backends.snntorch_layers import LIFLayer, LIFState, SurrogateSpec
from spikemem.dynamics import lif_step
from spikemem.learning import RuleState, initial_state, rule_step
from spikemem.spec import MODULATED_RULES, Monitor, Network
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
        self._all_active: dict[str, torch.Tensor] = {}
        self._store_spec_weights()
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

    def _store_spec_weights(self) -> None:
        """Store every projection's spec weights; static projections sharing one spec array share one tensor."""
        shared: dict[int, torch.Tensor] = {}
        for proj in self.network.projections:
            self._store_weights(proj.name, proj.weights, shared)

    def _store_weights(self, projection: str, weights: Any, shared: dict[int, torch.Tensor] | None = None) -> None:
        """Keep a projection's weights on the device.

        Static projections on CPU are stored as ``W.T`` (one contiguous row
        per presynaptic neuron, for :meth:`_synaptic_input`) and exposed as
        its transposed view, so that the matrix is held once; static
        projections built from the same spec array (``shared``: spec array id
        -> stored tensor) hold it once between them. A static projection on
        CPU also keeps its input for a fully active source
        (:meth:`_synaptic_input`).
        """
        self._all_active.pop(projection, None)
        static_cpu = self.device.type == "cpu" and projection in self._static
        if not static_cpu:
            self._weights[projection] = self._tensor(weights)
            return
        key = id(weights)
        if shared is not None and key in shared:
            rows = shared[key]
        else:
            # one copy: the transposed spec array, made contiguous (on CPU in float64, no further copy)
            rows = torch.from_numpy(np.array(np.asarray(weights).T, dtype=np.float64, order="C")).to(dtype=self.dtype)
            if shared is not None:
                shared[key] = rows
        self._rows[projection] = rows
        self._weights[projection] = rows.T
        ones = torch.ones((1, rows.shape[0]), dtype=self.dtype, device=self.device)
        self._all_active[projection] = F.linear(ones, rows.T)

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
            self._store_spec_weights()
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
        self._all_active.clear()

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

    def _synaptic_input(self, spikes: torch.Tensor, projection: str) -> torch.Tensor | None:
        r""":math:`W s` for spikes ``(B, n_pre)`` (bool or 0/1): ``(B, n_post)``, or ``None`` when it is zero.

        One trial on CPU through a static projection is dispatched on the
        number of presynaptic neurons that spiked: none adds nothing; all of
        them (e.g. the wipe of a clocked population) take the product
        precomputed by the same routine; fewer than ``SPARSE_FRACTION`` of
        them sum only their rows of ``W.T``. Otherwise, and for batches,
        plastic projections and CUDA, a dense matrix product.
        """
        full = self._all_active.get(projection)
        if full is not None and spikes.shape[0] == 1:
            active = int(torch.count_nonzero(spikes))
            if active == 0:
                return None
            if active == spikes.shape[1]:
                return full
            if active < SPARSE_FRACTION * spikes.shape[1]:
                return self._rows[projection].index_select(0, spikes[0].nonzero().squeeze(1)).sum(0, keepdim=True)
        return F.linear(spikes.to(self.dtype), self._weights[projection])

    def _neuron_step(self, layer: LIFLayer) -> Callable[[torch.Tensor, LIFState], tuple[torch.Tensor, LIFState]]:
        """The step of one population under ``no_grad``: ``(current, state) -> (spikes, state)``.

        A ``snntorch.Leaky`` layer is called as it is (0/1 spikes in the dtype); a ``lif_step`` layer
        runs :func:`~spikemem.dynamics.lif_step` directly, as the layer would, and keeps its boolean
        spikes (converted where a dense product needs them: one conversion per product, not per
        population and step).
        """
        if layer.uses_leaky:
            return layer
        params = layer.params

        def step(current: torch.Tensor, state: LIFState) -> tuple[torch.Tensor, LIFState]:
            spikes, v, refractory = lif_step(state.v, state.refractory, current, params)
            return spikes, LIFState(v, refractory)

        return step

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
        plastic = self._plastic if learn else []
        recorder = _DeviceRecorder(net, steps, batch, self.device, self.dtype)
        weights, history, neurons = self._weights, state.history, state.neurons
        # per population: its layer, external current (or None), incoming (projection, source ring, delay),
        # and zeros for a step without input
        plan = [
            (
                name,
                self._neuron_step(layer),
                None if name not in currents else currents[name].unbind(0),  # one view per step, made at once
                [(proj_name, history[pre], delay) for proj_name, pre, delay in self._incoming[name]],
                torch.zeros((batch, net.population(name).size), dtype=self.dtype, device=self.device),
            )
            for name, layer in self._layers.items()
        ]
        rings = list(history.items())
        with torch.no_grad():
            for k in range(steps):
                t = state.step
                emitted: dict[str, torch.Tensor] = {name: spikes[k] for name, spikes in spikes_in.items()}
                for name, neuron_step, external, incoming, zeros in plan:
                    current = None if external is None else external[k]
                    for proj_name, ring, delay in incoming:
                        synaptic = self._synaptic_input(ring[(t - delay) % len(ring)], proj_name)
                        if synaptic is not None:
                            current = synaptic if current is None else current + synaptic
                    spikes, neurons[name] = neuron_step(zeros if current is None else current, neurons[name])
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
                        modulator=modulators[rule.modulator][k] if isinstance(rule, MODULATED_RULES) else None,
                        mask=self._masks[proj.name],
                    )
                for source, ring in rings:
                    ring[t % len(ring)] = emitted[source]
                recorder.step(k, emitted, neurons, weights)
                state.step = t + 1
            return recorder.finish(windows, weights)


class _DeviceRecorder:
    """Monitored variables of one run, in preallocated device tensors, copied back once.

    The spike count of a population whose spikes are also recorded is summed
    from its raster at the end instead of being accumulated every step.
    """

    def __init__(self, network: Network, steps: int, batch: int, device: torch.device, dtype: torch.dtype) -> None:
        self.network = network
        self.monitors: list[Monitor] = list(network.monitors)
        self.buffers: dict[str, torch.Tensor] = {}
        spike_inputs = {inp.name for inp in network.inputs if isinstance(inp, SPIKE_SOURCE_TYPES)}
        rasters = {m.target: m.key for m in self.monitors if m.variable == "spikes" and m.target not in spike_inputs}
        self.from_raster: dict[str, str] = {}  # count monitor key -> key of the raster it is summed from
        # per kind of monitor: (buffer, target) pairs, so that a step does no lookups (rasters and
        # potentials: the buffer's per-step views, made at once)
        self._rasters: list[tuple[tuple[torch.Tensor, ...], str]] = []
        self._potentials: list[tuple[tuple[torch.Tensor, ...], str]] = []
        self._counts: list[tuple[torch.Tensor, str]] = []
        self._snapshots: list[tuple[torch.Tensor, str, int]] = []
        for monitor in self.monitors:
            if monitor.target in spike_inputs:
                continue  # read from the input window at the end
            if monitor.variable == "count" and monitor.target in rasters:
                self.from_raster[monitor.key] = rasters[monitor.target]
                continue
            if monitor.variable == "weights":
                if monitor.every is None:
                    continue
                shape = np.shape(network.projection(monitor.target).weights)
                buffer = torch.zeros((steps // monitor.every, *shape), dtype=dtype, device=device)
                self._snapshots.append((buffer, monitor.target, monitor.every))
            else:
                size = network.population(monitor.target).size
                shapes = {"spikes": (batch, steps, size), "v": (batch, steps, size), "count": (batch, size)}
                kind = torch.bool if monitor.variable == "spikes" else dtype
                buffer = torch.zeros(shapes[monitor.variable], dtype=kind, device=device)
                if monitor.variable == "count":
                    self._counts.append((buffer, monitor.target))
                else:
                    per_step = self._rasters if monitor.variable == "spikes" else self._potentials
                    per_step.append((buffer.unbind(1), monitor.target))
            self.buffers[monitor.key] = buffer

    def step(
        self, k: int, emitted: dict[str, torch.Tensor], neurons: dict[str, LIFState], weights: dict[str, torch.Tensor]
    ) -> None:
        for views, target in self._rasters:
            views[k].copy_(emitted[target])
        for views, target in self._potentials:
            views[k].copy_(neurons[target].v)
        for buffer, target in self._counts:
            buffer += emitted[target]
        for buffer, target, every in self._snapshots:
            if (k + 1) % every == 0:
                buffer[(k + 1) // every - 1] = weights[target]

    def finish(self, windows: list[InputWindow], weights: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
        data: dict[str, np.ndarray] = {}
        for monitor in self.monitors:
            key = monitor.key
            if key in self.from_raster:
                continue
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
        for key, raster in self.from_raster.items():
            data[key] = data[raster].sum(axis=1, dtype=np.int64)
        return {m.key: data[m.key] for m in self.monitors}
