r"""Plasticity rules of the spec: named parameter sets, not equation strings.

Every rule acts on one :class:`~spikemem.spec.Projection` with weights ``W``
of shape ``(n_post, n_pre)``. Spikes enter the rules at their *emission* step:
``s_pre[t]`` is what the presynaptic population (or input) emitted at step ``t``
and ``s_post[t]`` what the postsynaptic population emitted at step ``t``,
whatever the projection's transmission delay. After the neurons of step ``t``
are updated, each rule updates its traces and then the weights; the new
weights act from step ``t + 1`` on.

Traces (the same for every rule that uses them), with
:math:`\alpha = e^{-dt/\tau}` (and :math:`\alpha = 0` for :math:`\tau = 0`):

.. math::

    x_j[t] = \alpha_{pre}\, x_j[t-1] + s^{pre}_j[t], \qquad
    y_i[t] = \alpha_{post}\, y_i[t-1] + s^{post}_i[t]

Traces start at zero. After every update the weights are clipped to
``[w_min, w_max]`` where those bounds are given. Learning rates are per step.
The numpy reference of each rule lives in :mod:`spikemem.learning`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np


def trace_decay(tau: float, dt: float) -> float:
    r"""Per-step trace decay :math:`\alpha = e^{-dt/\tau}`, 0 for ``tau == 0``."""
    return 0.0 if tau == 0 else math.exp(-dt / tau)


@dataclass(frozen=True, kw_only=True)
class PlasticityRule:
    """Base of all rules: optional weight bounds.

    Parameters
    ----------
    w_min, w_max
        Weights are clipped to this range after every update; ``None`` leaves
        that side unbounded.
    """

    w_min: float | None = None
    w_max: float | None = None

    @property
    def name(self) -> str:
        """The rule's class name, as backends list their rules (they look a rule up by its class)."""
        return type(self).__name__

    @property
    def options(self) -> tuple[str, ...]:
        """Options in use that change the rule's equations, as ``"Rule.option"`` (backends may refuse them)."""
        used = []
        if getattr(self, "basis", None) is not None:
            used.append(f"{self.name}.basis")
        activity = getattr(self, "activity", "spikes")
        if activity != "spikes":
            used.append(f"{self.name}.activity={activity}")
        return tuple(used)


@dataclass(frozen=True, kw_only=True)
class Hebb(PlasticityRule):
    r"""Hebbian covariance (outer-product) rule on traces.

    .. math::

        \Delta W_{ij}[t] = \eta\,(y_i[t] - \theta_{post})\,(x_j[t] - \theta_{pre})

    With ``tau_pre = tau_post = 0`` the traces are the spikes themselves and
    the rule accumulates the outer product of coincident spikes; the offsets
    turn it into the covariance rule.

    Parameters
    ----------
    eta
        Learning rate per step.
    tau_pre, tau_post
        Trace time constants in seconds (0: the trace is the spike train).
    pre_offset, post_offset
        Subtracted activity levels :math:`\theta_{pre}`, :math:`\theta_{post}`.
    """

    eta: float
    tau_pre: float = 0.0
    tau_post: float = 0.0
    pre_offset: float = 0.0
    post_offset: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Oja(PlasticityRule):
    r"""Oja's single-neuron rule (local: each synapse sees only its own neurons).

    .. math::

        \Delta W_{ij}[t] = \eta\, y_i[t]\,\bigl(x_j[t] - y_i[t]\, W_{ij}\bigr)

    Parameters
    ----------
    eta
        Learning rate per step.
    tau_pre, tau_post
        Trace time constants in seconds.
    """

    eta: float
    tau_pre: float = 0.02
    tau_post: float = 0.02


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is not None and b is not None and np.array_equal(np.asarray(a), np.asarray(b))
    return bool(a == b)


class _ArrayFieldEquality:
    """Field-wise ``==`` for rules that hold arrays (a generated ``__eq__`` would compare arrays as booleans)."""

    # Both `type: ignore[arg-type]` below: this mixin is used on dataclasses only; mypy cannot see that in fields().
    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))  # type: ignore[arg-type]

    def __hash__(self) -> int:  # consistent with __eq__: arrays hash by dtype, shape and bytes
        return hash((type(self).__name__, *(_hashable(getattr(self, f.name)) for f in fields(self))))  # type: ignore[arg-type]


def _hashable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tobytes())
    return value


def project_out(x: Any, basis: Any) -> Any:
    r"""The part of ``x`` orthogonal to the rows of ``basis``: :math:`\tilde x = x - B^\top (B x)`.

    ``basis`` is ``None`` (nothing removed) or ``(k, n)`` with orthonormal
    rows; ``x`` is ``(n,)`` or a batch ``(..., n)``. Works on numpy arrays and
    torch tensors alike (``basis`` in the same library).
    """
    if basis is None:
        return x
    return x - (x @ basis.T) @ basis


@dataclass(frozen=True, kw_only=True, eq=False)
class OjaSubspace(_ArrayFieldEquality, PlasticityRule):
    r"""Oja's subspace rule, the HLOP lateral rule (Xiao et al., ICLR 2024).

    The postsynaptic (lateral) neurons read ``y = W x`` and reconstruct the
    input as ``W^T y``; the rule moves ``W`` toward an orthonormal basis of
    the principal subspace of the presynaptic activity:

    .. math::

        \Delta W[t] = \eta\, y[t]\,\bigl(\tilde x[t] - W^\top y[t]\bigr)^\top,
        \qquad \tilde x = x - B^\top B\, x

    where ``B`` is the optional fixed ``basis`` (HLOP's consolidated lateral
    neurons of earlier tasks, orthonormal rows): with it, the rule learns the
    principal subspace of what the earlier subspace does not explain, so the
    new rows come out orthogonal to ``B`` (HLOP's block update). Without it,
    :math:`\tilde x = x`.

    ``y`` is, by ``activity``:

    - ``"spikes"``: the postsynaptic spike trace (time constant ``tau_post``);
    - ``"graded"``: the lateral neurons' graded response to the same trace,
      :math:`y[t] = W \tilde x[t]` (signed; Loihi 2 carries it as a graded
      spike). This is HLOP's lateral activity; the postsynaptic population's
      own spikes are not used by the rule (``tau_post`` is ignored).

    The reconstruction term :math:`(W^\top y)_j = \sum_k W_{kj} y_k` (and the
    basis term) is not local to one synapse; a backend whose learning engine
    sees only the synapse's own neurons must refuse this rule (use
    :class:`Oja`, or a circuit whose presynaptic neurons fire the residual).

    Parameters
    ----------
    eta
        Learning rate per step.
    tau_pre, tau_post
        Trace time constants in seconds.
    activity
        ``"spikes"`` or ``"graded"`` (see above).
    basis
        Optional ``(k, n_pre)`` array with orthonormal rows.
    """

    eta: float
    tau_pre: float = 0.02
    tau_post: float = 0.02
    activity: Literal["spikes", "graded"] = "spikes"
    basis: np.ndarray | None = None


@dataclass(frozen=True, kw_only=True)
class PairSTDP(PlasticityRule):
    r"""Pair-based spike-timing-dependent plasticity with all-to-all traces.

    .. math::

        \Delta W_{ij}[t] = A_+\, s^{post}_i[t]\, x_j[t] - A_-\, y_i[t]\, s^{pre}_j[t]

    Both traces include the spikes of step ``t``, so a simultaneous pre/post
    pair changes the weight by :math:`A_+ - A_-`.

    Parameters
    ----------
    a_plus, a_minus
        Potentiation and depression amplitudes (>= 0).
    tau_pre, tau_post
        Trace time constants in seconds.
    """

    a_plus: float
    a_minus: float
    tau_pre: float = 0.02
    tau_post: float = 0.02


@dataclass(frozen=True, kw_only=True)
class ThreeFactor(PlasticityRule):
    r"""Eligibility trace times a modulatory third factor.

    .. math::

        e_{ij}[t] &= \alpha_e\, e_{ij}[t-1] + s^{post}_i[t]\, x_j[t] \\
        \Delta W_{ij}[t] &= \eta\, M_i[t]\, e_{ij}[t]

    ``M`` comes from the :class:`~spikemem.spec.ModulatorInput` named by
    ``modulator``: one value per step (global signal) or one per postsynaptic
    neuron and step.

    Parameters
    ----------
    eta
        Learning rate per step.
    modulator
        Name of a ``ModulatorInput`` of the network.
    tau_eligibility
        Eligibility-trace time constant in seconds.
    tau_pre
        Presynaptic trace time constant in seconds.
    """

    eta: float
    modulator: str
    tau_eligibility: float = 0.05
    tau_pre: float = 0.02


@dataclass(frozen=True, kw_only=True, eq=False)
class ErrorModulated(_ArrayFieldEquality, PlasticityRule):
    r"""Error-modulated presynaptic trace (the delta rule as a three-factor rule), optionally projected.

    .. math::

        \Delta W_{ij}[t] = \eta\, M_i[t]\, \tilde x_j[t], \qquad
        \tilde x = x - B^\top B\, x

    ``M`` comes from the :class:`~spikemem.spec.ModulatorInput` named by
    ``modulator`` (one value per step, or one per postsynaptic neuron and
    step): typically the output error :math:`\text{target} - \text{output}`
    of the sample being presented. Unlike :class:`ThreeFactor` there is no
    postsynaptic factor: with ``tau_pre = 0`` the trace is the spike train
    and a window of ``T`` steps with a constant ``M`` changes ``W`` by
    :math:`\eta M c^\top` (``c`` the presynaptic spike counts), the delta rule.

    ``basis`` (orthonormal rows ``B``, HLOP's consolidated lateral subspace of
    earlier tasks) projects the presynaptic trace orthogonally to that
    subspace, so the update cannot change the response to any input inside
    it: HLOP's projected update. Locally, this is a second pathway from the
    lateral neurons (activity :math:`y = B x`) onto the same postsynaptic
    neurons whose weights learn :math:`-\eta M y^\top`; the sum of both
    pathways changes by exactly :math:`\eta M \tilde x^\top`.

    Parameters
    ----------
    eta
        Learning rate per step.
    modulator
        Name of a ``ModulatorInput`` of the network.
    tau_pre
        Presynaptic trace time constant in seconds (0: the spikes themselves).
    basis
        Optional ``(k, n_pre)`` array with orthonormal rows.
    """

    eta: float
    modulator: str
    tau_pre: float = 0.0
    basis: np.ndarray | None = None


RULE_TYPES: tuple[type[PlasticityRule], ...] = (Hebb, Oja, OjaSubspace, PairSTDP, ThreeFactor, ErrorModulated)
"""Every rule class of the spec, for the serializer's registry.

Backends do not copy this list: each advertises exactly the rules of its own
rule table (:meth:`spikemem.backend.Capabilities.from_tables`). Adding a rule
means its class here, its reference step in :data:`spikemem.learning.REFERENCE_RULES`
and an entry in the table of each backend that translates it.
"""

MODULATED_RULES: tuple[type[ThreeFactor], type[ErrorModulated]] = (ThreeFactor, ErrorModulated)
"""Rules that read a third factor from the :class:`~spikemem.spec.ModulatorInput` named by their ``modulator``."""
