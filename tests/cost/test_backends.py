"""Identical operation counts on every float backend; Lava fixed point counts its own spikes.

The counts come from one function (:func:`spikemem.cost.count_operations`) over
each backend's recorded spikes, so identical spikes must give identical counts;
these tests check that the protocol records what the count needs on every
backend (also where the spec monitors nothing, and over two runs with spikes in
transit between them).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from backend_selection import SIMULATORS, TEST_OPTIONS, require
from conformance.cases import RULES, SPIKING_CASES, STEPS, plastic

from spikemem.backends import get_backend
from spikemem.cost import OperationCounts
from spikemem.spec import Network

LAVA_CASES = ("delays", "time_varying_current")
"""Lava starts processes per compile: two cases cover delays, two populations and a current input."""


def _counts(name: str, network: Network, **compile_options: Any) -> OperationCounts:
    backend = require(name, **TEST_OPTIONS.get(name, {})) if name != "reference" else get_backend(name)
    with backend.compile(network, **compile_options) as sim:
        first = sim.run(STEPS // 2 + 7)
        second = sim.run(STEPS // 2 - 7)
    assert first.cost is not None and second.cost is not None
    return first.cost + second.cost


def _without_backend(counts: OperationCounts) -> dict[str, Any]:
    record = counts.as_dict()
    record.pop("backend")
    return record


def _cases(simulator: str) -> list[str]:
    return sorted(LAVA_CASES if simulator == "lava" else SPIKING_CASES)


@pytest.mark.parametrize(
    ("simulator", "case"), [(sim, case) for sim in SIMULATORS for case in _cases(sim)], ids=lambda v: str(v)
)
def test_identical_counts(simulator: str, case: str) -> None:
    expected = _counts("reference", SPIKING_CASES[case]())
    assert expected.accumulate_ops > 100, f"case {case} is too quiet to test anything"
    assert _without_backend(_counts(simulator, SPIKING_CASES[case]())) == _without_backend(expected)


def test_identical_counts_without_monitors() -> None:
    """A spec that monitors nothing is still counted (the protocol adds the monitors it needs)."""

    def unmonitored() -> Network:
        network = SPIKING_CASES["delays"]()
        network.monitors = []
        return network

    expected = _counts("reference", unmonitored())
    assert _without_backend(_counts("brian2", unmonitored())) == _without_backend(expected)


@pytest.mark.parametrize("simulator", ["snntorch", "brian2"])
def test_identical_plasticity_counts(simulator: str) -> None:
    for rule in ("Hebb", "PairSTDP"):
        expected = _counts("reference", plastic(RULES[rule]))
        assert expected.plasticity_updates > 0
        assert _without_backend(_counts(simulator, plastic(RULES[rule]))) == _without_backend(expected)


def test_lava_fixed_point_counts_its_own_spikes() -> None:
    """Fixed point spikes differ a little from float; the counts are of the fixed-point spikes, reported beside."""
    network = SPIKING_CASES["lif_layer"]
    fixed = _counts("lava", network(), numeric="fixed")
    flt = _counts("reference", network())
    assert fixed.numeric == "fixed" and flt.numeric == "float"
    assert fixed.dense_macs == flt.dense_macs and fixed.neuron_updates == flt.neuron_updates
    assert fixed.accumulate_ops > 0
    assert abs(fixed.accumulate_ops - flt.accumulate_ops) <= 0.2 * flt.accumulate_ops
    assert np.isclose(fixed.activation_sparsity, flt.activation_sparsity, atol=0.05)
