"""Validation of a :class:`~spikemem.spec.Network` before any simulator starts.

Every check raises :class:`~spikemem.spec.SpecError` whose message names the
field (``projections['in->exc'].weights``) and what a valid value looks like.
"""

from __future__ import annotations

import math
import typing
from typing import Any

import numpy as np

from spikemem.spec.errors import SpecError
from spikemem.spec.inputs import (
    INPUT_TYPES,
    CurrentInput,
    ModulatorInput,
    PoissonInput,
    SpikeInput,
)
from spikemem.spec.network import (
    POPULATION_VARIABLES,
    PROJECTION_VARIABLES,
    Monitor,
    Network,
    Population,
    Projection,
)
from spikemem.spec.neurons import LIF
from spikemem.spec.plasticity import MODULATED_RULES, PlasticityRule

RESET_MODES = ("value", "subtract")


def _finite_number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise SpecError(field, f"expected a finite number, got {value!r}")
    if not math.isfinite(float(value)):
        raise SpecError(field, f"must be finite, got {value!r}")
    return float(value)


def _positive(field: str, value: Any) -> float:
    number = _finite_number(field, value)
    if number <= 0:
        raise SpecError(field, f"must be > 0, got {value!r}")
    return number


def _is_inf(value: Any) -> bool:
    """True for ``math.inf`` (a float, not a bool)."""
    return isinstance(value, (float, np.floating)) and value == math.inf


def _int_at_least(field: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SpecError(field, f"expected an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise SpecError(field, f"must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _finite_array(field: str, value: Any) -> np.ndarray:
    if np.iscomplexobj(value):
        raise SpecError(field, "must be real; got complex values")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise SpecError(field, f"expected a numeric array ({exc})") from None
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise SpecError(field, f"contains {bad} NaN or infinite value(s); all entries must be finite")
    return array


def _shape(field: str, array: np.ndarray, allowed: list[tuple[int | None, ...]], meaning: str) -> None:
    for shape in allowed:
        if array.ndim == len(shape) and all(
            want is None or want == got for want, got in zip(shape, array.shape, strict=True)
        ):
            return
    wanted = " or ".join(str(tuple("steps" if s is None else s for s in shape)) for shape in allowed)
    raise SpecError(field, f"has shape {array.shape}; expected {wanted} ({meaning})")


def validate_neuron(field: str, neuron: Any, dt: float) -> None:
    """Check a neuron model against the network's time step."""
    if not isinstance(neuron, LIF):
        raise SpecError(field, f"expected a spikemem.spec.LIF, got {type(neuron).__name__}")
    tau = math.inf if _is_inf(neuron.tau_mem) else _positive(f"{field}.tau_mem", neuron.tau_mem)
    if dt >= tau:
        raise SpecError(f"{field}.tau_mem", f"must be larger than dt = {dt} s, got {tau} s")
    v_th = _positive(f"{field}.v_th", neuron.v_th)
    v_reset = _finite_number(f"{field}.v_reset", neuron.v_reset)
    if neuron.reset not in RESET_MODES:
        raise SpecError(f"{field}.reset", f"must be one of {RESET_MODES}, got {neuron.reset!r}")
    if neuron.reset == "value" and v_reset >= v_th:
        raise SpecError(f"{field}.v_reset", f"must be below v_th = {v_th}, got {v_reset}")
    _int_at_least(f"{field}.refractory_steps", neuron.refractory_steps, 0)


def _rule_field_types(rule: PlasticityRule) -> dict[str, Any]:
    """The rule class's field annotations, resolved (empty where they cannot be resolved)."""
    try:
        return typing.get_type_hints(type(rule))
    except (NameError, TypeError):
        return {}


def _validate_rule_field(field: str, name: str, value: Any, annotation: Any) -> None:
    """One rule parameter, by its annotation: numbers finite (``tau*``/``a_*`` >= 0), strings and literals as declared.

    ``None`` passes where the annotation allows it; arrays are checked where
    they are used (``basis``); a field without a resolvable annotation is
    checked as a number, like a bare ``float``.
    """
    args = typing.get_args(annotation)
    if value is None and type(None) in args:
        return
    if typing.get_origin(annotation) is typing.Literal:
        if value not in args:
            raise SpecError(field, f"must be one of {args}, got {value!r}")
        return
    if annotation is str:
        if not isinstance(value, str):
            raise SpecError(field, f"expected a string, got {value!r}")
        return
    if annotation is np.ndarray or np.ndarray in args:
        return
    number = _finite_number(field, value)
    if (name.startswith("tau") or name.startswith("a_")) and number < 0:
        raise SpecError(field, f"must be >= 0, got {value!r}")


def validate_rule(field: str, rule: Any, projection: Projection, network: Network) -> None:
    """Check a plasticity rule's parameters (by their declared types) and references.

    Any :class:`PlasticityRule` subclass passes on its parameters alone: whether
    a backend runs it is the backend's check (its rule table), not the spec's.
    """
    if not isinstance(rule, PlasticityRule):
        raise SpecError(field, f"expected a spikemem.spec plasticity rule, got {type(rule).__name__}")
    types = _rule_field_types(rule)
    for name, value in vars(rule).items():
        _validate_rule_field(f"{field}.{name}", name, value, types.get(name, float))
    if rule.w_min is not None and rule.w_max is not None and rule.w_min > rule.w_max:
        raise SpecError(f"{field}.w_min", f"must not exceed w_max = {rule.w_max}, got {rule.w_min}")
    basis = getattr(rule, "basis", None)
    if basis is not None:
        _validate_basis(f"{field}.basis", basis, network.source_size(projection.pre))
    if isinstance(rule, MODULATED_RULES):
        modulators = {inp.name: inp for inp in network.inputs if isinstance(inp, ModulatorInput)}
        if rule.modulator not in modulators:
            known = sorted(modulators) or "none defined"
            raise SpecError(
                f"{field}.modulator",
                f"no ModulatorInput named {rule.modulator!r}; known modulators: {known}",
            )
        values = np.asarray(modulators[rule.modulator].values)
        n_post = network.population(projection.post).size
        if values.ndim == 2 and values.shape[1] != n_post:
            raise SpecError(
                f"inputs[{rule.modulator!r}].values",
                f"has {values.shape[1]} columns but drives projection {projection.name!r} "
                f"with {n_post} postsynaptic neurons; use (steps,) or (steps, {n_post})",
            )


BASIS_TOLERANCE = 1e-6
"""Largest allowed :math:`|B B^\top - I|` entry of a rule's ``basis``."""


def _validate_basis(field: str, basis: Any, n_pre: int) -> None:
    """A rule's ``basis``: finite ``(k, n_pre)`` with orthonormal rows."""
    array = _finite_array(field, basis)
    if array.ndim != 2 or array.shape[1] != n_pre or array.shape[0] > n_pre:
        raise SpecError(field, f"must be (k, {n_pre}) with k <= {n_pre} (one row per basis vector); got {array.shape}")
    gram = array @ array.T
    error = float(np.abs(gram - np.eye(array.shape[0])).max(initial=0.0))
    if error > BASIS_TOLERANCE:
        raise SpecError(
            field,
            f"rows must be orthonormal (max |B B^T - I| = {error:.2e} > {BASIS_TOLERANCE}); "
            "orthonormalize them, e.g. numpy.linalg.qr(B.T)[0].T",
        )


def _validate_population(field: str, pop: Population, dt: float) -> None:
    _int_at_least(f"{field}.size", pop.size, 1)
    validate_neuron(f"{field}.neuron", pop.neuron, dt)
    v_init = _finite_array(f"{field}.v_init", pop.v_init)
    if v_init.ndim != 0:
        _shape(f"{field}.v_init", v_init, [(pop.size,)], "one value per neuron, or a scalar")


def _validate_input(field: str, inp: Any, network: Network, dt: float) -> None:
    if isinstance(inp, SpikeInput):
        spikes = np.asarray(inp.spikes)
        _shape(f"{field}.spikes", spikes, [(None, None)], "steps x channels")
        if spikes.shape[1] < 1:
            raise SpecError(f"{field}.spikes", "needs at least one channel (shape (steps, size >= 1))")
        if spikes.dtype != bool and not np.all((spikes == 0) | (spikes == 1)):
            raise SpecError(f"{field}.spikes", "must be boolean or contain only 0 and 1")
    elif isinstance(inp, PoissonInput):
        size = _int_at_least(f"{field}.size", inp.size, 1)
        rates = _finite_array(f"{field}.rate_hz", inp.rate_hz)
        if rates.ndim != 0:
            _shape(f"{field}.rate_hz", rates, [(size,)], "one rate per channel, or a scalar")
        if np.any(rates < 0) or np.any(rates * dt > 1):
            raise SpecError(f"{field}.rate_hz", f"rates must lie in [0, 1/dt] = [0, {1 / dt:g}] Hz")
        _int_at_least(f"{field}.seed", inp.seed, 0)
    elif isinstance(inp, CurrentInput):
        try:
            target = network.population(inp.target)
        except KeyError:
            names = [pop.name for pop in network.populations]
            raise SpecError(f"{field}.target", f"no population named {inp.target!r}; known: {names}") from None
        values = _finite_array(f"{field}.values", inp.values)
        _shape(f"{field}.values", values, [(target.size,), (None, target.size)], "constant or steps x neurons")
    elif isinstance(inp, ModulatorInput):
        values = _finite_array(f"{field}.values", inp.values)
        if values.ndim not in (1, 2):
            raise SpecError(f"{field}.values", f"has shape {values.shape}; expected (steps,) or (steps, n_post)")
    else:
        raise SpecError(
            field,
            f"unknown input type {type(inp).__name__}; use SpikeInput, PoissonInput, CurrentInput or ModulatorInput",
        )


def _validate_projection(field: str, proj: Projection, network: Network) -> None:
    try:
        n_pre = network.source_size(proj.pre)
    except KeyError:
        raise SpecError(
            f"{field}.pre", f"no population or spike input named {proj.pre!r}; known: {_source_names(network)}"
        ) from None
    try:
        n_post = network.population(proj.post).size
    except KeyError:
        names = [pop.name for pop in network.populations]
        raise SpecError(f"{field}.post", f"no population named {proj.post!r}; known: {names}") from None
    weights = _finite_array(f"{field}.weights", proj.weights)
    _shape(
        f"{field}.weights",
        weights,
        [(n_post, n_pre)],
        f"n_post={n_post} of {proj.post!r} x n_pre={n_pre} of {proj.pre!r}",
    )
    _int_at_least(f"{field}.delay", proj.delay, 1)
    if proj.mask is not None:
        mask = np.asarray(proj.mask)
        _shape(f"{field}.mask", mask, [(n_post, n_pre)], "same shape as weights")
        if mask.dtype != bool:
            raise SpecError(f"{field}.mask", f"must be a boolean array, got dtype {mask.dtype}")
        if np.any(weights[~mask] != 0):
            raise SpecError(f"{field}.weights", "is nonzero where mask is False; zero those entries or fix the mask")
    if proj.plasticity is not None:
        validate_rule(f"{field}.plasticity", proj.plasticity, proj, network)


def _validate_monitor(field: str, monitor: Monitor, network: Network) -> None:
    projections = {proj.name for proj in network.projections}
    populations = {pop.name for pop in network.populations}
    spike_inputs = {inp.name for inp in network.inputs if isinstance(inp, (SpikeInput, PoissonInput))}
    if monitor.target in projections and monitor.target in populations | spike_inputs:
        raise SpecError(
            f"{field}.target",
            f"{monitor.target!r} names both a projection and a population or spike input, so the monitor is "
            "ambiguous; rename the projection",
        )
    if monitor.target in projections:
        allowed: tuple[str, ...] = PROJECTION_VARIABLES
    elif monitor.target in populations:
        allowed = POPULATION_VARIABLES
    elif monitor.target in spike_inputs:
        allowed = ("spikes", "count")
    else:
        known = sorted(populations | spike_inputs | projections)
        raise SpecError(
            f"{field}.target", f"no population, spike input or projection named {monitor.target!r}; known: {known}"
        )
    if monitor.variable not in allowed:
        raise SpecError(
            f"{field}.variable", f"{monitor.target!r} has no variable {monitor.variable!r}; choose one of {allowed}"
        )
    if monitor.every is not None:
        if monitor.variable != "weights":
            raise SpecError(f"{field}.every", "only applies to 'weights' monitors; leave it None")
        _int_at_least(f"{field}.every", monitor.every, 1)


def _source_names(network: Network) -> list[str]:
    return [pop.name for pop in network.populations] + [
        inp.name for inp in network.inputs if isinstance(inp, (SpikeInput, PoissonInput))
    ]


def _unique(kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name:
            raise SpecError(f"{kind}", f"every name must be a non-empty string, got {name!r}")
        if name in seen:
            raise SpecError(f"{kind}[{name!r}]", "name is used twice; names must be unique")
        seen.add(name)


def _items(field: str, items: Any, types: tuple[type, ...]) -> None:
    if not isinstance(items, (list, tuple)):
        raise SpecError(field, f"must be a list, got {type(items).__name__}")
    for index, item in enumerate(items):
        if not isinstance(item, types):
            names = " or ".join(t.__name__ for t in types)
            raise SpecError(f"{field}[{index}]", f"expected a {names}, got {type(item).__name__}")


def validate(network: Network) -> None:
    """Check every field of ``network``; raise :class:`SpecError` on the first problem."""
    if not isinstance(network, Network):
        raise SpecError("network", f"expected a spikemem.spec.Network, got {type(network).__name__}")
    dt = _positive("dt", network.dt)
    _items("populations", network.populations, (Population,))
    _items("inputs", network.inputs, INPUT_TYPES)
    _items("projections", network.projections, (Projection,))
    _items("monitors", network.monitors, (Monitor,))
    if not network.populations:
        raise SpecError("populations", "a network needs at least one population")
    _unique("populations+inputs", [p.name for p in network.populations] + [i.name for i in network.inputs])
    _unique("projections", [p.name for p in network.projections])
    for pop in network.populations:
        _validate_population(f"populations[{pop.name!r}]", pop, dt)
    for inp in network.inputs:
        _validate_input(f"inputs[{inp.name!r}]", inp, network, dt)
    for proj in network.projections:
        _validate_projection(f"projections[{proj.name!r}]", proj, network)
    for index, monitor in enumerate(network.monitors):
        _validate_monitor(f"monitors[{index}]", monitor, network)
    _unique("monitors", [m.key for m in network.monitors])
