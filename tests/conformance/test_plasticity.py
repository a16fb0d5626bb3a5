"""Every rule a backend claims runs inside its simulator and matches the reference weights;
every rule it does not claim is refused at compile time."""

from __future__ import annotations

import numpy as np
import pytest
from cases import RULES, STEPS, plastic

from spikemem.backend import Backend, UnsupportedFeatureError

# Stated tolerances on the learned weights (max |W_backend - W_reference|, in weight units,
# after 200 steps with weight changes of ~1e-2 per step). Backends that execute the rules'
# equations in float64 agree to rounding.
TOLERANCE = {"brian2": 1e-9, "snntorch": 1e-9, "lava": 1e-9}


@pytest.mark.parametrize("rule_name", sorted(RULES))
def test_rule_matches_reference_or_is_refused(simulator: Backend, reference: Backend, rule_name: str) -> None:
    rule = RULES[rule_name]
    capabilities = simulator.capabilities
    if rule.name not in capabilities.rules or set(rule.options) & set(capabilities.refused_options):
        with pytest.raises(UnsupportedFeatureError, match=rule.name):
            simulator.compile(plastic(rule))
        return
    with reference.compile(plastic(rule)) as ref:
        expected = ref.run(STEPS)
        initial = plastic(rule).projection("plastic").weights
        assert np.abs(expected.weights("plastic") - initial).max() > 1e-3, "the rule must change the weights"
    with simulator.compile(plastic(rule)) as sim:
        got = sim.run(STEPS)
        np.testing.assert_array_equal(got.spikes("post"), expected.spikes("post"))
        np.testing.assert_allclose(
            got.weights("plastic"), expected.weights("plastic"), rtol=0, atol=TOLERANCE[simulator.name]
        )
        np.testing.assert_allclose(
            sim.weights("plastic"), expected.weights("plastic"), rtol=0, atol=TOLERANCE[simulator.name]
        )
