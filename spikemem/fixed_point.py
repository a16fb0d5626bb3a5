r"""Loihi-style fixed-point model of a network: quantization and the integer reference step.

The integer model is the one Lava's ``fixed_pt`` ProcessModels compute
(``PyLifModelBitAcc`` in ``lava/proc/lif/models.py``, ``PyDenseModelBitAcc``
in ``lava/proc/dense/models.py``), extended with the spec's reset modes,
reset value, refractoriness and external currents. The reference backend runs
it for ``numeric="fixed"``; the Lava backend's ``fixed_pt`` neuron model calls
:func:`fixed_lif_step` itself, so both agree bit for bit.

Units
-----
Each population ``P`` has a scale :math:`s_P` (a power of two, internal units
per float unit). Membrane potentials live in Loihi's 24-bit ``v`` register:

.. math::

    v_{int} \approx s_P\, v,\qquad |v_{int}| \le 2^{23} - 1 .

Weights of a projection ``p`` onto ``P`` are 8-bit mantissas :math:`m` with a
shared exponent :math:`e_p \ge 0`; Lava's Dense sends
:math:`a = (\sum_j m_{ij} s_j) \ll e_p` and the neuron shifts its input by
6 bits (``act_shift``), so one spike adds

.. math::

    W^{int}_{ij} = m_{ij}\, 2^{e_p}\, 2^{6} \approx s_P\, W_{ij}
    \quad\text{internal units,}

``m`` in ``[0, 255]`` (excitatory), ``[-255, 0]`` (inhibitory) or even values
in ``[-256, 254]`` (mixed sign: Loihi stores 8 signed bits and doubles them).
Since :math:`e_p \ge 0`, the shift distributes over the sum and the Dense
output equals ``W_int @ s`` exactly. Thresholds are 17-bit and shifted by 6
(``vth_shift``): :math:`\theta_{int} = \mathrm{vth} \ll 6`,
:math:`\mathrm{vth} = \mathrm{round}(s_P v_{th} / 64)`. External currents,
``v_reset`` and ``v_init`` are :math:`\mathrm{round}(s_P\, x)`. The decay is
12-bit: :math:`dv = \mathrm{round}(4096 (1 - \beta))`.

Integer step (:func:`fixed_lif_step`), per neuron not refractory:

.. math::

    v &\leftarrow \mathrm{clip}\bigl(\mathrm{trunc}(v\,(4096 - dv) / 4096) + I,
          \; -(2^{23}-1),\; 2^{23}-1\bigr) \\
    s &= v > \theta_{int} \\
    v &\leftarrow v_{reset,int} \;\text{(reset="value")}\quad\text{or}\quad
          v - \theta_{int} \;\text{(reset="subtract")}\quad\text{where } s

where ``trunc`` rounds toward zero (Lava: ``sign(x) * (|x| >> 12)``) and
:math:`I = \sum_p W^{int}_p s_{pre}[t - d_p] + I_{ext,int}[t]`.
Refractoriness is the spec's: a refractory neuron keeps ``v``, ignores its
input and does not spike. With ``du = 4095`` (Lava's ``ds_offset`` makes the
current decay complete) this is exactly ``PyLifModelBitAcc`` for reset to 0,
no refractoriness and the external current as bias; Lava also wraps its
24-bit current register, which :func:`quantize` rules out by choosing the
scale so that the largest possible synaptic input of one step stays below
:math:`2^{23}` (so summing synaptic and external input first is exact).

Choice of the scale
-------------------
:math:`s_P = 2^k` with the largest ``k`` such that (1) ``v_th``, ``|v_reset|``
and ``|v_init|`` times :math:`s_P` are at most :math:`2^{23 - h}` (``h``
headroom bits, default 2: ``v`` can reach 4 thresholds before saturating);
(2) every incoming projection fits its mantissa range with
:math:`e_p \le 7` (Loihi's largest weight exponent); (3) the worst-case
synaptic input of one step (all positive, or all negative, synapses of a
neuron active at once) is below :math:`2^{23}`, as long as that costs no
mantissa bits (once every exponent is 0 the scale stops shrinking and
``input_overflow_possible`` is reported instead). Each exponent is then the
smallest :math:`e_p \ge 0` that fits the largest weight, so weights keep 8
significant bits relative to the projection's largest weight.

A *non-spiking integrator* (threshold at least :data:`NON_SPIKING_THRESHOLD`,
a readout whose potential is read, never crossed) has no threshold to size
the scale by: its scale is the largest that fits every incoming projection's
weight range with exponent 0 (8 significant bits of that range, and a
potential range of :math:`2^{23} / s_P` float units, about 516 times the
range), and its threshold mantissa is the largest Loihi has (``VTH_MAX``).

The range a projection's mantissas must hold is its largest weight, or for a
plastic one what its rule allows (:func:`weight_range`); ``weight_ranges``
raises it for weights that will be set later (a readout that starts at zero).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikemem.spec import Network, Projection

DECAY_BITS = 12
"""Loihi's decay constants are 12-bit: ``beta_q = 1 - dv / 4096``."""
DECAY_UNITY = 1 << DECAY_BITS
V_BITS = 24
"""Width of the membrane-potential (and current) registers."""
V_LIMIT = (1 << (V_BITS - 1)) - 1
"""Largest magnitude of ``v``: Lava clips to ``[-V_LIMIT, V_LIMIT]``."""
ACT_SHIFT = 6
"""Synaptic input and threshold are shifted left by 6 bits inside the neuron."""
VTH_MAX = (1 << 17) - 1
"""Largest 17-bit threshold mantissa."""
MAX_WEIGHT_EXP = 7
"""Largest weight exponent used (Loihi's range is -8 .. 7; spikemem uses 0 .. 7)."""
NON_SPIKING_THRESHOLD = 1e30
"""A threshold at least this large marks a non-spiking integrator (its scale comes from its weights)."""

_MANTISSA_RANGE = {"excitatory": (0, 255), "inhibitory": (-255, 0), "mixed": (-256, 254)}


@dataclass(frozen=True)
class FixedNeuron:
    """Integer constants of one population.

    Attributes
    ----------
    scale
        Internal units per float unit, :math:`s_P`.
    dv
        12-bit voltage decay, ``round(4096 * (1 - beta))``.
    vth
        17-bit threshold mantissa; the effective threshold is ``vth << 6``.
    v_reset
        Reset value in internal units (reset="value").
    subtract
        Reset by subtraction of the threshold.
    refractory_steps
        Clamped steps after a spike.
    v_init
        ``(n,)`` initial potentials, internal units.
    beta
        Float decay :math:`e^{-dt/\tau}` the constants approximate.
    input_overflow_possible
        True when even the smallest useful scale lets one step's worst-case
        synaptic input reach :math:`2^{23}` (Loihi would wrap; the integer model
        saturates ``v``).
    """

    scale: float
    dv: int
    vth: int
    v_reset: int
    subtract: bool
    refractory_steps: int
    v_init: np.ndarray
    beta: float
    input_overflow_possible: bool = False

    @property
    def threshold(self) -> int:
        """Effective threshold in internal units, ``vth << 6``."""
        return self.vth << ACT_SHIFT

    @property
    def beta_quantized(self) -> float:
        """Decay the integer step applies, ``1 - dv / 4096``."""
        return 1.0 - self.dv / DECAY_UNITY


@dataclass(frozen=True)
class FixedWeights:
    """Integer weights of one projection.

    Attributes
    ----------
    mantissa
        ``(n_post, n_pre)`` int32 values handed to Lava's Dense (``weights``).
    exponent
        Shared weight exponent ``e >= 0`` (Lava's ``weight_exp``).
    sign_mode
        ``"excitatory"``, ``"inhibitory"`` or ``"mixed"``.
    scale
        Scale of the postsynaptic population.
    """

    mantissa: np.ndarray
    exponent: int
    sign_mode: str
    scale: float

    @property
    def unit(self) -> float:
        """Float weight of one mantissa step, :math:`2^{e+6} / s`."""
        return float(2 ** (self.exponent + ACT_SHIFT)) / self.scale

    @property
    def internal(self) -> np.ndarray:
        """int64 ``(n_post, n_pre)`` input one spike adds, in internal units."""
        return self.mantissa.astype(np.int64) << (self.exponent + ACT_SHIFT)

    def to_float(self) -> np.ndarray:
        """The weights the integer model actually uses, in float units."""
        return self.mantissa.astype(np.float64) * self.unit


@dataclass
class FixedPointModel:
    """The quantized network: integer constants and the error they introduce.

    Attributes
    ----------
    populations
        Population name -> :class:`FixedNeuron`.
    projections
        Projection name -> :class:`FixedWeights`.
    errors
        Projection name -> ``{"max_abs", "max_rel", "rms_rel"}``: absolute error
        in float units, and errors relative to the largest / to the rms weight.
    """

    populations: dict[str, FixedNeuron] = field(default_factory=dict)
    projections: dict[str, FixedWeights] = field(default_factory=dict)
    errors: dict[str, dict[str, float]] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """Plain-data summary: scales, constants and quantization errors."""
        return {
            "populations": {
                name: {
                    "scale": c.scale,
                    "dv": c.dv,
                    "vth": c.vth,
                    "beta": c.beta,
                    "beta_quantized": c.beta_quantized,
                    "beta_rel_error": abs(c.beta_quantized - c.beta) / c.beta,
                    "v_reset": c.v_reset,
                    "input_overflow_possible": c.input_overflow_possible,
                }
                for name, c in self.populations.items()
            },
            "projections": {
                name: {"exponent": w.exponent, "sign_mode": w.sign_mode, "unit": w.unit, **self.errors[name]}
                for name, w in self.projections.items()
            },
        }


def _rint(values: Any) -> np.ndarray:
    return np.rint(np.asarray(values, dtype=np.float64)).astype(np.int64)


def sign_mode_of(proj: Projection) -> str:
    """Sign mode of a projection's weights (plastic ones: of the range their rule allows)."""
    w = np.asarray(proj.weights, dtype=np.float64)
    low, high = float(w.min(initial=0.0)), float(w.max(initial=0.0))
    rule = proj.plasticity
    if rule is not None:
        low = -math.inf if rule.w_min is None else min(low, rule.w_min)
        high = math.inf if rule.w_max is None else max(high, rule.w_max)
    if low >= 0:
        return "excitatory"
    if high <= 0:
        return "inhibitory"
    return "mixed"


def weight_range(proj: Projection) -> float:
    """Largest weight magnitude the mantissas must hold (plastic: include the rule's bounds, or 2x headroom)."""
    largest = float(np.max(np.abs(proj.weights), initial=0.0))
    rule = proj.plasticity
    if rule is None:
        return largest
    bounds = [abs(b) for b in (rule.w_min, rule.w_max) if b is not None]
    if len(bounds) == 2:
        return max([largest, *bounds])
    return max([2 * largest, *bounds])


def quantize_weights(weights: np.ndarray, exponent: int, sign_mode: str, scale: float) -> np.ndarray:
    """Float weights -> int32 mantissas for a given exponent, sign mode and scale (rounded, clipped)."""
    low, high = _MANTISSA_RANGE[sign_mode]
    exact = np.asarray(weights, dtype=np.float64) * scale / 2 ** (exponent + ACT_SHIFT)
    mantissa = 2 * _rint(exact / 2) if sign_mode == "mixed" else _rint(exact)
    return np.clip(mantissa, low, high).astype(np.int32)


def _exponent_for(largest: float, sign_mode: str, scale: float) -> int:
    """Smallest exponent >= 0 at which ``largest`` fits the mantissa range."""
    if largest == 0:
        return 0
    limit = 254 if sign_mode == "mixed" else 255
    needed = largest * scale / (limit * 2**ACT_SHIFT)
    return max(0, math.ceil(math.log2(needed))) if needed > 1 else 0


def _worst_input(projs: list[tuple[Projection, FixedWeights]]) -> float:
    """Largest magnitude of one step's synaptic input to any neuron, internal units."""
    positive = negative = 0
    for proj, fw in projs:
        unit = 2 ** (fw.exponent + ACT_SHIFT)
        if proj.plasticity is None:
            m = fw.mantissa.astype(np.int64)
            positive = positive + np.clip(m, 0, None).sum(axis=1) * unit
            negative = negative + np.clip(-m, 0, None).sum(axis=1) * unit
        else:  # learned weights may reach the ends of the mantissa range on every synapse
            low, high = _MANTISSA_RANGE[fw.sign_mode]
            synapses = fw.mantissa.shape[1] if proj.mask is None else np.asarray(proj.mask).sum(axis=1)
            positive = positive + synapses * high * unit
            negative = negative + synapses * (-low) * unit
    return float(np.max(np.maximum(positive, negative), initial=0.0))


def _non_spiking_exponent(ranges: list[float]) -> int | None:
    """log2 of a non-spiking integrator's scale: every range fits 8-bit mantissas with exponent 0 (None: no weights)."""
    largest = max(ranges, default=0.0)
    if largest <= 0:
        return None
    return math.floor(math.log2(254 * 2**ACT_SHIFT / largest))


def quantize(
    network: Network, headroom_bits: int = 2, weight_ranges: Mapping[str, float] | None = None
) -> FixedPointModel:
    """Choose per-population scales and integer constants for ``network`` (see the module docstring).

    Parameters
    ----------
    network
        A validated network.
    headroom_bits
        Bits of ``v`` kept above the largest of ``v_th``, ``|v_reset|``, ``|v_init|``.
    weight_ranges
        Projection name -> largest weight magnitude its mantissas must hold
        (at least; the weights and the rule's range count too); such a
        projection is mixed-sign (its weights may be set later with either sign).
    """
    extra = dict(weight_ranges or {})
    unknown = sorted(set(extra) - {proj.name for proj in network.projections})
    if unknown:
        raise ValueError(f"weight_ranges names no projection of the network: {unknown}")
    model = FixedPointModel()
    for pop in network.populations:
        neuron = pop.neuron
        incoming = [proj for proj in network.projections if proj.post == pop.name]
        ranges = {proj.name: max(weight_range(proj), abs(float(extra.get(proj.name, 0.0)))) for proj in incoming}
        v_init = np.broadcast_to(np.asarray(pop.v_init, dtype=np.float64), (pop.size,))
        non_spiking = float(neuron.v_th) >= NON_SPIKING_THRESHOLD
        largest_v = max(abs(float(neuron.v_reset)), float(np.max(np.abs(v_init), initial=0.0)))
        if not non_spiking:
            largest_v = max(largest_v, float(neuron.v_th))
        k = math.floor(math.log2(2 ** (V_BITS - 1 - headroom_bits) / max(largest_v, 1e-12)))
        if non_spiking:
            fitted = _non_spiking_exponent(list(ranges.values()))
            k = min(k, fitted) if fitted is not None else min(k, V_BITS - 1 - headroom_bits)
        while True:
            scale = float(2.0**k)
            weights = {}
            for proj in incoming:
                mode = "mixed" if proj.name in extra else sign_mode_of(proj)  # a +- range: set later
                exponent = _exponent_for(ranges[proj.name], mode, scale)
                weights[proj.name] = FixedWeights(
                    quantize_weights(proj.weights, exponent, mode, scale), exponent, mode, scale
                )
            too_big = any(fw.exponent > MAX_WEIGHT_EXP for fw in weights.values())
            worst = _worst_input([(proj, weights[proj.name]) for proj in incoming])
            overflow = worst >= 2 ** (V_BITS - 1)
            shrinkable = any(fw.exponent > 0 for fw in weights.values())
            if too_big or (overflow and shrinkable):
                k -= 1
                continue
            break
        beta = neuron.beta(network.dt)
        model.populations[pop.name] = FixedNeuron(
            scale=scale,
            dv=int(min(DECAY_UNITY - 1, max(0, round(DECAY_UNITY * (1 - beta))))),
            vth=VTH_MAX if non_spiking else int(min(VTH_MAX, round(neuron.v_th * scale / 2**ACT_SHIFT))),
            v_reset=int(_rint(neuron.v_reset * scale)),
            subtract=neuron.reset == "subtract",
            refractory_steps=int(neuron.refractory_steps),
            v_init=np.clip(_rint(v_init * scale), -V_LIMIT, V_LIMIT),
            beta=beta,
            input_overflow_possible=bool(overflow),
        )
        for proj in incoming:
            fw = weights[proj.name]
            model.projections[proj.name] = fw
            model.errors[proj.name] = _weight_errors(np.asarray(proj.weights, dtype=np.float64), fw.to_float())
    return model


def _weight_errors(exact: np.ndarray, quantized: np.ndarray) -> dict[str, float]:
    diff = quantized - exact
    largest = float(np.max(np.abs(exact), initial=0.0))
    rms = float(np.sqrt(np.mean(exact**2))) if exact.size else 0.0
    return {
        "max_abs": float(np.max(np.abs(diff), initial=0.0)),
        "max_rel": float(np.max(np.abs(diff), initial=0.0)) / largest if largest else 0.0,
        "rms_rel": float(np.sqrt(np.mean(diff**2))) / rms if rms else 0.0,
    }


def truncating_decay(v: np.ndarray, dv: int) -> np.ndarray:
    """``v * (4096 - dv) / 4096`` rounded toward zero, as Lava's ``sign(x) * (|x| >> 12)``."""
    product = np.asarray(v, dtype=np.int64) * (DECAY_UNITY - dv)
    return np.sign(product) * (np.abs(product) >> DECAY_BITS)


def fixed_lif_step(
    v: np.ndarray, refractory: np.ndarray, current: np.ndarray, neuron: FixedNeuron
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One integer LIF step (equations in the module docstring); shapes broadcast, any batch axes.

    Parameters
    ----------
    v
        int64 potentials after the previous step.
    refractory
        Remaining refractory steps.
    current
        int64 total input of this step, internal units.
    neuron
        The population's constants.

    Returns
    -------
    spikes, v, refractory
        Boolean spikes and the new int64 state.
    """
    v = np.asarray(v, dtype=np.int64)
    active = refractory == 0
    integrated = np.clip(truncating_decay(v, neuron.dv) + current, -V_LIMIT, V_LIMIT)
    v = np.where(active, integrated, v)
    spikes = active & (v > neuron.threshold)
    if neuron.subtract:
        v = v - neuron.threshold * spikes
    else:
        v = np.where(spikes, np.int64(neuron.v_reset), v)
    if neuron.refractory_steps:
        refractory = np.where(spikes, neuron.refractory_steps, np.where(active, refractory, refractory - 1))
    return spikes, v, refractory


class FixedPointArithmetic:
    """Integer arithmetic of a network, the same interface as the reference's ``FloatArithmetic``.

    Parameters
    ----------
    network
        A validated network.
    model
        Its quantization; ``quantize(network)`` when omitted.
    """

    v_dtype = np.int64

    def __init__(self, network: Network, model: FixedPointModel | None = None) -> None:
        self.network = network
        self.model = quantize(network) if model is None else model

    def weights(self, projection: str) -> np.ndarray:
        """int64 ``(n_post, n_pre)``: internal units one presynaptic spike adds."""
        return self.model.projections[projection].internal

    def weights_to_float(self, projection: str, weights: np.ndarray) -> np.ndarray:
        """Internal units -> float weights."""
        return np.asarray(weights, dtype=np.float64) / self.model.projections[projection].scale

    def weights_from_float(self, projection: str, weights: np.ndarray) -> np.ndarray:
        """Float weights -> internal units, quantized with the projection's exponent and sign mode."""
        fw = self.model.projections[projection]
        mantissa = quantize_weights(weights, fw.exponent, fw.sign_mode, fw.scale)
        return mantissa.astype(np.int64) << (fw.exponent + ACT_SHIFT)

    def external(self, population: str, current: np.ndarray) -> np.ndarray:
        """External current in float units -> int64 internal units, ``round(s * I)``."""
        return _rint(np.asarray(current, dtype=np.float64) * self.model.populations[population].scale)

    def initial_v(self, population: str) -> np.ndarray:
        """int64 ``(n,)`` potentials before the first step."""
        return self.model.populations[population].v_init.copy()

    def neuron_step(
        self, population: str, v: np.ndarray, refractory: np.ndarray, current: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One integer step of ``population``; see :func:`fixed_lif_step`."""
        return fixed_lif_step(v, refractory, current, self.model.populations[population])
