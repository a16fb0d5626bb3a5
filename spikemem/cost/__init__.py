"""The cost of computation: operation counts, footprint and energy estimates of every run.

Public API (stable; :mod:`spikemem.cost.neurobench` and the result writers build on it):

Counts (:mod:`spikemem.cost.counts`)
    ``OperationCounts`` (frozen): ``steps``, ``trials``, ``numeric``, ``backend``,
    ``populations: tuple[PopulationCounts]`` (``name, size, spikes, neuron_updates,
    graded_inputs, graded_macs, dense_graded_macs``, ``.activation_sparsity``),
    ``projections: tuple[ProjectionCounts]`` (``name, pre, post, synapses,
    dense_synapses, delivered_spikes, accumulate_ops, dense_macs,
    plasticity_updates``, ``.connection_sparsity``); totals as properties:
    ``spikes``, ``accumulate_ops`` (synaptic events of binary spikes),
    ``multiply_accumulate_ops`` (graded inputs), ``synaptic_ops`` (AC + MAC),
    ``dense_macs``, ``neuron_updates``, ``activation_sparsity``,
    ``plasticity_updates``; ``a + b`` sums consecutive runs; ``as_dict()`` and
    ``per_trial()`` (JSON-ready, divided by ``trials``); ``join_trials(a, b)`` joins
    two batches of independent trials of one length.

    Every :class:`~spikemem.backend.Simulation` run returns its counts in
    ``Recording.cost`` (on by default; ``Backend.compile(..., count_operations=False)``
    turns it off). ``count_operations(network, data, steps=..., ...)`` counts
    from recorded spikes directly; ``sum_counts(iterable)``; ``existing_synapses(proj)``.

Footprint (:mod:`spikemem.cost.footprint`)
    ``footprint(network, numeric="float" | "fixed") -> Footprint``: ``parameters``,
    ``dense_parameters``, ``connection_sparsity``, ``weight_bytes``,
    ``trace_bytes``, ``state_bytes``, ``total_bytes``, ``per_projection``,
    ``as_dict()``.

Energy (:mod:`spikemem.cost.energy`), ESTIMATES from published per-operation figures
    ``loihi_energy(counts)`` (Davies et al. 2018, Table 2) and
    ``dense_mac_energy(counts)`` (Horowitz 2014) -> ``EnergyEstimate`` (``model``,
    ``terms`` in joules, ``joules``, ``scaled(f)``, ``as_dict()``);
    ``energy_report(counts)``: both per trial with their sources; ``FIGURES``.

Result sections (:mod:`spikemem.cost.report`)
    ``cost_section(counts, network=None)``: the ``cost`` section of a
    ``result.json`` (counts per trial, energy per trial, footprint);
    ``format_cost(section)``: a short table for the terminal.
"""

from spikemem.cost.counts import (
    OperationCounts,
    PopulationCounts,
    ProjectionCounts,
    cost_monitors,
    count_operations,
    existing_synapses,
    join_trials,
    raster_sources,
    sum_counts,
    tail_sources,
    with_cost_monitors,
)
from spikemem.cost.energy import (
    FIGURES,
    EnergyEstimate,
    EnergyFigure,
    dense_mac_energy,
    energy_report,
    loihi_energy,
)
from spikemem.cost.footprint import Footprint, footprint
from spikemem.cost.report import cost_section, format_cost

__all__ = [
    "FIGURES",
    "EnergyEstimate",
    "EnergyFigure",
    "Footprint",
    "OperationCounts",
    "PopulationCounts",
    "ProjectionCounts",
    "cost_monitors",
    "cost_section",
    "count_operations",
    "dense_mac_energy",
    "energy_report",
    "existing_synapses",
    "footprint",
    "format_cost",
    "join_trials",
    "loihi_energy",
    "raster_sources",
    "sum_counts",
    "tail_sources",
    "with_cost_monitors",
]
