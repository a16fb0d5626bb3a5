r"""Energy ESTIMATES from published per-operation figures times the counts of a run.

Nothing here is measured: every figure is a published energy per operation
multiplied by :class:`~spikemem.cost.counts.OperationCounts`. The outputs
say so (``"estimate"`` in their labels); they rank models, they do not
predict a chip's power meter.

**Loihi** (Davies et al., "Loihi: A Neuromorphic Manycore Processor with
On-Chip Learning", IEEE Micro 38(1):82-99, 2018, Table 2, pre-silicon
figures of the 14 nm chip; the values are as quoted from that table by
several independent sources, checked 2026-12):

===================================== ============ ======================================
Table 2 row                            value        used for
===================================== ============ ======================================
Energy per synaptic spike op (min)     23.6 pJ      each synaptic event (AC), each graded MAC
Energy per synaptic update (STDP)      120 pJ       each plasticity update
Energy per neuron update (active)      81 pJ        neuron updates that emitted a spike
Energy per neuron update (inactive)    52 pJ        the other neuron updates
Within-tile spike energy               1.7 pJ       each spike emitted (routed at least once)
===================================== ============ ======================================

Spike routing across tiles (a few pJ per hop in the same table) depends on
how the network is placed on cores; it is left out, so the routing term is a
lower bound. Loihi 1 has no graded synaptic input: a graded MAC is priced as
one synaptic op, a lower bound too.

**Dense GPU/CPU-style** estimate (Horowitz, "Computing's energy problem (and
what we can do about it)", ISSCC 2014, 45 nm, 0.9 V): a 32-bit float
multiply 3.7 pJ plus a 32-bit float add 0.9 pJ, 4.6 pJ per MAC, times the
dense-equivalent MACs (every synapse every step). Arithmetic only: memory
accesses, which dominate in practice, are not counted, so it is a lower
bound as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spikemem.cost.counts import OperationCounts

PJ = 1e-12
"""One picojoule in joules."""


@dataclass(frozen=True)
class EnergyFigure:
    """One published energy per operation and where it comes from."""

    joules: float
    source: str


DAVIES_2018 = 'Davies et al., IEEE Micro 38(1), 2018, "Loihi: A Neuromorphic Manycore Processor", Table 2'
HOROWITZ_2014 = 'Horowitz, ISSCC 2014, "Computing\'s energy problem", 45 nm'

LOIHI_SYNAPTIC_OP = EnergyFigure(23.6 * PJ, f"{DAVIES_2018}: energy per synaptic spike op (min), 23.6 pJ")
LOIHI_SYNAPTIC_UPDATE = EnergyFigure(120 * PJ, f"{DAVIES_2018}: energy per synaptic update (pairwise STDP), 120 pJ")
LOIHI_NEURON_ACTIVE = EnergyFigure(81 * PJ, f"{DAVIES_2018}: energy per neuron update (active), 81 pJ")
LOIHI_NEURON_INACTIVE = EnergyFigure(52 * PJ, f"{DAVIES_2018}: energy per neuron update (inactive), 52 pJ")
LOIHI_SPIKE_WITHIN_TILE = EnergyFigure(1.7 * PJ, f"{DAVIES_2018}: within-tile spike energy, 1.7 pJ")
FLOAT32_MULTIPLY = EnergyFigure(3.7 * PJ, f"{HOROWITZ_2014}: 32-bit float multiply, 3.7 pJ")
FLOAT32_ADD = EnergyFigure(0.9 * PJ, f"{HOROWITZ_2014}: 32-bit float add, 0.9 pJ")
DENSE_MAC = EnergyFigure(FLOAT32_MULTIPLY.joules + FLOAT32_ADD.joules, f"{HOROWITZ_2014}: multiply + add, 4.6 pJ")

FIGURES = (
    LOIHI_SYNAPTIC_OP,
    LOIHI_SYNAPTIC_UPDATE,
    LOIHI_NEURON_ACTIVE,
    LOIHI_NEURON_INACTIVE,
    LOIHI_SPIKE_WITHIN_TILE,
    FLOAT32_MULTIPLY,
    FLOAT32_ADD,
    DENSE_MAC,
)
"""Every figure used, for reports and tests."""


@dataclass(frozen=True)
class EnergyEstimate:
    """An energy ESTIMATE in joules, split by term, from published per-operation figures.

    Attributes
    ----------
    model
        ``"loihi (estimate, Davies et al. 2018 Table 2)"`` or ``"dense MAC (estimate, Horowitz 2014)"``.
    terms
        Term name -> joules.
    """

    model: str
    terms: dict[str, float]

    @property
    def joules(self) -> float:
        """The sum of the terms."""
        return float(sum(self.terms.values()))

    def scaled(self, factor: float) -> EnergyEstimate:
        """The estimate times ``factor`` (e.g. ``1 / trials`` for one inference)."""
        return EnergyEstimate(self.model, {k: v * factor for k, v in self.terms.items()})

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the label, the total and the terms in joules."""
        return {"model": self.model, "estimate_joules": self.joules, "terms_joules": dict(self.terms)}


def loihi_energy(counts: OperationCounts) -> EnergyEstimate:
    r"""Loihi estimate (module docstring):

    .. math:: E = 23.6\,\text{pJ}\,(AC + MAC) + 120\,\text{pJ}\,U_{plast}
              + 81\,\text{pJ}\,N_{spk} + 52\,\text{pJ}\,(N_{upd} - N_{spk}) + 1.7\,\text{pJ}\,N_{spk}
    """
    spikes = counts.spikes
    return EnergyEstimate(
        "loihi (estimate, Davies et al. 2018 Table 2)",
        {
            "synaptic_ops": counts.synaptic_ops * LOIHI_SYNAPTIC_OP.joules,
            "plasticity_updates": counts.plasticity_updates * LOIHI_SYNAPTIC_UPDATE.joules,
            "neuron_updates_active": spikes * LOIHI_NEURON_ACTIVE.joules,
            "neuron_updates_inactive": (counts.neuron_updates - spikes) * LOIHI_NEURON_INACTIVE.joules,
            "spike_routing_within_tile": spikes * LOIHI_SPIKE_WITHIN_TILE.joules,
        },
    )


def dense_mac_energy(counts: OperationCounts) -> EnergyEstimate:
    r"""Dense GPU/CPU-style estimate: :math:`E = 4.6\,\text{pJ} \times` dense-equivalent MACs (arithmetic only)."""
    return EnergyEstimate("dense MAC (estimate, Horowitz 2014)", {"dense_macs": counts.dense_macs * DENSE_MAC.joules})


def energy_report(counts: OperationCounts, units: int | None = None) -> dict[str, Any]:
    """Both estimates per unit (default: per trial), JSON-ready, labelled as estimates from published per-op figures.

    ``units``: how many units (recalls, inferences) ``counts`` holds; ``counts.trials`` when None.
    """
    per_trial = 1.0 / (counts.trials if units is None else units)
    return {
        "note": "estimates from published per-operation energies times counted operations, not measurements",
        "loihi": loihi_energy(counts).scaled(per_trial).as_dict(),
        "dense_mac": dense_mac_energy(counts).scaled(per_trial).as_dict(),
        "sources": [figure.source for figure in FIGURES],
    }
