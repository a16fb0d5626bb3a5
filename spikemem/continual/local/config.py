"""The tables of a ``continual_local`` config: ``[local]`` (method and rules) and ``[network]``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from spikemem.continual.config import require
from spikemem.spec import LIF


@dataclass(frozen=True)
class NetworkConfig:
    r"""The ``[network]`` table: the fixed random hidden layer, the optional learned one, their neurons.

    Attributes
    ----------
    hidden
        LIF neurons of the fixed random hidden layer (driven by the input).
    weight_scale
        Its weights are :math:`\mathcal N(0, s^2 / n_{in})` with this ``s``;
        they stay fixed.
    learned_hidden
        LIF neurons of a second hidden layer that learns (on the fixed layer's
        spikes, with random feedback of the output error: ``[local]
        hidden_lr``); 0: none, the readout reads the fixed layer.
    learned_scale
        Initial weights of the learned layer: :math:`\mathcal N(0, s^2 / n_{hidden})`.
    beta
        Membrane decay per step of the hidden neurons.
    v_th
        Hidden threshold.
    reset
        ``"subtract"`` or ``"value"`` (to zero).
    """

    hidden: int = 400
    weight_scale: float = 3.0
    learned_hidden: int = 0
    learned_scale: float = 1.0
    beta: float = 0.5
    v_th: float = 1.0
    reset: Literal["subtract", "value"] = "subtract"

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        require(self.hidden >= 1, f"{table}.hidden", "must be >= 1")
        require(self.weight_scale > 0, f"{table}.weight_scale", "must be > 0")
        require(self.learned_hidden >= 0, f"{table}.learned_hidden", "must be >= 0 (0: no learned layer)")
        require(self.learned_scale > 0, f"{table}.learned_scale", "must be > 0")
        require(0.0 < self.beta < 1.0, f"{table}.beta", "must be in (0, 1): samples are separated by a silent gap")
        require(self.v_th > 0, f"{table}.v_th", "must be > 0")

    @property
    def widths(self) -> list[int]:
        """Widths of the hidden layers, input side first (the last one feeds the readout)."""
        return [self.hidden, self.learned_hidden] if self.learned_hidden else [self.hidden]

    def neuron(self, dt: float) -> LIF:
        """The hidden neuron with time step ``dt``."""
        return LIF(tau_mem=-dt / math.log(self.beta), v_th=self.v_th, reset=self.reset)


@dataclass(frozen=True)
class LocalConfig:
    r"""The ``[local]`` table: the method and its local rules.

    Attributes
    ----------
    method
        ``"hlop"`` (readout updates projected orthogonally to the lateral
        subspace of earlier tasks; lateral neurons learn with OjaSubspace) or
        ``"finetune"`` (the same error-modulated rule, unprojected).
    epochs
        Passes over each task's training set.
    batch_size
        Samples per minibatch: the error of each sample comes from a run of
        the static network with the minibatch's starting weights.
    lr
        Learning rate :math:`\lambda` of the readout: the minibatch changes it by
        :math:`\frac{\lambda}{B T} \sum_b (\text{onehot}_b - p_b) \tilde c_b^\top`.
    lateral_per_task
        HLOP: new lateral neurons learned on each task on the readout's input
        (the last hidden layer).
    hidden_lr
        Learning rate of the learned hidden layer (``[network] learned_hidden``):
        its neuron ``i`` gets the third factor
        :math:`h_b = F^\top M_b` (``F`` a fixed random feedback matrix, the
        output error :math:`M_b` as for the readout), and changes by
        :math:`\frac{\lambda_h}{B T} \sum_b h_b (c^{(1)}_b - B_{in}^\top B_{in} c^{(1)}_b)^\top`
        (direct feedback alignment, projected).
    input_lateral_per_task
        HLOP with a learned layer: new lateral neurons learned on each task on
        the learned layer's input (the fixed layer's spikes), whose subspace
        ``B_in`` protects the learned layer.
    lateral_eta
        HLOP: OjaSubspace learning rate per step (graded lateral activity).
    lateral_tau
        HLOP: presynaptic trace time constant of the lateral rule, seconds.
    gap
        Silent steps after each sample (0: enough for the hidden potential to
        decay below 1e-6 of its value).
    weight_limit
        Fixed point only: the readout's weights (and a learned layer's) are bounded to
        :math:`\pm` this and stored as 8-bit mantissas spanning it; their
        step is the power of two that fits 254 of them (0.99: 1/256; 1.0
        already needs 1/128, see :func:`spikemem.fixed_point.quantize`).
    """

    method: Literal["hlop", "finetune"] = "hlop"
    epochs: int = 1
    batch_size: int = 32
    lr: float = 0.05
    lateral_per_task: int = 40
    hidden_lr: float = 0.05
    input_lateral_per_task: int = 40
    lateral_eta: float = 2e-3
    lateral_tau: float = 0.0
    gap: int = 0
    weight_limit: float = 0.99

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        require(self.epochs >= 1, f"{table}.epochs", "must be >= 1")
        require(self.batch_size >= 1, f"{table}.batch_size", "must be >= 1")
        require(self.lr > 0, f"{table}.lr", "must be > 0")
        require(self.lateral_per_task >= 1, f"{table}.lateral_per_task", "must be >= 1")
        require(self.hidden_lr > 0, f"{table}.hidden_lr", "must be > 0")
        require(self.input_lateral_per_task >= 1, f"{table}.input_lateral_per_task", "must be >= 1")
        require(self.lateral_eta > 0, f"{table}.lateral_eta", "must be > 0")
        require(self.lateral_tau >= 0, f"{table}.lateral_tau", "must be >= 0")
        require(self.gap >= 0, f"{table}.gap", "must be >= 0 (0: automatic)")
        require(self.weight_limit > 0, f"{table}.weight_limit", "must be > 0")


__all__ = ["LocalConfig", "NetworkConfig"]
