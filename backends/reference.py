"""The numpy reference backend: the oracle every other backend is tested against.

It executes the spec literally, one step at a time, in the engine's step
loop (:mod:`spikemem.engine.loop`, which gives the per-step order and
equations) with the shared step functions :func:`spikemem.dynamics.lif_step`
and :func:`spikemem.learning.rule_step`. In fixed point (``numeric="fixed"``)
it runs the integer model of :mod:`spikemem.fixed_point`, which Lava's
``fixed_pt`` models must match bit for bit.

This module is the engine's numpy kernel (:class:`NumpyKernel`): weights in
the units of an :class:`Arithmetic`, the synaptic product
:math:`W s` (a silent source adds nothing; one trial of a static projection
whose whole source spiked, e.g. a clocked population's wipe, reuses the
product computed by the same routine at compile time: the values of the
plain product, for a cost that follows the activity) and the neuron step of
the arithmetic.
"""

from __future__ import annotations

from contextlib import nullcontext
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from spikemem.backend import Availability, Backend, Capabilities, Simulation, UnsupportedFeatureError
from spikemem.dynamics import LIFParams, NeuronState, lif_step
from spikemem.engine import EngineSimulation, NeuronStep, SynapticInput, Topology
from spikemem.learning import REFERENCE_RULES
from spikemem.spec import Network

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


def _synaptic_input(weights: np.ndarray, spikes: np.ndarray) -> np.ndarray:
    """``spikes @ weights.T`` for ``(batch, n_pre)`` bool spikes (a matrix-vector product for one trial)."""
    if spikes.shape[0] == 1:
        return (weights @ spikes[0].astype(weights.dtype))[None, :]
    return spikes.astype(weights.dtype) @ weights.T


def _all_active_input(weights: np.ndarray) -> np.ndarray:
    """:func:`_synaptic_input` of one trial in which every presynaptic neuron spiked (the same computation)."""
    return _synaptic_input(weights, np.ones((1, weights.shape[1]), dtype=bool))


_new_state = tuple.__new__
"""Builds a :class:`NeuronState` from a pair without the named tuple's Python-level ``__new__`` (hot path)."""


class NumpyKernel:
    """The engine's kernel on numpy arrays in the units of ``arithmetic`` (see :class:`spikemem.engine.Kernel`)."""

    spike_dtype = np.bool_
    count_dtype = np.int64

    def __init__(self, network: Network, topology: Topology, arithmetic: Arithmetic) -> None:
        self._network = network
        self._topology = topology
        self._arith = arithmetic
        self.value_dtype = arithmetic.v_dtype
        self.weights: dict[str, np.ndarray] = {}
        self._all_active: dict[str, np.ndarray] = {}
        self.reset_weights()

    # -- weights --------------------------------------------------------------------------
    def reset_weights(self) -> None:
        self.weights = {proj.name: self._arith.weights(proj.name) for proj in self._network.projections}
        self._refresh_all_active(self._topology.static)

    def set_weights(self, projection: str, weights: np.ndarray) -> None:
        self.weights[projection] = self._arith.weights_from_float(projection, weights)
        self._refresh_all_active({projection} & self._topology.static)

    def weights_to_float(self, projection: str, weights: np.ndarray) -> np.ndarray:
        return self._arith.weights_to_float(projection, weights)

    def _refresh_all_active(self, projections: frozenset[str] | set[str]) -> None:
        """Input of each static projection when its whole source spiked (e.g. the wipe of a clocked population)."""
        for name in projections:
            self._all_active[name] = _all_active_input(self.weights[name])

    # -- the synaptic input and the neuron step -------------------------------------------
    def projection_input(self, name: str, spikes: np.ndarray, single: bool) -> np.ndarray | None:
        """``W s`` of projection ``name`` for spikes ``(batch, n_pre)``; ``None`` when no neuron spiked.

        A silent source adds nothing (``W 0 = 0``); one trial (``single``) of a static projection whose
        every presynaptic neuron spiked gets the product precomputed by the same routine; the rest is
        :func:`_synaptic_input`. The values are those of the plain product.
        """
        active = np.count_nonzero(spikes)
        if active == 0:
            return None
        if single and active == spikes.size and name in self._all_active:
            return self._all_active[name]
        return _synaptic_input(self.weights[name], spikes)

    def synaptic_input(self, projection: str, batch: int) -> SynapticInput:
        return partial(self.projection_input, projection, single=batch == 1)

    def neuron_step(self, population: str) -> NeuronStep:
        arithmetic_step = self._arith.neuron_step

        def step(current: np.ndarray, state: NeuronState) -> tuple[np.ndarray, NeuronState]:
            spikes, v, refractory = arithmetic_step(population, state.v, state.refractory, current)
            return spikes, _new_state(NeuronState, (v, refractory))

        return step

    # -- arrays ---------------------------------------------------------------------------
    def initial_neurons(self, population: str, batch: int) -> NeuronState:
        v = np.tile(self._arith.initial_v(population), (batch, 1))
        return NeuronState(v, np.zeros(v.shape, dtype=np.int64))

    def no_current(self, population: str, batch: int) -> np.ndarray:
        return np.zeros((batch, self._topology.populations[population]), dtype=self.value_dtype)

    def zeros(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        return np.zeros(shape, dtype=dtype)

    def silent(self, batch: int, size: int) -> np.ndarray:
        return np.zeros((batch, size), dtype=bool)

    def spikes(self, raster: np.ndarray) -> np.ndarray:
        return raster

    def external(self, population: str, current: np.ndarray) -> np.ndarray:
        return self._arith.external(population, current)

    def modulator(self, values: np.ndarray) -> np.ndarray:
        return values

    def mask(self, mask: np.ndarray) -> np.ndarray:
        return mask

    @staticmethod
    def copy_into(target: np.ndarray, values: np.ndarray) -> None:
        target[...] = values  # (np.copyto dispatches through __array_function__: slower per step)

    def to_numpy(self, array: np.ndarray) -> np.ndarray:
        return array

    def running(self) -> nullcontext:
        return nullcontext()


class ReferenceSimulation(EngineSimulation):
    """Step-by-step numpy execution of a network (see the module docstring).

    ``_projection_input(name, spikes, single)`` is the kernel's
    :meth:`NumpyKernel.projection_input`, looked up at the start of each run
    (an instance may replace it, e.g. to force the plain product).
    """

    backend_name = "reference"

    def __init__(self, network: Network, numeric: str, arithmetic: Arithmetic) -> None:
        topology = Topology.from_network(network)
        kernel = NumpyKernel(network, topology, arithmetic)
        super().__init__(network, numeric, kernel, topology)
        self._arith = arithmetic
        self._projection_input = kernel.projection_input

    def _input_function(self, projection: str, batch: int) -> SynapticInput:
        return partial(self._projection_input, projection, single=batch == 1)

    @property
    def fixed_point(self) -> FixedPointModel | None:
        """The quantization of the fixed-point model (``numeric="fixed"``), None in float."""
        return getattr(self._arith, "model", None)


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

    def _compile(self, network: Network, numeric: str, options: dict[str, Any]) -> Simulation:
        if options:
            raise UnsupportedFeatureError("options", f"the reference backend takes no options, got {sorted(options)}")
        if numeric == "fixed":
            from spikemem.fixed_point import FixedPointArithmetic

            arithmetic: Arithmetic = FixedPointArithmetic(network)
        else:
            arithmetic = FloatArithmetic(network)
        return ReferenceSimulation(network, numeric, arithmetic)
