r"""The spiking MLP trained by BPTT on snnTorch: LIF layers without bias, one or several readout heads.

Layer ``l`` (weights :math:`W_l`, ``(n_l, n_{l-1})``) receives the spikes of
layer ``l-1`` (or the encoded input) of the *same* step and runs the spec's
:class:`~spikemem.spec.LIF` neuron through
:class:`spikemem.backends.snntorch_layers.LIFLayer` (surrogate spikes from
``snntorch.surrogate`` when autograd is on):

.. math::

    v_l[t] &= \beta\, v_l[t-1] + W_l\, s_{l-1}[t] \\
    s_l[t] &= H(v_l[t] - v_{th}), \quad v_l[t] \leftarrow v_l[t] - v_{th}\, s_l[t]
    \ \text{(reset by subtraction, or to } v_{reset})

With ``detach_reset`` the reset term is a constant for backpropagation (the
gradient flows through the spike output but not through the reset, as in
spikingjelly's ``detach_reset=True``, which the HLOP reference uses); the
forward values are the same either way.

The readout of head ``h`` is the time-averaged current of a non-spiking
linear layer, :math:`z = W_h\, \bar s_L`, :math:`\bar s_L = \frac1T \sum_t
s_L[t]` (the HLOP reference's readout). Layers are layer-synchronous (no
synaptic delay between layers), as in the HLOP paper's BPTT network; this is a
training model, not a :class:`~spikemem.spec.Network` run step by step.

Layers whose input subspace continual-learning methods protect
(:attr:`SpikingMLP.protected`): every hidden layer, and the classifier when
it is shared by all tasks. Their recorded inputs (``record=True``) are, as
rows: the encoded input (``(B, n)`` once for a direct encoding, ``(T*B, n)``
for spikes), the spikes of each hidden layer feeding the next (``(T*B, n_l)``),
and :math:`\bar s_L` for the shared classifier (``(B, n_L)``: its output
depends only on the time average, so that is the subspace to protect).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from spikemem.backends.snntorch_layers import SURROGATES, LIFLayer, LIFState, make_surrogate, sigmoid_surrogate
from spikemem.continual.config import require
from spikemem.continual.projection import projected_linear
from spikemem.continual.trained import DT
from spikemem.dynamics import LIFParams
from spikemem.spec import LIF


@dataclass(frozen=True)
class ModelConfig:
    """The ``[model]`` table.

    Attributes
    ----------
    hidden
        Sizes of the hidden LIF layers, e.g. ``[800, 800]`` (HLOP paper: 784-800-800-10).
    beta
        Membrane decay per step (HLOP reference: tau = 2 steps, i.e. 0.5).
    v_th
        Threshold.
    reset
        ``"subtract"`` (the reference's soft reset) or ``"value"`` (to 0).
    surrogate
        Surrogate gradient: ``"sigmoid"`` (the reference's, slope 4) or another
        name of ``spikemem.backends.snntorch_layers.SURROGATES``.
    surrogate_slope
        Slope of the ``sigmoid`` and ``fast_sigmoid`` surrogates.
    detach_reset
        No gradient through the reset (the HLOP reference's ``detach_reset=True``);
        ``False``: the reset is differentiated too, as in snnTorch.
    """

    hidden: tuple[int, ...] = (800, 800)
    beta: float = 0.5
    v_th: float = 1.0
    reset: Literal["subtract", "value"] = "subtract"
    surrogate: str = "sigmoid"
    surrogate_slope: float = 4.0
    detach_reset: bool = False

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        require(len(self.hidden) >= 1 and min(self.hidden) >= 1, f"{table}.hidden", "needs >= 1 positive size")
        require(0.0 < self.beta < 1.0, f"{table}.beta", "must be in (0, 1)")
        require(self.v_th > 0, f"{table}.v_th", "must be > 0")
        require(self.surrogate in SURROGATES, f"{table}.surrogate", f"must be one of {SURROGATES}")

    def neuron(self) -> LIF:
        """The spec's neuron: ``tau_mem = -DT / ln(beta)``."""
        return LIF(tau_mem=-DT / math.log(self.beta), v_th=self.v_th, reset=self.reset)

    def spike_function(self):
        """The surrogate-gradient Heaviside."""
        if self.surrogate == "sigmoid":
            return sigmoid_surrogate(self.surrogate_slope)
        if self.surrogate == "fast_sigmoid":
            import snntorch.surrogate

            return snntorch.surrogate.fast_sigmoid(slope=self.surrogate_slope)
        return make_surrogate(self.surrogate)


@dataclass
class Forward:
    """What :meth:`SpikingMLP.forward` returns.

    Attributes
    ----------
    logits
        ``(B, max classes)``; classes a sample's head lacks are ``-inf``.
    inputs
        With ``record=True``: the (detached) input rows of every protected layer.
    residuals
        For each protected layer, :math:`x_\\perp` if the projection computed it (input side), else None.
    """

    logits: torch.Tensor
    inputs: list[torch.Tensor] | None
    residuals: list[torch.Tensor | None]


def _uniform(shape: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    bound = 1.0 / math.sqrt(shape[1])  # torch.nn.Linear's default initialisation
    return (torch.rand(shape, generator=generator) * 2.0 - 1.0) * bound


class SpikingMLP(nn.Module):
    """LIF MLP without bias, trained by BPTT with a surrogate gradient (see the module docstring).

    Parameters
    ----------
    n_inputs
        Input dimension.
    head_sizes
        Classes of each head (one entry: a classifier shared by all tasks).
    config
        The ``[model]`` table.
    steps
        Time steps T per sample.
    generator
        Seeds the initial weights.
    """

    def __init__(
        self, n_inputs: int, head_sizes: Sequence[int], config: ModelConfig, steps: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.config = config
        self.steps = int(steps)
        sizes = [n_inputs, *config.hidden]
        self.layers = nn.ParameterList(
            nn.Parameter(_uniform((sizes[i + 1], sizes[i]), generator)) for i in range(len(config.hidden))
        )
        self.heads = nn.ParameterList(nn.Parameter(_uniform((c, sizes[-1]), generator)) for c in head_sizes)
        neuron, spike_fn = config.neuron(), config.spike_function()
        self._spike_fn = spike_fn
        # leaky=False: the shared step, identical values and faster than snntorch.Leaky (backend docs)
        self._lif_layers = [LIFLayer(neuron, DT, surrogate=spike_fn, leaky=False) for _ in config.hidden]
        self.neurons = nn.ModuleList(self._lif_layers)  # registers them; _lif_layers keeps their type

    @property
    def shared_head(self) -> bool:
        """True with a single classifier shared by every task."""
        return len(self.heads) == 1

    @property
    def protected(self) -> list[nn.Parameter]:
        """Weights whose input subspaces are protected: the hidden layers, and the classifier when shared."""
        return [*self.layers, *(self.heads if self.shared_head else [])]

    def release(self) -> None:
        """Drop snnTorch's global references to this model's neurons."""
        for neuron in self._lif_layers:
            neuron.release()

    def forward(
        self,
        x: torch.Tensor,
        heads: torch.Tensor | int = 0,
        bases: Sequence[torch.Tensor | None] | None = None,
        record: bool = False,
    ) -> Forward:
        """Run T steps on encoded input ``x`` (``(B, n)`` constant current, or ``(T, B, n)`` spikes).

        Parameters
        ----------
        heads
            Head of each sample (``(B,)``) or one head for the batch.
        bases
            Per protected layer, a basis whose row space the weight update must
            avoid (:func:`~spikemem.continual.projection.projected_linear`), or None.
        record
            Also return every protected layer's input rows (detached).
        """
        bases = list(bases) if bases is not None else [None] * len(self.protected)
        inputs: list[torch.Tensor] = []
        residuals: list[torch.Tensor | None] = []
        static = x.dim() == 2
        batch = x.shape[0] if static else x.shape[1]
        layer_input = x
        for index, (weight, neuron) in enumerate(zip(self.layers, self._lif_layers, strict=True)):
            if record:
                inputs.append(layer_input.detach().reshape(-1, layer_input.shape[-1]))
            current, residual = projected_linear(layer_input, weight, bases[index])
            residuals.append(residual)
            state = neuron.initial_state(batch, weight.shape[0], dtype=current.dtype, device=current.device)
            spikes = []
            detached = self.config.detach_reset and torch.is_grad_enabled()
            step = functools.partial(self._detached_step, neuron.params) if detached else neuron
            for t in range(self.steps):
                s, state = step(current if static else current[t], state)
                spikes.append(s)
            layer_input, static = torch.stack(spikes), False
        features = layer_input.mean(dim=0)
        if self.shared_head:
            if record:
                inputs.append(features.detach())
            logits, residual = projected_linear(features, self.heads[0], bases[len(self.layers)])
            residuals.append(residual)
        else:
            logits = self._multi_head(features, heads)
        return Forward(logits, inputs if record else None, residuals)

    def _detached_step(
        self, params: LIFParams, current: torch.Tensor, state: LIFState
    ) -> tuple[torch.Tensor, LIFState]:
        """:func:`~spikemem.dynamics.lif_step` (no refractoriness) with a reset that carries no gradient."""
        v = params.beta * state.v + current
        spikes = self._spike_fn(v - params.v_th).to(v.dtype)
        fired = spikes.detach()
        v = v - params.v_th * fired if params.subtract else v * (1.0 - fired) + params.v_reset * fired
        return spikes, LIFState(v, state.refractory)

    def _multi_head(self, features: torch.Tensor, heads: torch.Tensor | int) -> torch.Tensor:
        if isinstance(heads, int):
            return features @ self.heads[heads].T
        width = max(h.shape[0] for h in self.heads)
        logits = features.new_full((features.shape[0], width), float("-inf"))
        for head in torch.unique(heads).tolist():
            rows = heads == head
            weight = self.heads[head]
            logits = logits.index_put(
                (rows.nonzero()[:, 0:1], torch.arange(weight.shape[0], device=rows.device)), features[rows] @ weight.T
            )
        return logits


__all__ = ["DT", "Forward", "ModelConfig", "SpikingMLP"]
