r"""Translation of a :class:`~spikemem.spec.Network` into a picklable plan of Lava processes.

Numpy only: the plan is built in the calling process (so that every refusal
and every fixed-point check happens before Lava starts) and executed by the
worker (:mod:`._worker`), which turns each entry into Lava processes
(:mod:`._lava.processes`).

Mapping
-------
- spike input (and materialised Poisson input) -> ``SpikeSource`` (reads its
  raster from a shared buffer, one row per step);
- population -> ``SpecLIF``, the spec's neuron (both reset modes, ``v_reset``,
  refractoriness, external current read from a shared buffer, monitors
  written straight into shared buffers);
- projection, delay 1 -> Lava ``Dense`` (its built-in one-step delay *is*
  the spec's delay 1); delay ``d > 1`` -> ``DelayDense`` with ``delays = d - 1``;
  plastic -> ``LearningDense`` with a ``Loihi2FLearningRule`` (or
  ``Loihi3FLearningRule`` plus a ``ModulatorSource`` for :class:`ThreeFactor`).

Plasticity in Lava's sum-of-products language (float)
-----------------------------------------------------
Lava keeps traces :math:`x_1 \leftarrow e^{-1/\tau} x_1 + I_{x1} s` (``tau`` in
steps, impulse ``I``), like the spec's traces times the impulse; products
with ``u0`` are evaluated every step with the traces of this step, ``y0``/``x0``
products only at post/pre spikes. Scaling factors must be ``m * 2^e``
(``|m| <= 8``), so every learning rate goes into a trace impulse instead:

- ``PairSTDP``: ``dw = y0*x1 - x0*y1`` with :math:`I_{x1} = A_+`, :math:`I_{y1} = A_-`.
- ``Hebb``: :math:`\eta(y-\theta_{post})(x-\theta_{pre})` expanded:
  ``dw = ±u0*x1*y1 ± u0*y2 ± u0*x2 + u0*t`` with :math:`I_{x1}=|\eta|`,
  :math:`I_{y1}=1`, :math:`I_{y2}=|\eta\theta_{pre}|`,
  :math:`I_{x2}=|\eta\theta_{post}|` and the constant
  :math:`\eta\theta_{pre}\theta_{post}` held in the synaptic tag ``t``
  (no ``dt`` rule, so the tag is a per-synapse constant).
- ``Oja``: ``dw = ±(u0*x1*y1 - u0*y1*y2*w)`` with :math:`I_{x1}=|\eta|`,
  :math:`I_{y1}=1`, :math:`I_{y2}=|\eta|`.
- ``ThreeFactor``: the eligibility trace is the tag ``t``:
  ``dt = y0*x1 - u0*t*y3`` (:math:`e \leftarrow \alpha_e e + s_{post} x`) and
  ``dw = u0*t*y2 + y0*x1*y1`` with the third-factor inputs
  :math:`y_1 = \eta M`, :math:`y_2 = \eta M \alpha_e`, :math:`y_3 = 1-\alpha_e`
  sent every step by a ``ModulatorSource`` (Lava's ``Loihi3FLearningRule``
  graded third factor), so that :math:`\Delta W = \eta M (\alpha_e e + s_{post} x)`
  uses the eligibility of this step, as the spec does.
- ``ErrorModulated``: ``dw = u0*x1*y1`` with :math:`I_{x1} = 1` and the
  third factor :math:`y_1 = \eta M` from the same ``ModulatorSource``
  (:math:`\Delta W = \eta M x` every step).

Rules on a computed presynaptic signal (float)
----------------------------------------------
Two rules need, at each synapse, a quantity that sums over other neurons:
``ErrorModulated`` with a ``basis`` learns on :math:`\tilde x = x - B^\top B x`
and ``OjaSubspace`` on the residual :math:`r = \tilde x - W^\top y`. Lava's
engine can run both as ``dw = u0*x1*y1`` if :math:`x_1` *is* that signal: a
circuit process computes it in the same step from the presynaptic spikes
(:class:`~._lava.processes.ProjectedTrace`; for OjaSubspace
:class:`~._lava.processes.SubspaceResidual`, which also reads the current
weights from the synapses and the postsynaptic spikes, and sends
:math:`\eta y` as the third factor) and sends it as a graded spike that
overwrites :math:`x_1` (``GradedSpikeCfg.OVERWRITE``, no decay). The
synapses (:class:`~._lava.processes.ProjectedLearningDense`) carry the
presynaptic *spikes* forward (port ``s_fwd``), so the projection's output is
:math:`W s` as in the spec. The weight update itself is Lava's engine's; the
circuit computes what Loihi would compute in neurons: the two graded layers
:math:`B x` and :math:`x - B^\top(Bx)`, and Oja's feedback pathway
:math:`W^\top y`, here without their latency (on Loihi each would add a step).

Weight bounds and the synapse mask are applied where Lava saturates weights
after each update, and the new weights act on the spikes of the same step
(the spec's order), see :mod:`._lava.processes`.

Fixed point (Lava's bit-approximate engine)
-------------------------------------------
Weights are 8-bit mantissas (9-bit signed while learning), traces and third
factors unsigned 7-bit integers, every product of two traces is shifted right
by 3 bits, and the result is rounded stochastically to whole weight steps
with *one* random number per step for all synapses. PairSTDP maps directly
(:func:`fixed_rule`). ErrorModulated and OjaSubspace multiply two *signed*
signals, the pre signal :math:`p` (:math:`\tilde x` or the residual
:math:`r`) and the third factor :math:`f` (:math:`M` or :math:`y`):

- :math:`p` travels as an offset code :math:`x_1 = 64 + 63\, p / p_{max}`
  (:func:`encode_pre`), :math:`f` as two codes :math:`y_1 = s [f]_+`,
  :math:`y_2 = s [f]_-` (:func:`encode_signed`, even numbers), both rounded
  stochastically (unbiased) by the circuit or the modulator source, and
  divided by the engine's one-step decay :data:`THIRD_FACTOR_DECAY` first;
- the rule ``m*2^e * (x1*y1 - x1*y2) - m*2^(e+3) * (y1 - y2)`` is then
  :math:`\frac{m 2^e}{8}(x_1 - 64)(y_1 - y_2)` exactly
  (:func:`signed_product_terms`: ``m = 4`` with even ``y`` leaves the 3-bit
  shift nothing to drop), with ``e`` and ``s`` chosen so that the learning
  rate is exact (:func:`fit_third_scale`); full scales :math:`p_{max}` =
  :data:`PRE_RANGE` times the largest trace, :math:`f_{max}` = the
  ``modulator_range`` option (ErrorModulated) or :data:`ACTIVITY_RANGE`
  :math:`\sqrt{n_{pre}}` times the largest trace (graded OjaSubspace);
  larger values are clipped;
- OjaSubspace updates the weights every step. ErrorModulated changes each
  synapse by a small fraction of a weight step per step; rounded every step,
  that adds noise of the order of the total change to *every* synapse
  (measured: it undoes HLOP's protection). So it accumulates in the 8-bit
  synaptic tag instead, at :data:`TAG_FRACTION` tag steps per weight step
  (``dt``), and the tag moves into the weight on the run's last step
  (``dw = 4*2^-7 * t * y3`` with ``y3 =`` :data:`FLUSH`, the tag cleared by
  ``dt``): one rounding per synapse and run. The tag saturates at
  :math:`\pm 8` weight steps per run, a per-run clip of the change. The
  change of the last step itself stays in the tag (dropped by a reset), so a
  run should end on a step with zero modulator (a warning says so).

Everything random (codes, the engine's rounding) is seeded by the ``seed``
option; :meth:`~spikemem.backend.Simulation.reset` with ``weights=True``
restarts those streams, a plain reset continues them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikemem.backend import UnsupportedFeatureError, translation
from spikemem.dynamics import LIFParams
from spikemem.engine import Topology
from spikemem.fixed_point import FixedNeuron, FixedPointModel
from spikemem.spec import (
    CurrentInput,
    ErrorModulated,
    Hebb,
    Network,
    Oja,
    OjaSubspace,
    PairSTDP,
    PlasticityRule,
    ThreeFactor,
)
from spikemem.spec.inputs import SPIKE_SOURCE_TYPES

LAVA_MAX_DELAY = 64
"""Loihi 2 delays are 6-bit (0..63 in Lava, spec delay 1..64)."""
THIRD_FACTOR_TAU = float(np.iinfo(np.uint16).max)
"""Lava's ``Loihi3FLearningRule`` decays the third-factor inputs with this time constant."""
THIRD_FACTOR_DECAY = math.exp(-1.0 / THIRD_FACTOR_TAU)
ZERO_TAU = 1e-9
"""Stand-in for ``tau = 0`` (the trace is the spike): ``exp(-1 / 1e-9)`` is exactly 0."""
GRADED_TAU = math.inf
"""Decay time constant of a graded pre trace: ``exp(-1 / inf) = 1``, the engine sees the payload as sent."""
OVERWRITE_SCALE = 2.0
"""Lava's ``GradedSpikeCfg.OVERWRITE`` stores payload / 2 in ``x1``; circuits send twice their signal."""


@dataclass
class RulePlan:
    """A plasticity rule in Lava's terms (see the module docstring)."""

    rule: str
    dw: str
    dt: str | None = None
    impulses: dict[str, float] = field(default_factory=dict)
    taus: dict[str, float] = field(default_factory=dict)
    tag_init: float = 0.0
    three_factor: bool = False
    modulator: str | None = None
    eta: float = 0.0
    alpha_e: float = 0.0
    rng_seed: int = 1
    coefficient_errors: dict[str, float] = field(default_factory=dict)
    circuit: str | None = None
    source: PlasticityRule | None = None
    fixed: bool = False
    pre_range: float = 1.0
    third_scale: float = 1.0
    accumulate: bool = False

    @property
    def graded(self) -> bool:
        """Whether the pre trace is a graded signal from a circuit (``"projected"`` or ``"subspace"``)."""
        return self.circuit is not None


@dataclass
class NeuronPlan:
    """One population -> one ``SpecLIF`` process."""

    name: str
    size: int
    v_init: np.ndarray
    float_params: LIFParams | None = None
    fixed: FixedNeuron | None = None
    has_current: bool = False
    record: tuple[str, ...] = ()


@dataclass
class SourcePlan:
    """One spike input -> one ``SpikeSource`` process."""

    name: str
    size: int


@dataclass
class ConnectionPlan:
    """One projection -> Dense, DelayDense or LearningDense."""

    name: str
    pre: str
    post: str
    weights: np.ndarray
    delay: int = 1
    exponent: int = 0
    sign_mode: str = "mixed"
    rule: RulePlan | None = None
    w_min: float | None = None
    w_max: float | None = None
    mask: np.ndarray | None = None
    snapshot_every: int | None = None
    unit: float = 1.0

    @property
    def kind(self) -> str:
        """``"learning"``, ``"delay"`` or ``"dense"``."""
        if self.rule is not None:
            return "learning"
        return "delay" if self.delay > 1 else "dense"


@dataclass
class Plan:
    """Everything the worker needs to build and run the Lava network."""

    numeric: str
    neurons: list[NeuronPlan]
    sources: list[SourcePlan]
    connections: list[ConnectionPlan]
    chunk: int
    dt: float
    seed: int = 0
    fuse: str = "auto"
    """The ``fuse`` option: ``"auto"``, ``"always"`` or ``"never"`` (one Lava process for the whole graph)."""

    def connection(self, name: str) -> ConnectionPlan:
        """The connection called ``name``."""
        return next(conn for conn in self.connections if conn.name == name)


def _steps(tau: float, dt: float) -> float:
    return ZERO_TAU if tau == 0 else tau / dt


def _term(coefficient: float, product: str) -> str:
    """`` + product`` or `` - product`` (empty for a zero coefficient)."""
    if coefficient == 0:
        return ""
    return f" {'+' if coefficient > 0 else '-'} {product}"


def _sum(terms: list[str]) -> str:
    text = "".join(terms).strip()
    return text[2:] if text.startswith("+ ") else "-" + text[2:] if text.startswith("- ") else text


def _float_pair_stdp(rule: PairSTDP, dt: float) -> RulePlan:
    """``dw = y0*x1 - x0*y1`` with :math:`I_{x1} = A_+`, :math:`I_{y1} = A_-`."""
    dw = _sum([_term(rule.a_plus, "y0 * x1"), _term(-rule.a_minus, "x0 * y1")])
    return RulePlan(
        rule.name,
        dw or "0 * u0",
        impulses={"x1": rule.a_plus, "y1": rule.a_minus},
        taus={"x1": _steps(rule.tau_pre, dt), "y1": _steps(rule.tau_post, dt)},
    )


def _float_hebb(rule: Hebb, dt: float) -> RulePlan:
    r""":math:`\eta(y-\theta_{post})(x-\theta_{pre})` expanded: ``±u0*x1*y1 ± u0*y2 ± u0*x2 + u0*t``."""
    eta = rule.eta
    dw = _sum(
        [
            _term(eta, "u0 * x1 * y1"),
            _term(-eta * rule.pre_offset, "u0 * y2"),
            _term(-eta * rule.post_offset, "u0 * x2"),
            _term(eta * rule.pre_offset * rule.post_offset, "u0 * t"),
        ]
    )
    tau_x, tau_y = _steps(rule.tau_pre, dt), _steps(rule.tau_post, dt)
    return RulePlan(
        rule.name,
        dw or "0 * u0",
        impulses={"x1": abs(eta), "y1": 1.0, "x2": abs(eta * rule.post_offset), "y2": abs(eta * rule.pre_offset)},
        taus={"x1": tau_x, "x2": tau_x, "y1": tau_y, "y2": tau_y},
        tag_init=eta * rule.pre_offset * rule.post_offset,
    )


def _float_oja(rule: Oja, dt: float) -> RulePlan:
    r"""``dw = ±(u0*x1*y1 - u0*y1*y2*w)`` with :math:`I_{x1}=|\eta|`, :math:`I_{y1}=1`, :math:`I_{y2}=|\eta|`."""
    sign = "-" if rule.eta < 0 else ""
    dw = f"{sign}u0 * x1 * y1 {'+' if sign else '-'} u0 * y1 * y2 * w" if rule.eta else "0 * u0"
    tau_y = _steps(rule.tau_post, dt)
    return RulePlan(
        rule.name,
        dw,
        impulses={"x1": abs(rule.eta), "y1": 1.0, "y2": abs(rule.eta)},
        taus={"x1": _steps(rule.tau_pre, dt), "y1": tau_y, "y2": tau_y},
    )


def _float_three_factor(rule: ThreeFactor, dt: float) -> RulePlan:
    r"""Eligibility in the tag: ``dt = y0*x1 - u0*t*y3``, ``dw = u0*t*y2 + y0*x1*y1`` (third factors from ``M``)."""
    alpha_e = 0.0 if rule.tau_eligibility == 0 else math.exp(-dt / rule.tau_eligibility)
    return RulePlan(
        rule.name,
        "u0 * t * y2 + y0 * x1 * y1",
        dt="y0 * x1 - u0 * t * y3",
        impulses={"x1": 1.0},
        taus={"x1": _steps(rule.tau_pre, dt)},
        three_factor=True,
        modulator=rule.modulator,
        eta=rule.eta,
        alpha_e=alpha_e,
    )


def _float_error_modulated(rule: ErrorModulated, dt: float) -> RulePlan:
    r"""``dw = u0*x1*y1`` with :math:`y_1 = \eta M` (``x1``: the trace, or the projected trace from a circuit)."""
    projected = rule.basis is not None
    return RulePlan(
        rule.name,
        "u0 * x1 * y1",
        impulses={} if projected else {"x1": 1.0},
        taus={"x1": GRADED_TAU if projected else _steps(rule.tau_pre, dt)},
        three_factor=True,
        modulator=rule.modulator,
        eta=rule.eta,
        circuit="projected" if projected else None,
        source=rule if projected else None,
    )


def _float_oja_subspace(rule: OjaSubspace, dt: float) -> RulePlan:
    r"""``dw = u0*x1*y1`` with the residual :math:`r` as ``x1`` and :math:`\eta y` as ``y1``, from a circuit."""
    return RulePlan(
        rule.name,
        "u0 * x1 * y1",
        taus={"x1": GRADED_TAU},
        three_factor=True,
        eta=rule.eta,
        circuit="subspace",
        source=rule,
    )


FLOAT_RULES: dict[type[PlasticityRule], Callable[[Any, float], RulePlan]] = {
    Hebb: _float_hebb,
    Oja: _float_oja,
    OjaSubspace: _float_oja_subspace,
    PairSTDP: _float_pair_stdp,
    ThreeFactor: _float_three_factor,
    ErrorModulated: _float_error_modulated,
}
"""Rule class -> its translation ``(rule, dt) -> RulePlan`` for Lava's float learning engine (Lava's ``rules``)."""


def float_rule(rule: PlasticityRule, dt: float, field_name: str) -> RulePlan:
    """Express ``rule`` in Lava's float learning engine (:data:`FLOAT_RULES`; equations in the module docstring)."""
    return translation(FLOAT_RULES, rule, "lava", field_name)(rule, dt)


# -- fixed point -----------------------------------------------------------------------------
IMPULSE_RANGE = (4, 32)
"""Integer trace impulses tried: a spike adds ``I`` to a 7-bit trace (at most 127), i.e. ~127/I spikes' worth."""


def _scaling(target: float) -> tuple[int, int, float]:
    """Best ``m * 2^e`` (``m`` in -8..7, not 0; ``e`` in -7..8) for ``target``: ``(m, e, relative error)``."""
    best = (1, 0, math.inf)
    for e in range(-7, 9):
        m = max(-8, min(7, round(target / 2.0**e)))
        if m == 0:
            continue
        error = abs(m * 2.0**e - target) / abs(target)
        if error < best[2] - 1e-12:
            best = (m, e, error)
    return best


def _fit(target: float) -> tuple[int, int, int, float]:
    """Scaling ``m 2^e`` and integer impulse ``I`` with ``m 2^e I = target``, impulse near 16: ``(m, e, I, error)``."""
    best = (1, 0, 1, math.inf)
    for impulse in range(IMPULSE_RANGE[0], IMPULSE_RANGE[1] + 1):
        m, e, error = _scaling(target / impulse)
        if error < best[3] - 1e-9 or (abs(error - best[3]) <= 1e-9 and abs(impulse - 16) < abs(best[2] - 16)):
            best = (m, e, impulse, error)
    return best


FIXED_REFUSAL: dict[type[PlasticityRule], str] = {
    Hebb: "its every-step (u0) products of 7-bit traces are shifted right by 3 bits and its offset terms are "
    "below the engine's smallest coefficient (2^-7 weight steps): measured 54% error in the weight change",
    Oja: "its every-step (u0) products of 7-bit traces saturate at 127 and lose 12 bits in the y1*y2*w "
    "product: measured >100% error in the weight change",
    ThreeFactor: "its eligibility trace would live in Lava's 8-bit synaptic tag and its modulator in 7-bit "
    "third-factor inputs",
}
"""Rule class -> why Lava's fixed-point engine does not run it (the float rules missing from :data:`FIXED_RULES`)."""


# -- fixed point: signed graded signals through unsigned 7-bit traces ------------------------------
TRACE_MAX = 127
"""Largest value of a 7-bit trace or third factor."""
TRACE_ZERO = 64
r"""Code of a zero pre signal: :math:`x_1 = 64 + 63\,p / p_{max}` (offset code, 0 .. 127)."""
TRACE_STEPS = 63
"""Codes per full scale on either side of :data:`TRACE_ZERO`."""
HOLD_TAU = THIRD_FACTOR_TAU
"""Decay time constant of a graded pre trace in fixed point; circuits send ``code / THIRD_FACTOR_DECAY``."""
TAG_FRACTION = 32
"""Tag steps per weight step: fixed-point ErrorModulated accumulates its change in the 8-bit synaptic tag."""
FLUSH = 32
"""Third factor ``y3`` on a run's last step: moves the tag into the weight (``4 * t * 32 >> 5 = 4 t``)."""
PRE_RANGE = 1.5
"""Full scale of a projected or residual pre signal, in units of the rule's largest pre trace."""
ACTIVITY_RANGE = 0.5
"""Full scale of graded OjaSubspace activity, in units of ``sqrt(n_pre)`` times the largest pre trace."""
MIN_THIRD_CODES = 8
"""A third factor's full scale must span at least this many codes (3 bits), else the rate is refused."""


def _trace_max(tau: float, dt: float) -> float:
    r"""Largest value of a spec trace :math:`x \leftarrow \alpha x + s`: :math:`1 / (1 - \alpha)`."""
    return 1.0 if tau == 0 else 1.0 / (1.0 - math.exp(-dt / tau))


def stochastic_codes(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    r"""Unbiased integer rounding: :math:`\lfloor v + U \rfloor`, ``U`` uniform on [0, 1)."""
    values = np.asarray(values, dtype=np.float64)
    return np.floor(values + rng.random(values.shape))


def encode_pre(signal: np.ndarray, pre_range: float, rng: np.random.Generator) -> np.ndarray:
    r"""Offset code of a signed pre signal for the 7-bit ``x1`` trace, pre-compensated for its one-step decay.

    :math:`x_1 = \mathrm{clip}(\mathrm{sr}((64 + 63\, p / p_{max}) / \alpha), 0, 127)` with
    :math:`\alpha` = :data:`THIRD_FACTOR_DECAY`; the engine's stochastic decay
    then leaves :math:`64 + 63 p / p_{max}` in expectation.
    """
    codes = (TRACE_ZERO + TRACE_STEPS * np.asarray(signal, dtype=np.float64) / pre_range) / THIRD_FACTOR_DECAY
    return np.clip(stochastic_codes(codes, rng), 0, TRACE_MAX)


def encode_signed(values: np.ndarray, scale: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A signed third factor as two even 7-bit inputs ``(y1, y2)``: ``2 sr(scale [v]+ / 2 alpha)`` and of ``[v]-``.

    Even codes make every product ``4 * x1 * y >> 3`` exact (no floor bias, see :func:`signed_product_terms`).
    """
    halves = scale * np.asarray(values, dtype=np.float64) / (2.0 * THIRD_FACTOR_DECAY)
    positive = np.clip(stochastic_codes(np.clip(halves, 0.0, None), rng), 0, TRACE_MAX // 2)
    negative = np.clip(stochastic_codes(np.clip(-halves, 0.0, None), rng), 0, TRACE_MAX // 2)
    return 2 * positive, 2 * negative


PRODUCT_MANTISSA = 4
"""Mantissa of the signed products: with even ``y`` codes, ``4 x1 y >> 3 = x1 y / 2`` exactly."""


def signed_product_terms(m: int, e: int) -> list[str]:
    r"""Lava terms of :math:`\frac{m 2^e}{8} (x_1 - 64)(y_1 - y_2)`.

    The engine shifts a product of two 7-bit traces and the 4-bit mantissa
    right by 3 bits (rounding toward :math:`-\infty`), a product of one trace
    and the mantissa not at all, so ``m*2^e * x1*y1`` is
    :math:`\lfloor m x_1 y_1 / 8 \rfloor 2^e` and ``m*2^(e+3) * y1`` is
    exactly :math:`64 m y_1 2^e / 8`: the offset cancels. With ``m = 4`` and
    even ``y`` codes the shift drops nothing, so the change is unbiased (a
    floor would bias every synapse by about -7/16 of a product step per step).
    """
    return [
        f" + {m}*2^{e} * u0 * x1 * y1",
        f" - {m}*2^{e + 3} * u0 * y1",
        f" - {m}*2^{e} * u0 * x1 * y2",
        f" + {m}*2^{e + 3} * u0 * y2",
    ]


def fit_third_scale(
    coefficient: float, pre_range: float, third_range: float, field_name: str
) -> tuple[int, int, float]:
    r"""``(m, e, s)`` for :math:`\Delta = c\, p\, f` (target steps) with codes of ``p`` and ``s f``.

    :math:`\frac{m 2^e}{8} (x_1 - 64)(y_1 - y_2) = c\,p\,f` when
    :math:`s = 8 c\, p_{max} / (63\, m 2^e)`, ``m`` = :data:`PRODUCT_MANTISSA`;
    the largest ``s`` with :math:`s f_{max} \le 127` is chosen (the finest
    third factor), so the learning rate is exact and only the codes round.
    """
    limit = TRACE_MAX / third_range
    best: tuple[int, int, float] | None = None
    for m in (PRODUCT_MANTISSA,):
        for e in range(-7, 6):
            scale = 8.0 * coefficient * pre_range / (TRACE_STEPS * m * 2.0**e)
            if scale <= limit and (best is None or scale > best[2]):
                best = (m, e, scale)
    if best is None:
        raise UnsupportedFeatureError(
            field_name,
            f"its rate is too large for Lava's fixed-point engine ({coefficient:.3g} weight steps per unit signal); "
            "lower eta or give the weights a wider range (larger steps)",
        )
    if best[2] * third_range < MIN_THIRD_CODES:
        raise UnsupportedFeatureError(
            field_name,
            f"its rate is below what 8-bit weights resolve ({coefficient:.3g} weight steps per unit signal leaves "
            f"{best[2] * third_range:.1f} third-factor codes); raise eta, narrow the weight range, or run "
            "numeric='float'",
        )
    return best


def fixed_graded_rule(
    rule: ErrorModulated | OjaSubspace, dt: float, unit: float, n_pre: int, options: dict[str, Any], field_name: str
) -> RulePlan:
    r"""ErrorModulated or OjaSubspace on Lava's fixed-point engine (see the module docstring, "Fixed point")."""
    pre_range = PRE_RANGE * _trace_max(rule.tau_pre, dt)
    common: dict[str, Any] = dict(taus={"x1": HOLD_TAU}, three_factor=True, eta=rule.eta, source=rule, fixed=True)
    if isinstance(rule, ErrorModulated):
        third_range = float(options.get("modulator_range", 1.0))
        m, e, scale = fit_third_scale(rule.eta * TAG_FRACTION / unit, pre_range, third_range, field_name)
        flush = f"{FLUSH // 8}*2^{{e}} * u0 * t * y3"  # (4 t y3) >> 5 = 4 t: times 2^(e+7) accumulator steps
        return RulePlan(
            rule.name,
            flush.format(e=round(math.log2(32 / TAG_FRACTION)) - 7),  # 4 t 32 / (128 K) = t / K weight steps
            dt=_sum([*signed_product_terms(m, e), " - " + flush.format(e=-2)]),
            modulator=rule.modulator,
            circuit="projected",
            pre_range=pre_range,
            third_scale=scale,
            accumulate=True,
            **common,
        )
    if rule.activity == "graded":
        third_range = ACTIVITY_RANGE * math.sqrt(n_pre) * _trace_max(rule.tau_pre, dt)
    else:
        third_range = _trace_max(rule.tau_post, dt)
    m, e, scale = fit_third_scale(rule.eta / unit, pre_range, third_range, field_name)
    return RulePlan(
        rule.name,
        _sum(signed_product_terms(m, e)),
        circuit="subspace",
        pre_range=pre_range,
        third_scale=scale,
        **common,
    )


def fixed_pair_stdp(
    rule: PairSTDP, dt: float, unit: float, n_pre: int, options: dict[str, Any], field_name: str
) -> RulePlan:
    r"""PairSTDP on Lava's fixed-point ("bit-approximate") learning engine.

    Weights are mantissas (``unit`` float per step), traces 7-bit integers
    with an integer impulse ``I`` per spike (the trace holds :math:`\approx I x`),
    and a spike-triggered product ``m 2^e y0 x1`` adds :math:`m 2^e x_1`
    mantissa steps, rounded stochastically. ``m, e, I`` are chosen so that
    :math:`m 2^e I = A_\pm / \text{unit}`; the relative error of each
    coefficient is kept in ``RulePlan.coefficient_errors``. The engine's
    stochastic trace decay and weight rounding add noise on top (measured:
    about 7% of the weight change, for the same spike trains).
    """
    plan = RulePlan(rule.name, "", rng_seed=1, taus={"x1": _steps(rule.tau_pre, dt), "y1": _steps(rule.tau_post, dt)})
    terms = []
    pairs = (("a_plus", rule.a_plus, "x1", "y0 * x1"), ("a_minus", -rule.a_minus, "y1", "x0 * y1"))
    for name, amplitude, trace, product in pairs:
        target = amplitude / unit
        if target == 0:
            continue
        if abs(target) > 7 * 2.0**8 * IMPULSE_RANGE[1]:
            raise UnsupportedFeatureError(
                field_name, f"{name} = {abs(target):.3g} weight steps per pair is beyond Lava's fixed-point engine"
            )
        m, e, impulse, error = _fit(target)
        plan.impulses[trace] = float(impulse)
        plan.coefficient_errors[name] = error
        terms.append(f" {'-' if m < 0 else '+'} {abs(m)}*2^{e} * {product}")
    plan.dw = _sum(terms) or "0*2^0 * u0"
    return plan


FixedTranslation = Callable[[Any, float, float, int, dict[str, Any], str], RulePlan]
"""``(rule, dt, unit, n_pre, options, field_name) -> RulePlan`` on Lava's fixed-point engine."""

FIXED_RULES: dict[type[PlasticityRule], FixedTranslation] = {
    PairSTDP: fixed_pair_stdp,
    ErrorModulated: fixed_graded_rule,
    OjaSubspace: fixed_graded_rule,
}
"""Rule class -> its fixed-point translation (Lava's ``fixed_point_rules``; the others: :data:`FIXED_REFUSAL`)."""


def fixed_rule(
    rule: PlasticityRule, dt: float, unit: float, field_name: str, n_pre: int = 0, options: dict[str, Any] | None = None
) -> RulePlan:
    r"""Express ``rule`` in Lava's fixed-point ("bit-approximate") learning engine (:data:`FIXED_RULES`).

    PairSTDP: :func:`fixed_pair_stdp`; ErrorModulated and OjaSubspace:
    :func:`fixed_graded_rule`. Any other rule is refused with its reason
    from :data:`FIXED_REFUSAL`.
    """
    translate = translation(FIXED_RULES, rule, "lava", field_name, "fixed", FIXED_REFUSAL)
    return translate(rule, dt, unit, n_pre, options or {}, field_name)


def third_factor_inputs(
    rule: RulePlan, modulator: np.ndarray, rng: np.random.Generator | None = None, flush_row: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""The ``y1, y2, y3`` a ``ModulatorSource`` sends for modulator values ``M`` (rows = steps).

    Lava decays third-factor inputs by :data:`THIRD_FACTOR_DECAY` before use,
    so the values are divided by it here. Fixed point (ErrorModulated): the
    signed ``M`` as two 7-bit codes (:func:`encode_signed`, drawn from
    ``rng``) and ``y3 =`` :data:`FLUSH` on ``flush_row`` (the run's last step).
    """
    if rule.fixed:
        assert rng is not None
        y1, y2 = encode_signed(modulator, rule.third_scale, rng)
        y3 = np.zeros_like(y1)
        if flush_row is not None:
            y3[flush_row] = FLUSH
        return y1, y2, y3
    scaled = rule.eta * np.asarray(modulator, dtype=np.float64) / THIRD_FACTOR_DECAY
    y3 = np.full_like(scaled, (1.0 - rule.alpha_e) / THIRD_FACTOR_DECAY)
    return scaled, scaled * rule.alpha_e, y3


def _monitors_by_target(network: Network) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for monitor in network.monitors:
        out.setdefault(monitor.target, []).append(monitor)
    return out


def build_plan(
    network: Network,
    numeric: str,
    fixed: FixedPointModel | None,
    chunk_steps: int | None,
    buffer_bytes: int,
    rule_options: dict[str, Any] | None = None,
    seed: int = 0,
    fuse: str = "auto",
) -> Plan:
    """The Lava plan of a validated, supported ``network``.

    Parameters
    ----------
    network
        The network.
    numeric
        ``"float"`` or ``"fixed"``.
    fixed
        Its quantization (fixed point only).
    chunk_steps
        Steps per Lava ``run`` call inside one :meth:`Simulation.run`; ``None``
        picks the largest that keeps the shared buffers under ``buffer_bytes``.
    buffer_bytes
        Budget for the shared input/record buffers of one chunk.
    rule_options
        Fixed point: ``{"modulator_range": float}`` (full scale of ErrorModulated's modulator).
    seed
        Seed of the stochastic rounding of fixed-point circuit signals and third factors.
    fuse
        ``"auto"``, ``"always"`` or ``"never"``: whether the worker runs the graph as one Lava
        process (the backend's ``fuse`` option).
    """
    rule_options = dict(rule_options or {})
    monitors = _monitors_by_target(network)
    neurons = []
    current_targets = {inp.target for inp in network.inputs if isinstance(inp, CurrentInput) and inp.target}
    for pop in network.populations:
        record = tuple(m.variable for m in monitors.get(pop.name, []))
        v_init = np.broadcast_to(np.asarray(pop.v_init, dtype=np.float64), (pop.size,)).copy()
        neuron = NeuronPlan(pop.name, pop.size, v_init, has_current=pop.name in current_targets, record=record)
        if numeric == "fixed":
            assert fixed is not None
            neuron.fixed = fixed.populations[pop.name]
            neuron.v_init = neuron.fixed.v_init.copy()
        else:
            neuron.float_params = LIFParams.from_neuron(pop.neuron, network.dt)
        neurons.append(neuron)
    used_sources = Topology.from_network(network).used_sources
    sources = [
        SourcePlan(inp.name, inp.size)
        for inp in network.inputs
        if isinstance(inp, SPIKE_SOURCE_TYPES) and inp.name in used_sources
    ]
    connections = []
    for proj in network.projections:
        field_name = f"projections[{proj.name!r}]"
        every = next((m.every for m in monitors.get(proj.name, []) if m.variable == "weights"), None)
        conn = ConnectionPlan(proj.name, proj.pre, proj.post, np.array(proj.weights, dtype=np.float64), proj.delay)
        conn.snapshot_every = every
        if proj.mask is not None:
            conn.mask = np.asarray(proj.mask, dtype=bool)
        if numeric == "fixed":
            assert fixed is not None
            fw = fixed.projections[proj.name]
            conn.weights, conn.exponent, conn.sign_mode = fw.mantissa.copy(), fw.exponent, fw.sign_mode
        rule = proj.plasticity
        if rule is not None:
            if numeric == "fixed":
                assert fixed is not None
                unit = conn.unit = fixed.projections[proj.name].unit
                n_pre = conn.weights.shape[1]
                conn.rule = fixed_rule(rule, network.dt, unit, f"{field_name}.plasticity", n_pre, rule_options)
                conn.rule.rng_seed = seed + 1
                conn.w_min = None if rule.w_min is None else math.ceil(rule.w_min / unit - 1e-9)
                conn.w_max = None if rule.w_max is None else math.floor(rule.w_max / unit + 1e-9)
            else:
                conn.rule = float_rule(rule, network.dt, f"{field_name}.plasticity")
                conn.w_min, conn.w_max = rule.w_min, rule.w_max
        connections.append(conn)
    plan = Plan(numeric, neurons, sources, connections, chunk=1, dt=network.dt, seed=seed, fuse=fuse)
    plan.chunk = chunk_length(plan, chunk_steps, buffer_bytes)
    validate_plan(plan)
    return plan


_FIXED_RANGE = {"excitatory": (0, 255), "inhibitory": (-255, 0), "mixed": (-256, 254)}


def validate_plan(plan: Plan) -> None:
    """Check what would make a Lava process fail (and the runtime hang) before any process starts.

    Fixed point: weights must be integer mantissas in their sign mode's range
    (even for mixed signs), exponents in ``0..7``, neuron constants integers.
    Float: weights finite. Both: delays within Lava's range.
    """
    for conn in plan.connections:
        field_name = f"projections[{conn.name!r}]"
        if not 1 <= conn.delay <= LAVA_MAX_DELAY:
            raise UnsupportedFeatureError(f"{field_name}.delay", f"must be 1..{LAVA_MAX_DELAY}, not {conn.delay}")
        if plan.numeric == "fixed":
            if not np.issubdtype(conn.weights.dtype, np.integer):
                raise UnsupportedFeatureError(
                    f"{field_name}.weights",
                    f"a fixed_pt run needs integer weight mantissas, got dtype {conn.weights.dtype} (Lava's "
                    "fixed-point Dense would fail inside its process); quantize with spikemem.fixed_point.quantize",
                )
            low, high = _FIXED_RANGE[conn.sign_mode]
            if conn.weights.size and (conn.weights.min() < low or conn.weights.max() > high):
                raise UnsupportedFeatureError(
                    f"{field_name}.weights", f"mantissas must lie in [{low}, {high}] for sign mode {conn.sign_mode!r}"
                )
            if conn.sign_mode == "mixed" and np.any(conn.weights % 2):
                raise UnsupportedFeatureError(
                    f"{field_name}.weights", "mixed-sign mantissas must be even (Loihi stores 8 signed bits, doubled)"
                )
            if not 0 <= conn.exponent <= 7:
                raise UnsupportedFeatureError(f"{field_name}.weights", f"weight exponent {conn.exponent} outside 0..7")
        elif not np.all(np.isfinite(conn.weights)):
            raise UnsupportedFeatureError(f"{field_name}.weights", "contains NaN or infinite values")
    for neuron in plan.neurons:
        if plan.numeric == "fixed" and (neuron.fixed is None or not np.issubdtype(neuron.v_init.dtype, np.integer)):
            raise UnsupportedFeatureError(
                f"populations[{neuron.name!r}]", "a fixed_pt run needs the integer constants of spikemem.fixed_point"
            )


def chunk_length(plan: Plan, requested: int | None, buffer_bytes: int) -> int:
    """Steps per Lava run call: a multiple of every weight-snapshot interval, within the buffer budget."""
    period = 1
    for conn in plan.connections:
        if conn.snapshot_every:
            period = math.lcm(period, conn.snapshot_every)
    if requested is not None:
        return max(period, requested - requested % period)
    per_step: float = sum(src.size for src in plan.sources)  # bytes; snapshots add fractions
    for neuron in plan.neurons:
        per_step += 8 * neuron.size * neuron.has_current
        per_step += neuron.size * ("spikes" in neuron.record) + 8 * neuron.size * ("v" in neuron.record)
    for conn in plan.connections:
        if conn.rule is not None and conn.rule.three_factor:
            per_step += 3 * 8 * conn.weights.shape[0]
        if conn.snapshot_every:
            per_step += 8 * conn.weights.size / conn.snapshot_every
    steps = int(min(10_000, max(1, buffer_bytes // max(per_step, 1))))
    return max(period, steps - steps % period)
