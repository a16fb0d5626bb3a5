"""The ``cost`` section of a ``result.json`` and its terminal table."""

from __future__ import annotations

from typing import Any

from spikemem.cost.counts import OperationCounts
from spikemem.cost.energy import energy_report
from spikemem.cost.footprint import footprint
from spikemem.spec import Network


def cost_section(
    counts: OperationCounts, network: Network | None = None, unit: str = "trial", units: int | None = None
) -> dict[str, Any]:
    """Counts and energy ESTIMATES per ``unit`` (one trial: a recall, an inference), and the footprint.

    Parameters
    ----------
    counts
        The counts of one or more runs (``trials`` of them).
    network
        The spec, for the footprint in float and fixed point (omitted when None).
    unit
        What one trial is, written into the section (``"recall"``, ``"inference"``, ...).
    units
        How many of them ``counts`` holds (default ``counts.trials``; e.g. the
        recalls multiplexed into one long run).
    """
    units = counts.trials if units is None else units
    section: dict[str, Any] = {
        "per": unit,
        "units_counted": units,
        "counts": counts.as_dict(scale=1.0 / units),
        "energy": energy_report(counts, units),
    }
    if network is not None:
        section["footprint"] = {mode: footprint(network, mode).as_dict() for mode in ("float", "fixed")}
    return section


def format_cost(section: dict[str, Any]) -> str:
    """A few lines: synaptic ops, spikes, sparsity and both energy estimates per unit."""
    total = section["counts"]["total"]
    energy = section["energy"]
    per = section.get("per", "trial")
    return "\n".join(
        [
            f"cost per {per} ({section['counts']['backend']}, {section['counts']['numeric']}):",
            f"  synaptic ops {total['synaptic_ops']:,.0f} (AC {total['accumulate_ops']:,.0f}, "
            f"MAC {total['multiply_accumulate_ops']:,.0f}); dense-equivalent MACs {total['dense_macs']:,.0f}",
            f"  spikes {total['spikes']:,.1f}; activation sparsity {total['activation_sparsity']:.3f}; "
            f"plasticity updates {total['plasticity_updates']:,.0f}",
            f"  energy estimate: Loihi {energy['loihi']['estimate_joules'] * 1e9:,.2f} nJ, "
            f"dense MAC {energy['dense_mac']['estimate_joules'] * 1e9:,.2f} nJ (published per-op figures)",
        ]
    )
