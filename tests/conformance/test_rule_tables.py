"""Plasticity rules go through each backend's rule table: the capabilities are the table, and a rule class
without an entry is refused at compile time, before any simulator starts, with an error naming the projection,
the rule and the backend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pytest
from backend_selection import BACKENDS
from cases import RULES, plastic

from spikemem.backend import Backend, Capabilities, UnsupportedFeatureError, translation
from spikemem.backends import backend_names, get_backend
from spikemem.backends.brian2_backend._plan import RULE_CODE
from spikemem.backends.lava_backend._plan import FIXED_REFUSAL, FIXED_RULES, FLOAT_RULES
from spikemem.learning import REFERENCE_RULES, initial_state, rule_step
from spikemem.spec import RULE_TYPES, Hebb, PlasticityRule, SpecError

FIELD = "projections['plastic'].plasticity"


@dataclass(frozen=True, kw_only=True)
class Decay(PlasticityRule):
    r"""A rule no backend translates: :math:`\Delta W = -\eta W` (``where``: every synapse, or only positive ones)."""

    eta: float
    where: Literal["all", "positive"] = "all"
    label: str = "decay"


ShadowHebb = type("Hebb", (Hebb,), {"__module__": __name__, "__qualname__": "Hebb"})
"""A user's subclass of a known rule with the same name: it may mean other equations, so it has no translation."""


TABLES: dict[str, tuple[dict[type[PlasticityRule], Any], dict[type[PlasticityRule], Any]]] = {
    "reference": (REFERENCE_RULES, {}),
    "snntorch": (REFERENCE_RULES, {}),
    "brian2": (RULE_CODE, {}),
    "lava": (FLOAT_RULES, FIXED_RULES),
}
"""Each backend's float and fixed-point rule tables."""


def test_every_backend_has_its_tables_here() -> None:
    assert sorted(TABLES) == sorted(backend_names()) == sorted(BACKENDS)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_capabilities_are_the_tables(name: str) -> None:
    float_table, fixed_table = TABLES[name]
    caps = get_backend(name).capabilities
    assert caps.rule_types == tuple(float_table)
    assert caps.rules == tuple(cls.__name__ for cls in float_table)
    assert caps.fixed_point_rule_types == tuple(fixed_table)
    assert caps.fixed_point_rules == tuple(cls.__name__ for cls in fixed_table)
    assert set(fixed_table) <= set(float_table)
    assert caps.as_dict()["rules"] == list(caps.rules)


def test_lava_refuses_in_fixed_point_exactly_the_float_rules_it_does_not_translate_there() -> None:
    assert set(FIXED_REFUSAL) == set(FLOAT_RULES) - set(FIXED_RULES)
    caps = get_backend("lava").capabilities
    assert dict(caps.fixed_point_refusals) == {cls.__name__: reason for cls, reason in FIXED_REFUSAL.items()}


def test_the_spec_rules_all_have_a_reference_step() -> None:
    assert set(RULE_TYPES) == set(REFERENCE_RULES)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (Decay(eta=float("nan")), "eta"),
        (Decay(eta=0.1, where="some"), "where"),  # type: ignore[arg-type]
        (Decay(eta=0.1, label=3), "label"),  # type: ignore[arg-type]
        (Decay(eta=0.1, w_min=1.0, w_max=0.0), "w_min"),
    ],
)
def test_a_new_rule_is_validated_by_its_declared_parameter_types(rule: Decay, field: str) -> None:
    with pytest.raises(SpecError) as info:
        plastic(rule).validate()
    assert info.value.field == f"{FIELD}.{field}"


def _refuse_to_start(monkeypatch: pytest.MonkeyPatch, backend: Backend) -> None:
    """Make any step past the capability check fail the test (availability probe, simulator build)."""

    def started(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"{backend.name} went past check_supported")

    monkeypatch.setattr(type(backend), "available", started)
    monkeypatch.setattr(type(backend), "_compile", started)


def _assert_names_all(error: UnsupportedFeatureError, rule: str, backend: str) -> None:
    assert error.field == FIELD
    message = str(error)
    assert message.startswith(f"{FIELD}: ")  # the projection
    assert rule in message and repr(backend) in message


@pytest.mark.parametrize("rule", [Decay(eta=0.1), ShadowHebb(eta=0.1)], ids=["new-class", "subclass"])
@pytest.mark.parametrize("name", BACKENDS)
def test_a_rule_without_translation_is_refused_before_the_simulator_starts(
    monkeypatch: pytest.MonkeyPatch, name: str, rule: PlasticityRule
) -> None:
    network = plastic(rule)
    network.validate()  # the spec lets a new rule class through: refusing it is the backend's job
    backend = get_backend(name)
    _refuse_to_start(monkeypatch, backend)
    for numeric in backend.capabilities.numeric:
        with pytest.raises(UnsupportedFeatureError) as info:
            backend.compile(network, numeric=numeric)
        _assert_names_all(info.value, rule.name, name)
        assert "has no translation" in str(info.value) and str(list(backend.capabilities.rules)) in str(info.value)
    if isinstance(rule, Hebb):  # same name as a rule it runs: the class is spelled out
        assert f"Hebb (class {__name__}.Hebb)" in str(info.value)


@pytest.mark.parametrize("name", [n for n in BACKENDS if "fixed" in get_backend(n).capabilities.numeric])
def test_fixed_point_refuses_what_its_table_lacks_before_the_simulator_starts(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    backend = get_backend(name)
    caps = backend.capabilities
    _refuse_to_start(monkeypatch, backend)
    refused = [rule for rule in RULES.values() if type(rule) not in caps.fixed_point_rule_types]
    assert refused, "the fixed-point check must be exercised"
    for rule in refused:
        with pytest.raises(UnsupportedFeatureError, match=f"{rule.name} is not offered in fixed point") as info:
            backend.compile(plastic(rule), numeric="fixed")
        _assert_names_all(info.value, rule.name, name)
        assert caps.fixed_point_reason(rule) and caps.fixed_point_reason(rule) in str(info.value)


def test_lava_fixed_rule_refuses_with_the_reason() -> None:
    from spikemem.backends.lava_backend._plan import fixed_rule, float_rule

    for cls, reason in FIXED_REFUSAL.items():
        rule = next(rule for rule in RULES.values() if type(rule) is cls)
        with pytest.raises(UnsupportedFeatureError, match="is not offered in fixed point") as info:
            fixed_rule(rule, 1e-3, 1e-3, FIELD, 20)
        assert reason in str(info.value) and info.value.field == FIELD
    with pytest.raises(UnsupportedFeatureError, match=r"'lava' has no translation of Decay") as info:
        float_rule(Decay(eta=0.1), 1e-3, FIELD)
    assert info.value.field == FIELD


class _NoBasisReference(get_backend("reference").__class__):  # type: ignore[misc]
    name = "no-basis"
    capabilities = Capabilities.from_tables(REFERENCE_RULES, refused_options=("ErrorModulated.basis",))


def test_refused_options_are_refused_at_compile_time() -> None:
    basis_rule = RULES["ErrorModulated+basis"]
    assert "ErrorModulated.basis" in basis_rule.options
    with pytest.raises(UnsupportedFeatureError, match=r"'no-basis' runs ErrorModulated but not .*basis") as info:
        _NoBasisReference().compile(plastic(basis_rule))
    assert info.value.field == FIELD
    _NoBasisReference().compile(plastic(RULES["ErrorModulated"])).close()


def test_translation_looks_up_the_exact_class() -> None:
    table = {Hebb: "hebb"}
    assert translation(table, Hebb(eta=1.0), "b", FIELD) == "hebb"
    expected = r"'b' has no translation of Decay \(too new\); it runs \['Hebb'\]"
    with pytest.raises(UnsupportedFeatureError, match=expected):
        translation(table, Decay(eta=1.0), "b", FIELD, refusals={Decay: "too new"})


def test_capabilities_names_must_match_their_classes() -> None:
    with pytest.raises(ValueError, match="do not match"):
        Capabilities(rules=("Oja",), rule_types=(Hebb,))


def test_the_reference_step_refuses_a_rule_it_does_not_know() -> None:
    weights = np.zeros((2, 3))
    with pytest.raises(TypeError, match="no reference implementation for Decay"):
        initial_state(Decay(eta=0.1), weights)
    state = initial_state(Hebb(eta=0.1), weights)
    with pytest.raises(TypeError, match="no reference implementation for Hebb"):
        rule_step(ShadowHebb(eta=0.1), weights, state, np.ones(3, bool), np.ones(2, bool), 1e-3)
