"""The energy estimates: every figure traced to its published table, and the arithmetic by hand."""

from __future__ import annotations

import pytest

from spikemem.cost import FIGURES, OperationCounts, PopulationCounts, ProjectionCounts, dense_mac_energy, loihi_energy
from spikemem.cost import energy as e

PUBLISHED_PJ = {
    # Davies et al., IEEE Micro 38(1), 2018, Table 2
    "LOIHI_SYNAPTIC_OP": (23.6, "synaptic spike op (min)"),
    "LOIHI_SYNAPTIC_UPDATE": (120.0, "synaptic update (pairwise STDP)"),
    "LOIHI_NEURON_ACTIVE": (81.0, "neuron update (active)"),
    "LOIHI_NEURON_INACTIVE": (52.0, "neuron update (inactive)"),
    "LOIHI_SPIKE_WITHIN_TILE": (1.7, "within-tile spike energy"),
    # Horowitz, ISSCC 2014, 45 nm
    "FLOAT32_MULTIPLY": (3.7, "32-bit float multiply"),
    "FLOAT32_ADD": (0.9, "32-bit float add"),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_PJ))
def test_each_figure_is_the_published_value_with_its_source(name: str) -> None:
    figure = getattr(e, name)
    value, row = PUBLISHED_PJ[name]
    assert figure.joules == pytest.approx(value * 1e-12)
    assert row in figure.source
    assert ("Table 2" in figure.source) == name.startswith("LOIHI")
    assert "Horowitz" in figure.source or "Davies" in figure.source
    assert figure in FIGURES


def _counts() -> OperationCounts:
    return OperationCounts(
        steps=10,
        trials=2,
        numeric="fixed",
        backend="test",
        populations=(
            PopulationCounts(
                "a", 5, spikes=7, neuron_updates=100, graded_inputs=3, graded_macs=6, dense_graded_macs=20
            ),
        ),
        projections=(ProjectionCounts("a->a", "a", "a", 4, 25, 6, 24, 500, plasticity_updates=9),),
    )


def test_loihi_estimate_by_hand() -> None:
    counts = _counts()
    estimate = loihi_energy(counts)
    by_hand = (24 + 6) * 23.6 + 9 * 120 + 7 * 81 + (100 - 7) * 52 + 7 * 1.7
    assert estimate.joules == pytest.approx(by_hand * 1e-12)
    assert "estimate" in estimate.model
    assert estimate.scaled(0.5).joules == pytest.approx(by_hand * 0.5e-12)


def test_dense_estimate_by_hand_and_report() -> None:
    counts = _counts()
    assert dense_mac_energy(counts).joules == pytest.approx((500 + 20) * 4.6e-12)
    report = e.energy_report(counts)
    assert report["loihi"]["estimate_joules"] == pytest.approx(loihi_energy(counts).joules / 2)  # per trial
    assert "not measurements" in report["note"] and len(report["sources"]) == len(FIGURES)
