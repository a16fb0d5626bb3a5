"""The static structure of a network as the step loop reads it, built once per compiled simulation.

numpy only: the array backends (reference, snnTorch) build their kernels from
it, and the plan builders of the other backends read the parts that fit them
(e.g. :attr:`Topology.used_sources`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spikemem.spec import Network, PlasticityRule, Projection
from spikemem.spec.inputs import SPIKE_SOURCE_TYPES


@dataclass(frozen=True)
class Incoming:
    """One projection into a population: its name, its source and its delay in steps (>= 1)."""

    projection: str
    source: str
    delay: int


@dataclass(frozen=True)
class Topology:
    """Who feeds whom, with which delay; which weights are static, plastic or shared.

    Attributes
    ----------
    populations
        Population name -> size, in the network's order (the order of the neuron updates).
    sizes
        Source name (population or spike input) -> size.
    incoming
        Population name -> its incoming projections, in the network's order
        (the order in which their inputs are summed).
    depth
        Source name -> length of its ring of past spikes: the largest delay of
        a projection it feeds. Only sources that feed a projection appear
        (:attr:`used_sources`); the spikes of step ``t`` sit in slot
        ``t % depth`` and a projection with delay ``d`` reads slot
        ``(t - d) % depth``.
    spike_inputs
        Names of the spike inputs (Poisson, spike arrays).
    static, plastic
        Projections without a plasticity rule (their weights change only by
        ``set_weights``) and those with one, in the network's order.
    rules
        Plastic projection name -> its plasticity rule.
    masks
        Projection name -> boolean ``(n_post, n_pre)`` mask, or None without one.
    shares_with
        Static projection name -> the first static projection built from the
        same spec weight array (itself when it is the first): a backend holds
        that array once.
    """

    populations: dict[str, int]
    sizes: dict[str, int]
    incoming: dict[str, tuple[Incoming, ...]]
    depth: dict[str, int]
    spike_inputs: frozenset[str]
    static: frozenset[str]
    plastic: tuple[Projection, ...]
    rules: dict[str, PlasticityRule]
    masks: dict[str, np.ndarray | None]
    shares_with: dict[str, str]

    @classmethod
    def from_network(cls, network: Network) -> Topology:
        """The topology of a validated network."""
        spike_inputs = frozenset(inp.name for inp in network.inputs if isinstance(inp, SPIKE_SOURCE_TYPES))
        sizes = {pop.name: pop.size for pop in network.populations}
        sizes.update({name: network.source_size(name) for name in spike_inputs})
        depth: dict[str, int] = {}
        for proj in network.projections:
            depth[proj.pre] = max(depth.get(proj.pre, 1), proj.delay)
        first_of_array: dict[int, str] = {}
        shares_with = {
            proj.name: first_of_array.setdefault(id(proj.weights), proj.name)
            for proj in network.projections
            if proj.plasticity is None
        }
        return cls(
            populations={pop.name: pop.size for pop in network.populations},
            sizes=sizes,
            incoming={
                pop.name: tuple(
                    Incoming(proj.name, proj.pre, proj.delay) for proj in network.projections if proj.post == pop.name
                )
                for pop in network.populations
            },
            depth=depth,
            spike_inputs=spike_inputs,
            static=frozenset(shares_with),
            plastic=tuple(proj for proj in network.projections if proj.plasticity is not None),
            rules={proj.name: proj.plasticity for proj in network.projections if proj.plasticity is not None},
            masks={
                proj.name: None if proj.mask is None else np.asarray(proj.mask, dtype=bool)
                for proj in network.projections
            },
            shares_with=shares_with,
        )

    @property
    def used_sources(self) -> frozenset[str]:
        """Sources (populations or spike inputs) that feed at least one projection."""
        return frozenset(self.depth)
