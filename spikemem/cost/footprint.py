r"""Static cost of a network: parameters, connection sparsity and the bytes it occupies.

Counted from the spec alone (no run):

- **parameters**: the existing synapses of every projection
  (:func:`spikemem.cost.counts.existing_synapses`), i.e. the weights a device
  stores (NeuroBench's parameter count of a bias-free network);
- **connection sparsity**: :math:`1 - \text{synapses} / \sum_p n_{post} n_{pre}`;
- **bytes**, in float and in fixed point:

  ============ ===================================== =======================================
  item         float (``float32``, as snnTorch runs)  fixed point (Loihi-style registers)
  ============ ===================================== =======================================
  weight       4 bytes per synapse                    1 byte (8-bit mantissa)
  trace        4 bytes per neuron of a plastic side   1 byte (Loihi's 7-bit traces)
  state        4 bytes per neuron (``v``)             3 bytes (24-bit ``v`` register)
  refractory   1 byte per neuron with refractoriness  1 byte
  ============ ===================================== =======================================

  Traces: a plastic projection keeps a presynaptic trace per source neuron
  and a postsynaptic trace per target neuron. The fixed-point widths are
  Loihi's register widths (Davies et al., IEEE Micro 38(1), 2018: 8-bit
  synaptic weights at the finest setting, 24-bit membrane state); they
  bound what a deployment stores, not what a Python process allocates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spikemem.cost.counts import existing_synapses
from spikemem.spec import Network

BYTES = {
    "float": {"weight": 4, "trace": 4, "state": 4, "refractory": 1},
    "fixed": {"weight": 1, "trace": 1, "state": 3, "refractory": 1},
}
"""Bytes per stored item in each numeric mode (module docstring)."""


@dataclass(frozen=True)
class Footprint:
    """Parameters, connection sparsity and memory of one network in one numeric mode.

    Attributes
    ----------
    numeric
        ``"float"`` or ``"fixed"``.
    parameters
        Existing synapses (stored weights).
    dense_parameters
        ``sum_p n_post * n_pre``.
    weight_bytes, trace_bytes, state_bytes
        Bytes of the weights, the plasticity traces and the neuron states.
    per_projection
        Projection name -> its existing synapses.
    """

    numeric: str
    parameters: int
    dense_parameters: int
    weight_bytes: int
    trace_bytes: int
    state_bytes: int
    per_projection: dict[str, int]

    @property
    def connection_sparsity(self) -> float:
        """``1 - parameters / dense_parameters``."""
        return 1.0 - self.parameters / self.dense_parameters if self.dense_parameters else 0.0

    @property
    def total_bytes(self) -> int:
        """Weights, traces and states together."""
        return self.weight_bytes + self.trace_bytes + self.state_bytes

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields and the derived figures."""
        return {
            "numeric": self.numeric,
            "parameters": self.parameters,
            "dense_parameters": self.dense_parameters,
            "connection_sparsity": self.connection_sparsity,
            "weight_bytes": self.weight_bytes,
            "trace_bytes": self.trace_bytes,
            "state_bytes": self.state_bytes,
            "total_bytes": self.total_bytes,
            "per_projection": dict(self.per_projection),
        }


def footprint(network: Network, numeric: str = "float") -> Footprint:
    """The :class:`Footprint` of ``network`` in ``numeric`` (``"float"`` or ``"fixed"``)."""
    if numeric not in BYTES:
        raise ValueError(f"numeric must be one of {sorted(BYTES)}, got {numeric!r}")
    size = BYTES[numeric]
    per_projection = {proj.name: int(existing_synapses(proj).sum()) for proj in network.projections}
    dense = sum(int(proj.weights.size) for proj in network.projections)
    traced = 0
    for proj in network.projections:
        if proj.plasticity is not None:
            traced += network.source_size(proj.pre) + network.population(proj.post).size
    states = sum(pop.size * size["state"] for pop in network.populations)
    states += sum(pop.size * size["refractory"] for pop in network.populations if pop.neuron.refractory_steps)
    params = sum(per_projection.values())
    return Footprint(
        numeric=numeric,
        parameters=params,
        dense_parameters=dense,
        weight_bytes=params * size["weight"],
        trace_bytes=traced * size["trace"],
        state_bytes=states,
        per_projection=per_projection,
    )
