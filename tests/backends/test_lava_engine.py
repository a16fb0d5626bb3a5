"""Our shortcuts in Lava's learning engine give Lava's own numbers (no Lava runtime: the engine's methods directly)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("spikemem.backends.lava_backend")

from lava.magma.core.learning.learning_rule import Loihi2FLearningRule
from lava.magma.core.learning.learning_rule_applier import LearningRuleApplierBitApprox, LearningRuleApplierFloat
from lava.magma.core.model.py.connection import PyLearningConnection

from spikemem.backends.lava_backend._lava.connections.models import (
    _EVALUATED,
    ClipApplierBitApprox,
    ParsedApplierFloat,
    PyLearningDenseFloat,
)

RULES = [  # the shapes of rule the plan writes (_plan.py; magnitudes are trace impulses), and scaled terms
    "u0 * x1 * y1",
    "y0 * x1 - x0 * y1",
    "u0 * x1 * y1 - u0 * y2 - u0 * x2 + u0 * t",
    "-u0 * x1 * y1 + u0 * y1 * y2 * w",
    "u0 * t * y2 + y0 * x1 * y1",
    "3*2^-2 * u0 * x1 * y1 - 5*2^-7 * u0 * y2 * w",
]


class _Model:
    """What Lava's ``_extract_applier_evaluated_traces`` reads of a model: the within-epoch spike times."""

    def __init__(self, tx: np.ndarray, ty: np.ndarray) -> None:
        self.tx, self.ty = tx, ty


@pytest.mark.parametrize("t_epoch", [1, 3])
def test_evaluated_traces_are_lavas(t_epoch: int) -> None:
    rng = np.random.default_rng(0)
    pre, post = 37, 5
    for _ in range(20):
        model = _Model(rng.integers(0, t_epoch + 1, pre), rng.integers(0, t_epoch + 1, post))
        x = rng.normal(size=(t_epoch + 1, 2, pre))
        y = rng.normal(size=(t_epoch + 1, 3, post))
        lava = PyLearningConnection._extract_applier_evaluated_traces(model, x, y)  # type: ignore[arg-type]
        assert set(lava) == set(_EVALUATED)
        for name, value in lava.items():
            ours = _EVALUATED[name](model, x, y)
            assert ours.shape == value.shape, name
            assert np.array_equal(ours, value), name


def _product_series(rule: str) -> object:
    return Loihi2FLearningRule(dw=rule, x1_impulse=1, y1_impulse=1, t_epoch=1).active_product_series["dw"]


@pytest.mark.parametrize("rule", RULES)
def test_evaluated_names_cover_the_rule(rule: str) -> None:
    """The model builds only the evaluated traces its rule reads: every name in Lava's applier string."""
    series = _product_series(rule)
    model = object.__new__(PyLearningDenseFloat)
    model._learning_rule_appliers = {"weights": ParsedApplierFloat(series)}  # type: ignore[attr-defined]
    names = model._evaluated_names()
    applier_string = LearningRuleApplierFloat(series)._applier_str  # type: ignore[arg-type]
    assert {name for name in _EVALUATED if name in applier_string} == set(names)


@pytest.mark.parametrize("rule", RULES)
def test_parsed_applier_is_lavas_applier(rule: str) -> None:
    """The compiled rule gives asteval's numbers bit for bit, over many random draws."""
    series = _product_series(rule)
    lava, ours = LearningRuleApplierFloat(series), ParsedApplierFloat(series)  # type: ignore[arg-type]
    rng = np.random.default_rng(1)
    post, pre = 6, 9
    for _ in range(200):
        args = {
            "x0": rng.random((1, pre)) < 0.5,
            "y0": rng.random((post, 1)) < 0.5,
            "weights": rng.normal(size=(post, pre)),
            "tag_2": rng.normal(size=(post, pre)),
            "tag_1": rng.normal(size=(post, pre)),
            "u": int(rng.integers(0, 2)),
            "np": np,
            **{name: rng.normal(size=(post, pre)) * 10.0 ** rng.integers(-8, 3) for name in _EVALUATED},
        }
        start = rng.normal(size=(post, pre))
        assert np.array_equal(ours.apply(start, **args), lava.apply(start, **args))


@pytest.mark.parametrize("rule", RULES)
def test_clip_applier_is_lavas_fixed_applier(rule: str) -> None:
    """Fixed point: the same integers as Lava's applier, factors and accumulator often saturating."""
    series = _product_series(rule)
    lava, ours = LearningRuleApplierBitApprox(series), ClipApplierBitApprox(series)  # type: ignore[arg-type]
    rng = np.random.default_rng(2)
    post, pre = 6, 9
    for _ in range(200):
        args = {
            "shape": (post, pre),
            "x0": rng.random((1, pre)) < 0.5,
            "y0": rng.random((post, 1)) < 0.5,
            "weights": rng.integers(-600, 600, (post, pre)),
            "tag_2": rng.integers(-600, 600, (post, pre)),
            "tag_1": rng.integers(-600, 600, (post, pre)),
            "u": int(rng.integers(0, 2)),
            **{name: rng.integers(-300, 300, (post, pre)) for name in _EVALUATED},
        }
        start = rng.integers(-(2**16), 2**16, (post, pre))
        expected = lava.apply(start, **args)
        got = ours.apply(start, **args)
        assert got.dtype == expected.dtype
        assert np.array_equal(got, expected)
