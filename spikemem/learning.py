r"""Reference implementations of the plasticity rules of :mod:`spikemem.spec.plasticity`.

One pure step per rule, on numpy arrays or torch tensors (no batch axis:
weights are shared state). The reference backend and the snnTorch backend
call these; Brian2 and Lava translate the same equations into their own
languages and are tested against these functions.

Each rule class has one entry in :data:`REFERENCE_RULES` (its weight change
and, where it keeps one, its eligibility step); the reference and snnTorch
backends run exactly the rules of that table.

Per step ``t``, after the neurons have been updated:

1. traces: :math:`x \leftarrow \alpha_{pre} x + s^{pre}`,
   :math:`y \leftarrow \alpha_{post} y + s^{post}`,
2. the rule's extra state (ThreeFactor's eligibility trace), then its
   :math:`\Delta W`, from the traces/spikes of step ``t``,
3. :math:`W \leftarrow \mathrm{clip}(W + \Delta W, w_{min}, w_{max})`, and
   zero where the projection's mask has no synapse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spikemem._arrays import namespace
from spikemem.spec import (
    ErrorModulated,
    Hebb,
    Oja,
    OjaSubspace,
    PairSTDP,
    PlasticityRule,
    ThreeFactor,
    project_out,
    trace_decay,
)


@dataclass
class RuleState:
    """Traces of one plastic projection.

    Attributes
    ----------
    x
        Presynaptic trace ``(n_pre,)``.
    y
        Postsynaptic trace ``(n_post,)`` (unused by :class:`ThreeFactor`).
    eligibility
        Eligibility trace ``(n_post, n_pre)`` for :class:`ThreeFactor`, else None.
    basis
        The rule's ``basis`` in the weights' array library, dtype and device
        (converted once), or None.
    """

    x: Any
    y: Any
    eligibility: Any = None
    basis: Any = None


def initial_state(rule: PlasticityRule, weights: Any) -> RuleState:
    """Zero traces shaped for ``weights`` (numpy array or torch tensor)."""
    xp = namespace(weights)
    eligibility = xp.zeros_like(weights) if reference_rule(rule).eligibility is not None else None
    basis = getattr(rule, "basis", None)
    if basis is not None:
        basis = _like(basis, weights)
    return RuleState(x=xp.zeros_like(weights[0]), y=xp.zeros_like(weights[:, 0]), eligibility=eligibility, basis=basis)


def _like(array: Any, weights: Any) -> Any:
    """``array`` converted to the library, dtype and device of ``weights``."""
    if hasattr(weights, "new_tensor"):
        return weights.new_tensor(array)
    return namespace(weights).asarray(array, dtype=weights.dtype)


def _tau_pre(rule: PlasticityRule) -> float:
    return float(getattr(rule, "tau_pre", 0.0))


def _tau_post(rule: PlasticityRule) -> float:
    return float(getattr(rule, "tau_post", 0.0))


def _spikes_as(spikes: Any, weights: Any) -> Any:
    """Boolean spikes as numbers of the weights' dtype (numpy arrays or torch tensors)."""
    return spikes.to(weights.dtype) if hasattr(spikes, "to") else spikes.astype(weights.dtype)


def _needs_modulator(rule: PlasticityRule, modulator: Any) -> Any:
    if modulator is None:
        raise ValueError(f"{rule.name} needs the modulator value of this step")
    return modulator


def _hebb_change(rule: Hebb, weights: Any, state: RuleState, s_pre: Any, s_post: Any, modulator: Any) -> Any:
    r""":math:`\Delta W = \eta\,(y - \theta_{post})(x - \theta_{pre})^\top`."""
    return rule.eta * (state.y - rule.post_offset)[:, None] * (state.x - rule.pre_offset)[None, :]


def _oja_change(rule: Oja, weights: Any, state: RuleState, s_pre: Any, s_post: Any, modulator: Any) -> Any:
    r""":math:`\Delta W_{ij} = \eta\, y_i (x_j - y_i W_{ij})`."""
    x, y = state.x, state.y
    return rule.eta * y[:, None] * (x[None, :] - y[:, None] * weights)


def _oja_subspace_change(
    rule: OjaSubspace, weights: Any, state: RuleState, s_pre: Any, s_post: Any, modulator: Any
) -> Any:
    r""":math:`\Delta W = \eta\, y (\tilde x - W^\top y)^\top`, :math:`\tilde x = x - B^\top B x`."""
    x_perp = project_out(state.x, state.basis)
    return oja_subspace_change(rule.eta, weights, x_perp, subspace_activity(rule, weights, x_perp, state.y))


def _pair_stdp_change(rule: PairSTDP, weights: Any, state: RuleState, s_pre: Any, s_post: Any, modulator: Any) -> Any:
    r""":math:`\Delta W = A_+ s^{post} x^\top - A_- y\, (s^{pre})^\top`."""
    return rule.a_plus * s_post[:, None] * state.x[None, :] - rule.a_minus * state.y[:, None] * s_pre[None, :]


def _three_factor_change(
    rule: ThreeFactor, weights: Any, state: RuleState, s_pre: Any, s_post: Any, modulator: Any
) -> Any:
    r""":math:`\Delta W_{ij} = \eta\, M_i\, e_{ij}`."""
    # (1,) broadcasts as a global signal, (n_post,) as one value per neuron
    return rule.eta * _needs_modulator(rule, modulator).reshape(-1)[:, None] * state.eligibility


def _three_factor_eligibility(rule: ThreeFactor, state: RuleState, s_pre: Any, s_post: Any, dt: float) -> Any:
    r""":math:`e \leftarrow \alpha_e e + s^{post} x^\top`."""
    alpha_e = trace_decay(rule.tau_eligibility, dt)
    return alpha_e * state.eligibility + s_post[:, None] * state.x[None, :]


def _error_modulated_change(
    rule: ErrorModulated, weights: Any, state: RuleState, s_pre: Any, s_post: Any, modulator: Any
) -> Any:
    r""":math:`\Delta W_{ij} = \eta\, M_i\, \tilde x_j`, :math:`\tilde x = x - B^\top B x`."""
    m = _needs_modulator(rule, modulator)
    return rule.eta * m.reshape(-1)[:, None] * project_out(state.x, state.basis)[None, :]


WeightChange = Callable[[Any, Any, RuleState, Any, Any, Any], Any]
"""``(rule, weights, state, s_pre, s_post, modulator) -> dW`` from the traces of this step (spikes as numbers)."""
EligibilityStep = Callable[[Any, RuleState, Any, Any, float], Any]
"""``(rule, state, s_pre, s_post, dt) -> e`` of this step, from the traces already updated for it."""


@dataclass(frozen=True)
class ReferenceRule:
    r"""The pieces of one rule's reference step (module docstring, step 2).

    Attributes
    ----------
    change
        :math:`\Delta W` of the step.
    eligibility
        The step of the rule's eligibility trace ``RuleState.eligibility``
        (run after the traces, before ``change``); None for a rule without one.
    """

    change: WeightChange
    eligibility: EligibilityStep | None = None


REFERENCE_RULES: dict[type[PlasticityRule], ReferenceRule] = {
    Hebb: ReferenceRule(_hebb_change),
    Oja: ReferenceRule(_oja_change),
    OjaSubspace: ReferenceRule(_oja_subspace_change),
    PairSTDP: ReferenceRule(_pair_stdp_change),
    ThreeFactor: ReferenceRule(_three_factor_change, eligibility=_three_factor_eligibility),
    ErrorModulated: ReferenceRule(_error_modulated_change),
}
"""Rule class -> its reference step: exactly the rules the reference and snnTorch backends run.

A rule class is looked up by its exact type (a subclass may mean other
equations); a new rule adds its entry here.
"""


def reference_rule(rule: PlasticityRule) -> ReferenceRule:
    """The entry of ``rule``'s class in :data:`REFERENCE_RULES`.

    Raises
    ------
    TypeError
        The class has no reference step (backends refuse such a rule at
        compile time, see :meth:`spikemem.backend.Backend.check_supported`).
    """
    try:
        return REFERENCE_RULES[type(rule)]
    except KeyError:
        known = [cls.__name__ for cls in REFERENCE_RULES]
        raise TypeError(f"no reference implementation for {type(rule).__name__}; there is one for {known}") from None


def weight_change(
    rule: PlasticityRule,
    weights: Any,
    state: RuleState,
    pre_spikes: Any,
    post_spikes: Any,
    modulator: Any = None,
) -> Any:
    r"""The rule's :math:`\Delta W` for one step, from traces already updated for it."""
    return reference_rule(rule).change(
        rule, weights, state, _spikes_as(pre_spikes, weights), _spikes_as(post_spikes, weights), modulator
    )


def subspace_activity(rule: OjaSubspace, weights: Any, x_perp: Any, y_trace: Any) -> Any:
    r"""The lateral activity :math:`y` of :class:`~spikemem.spec.OjaSubspace`.

    :math:`y = W \tilde x` for ``activity="graded"``, else the postsynaptic
    spike trace ``y_trace``.
    """
    return weights @ x_perp if rule.activity == "graded" else y_trace


def reconstruction_residual(weights: Any, x: Any, y: Any) -> Any:
    r"""What the lateral neurons leave unexplained: :math:`r = x - W^\top y` (``(n,)`` or a batch ``(B, n)``)."""
    return x - y @ weights


def oja_subspace_change(eta: float, weights: Any, x: Any, y: Any) -> Any:
    r"""The :class:`~spikemem.spec.OjaSubspace` update, for one sample or the mean of a batch.

    .. math::

        \Delta W = \eta\, y\,(x - W^\top y)^\top
        \qquad\text{or}\qquad
        \Delta W = \frac{\eta}{B} \sum_{b} y_b\,(x_b - W^\top y_b)^\top

    Parameters
    ----------
    eta
        Learning rate.
    weights
        ``W``, ``(k, n)``: one row per lateral (postsynaptic) neuron.
    x
        Presynaptic activity, ``(n,)`` or a batch ``(B, n)``.
    y
        Lateral activity, ``(k,)`` or ``(B, k)``; usually ``W x``, but passed
        explicitly so that a caller can update a block of rows of a larger
        ``W`` (HLOP's new lateral neurons, with the fixed rows' reconstruction
        already subtracted from ``x``: see :mod:`spikemem.continual.subspace`).
    """
    residual = reconstruction_residual(weights, x, y)
    if x.ndim == 1:
        return eta * y[:, None] * residual[None, :]
    return eta * (y.T @ residual) / x.shape[0]


def advance_traces(rule: PlasticityRule, state: RuleState, s_pre: Any, s_post: Any, dt: float) -> None:
    r"""Step 1 of the module docstring, in place: :math:`x \leftarrow \alpha_{pre} x + s^{pre}`, likewise ``y``.

    ``s_pre`` and ``s_post`` are this step's spikes as numbers (``s_post`` may be
    empty, with an empty ``state.y``, where only the presynaptic trace is kept).
    """
    state.x = trace_decay(_tau_pre(rule), dt) * state.x + s_pre
    state.y = trace_decay(_tau_post(rule), dt) * state.y + s_post


def rule_step(
    rule: PlasticityRule,
    weights: Any,
    state: RuleState,
    pre_spikes: Any,
    post_spikes: Any,
    dt: float,
    modulator: Any = None,
    mask: Any = None,
) -> Any:
    """Advance traces by one step (in place on ``state``) and return the new weights.

    Parameters
    ----------
    rule
        The projection's rule.
    weights
        ``(n_post, n_pre)`` weights used during step ``t``.
    state
        Traces after step ``t - 1``; updated to step ``t``.
    pre_spikes, post_spikes
        Boolean spikes emitted at step ``t``.
    dt
        Time step in seconds.
    modulator
        Third factor of step ``t``, ``(1,)`` or ``(n_post,)`` (ThreeFactor and ErrorModulated).
    mask
        Optional boolean synapse mask: weights stay zero where False.
    """
    entry = reference_rule(rule)
    xp = namespace(weights)
    s_pre, s_post = _spikes_as(pre_spikes, weights), _spikes_as(post_spikes, weights)
    advance_traces(rule, state, s_pre, s_post, dt)
    if entry.eligibility is not None:
        state.eligibility = entry.eligibility(rule, state, s_pre, s_post, dt)
    new = weights + entry.change(rule, weights, state, s_pre, s_post, modulator)
    if rule.w_min is not None or rule.w_max is not None:
        new = xp.clip(new, rule.w_min, rule.w_max)
    if mask is not None:
        new = new * mask
    return new
