"""The snnTorch backend's kernel of the engine (imports torch; loaded by ``SnnTorchBackend._compile``).

The step loop, its order and its equations are the engine's
(:mod:`spikemem.engine.loop`); this module supplies torch tensors on a
device, the synaptic input (with fast paths for one trial on CPU) and the
neuron step of each population by
:class:`~spikemem.backends.snntorch_layers.LIFLayer` (``snntorch.Leaky`` or
the shared :func:`~spikemem.dynamics.lif_step`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from spikemem.backends.snntorch_layers import LIFLayer, LIFState, SurrogateSpec
from spikemem.dynamics import lif_step
from spikemem.engine import EngineSimulation, NeuronStep, SynapticInput, Topology
from spikemem.spec import Network

SPARSE_FRACTION = 0.1
"""Below this fraction of active presynaptic neurons, gathering rows beats a dense product (CPU)."""


class TorchKernel:
    """The engine's kernel on torch tensors of ``dtype`` on ``device`` (see :class:`spikemem.engine.Kernel`)."""

    spike_dtype = torch.bool

    def __init__(
        self,
        network: Network,
        topology: Topology,
        *,
        device: torch.device,
        dtype: torch.dtype,
        surrogate: SurrogateSpec,
        leaky: bool,
    ) -> None:
        self._network = network
        self._topology = topology
        self.device = device
        self.dtype = self.value_dtype = self.count_dtype = dtype
        self.layers: dict[str, LIFLayer] = {}
        self._v_init: dict[str, torch.Tensor] = {}
        for pop in network.populations:
            v_init = np.broadcast_to(np.asarray(pop.v_init, dtype=np.float64), (pop.size,))
            exact_for_leaky = bool(np.all(v_init <= pop.neuron.v_th))
            layer = LIFLayer(pop.neuron, network.dt, surrogate=surrogate, leaky=leaky and exact_for_leaky)
            self.layers[pop.name] = layer.to(device=device, dtype=dtype)
            self._v_init[pop.name] = self._tensor(v_init)
        self.weights: dict[str, torch.Tensor] = {}
        self._rows: dict[str, torch.Tensor] = {}
        self._all_active: dict[str, torch.Tensor] = {}
        self.reset_weights()

    def _tensor(self, array: Any) -> torch.Tensor:
        return torch.from_numpy(np.array(array, dtype=np.float64)).to(device=self.device, dtype=self.dtype)

    # -- weights --------------------------------------------------------------------------
    def reset_weights(self) -> None:
        """Store every projection's spec weights; static projections sharing one spec array share one tensor."""
        shared: dict[int, torch.Tensor] = {}
        for proj in self._network.projections:
            self._store_weights(proj.name, proj.weights, shared)

    def set_weights(self, projection: str, weights: np.ndarray) -> None:
        self._store_weights(projection, weights)

    def weights_to_float(self, projection: str, weights: np.ndarray) -> np.ndarray:
        return np.array(weights, dtype=np.float64)

    def _store_weights(self, projection: str, weights: Any, shared: dict[int, torch.Tensor] | None = None) -> None:
        """Keep a projection's weights on the device.

        Static projections on CPU are stored as ``W.T`` (one contiguous row
        per presynaptic neuron, for :meth:`projection_input`) and exposed as
        its transposed view, so that the matrix is held once; static
        projections built from the same spec array (``shared``: spec array id
        -> stored tensor) hold it once between them. A static projection on
        CPU also keeps its input for a fully active source
        (:meth:`projection_input`).
        """
        self._all_active.pop(projection, None)
        static_cpu = self.device.type == "cpu" and projection in self._topology.static
        if not static_cpu:
            self.weights[projection] = self._tensor(weights)
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
        self.weights[projection] = rows.T
        ones = torch.ones((1, rows.shape[0]), dtype=self.dtype, device=self.device)
        self._all_active[projection] = F.linear(ones, rows.T)

    # -- the synaptic input and the neuron step -------------------------------------------
    def projection_input(self, spikes: torch.Tensor, projection: str) -> torch.Tensor | None:
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
        return F.linear(spikes.to(self.dtype), self.weights[projection])

    def synaptic_input(self, projection: str, batch: int) -> SynapticInput:
        return _bind_projection(self.projection_input, projection)

    def neuron_step(self, population: str) -> NeuronStep:
        """The step of one population under ``no_grad``: ``(current, state) -> (spikes, state)``.

        A ``snntorch.Leaky`` layer is called as it is (0/1 spikes in the dtype); a ``lif_step`` layer
        runs :func:`~spikemem.dynamics.lif_step` directly, as the layer would, and keeps its boolean
        spikes (converted where a dense product needs them: one conversion per product, not per
        population and step).
        """
        layer = self.layers[population]
        if layer.uses_leaky:
            return layer
        params = layer.params

        def step(current: torch.Tensor, state: LIFState) -> tuple[torch.Tensor, LIFState]:
            spikes, v, refractory = lif_step(state.v, state.refractory, current, params)
            return spikes, LIFState(v, refractory)

        return step

    # -- arrays ---------------------------------------------------------------------------
    def initial_neurons(self, population: str, batch: int) -> LIFState:
        size = self._topology.populations[population]
        v_init = self._v_init[population]
        return self.layers[population].initial_state(batch, size, v_init, dtype=self.dtype, device=self.device)

    def no_current(self, population: str, batch: int) -> torch.Tensor:
        return self.zeros((batch, self._topology.populations[population]), self.dtype)

    def zeros(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        return torch.zeros(shape, dtype=dtype, device=self.device)

    def silent(self, batch: int, size: int) -> torch.Tensor:
        return self.zeros((batch, size), self.dtype)

    def _on_device(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array)).to(device=self.device, dtype=self.dtype)

    def spikes(self, raster: np.ndarray) -> torch.Tensor:
        return self._on_device(raster)

    def external(self, population: str, current: np.ndarray) -> torch.Tensor:
        return self._on_device(current)

    def modulator(self, values: np.ndarray) -> torch.Tensor:
        return self._tensor(values)

    def mask(self, mask: np.ndarray) -> torch.Tensor:
        # 0/1 floats: rule_step multiplies by them, and float x float needs no cast each step
        return self._tensor(mask)

    copy_into = staticmethod(torch.Tensor.copy_)

    def to_numpy(self, array: torch.Tensor) -> np.ndarray:
        value = array.cpu().numpy()
        return value.astype(np.float64, copy=False) if array.is_floating_point() else value

    def running(self) -> torch.no_grad:
        return torch.no_grad()

    def release(self) -> None:
        """Drop the layers (and snnTorch's references to them) and the stored tensors."""
        for layer in self.layers.values():
            layer.release()
        self.layers.clear()
        self.weights.clear()
        self._rows.clear()
        self._all_active.clear()


def _bind_projection(projection_input: Any, projection: str) -> SynapticInput:
    """``spikes -> projection_input(spikes, projection)``."""

    def synaptic_input(spikes: torch.Tensor) -> torch.Tensor | None:
        return projection_input(spikes, projection)

    return synaptic_input


class SnnTorchSimulation(EngineSimulation):
    """A network on torch tensors (see :mod:`spikemem.backends.snntorch_backend`).

    ``_synaptic_input(spikes, projection)`` is the kernel's
    :meth:`TorchKernel.projection_input`, looked up at the start of each run
    (an instance may replace it, e.g. to force the dense product).
    """

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
        topology = Topology.from_network(network)
        self.device = torch.device(device)
        self.dtype = dtype
        kernel = TorchKernel(network, topology, device=self.device, dtype=dtype, surrogate=surrogate, leaky=leaky)
        super().__init__(network, numeric, kernel, topology)
        self._torch_kernel = kernel
        self._layers = kernel.layers
        self._synaptic_input = kernel.projection_input

    @property
    def paths(self) -> dict[str, str]:
        """Execution path of each population: ``"snntorch.Leaky"`` or ``"lif_step"``."""
        return {name: "snntorch.Leaky" if layer.uses_leaky else "lif_step" for name, layer in self._layers.items()}

    def _input_function(self, projection: str, batch: int) -> SynapticInput:
        return _bind_projection(self._synaptic_input, projection)

    def _close(self) -> None:
        self._torch_kernel.release()
