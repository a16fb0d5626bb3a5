"""The numpy reference backend: the oracle every other backend is tested against.

It executes the spec literally, one step at a time, with the shared step
functions :func:`spikemem.dynamics.lif_step` and
:func:`spikemem.learning.rule_step`. In fixed point (``numeric="fixed"``) it
runs the integer model of :mod:`spikemem.fixed_point`, which Lava's
``fixed_pt`` models must match bit for bit.

Per step ``t``:

1. each population's input :math:`I[t] = I_{ext}[t] + \\sum_p W_p s_{pre(p)}[t - d_p]`
   (a silent source adds nothing; one trial of a static projection whose
   whole source spiked, e.g. a clocked population's wipe, reuses the product
   computed by the same routine at compile time: the values of the plain
   product, for a cost that follows the activity),
2. the neuron update (spikes of step ``t``),
3. plasticity from the spikes emitted at step ``t``,
4. the spikes of step ``t`` join each source's history (for the delays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from spikemem.backend import Availability, Backend, Capabilities, Simulation, UnsupportedFeatureError
from spikemem.dynamics import LIFParams, lif_step
from spikemem.learning import REFERENCE_RULES, RuleState, initial_state, rule_step
from spikemem.spec import MODULATED_RULES, Network
from spikemem.spec.inputs import SPIKE_SOURCE_TYPES
from spikemem.stimulus import InputWindow

if TYPE_CHECKING:
    from spikemem.fixed_point import FixedPointModel


class Arithmetic(Protocol):
    """Number system of a reference run: float64 or Loihi-style integers."""

    v_dtype: Any

    def weights(self, projection: str) -> np.ndarray:
        """Initial weights in internal units."""

    def weights_to_float(self, projection: str, weights: np.ndarray) -> np.ndarray:
        """Internal units -> float units."""

    def weights_from_float(self, projection: str, weights: np.ndarray) -> np.ndarray:
        """Float units -> internal units."""

    def external(self, population: str, current: np.ndarray) -> np.ndarray:
        """External current (float units) -> internal units."""

    def initial_v(self, population: str) -> np.ndarray:
        """Membrane potentials before the first step, internal units, ``(n,)``."""

    def neuron_step(self, population: str, v: np.ndarray, refractory: np.ndarray, current: np.ndarray):
        """One neuron update; returns ``(spikes, v, refractory)``."""


class FloatArithmetic:
    """float64 arithmetic: the canonical update of :class:`spikemem.spec.LIF`."""

    v_dtype = np.float64

    def __init__(self, network: Network) -> None:
        self._network = network
        self._params = {pop.name: LIFParams.from_neuron(pop.neuron, network.dt) for pop in network.populations}
        self._static_copies: dict[int, np.ndarray] = {}

    def weights(self, projection: str) -> np.ndarray:
        """A float64 copy of the spec's weights; static projections sharing one spec array share one copy.

        A simulation never writes into a static projection's array (``set_weights`` replaces it), so the
        copy is shared; plastic projections get their own.
        """
        proj = self._network.projection(projection)
        if proj.plasticity is not None:
            return np.array(proj.weights, dtype=np.float64)
        key = id(proj.weights)
        if key not in self._static_copies:
            self._static_copies[key] = np.array(proj.weights, dtype=np.float64)
        return self._static_copies[key]

    def weights_to_float(self, projection: str, weights: np.ndarray) -> np.ndarray:
        return np.array(weights, dtype=np.float64)

    def weights_from_float(self, projection: str, weights: np.ndarray) -> np.ndarray:
        return np.array(weights, dtype=np.float64)

    def external(self, population: str, current: np.ndarray) -> np.ndarray:
        return current

    def initial_v(self, population: str) -> np.ndarray:
        pop = self._network.population(population)
        return np.broadcast_to(np.asarray(pop.v_init, dtype=np.float64), (pop.size,)).copy()

    def neuron_step(self, population: str, v: np.ndarray, refractory: np.ndarray, current: np.ndarray):
        return lif_step(v, refractory, current, self._params[population])


@dataclass
class _SpikeHistory:
    """Ring buffer of the last ``depth`` spike vectors of one source, ``(depth, batch, n)``."""

    depth: int
    batch: int
    size: int
    buffer: np.ndarray = field(init=False)
    head: int = 0

    def __post_init__(self) -> None:
        self.buffer = np.zeros((self.depth, self.batch, self.size), dtype=bool)

    def push(self, spikes: np.ndarray) -> None:
        self.head = (self.head + 1) % self.depth
        self.buffer[self.head] = spikes

    def emitted_ago(self, steps: int) -> np.ndarray:
        """Spikes emitted ``steps`` (1 .. depth) steps before the current step."""
        return self.buffer[(self.head - steps + 1) % self.depth]


def _synaptic_input(weights: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """``spikes @ weights.T`` for ``(batch, n_pre)`` bool spikes (a matrix-vector product for one trial)."""
    if spikes.shape[0] == 1:
        return (weights @ spikes[0].astype(weights.dtype))[None, :]
    return spikes.astype(weights.dtype) @ weights.T


def _all_active_input(weights: np.ndarray) -> np.ndarray:
    """:func:`_synaptic_input` of one trial in which every presynaptic neuron spiked (the same computation)."""
    return _synaptic_input(weights, np.ones((1, weights.shape[1]), dtype=bool))


class ReferenceSimulation(Simulation):
    """Step-by-step numpy execution of a network (see the module docstring)."""

    backend_name = "reference"

    def __init__(self, network: Network, numeric: str, arithmetic: Arithmetic) -> None:
        super().__init__(network, numeric)
        self._arith = arithmetic
        self._weights = {proj.name: arithmetic.weights(proj.name) for proj in network.projections}
        self._static = {proj.name for proj in network.projections if proj.plasticity is None}
        self._all_active: dict[str, np.ndarray] = {}
        self._refresh_all_active()
        self._masks = {
            proj.name: None if proj.mask is None else np.asarray(proj.mask, dtype=bool) for proj in network.projections
        }
        self._incoming = {
            pop.name: [proj for proj in network.projections if proj.post == pop.name] for pop in network.populations
        }
        self._depth = {pop.name: 1 for pop in network.populations}
        for inp in network.inputs:
            if isinstance(inp, SPIKE_SOURCE_TYPES):
                self._depth[inp.name] = 1
        for proj in network.projections:
            self._depth[proj.pre] = max(self._depth[proj.pre], proj.delay)
        self._reset_state(batch=1)

    @property
    def fixed_point(self) -> FixedPointModel | None:
        """The quantization of the fixed-point model (``numeric="fixed"``), None in float."""
        return getattr(self._arith, "model", None)

    # -- state ----------------------------------------------------------------------
    def _reset_state(self, batch: int) -> None:
        net = self.network
        self._batch = batch
        self._v = {p.name: np.tile(self._arith.initial_v(p.name), (batch, 1)) for p in net.populations}
        self._refractory = {p.name: np.zeros((batch, p.size), dtype=np.int64) for p in net.populations}
        self._history = {
            name: _SpikeHistory(depth, batch, net.source_size(name)) for name, depth in self._depth.items()
        }
        self._rule_states: dict[str, RuleState] = {
            proj.name: initial_state(proj.plasticity, self._weights[proj.name])
            for proj in net.projections
            if proj.plasticity is not None
        }

    def _reset(self, weights: bool) -> None:
        if weights:
            self._weights = {proj.name: self._arith.weights(proj.name) for proj in self.network.projections}
            self._refresh_all_active()
        self._reset_state(batch=1)

    def _get_weights(self, projection: str) -> np.ndarray:
        return self._arith.weights_to_float(projection, self._weights[projection])

    def _set_weights(self, projection: str, weights: np.ndarray) -> None:
        self._weights[projection] = self._arith.weights_from_float(projection, weights)
        self._refresh_all_active([projection])

    def _refresh_all_active(self, projections: list[str] | None = None) -> None:
        """Input of each static projection when its whole source spiked (e.g. the wipe of a clocked population)."""
        for name in self._static if projections is None else self._static.intersection(projections):
            self._all_active[name] = _all_active_input(self._weights[name])

    def _projection_input(self, name: str, spikes: np.ndarray, single: bool) -> np.ndarray | None:
        """``W s`` of projection ``name`` for spikes ``(batch, n_pre)``; ``None`` when no neuron spiked.

        A silent source adds nothing (``W 0 = 0``); one trial of a static projection whose every
        presynaptic neuron spiked gets the product precomputed by the same routine; the rest is
        :func:`_synaptic_input`. The values are those of the plain product.
        """
        active = np.count_nonzero(spikes)
        if active == 0:
            return None
        if single and active == spikes.size and name in self._all_active:
            return self._all_active[name]
        return _synaptic_input(self._weights[name], spikes)

    # -- running ----------------------------------------------------------------------
    def _run(self, window: InputWindow) -> dict[str, np.ndarray]:
        return self._simulate([window], batched=False)

    def _run_batch(self, windows: list[InputWindow]) -> dict[str, np.ndarray]:
        self._reset_state(batch=len(windows))
        return self._simulate(windows, batched=True)

    def _simulate(self, windows: list[InputWindow], batched: bool) -> dict[str, np.ndarray]:
        net = self.network
        steps, batch = windows[0].steps, len(windows)
        single = batch == 1
        spikes_in = {name: _stack_trials([w.spikes[name] for w in windows]) for name in windows[0].spikes}
        currents = {
            name: self._arith.external(name, _stack_trials([w.currents[name] for w in windows]))
            for name in windows[0].currents
        }
        modulators = {name: windows[0].modulators[name] for name in windows[0].modulators}
        record = _Recorder(net, steps, batch, self._arith.v_dtype)
        history, v_state, refractory, neuron_step = self._history, self._v, self._refractory, self._arith.neuron_step
        # per population: its external current (or None) and its incoming (projection, source ring, delay)
        plan = [
            (
                pop.name,
                currents.get(pop.name),
                [(proj.name, history[proj.pre], proj.delay) for proj in self._incoming[pop.name]],
            )
            for pop in net.populations
        ]
        plastic = [proj for proj in net.projections if proj.plasticity is not None]
        for k in range(steps):
            emitted: dict[str, np.ndarray] = {name: spikes[k] for name, spikes in spikes_in.items()}
            for name, external, incoming in plan:
                current = 0 if external is None else external[k]
                for proj_name, ring, delay in incoming:
                    synaptic = self._projection_input(proj_name, ring.emitted_ago(delay), single)
                    if synaptic is not None:
                        current = current + synaptic
                v = v_state[name]
                if np.isscalar(current):
                    current = np.full_like(v, current)
                spikes, v_state[name], refractory[name] = neuron_step(name, v, refractory[name], current)
                emitted[name] = spikes
            if single:
                for proj in plastic:
                    rule = proj.plasticity
                    modulator = modulators[rule.modulator][k] if isinstance(rule, MODULATED_RULES) else None
                    self._weights[proj.name] = rule_step(
                        rule,
                        self._weights[proj.name],
                        self._rule_states[proj.name],
                        emitted[proj.pre][0],
                        emitted[proj.post][0],
                        net.dt,
                        modulator=modulator,
                        mask=self._masks[proj.name],
                    )
            for name, spikes in emitted.items():
                history[name].push(spikes)
            record.step(k, emitted, v_state, self._get_weights)
        data = record.finish(self._get_weights)
        if not batched:
            data = {key: value[0] if key not in record.unbatched else value for key, value in data.items()}
        return data


def _stack_trials(arrays: list[np.ndarray]) -> np.ndarray:
    """``(steps, batch, n)`` from one ``(steps, n)`` array per trial (a view for one trial)."""
    return arrays[0][:, None, :] if len(arrays) == 1 else np.stack(arrays, axis=1)


class _Recorder:
    """Collects the monitored variables of one run into preallocated arrays."""

    def __init__(self, network: Network, steps: int, batch: int, v_dtype: Any) -> None:
        self.monitors = list(network.monitors)
        self.unbatched: set[str] = set()
        self.data: dict[str, Any] = {}
        self.snapshots: dict[str, list[np.ndarray]] = {}
        # per kind of monitor: (buffer, target) pairs, so that a step does no lookups
        self._rasters: list[tuple[np.ndarray, str]] = []
        self._counts: list[tuple[np.ndarray, str]] = []
        self._potentials: list[tuple[np.ndarray, str]] = []
        self._snapshots: list[tuple[list[np.ndarray], str, int]] = []
        for monitor in self.monitors:
            key = monitor.key
            if monitor.variable in ("spikes", "count"):
                size = network.source_size(monitor.target)
                if monitor.variable == "spikes":
                    self.data[key] = np.zeros((batch, steps, size), dtype=bool)
                    self._rasters.append((self.data[key], monitor.target))
                else:
                    self.data[key] = np.zeros((batch, size), dtype=np.int64)
                    self._counts.append((self.data[key], monitor.target))
            elif monitor.variable == "v":
                self.data[key] = np.zeros((batch, steps, network.population(monitor.target).size), dtype=v_dtype)
                self._potentials.append((self.data[key], monitor.target))
            elif monitor.variable == "weights":
                self.unbatched.add(key)
                self.snapshots[key] = []
                if monitor.every is not None:
                    self._snapshots.append((self.snapshots[key], monitor.target, monitor.every))

    def step(self, k: int, emitted: dict[str, np.ndarray], v: dict[str, np.ndarray], weights: Any) -> None:
        for buffer, target in self._rasters:
            buffer[:, k] = emitted[target]
        for buffer, target in self._counts:
            buffer += emitted[target]
        for buffer, target in self._potentials:
            buffer[:, k] = v[target]
        for snapshots, target, every in self._snapshots:
            if (k + 1) % every == 0:
                snapshots.append(weights(target))

    def finish(self, weights: Any) -> dict[str, np.ndarray]:
        for monitor in self.monitors:
            if monitor.variable == "weights":
                key = monitor.key
                if monitor.every is None:
                    self.data[key] = weights(monitor.target)
                else:
                    shape = weights(monitor.target).shape
                    self.data[key] = np.array(self.snapshots[key]).reshape(-1, *shape)
        return self.data


class ReferenceBackend(Backend):
    """numpy, step by step: the definition of correct behaviour.

    Options: none. ``numeric="fixed"`` runs the integer model of
    :mod:`spikemem.fixed_point` with static weights.
    """

    name = "reference"
    capabilities = Capabilities.from_tables(
        REFERENCE_RULES,
        fixed_point_refusals={rule: "its fixed-point model runs static weights" for rule in REFERENCE_RULES},
        numeric=("float", "fixed"),
        gradient_training=False,
        devices=("cpu",),
        native_batch=True,
        notes="numpy oracle; fixed point runs static weights",
    )

    def available(self) -> Availability:
        return Availability(True)

    def _check_supported(self, network: Network, numeric: str) -> None:
        if numeric == "fixed":
            for proj in network.projections:
                if proj.plasticity is not None:
                    raise UnsupportedFeatureError(
                        f"projections[{proj.name!r}].plasticity",
                        "the reference fixed-point model runs static weights; use numeric='float' for plasticity",
                    )

    def _compile(self, network: Network, numeric: str, options: dict[str, Any]) -> Simulation:
        if options:
            raise UnsupportedFeatureError("options", f"the reference backend takes no options, got {sorted(options)}")
        if numeric == "fixed":
            from spikemem.fixed_point import FixedPointArithmetic

            arithmetic: Arithmetic = FixedPointArithmetic(network)
        else:
            arithmetic = FloatArithmetic(network)
        return ReferenceSimulation(network, numeric, arithmetic)
