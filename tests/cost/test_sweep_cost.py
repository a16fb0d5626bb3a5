"""Sweep summaries aggregate the cost sections and show the cost per unit in their table."""

from __future__ import annotations

import pytest

from spikemem.sweep.aggregate import Group, summary_table


def _continual(acc: float, ops: float) -> dict:
    cost = {
        "per_test_inference": {
            "counts": {"total": {"synaptic_ops": ops}},
            "energy": {"loihi": {"estimate_joules": ops * 1e-11}},
        }
    }
    return {"seed": 0, "metrics": {"ACC": acc, "cost": cost}}


def test_cost_columns_are_means_over_seeds() -> None:
    group = Group("hlop", "hlop", "snntorch", "float", results=[_continual(0.8, 1000.0), _continual(0.9, 3000.0)])
    summary = group.summary()
    assert summary["cost.per_test_inference.counts.total.synaptic_ops"]["mean"] == pytest.approx(2000.0)
    table = summary_table([group])
    assert "syn ops/unit" in table and "2000" in table and "Loihi J/unit (est.)" in table


def test_memory_runs_show_their_cost_per_recall() -> None:
    recall = {"point": {"overlap_mean": 1.0, "cost": {"counts": {"total": {"synaptic_ops": 42.0}}}}}
    group = Group("sync", "-", "reference", "float", results=[{"seed": 0, "metrics": {"overlap_mean": 1.0, **recall}}])
    table = summary_table([group])
    assert "syn ops/unit" in table and "42" in table and "Loihi" not in table


def test_no_cost_no_columns() -> None:
    group = Group("sync", "-", "reference", "float", results=[{"seed": 0, "metrics": {"overlap_mean": 1.0}}])
    assert "syn ops" not in summary_table([group])
