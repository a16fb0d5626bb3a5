"""Property-based tests (Hypothesis) of the two validators every input goes through.

- the spec validator: random valid networks pass ``validate()``; one invalid field value anywhere always
  raises :class:`~spikemem.spec.SpecError` (never another exception);
- the config parser: a table of a settings dataclass's own values (any subset of its keys) parses back to
  the same settings; random values parse or raise :class:`~spikemem.config.ConfigError`, never another
  exception; a value of the wrong type, a non-finite number or an unknown key always raises ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikemem.config import ConfigError, field_types, parse_section, required_keys
from spikemem.continual.encoding import EncodingConfig
from spikemem.continual.local.config import LocalConfig, NetworkConfig
from spikemem.continual.streams import StreamConfig
from spikemem.experiments.config import load_config
from spikemem.experiments.parsing import parse_run
from spikemem.memory.settings import HopfieldCapacitySettings, HopfieldRecallSettings
from spikemem.spec import LIF, Network, Population, Projection, SpecError

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
BOUNDED = settings(max_examples=50, deadline=None)

# -- the spec validator -------------------------------------------------------------------------------


@st.composite
def neurons(draw: st.DrawFn) -> LIF:
    """A valid LIF at dt = 1 ms: tau_mem > dt (or inf), v_th > 0, v_reset < v_th for a value reset."""
    tau = draw(st.one_of(st.floats(2e-3, 1.0), st.just(math.inf)))
    v_th = draw(st.floats(0.01, 10.0))
    reset = draw(st.sampled_from(["value", "subtract"]))
    v_reset = draw(st.floats(-5.0, v_th * 0.99) if reset == "value" else st.floats(-5.0, 5.0))
    return LIF(tau_mem=tau, v_th=v_th, v_reset=v_reset, reset=reset, refractory_steps=draw(st.integers(0, 5)))


@st.composite
def networks(draw: st.DrawFn) -> dict[str, Any]:
    """The parts of a valid network (populations, projections), as plain values that a test may corrupt."""
    sizes = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3))
    pops = [{"name": f"p{i}", "size": n, "neuron": draw(neurons())} for i, n in enumerate(sizes)]
    projections = []
    for index in range(draw(st.integers(0, 3))):
        pre, post = draw(st.sampled_from(pops)), draw(st.sampled_from(pops))
        seed = draw(st.integers(0, 2**16))
        weights = np.random.default_rng(seed).normal(0.0, 0.5, (post["size"], pre["size"]))
        delay = draw(st.integers(1, 4))
        projections.append({"pre": pre["name"], "post": post["name"], "weights": weights, "delay": delay})
        projections[-1]["name"] = f"proj{index}"
    return {"dt": 1e-3, "populations": pops, "projections": projections}


def build(parts: dict[str, Any]) -> Network:
    return Network(
        dt=parts["dt"],
        populations=[Population(p["name"], p["size"], p["neuron"]) for p in parts["populations"]],
        projections=[Projection(**p) for p in parts["projections"]],
    )


@BOUNDED
@given(networks())
def test_random_valid_networks_validate(parts: dict[str, Any]) -> None:
    assert build(parts).validate() is not None


BAD_NUMBERS = st.sampled_from([0.0, -1.0, -1e-9, math.nan, -math.inf])


@st.composite
def corrupted(draw: st.DrawFn) -> dict[str, Any]:
    """A valid network with one field made invalid."""
    parts = draw(networks())
    population = draw(st.sampled_from(parts["populations"]))
    neuron: LIF = population["neuron"]
    kind = draw(st.sampled_from(["tau", "v_th", "refractory", "size", "dt", "reset", "v_reset", "weights", "delay"]))
    if kind in ("weights", "delay") and not parts["projections"]:
        kind = "size"
    if kind == "tau":
        population["neuron"] = dataclasses.replace(neuron, tau_mem=draw(st.one_of(BAD_NUMBERS, st.floats(0, 1e-3))))
    elif kind == "v_th":
        population["neuron"] = dataclasses.replace(neuron, v_th=draw(BAD_NUMBERS))
    elif kind == "refractory":
        population["neuron"] = dataclasses.replace(neuron, refractory_steps=draw(st.integers(-10, -1)))
    elif kind == "reset":
        population["neuron"] = dataclasses.replace(neuron, reset=draw(st.text(max_size=8).filter(_not_a_reset)))
    elif kind == "v_reset":
        population["neuron"] = dataclasses.replace(neuron, reset="value", v_reset=neuron.v_th + draw(st.floats(0, 5)))
    elif kind == "size":
        population["size"] = draw(st.integers(-5, 0))
    elif kind == "dt":
        parts["dt"] = draw(BAD_NUMBERS)
    elif kind == "weights":
        projection = draw(st.sampled_from(parts["projections"]))
        weights = projection["weights"].copy()
        weights.flat[draw(st.integers(0, weights.size - 1))] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        projection["weights"] = weights
    else:
        draw(st.sampled_from(parts["projections"]))["delay"] = draw(st.integers(-3, 0))
    return parts


def _not_a_reset(text: str) -> bool:
    return text not in ("value", "subtract")


@BOUNDED
@given(corrupted())
def test_one_invalid_field_always_raises_spec_error(parts: dict[str, Any]) -> None:
    with pytest.raises(SpecError):
        build(parts).validate()


# -- the config parser --------------------------------------------------------------------------------

TABLES = [StreamConfig, EncodingConfig, LocalConfig, NetworkConfig, HopfieldRecallSettings, HopfieldCapacitySettings]
"""Settings dataclasses of several kinds (flat tables and nested ones)."""


def _as_toml(value: Any) -> Any:
    """A dataclass value as TOML would give it (tables as dicts, tuples as lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _as_toml(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_as_toml(v) for v in value]
    return value


def _shipped(cls: type) -> Any:
    """The settings of a shipped config of the kind (for dataclasses with required tables), else the defaults."""
    if not required_keys(cls):
        return cls()
    name = {HopfieldRecallSettings: "hopfield_recall", HopfieldCapacitySettings: "hopfield_capacity"}[cls]
    return parse_run(load_config(EXPERIMENTS / f"{name}.toml"), [], None, None).settings


@BOUNDED
@given(st.sampled_from(TABLES), st.data())
def test_a_table_of_its_own_values_parses_back(cls: type, data: st.DataObject) -> None:
    """Any subset of the keys (the required ones always) of a valid settings value gives it back."""
    valid = _shipped(cls)
    table = _as_toml(valid)
    dropped = data.draw(st.lists(st.sampled_from(sorted(set(table) - set(required_keys(cls)))), unique=True))
    expected = dataclasses.replace(valid, **{key: getattr(cls(**_required(valid)), key) for key in dropped})
    assert parse_section(cls, {k: v for k, v in table.items() if k not in dropped}, "t") == expected


def _required(value: Any) -> dict[str, Any]:
    return {key: getattr(value, key) for key in required_keys(type(value))}


TOML_VALUES = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=10),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8,
)
"""Any value a TOML file can hold."""


@BOUNDED
@given(st.sampled_from(TABLES), st.data())
def test_random_tables_parse_or_raise_config_error(cls: type, data: st.DataObject) -> None:
    keys = sorted(field_types(cls))
    table = data.draw(st.dictionaries(st.sampled_from(keys), TOML_VALUES, max_size=4))
    try:
        parsed = parse_section(cls, table, "t")
    except ConfigError:
        return
    assert isinstance(parsed, cls)


def _wrong_type(annotation: Any) -> st.SearchStrategy[Any]:
    """Values that no field of this annotation accepts."""
    text = repr(annotation)
    if "float" in text and "str" not in text:
        return st.one_of(st.text(max_size=5), st.dictionaries(st.text(max_size=3), st.integers(), min_size=1))
    if "int" in text and "str" not in text:
        return st.one_of(st.floats(0.1, 0.9), st.text(max_size=5), st.just(True))
    return st.dictionaries(st.just("nested"), st.integers(), min_size=1)


@BOUNDED
@given(st.sampled_from(TABLES), st.data())
def test_a_value_of_the_wrong_type_or_an_unknown_key_always_raises_config_error(cls: type, data: st.DataObject) -> None:
    fields = field_types(cls)
    key = data.draw(st.sampled_from(sorted(fields)))
    annotation, finite = fields[key]
    if data.draw(st.booleans()):
        table = {data.draw(st.text(min_size=1, max_size=8).filter(lambda k: k not in fields)): 1}
    elif finite and "float" in repr(annotation) and data.draw(st.booleans()):
        table = {key: data.draw(st.sampled_from([math.nan, math.inf, -math.inf]))}
    else:
        table = {key: data.draw(_wrong_type(annotation))}
    with pytest.raises(ConfigError):
        parse_section(cls, table, "t")
