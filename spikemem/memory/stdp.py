r"""Online storage by pair STDP: patterns presented as spike trains, learned inside the simulator.

**Learning network.** ``neurons`` (N LIF) are driven one-to-one by the
spike input ``patterns`` (weight 2, threshold 1, delay 1), and their
recurrent projection (initially zero) carries the spec's
:class:`~spikemem.spec.PairSTDP` rule, which every backend runs in its own
engine (reference/snnTorch tensors, Brian2 synapses, Lava's learning engine).

Each pattern :math:`\xi^\mu` is presented twice. In the first presentation
the neurons with :math:`\xi_i = +1` (group A) fire together at one step and
the group :math:`\xi_i = -1` (B) one step later; in the second, B first, then
A; then the traces decay for ``gap`` steps. With trace decays
:math:`\alpha_{pre}, \alpha_{post}` the rule
:math:`\Delta W_{ij} = A_+ s^{post}_i x_j - A_- y_i s^{pre}_j` gives, per
pattern,

- a pair firing together (same sign, twice): :math:`c_1 = 2 (A_+ - A_-)`,
- a pair one step apart, once in each order:
  :math:`c_2 = A_+ \alpha_{pre} - A_- \alpha_{post}`,

so :math:`W = \tfrac{c_1 + c_2}{2} P + \tfrac{c_1 - c_2}{2} \sum_\mu \xi^\mu \xi^{\mu\top}`.
Choosing :math:`A_+ (2 + \alpha_{pre}) = A_- (2 + \alpha_{post})` makes
:math:`c_2 = -c_1`: the learned matrix is :math:`c_1` times the Hebb matrix
(diagonal :math:`c_1 P`, as a neuron fires with itself), up to the traces left
over between presentations (:math:`\alpha^{gap}`).

**Recall.** The learned weights, read back from the simulator, divided by
:math:`c_1`, are the couplings of the clocked Hopfield network of
:mod:`spikemem.memory.hopfield`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikemem.memory.encoding import DT
from spikemem.spec import LIF, Monitor, Network, PairSTDP, Population, Projection, SpikeInput, trace_decay


@dataclass(frozen=True)
class STDPProtocol:
    """Parameters of the presentation protocol and of the rule.

    Attributes
    ----------
    a_minus
        Depression amplitude :math:`A_-`; :math:`A_+` follows from the balance condition.
    tau_pre, tau_post
        Trace time constants (seconds).
    gap
        Silent steps after each presentation.
    """

    a_minus: float = 1e-3
    tau_pre: float = 1e-3
    tau_post: float = 3e-3
    gap: int = 30

    @property
    def alpha_pre(self) -> float:
        return trace_decay(self.tau_pre, DT)

    @property
    def alpha_post(self) -> float:
        return trace_decay(self.tau_post, DT)

    @property
    def a_plus(self) -> float:
        r""":math:`A_+ = A_- (2 + \alpha_{post}) / (2 + \alpha_{pre})`, so that :math:`c_2 = -c_1`."""
        return self.a_minus * (2.0 + self.alpha_post) / (2.0 + self.alpha_pre)

    @property
    def unit(self) -> float:
        r"""Weight learned per pattern by a same-sign pair, :math:`c_1 = 2 (A_+ - A_-)`."""
        return 2.0 * (self.a_plus - self.a_minus)

    def rule(self) -> PairSTDP:
        return PairSTDP(a_plus=self.a_plus, a_minus=self.a_minus, tau_pre=self.tau_pre, tau_post=self.tau_post)


def presentation_raster(patterns: np.ndarray, protocol: STDPProtocol) -> np.ndarray:
    """Input spikes ``(steps, N)``: each pattern as A-then-B and B-then-A volleys with gaps."""
    xi = np.asarray(patterns)
    p, n = xi.shape
    segment = 2 + protocol.gap
    raster = np.zeros((2 * p * segment + 2, n), dtype=bool)
    for mu, row in enumerate(xi):
        group_a, group_b = row > 0, row < 0
        start = 2 * mu * segment
        raster[start], raster[start + 1] = group_a, group_b
        raster[start + segment], raster[start + segment + 1] = group_b, group_a
    return raster


def build_stdp_learning(patterns: np.ndarray, protocol: STDPProtocol = STDPProtocol()) -> Network:
    """The learning network (see the module docstring); run it for ``len(raster)`` steps."""
    xi = np.asarray(patterns)
    n = xi.shape[1]
    raster = presentation_raster(xi, protocol)
    return Network(
        dt=DT,
        populations=[Population("neurons", n, LIF(tau_mem=2e-3, v_th=1.0))],
        inputs=[SpikeInput("patterns", raster)],
        projections=[
            Projection("patterns", "neurons", 2.0 * np.eye(n), delay=1, name="drive"),
            Projection("neurons", "neurons", np.zeros((n, n)), delay=1, plasticity=protocol.rule(), name="recurrent"),
        ],
        monitors=[Monitor("neurons", "count"), Monitor("recurrent", "weights")],
        name="stdp-storage",
    ).validate()


def learning_steps(network: Network) -> int:
    """Steps that present every pattern (the length of the input raster)."""
    return int(np.shape(network.input_of(SpikeInput, "patterns").spikes)[0])
