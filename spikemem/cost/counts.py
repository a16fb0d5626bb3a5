r"""Operation counts of a run, computed once in spikemem from the spec and the recorded spikes.

Every backend records the same thing for the count (the protocol adds the
monitors it needs, :func:`cost_monitors`), and :func:`count_operations` turns
it into an :class:`OperationCounts`, so the float backends give identical
counts and Lava fixed point gives its own from its own spikes. A backend for
which a per-step raster is dear (Brian2's runtime targets) records a source of
:func:`tail_sources` by its per-neuron spike count and supplies its *spike
tail*, the spikes of the run's last ``depth`` steps, instead: the same counts
(``count_operations(..., tails=...)``).

Definitions (per run of ``S`` steps and ``B`` trials; :math:`s_j[t]` the spikes
of source neuron ``j`` at step ``t``, steps before the run's first being the
spikes still in transit from the previous run):

- **synaptic events** of a projection with delay :math:`d` and existing
  synapses :math:`M` (``mask`` where given, and for a static projection also
  ``weights != 0``; a plastic projection keeps every synapse its mask allows):

  .. math:: E_p = \sum_{t=0}^{S-1} \sum_j s_j[t-d]\, \mathrm{fanout}_j,
            \qquad \mathrm{fanout}_j = \sum_i M_{ij}

  an event counts in the run that *delivers* it: the spikes of the last
  :math:`d` steps count in the next run (or never, after a reset). Every
  projection of the spec carries binary spikes, so its events are
  **accumulate** operations (AC: the weight is added, nothing multiplied);
- **multiply-accumulate** operations (MAC) come from graded inputs: every
  non-zero element of a :class:`~spikemem.spec.CurrentInput` block is one
  graded input to one neuron, and costs ``graded_fan_in[target]`` MACs (1 when
  the current is given; the width of the matrix that made it, e.g. the pixels
  of a direct encoding :math:`W_1 x`, when the caller says so);
- **dense-equivalent MACs**: what a clocked, dense implementation of the same
  network computes, :math:`S \cdot n_{post} \cdot n_{pre}` per projection and
  trial (plus the dense graded inputs) whatever the activity;
- **neuron state updates**: :math:`S \cdot n` per population and trial (a
  clocked simulator updates every neuron every step); *active* ones are
  those that emitted a spike;
- **activation sparsity**: :math:`1 - \text{spikes} / \text{neuron updates}`
  over the populations (NeuroBench's definition over spiking layers);
- **plasticity updates**: weights touched by each rule per step. Trace rules
  (Hebb, Oja, OjaSubspace, ThreeFactor, ErrorModulated) change every existing
  synapse every step of a run (the reference and Lava's learning engine
  both do): :math:`S \cdot |M|`. :class:`~spikemem.spec.PairSTDP` is
  event-driven: a synapse is touched at a step where its pre or its post
  neuron spikes, :math:`\sum_t (\sum_j s_j[t] \mathrm{fanout}_j + \sum_i
  s_i[t] \mathrm{fanin}_i - \sum_{ij} s_j[t] s_i[t] M_{ij})`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from spikemem.spec import Monitor, Network, PairSTDP, Projection
from spikemem.spec.inputs import SPIKE_SOURCE_TYPES


@dataclass(frozen=True)
class PopulationCounts:
    """Counts of one population over a run (summed over trials).

    Attributes
    ----------
    name, size
        The population.
    spikes
        Spikes emitted.
    neuron_updates
        Neuron state updates, ``steps * size * trials``.
    graded_inputs
        Non-zero elements of its external current (:class:`~spikemem.spec.CurrentInput`).
    graded_macs
        MACs of those inputs: ``graded_inputs * graded_fan_in``.
    dense_graded_macs
        The same for a dense implementation: ``steps * size * trials * graded_fan_in``
        where it has a current input, else 0.
    """

    name: str
    size: int
    spikes: int
    neuron_updates: int
    graded_inputs: int = 0
    graded_macs: int = 0
    dense_graded_macs: int = 0

    @property
    def activation_sparsity(self) -> float:
        """``1 - spikes / neuron_updates`` (1.0 for a silent population)."""
        return 1.0 - self.spikes / self.neuron_updates if self.neuron_updates else 1.0


@dataclass(frozen=True)
class ProjectionCounts:
    """Counts of one projection over a run (summed over trials).

    Attributes
    ----------
    name, pre, post
        The projection.
    synapses
        Existing synapses :math:`|M|` (module docstring).
    dense_synapses
        ``n_post * n_pre``.
    delivered_spikes
        Presynaptic spikes delivered inside the run.
    accumulate_ops
        Synaptic events :math:`E_p` (binary spikes: one weight added each).
    dense_macs
        ``steps * n_post * n_pre * trials``.
    plasticity_updates
        Weights touched by its rule (0 when static).
    """

    name: str
    pre: str
    post: str
    synapses: int
    dense_synapses: int
    delivered_spikes: int
    accumulate_ops: int
    dense_macs: int
    plasticity_updates: int = 0

    @property
    def connection_sparsity(self) -> float:
        """``1 - synapses / dense_synapses``."""
        return 1.0 - self.synapses / self.dense_synapses if self.dense_synapses else 0.0


@dataclass(frozen=True)
class OperationCounts:
    """What one run (or a sum of runs) computed, per population and per projection.

    Attributes
    ----------
    steps
        Simulated steps per trial (summed over the runs added together).
    trials
        Independent trials (the batch of :meth:`Simulation.run_batch`; 1 for ``run``).
    numeric
        ``"float"`` or ``"fixed"``: which arithmetic produced the spikes.
    backend
        The backend that produced them.
    populations, projections
        Per-population and per-projection counts, in the network's order.
    """

    steps: int
    trials: int
    numeric: str
    backend: str
    populations: tuple[PopulationCounts, ...]
    projections: tuple[ProjectionCounts, ...]

    # -- totals ----------------------------------------------------------------------------
    @property
    def spikes(self) -> int:
        """Spikes emitted by all populations (spike inputs excluded)."""
        return sum(p.spikes for p in self.populations)

    @property
    def accumulate_ops(self) -> int:
        """Synaptic events of binary spikes (AC)."""
        return sum(p.accumulate_ops for p in self.projections)

    @property
    def multiply_accumulate_ops(self) -> int:
        """Graded-input MACs."""
        return sum(p.graded_macs for p in self.populations)

    @property
    def synaptic_ops(self) -> int:
        """``accumulate_ops + multiply_accumulate_ops`` (NeuroBench's "effective" synaptic operations)."""
        return self.accumulate_ops + self.multiply_accumulate_ops

    @property
    def dense_macs(self) -> int:
        """Dense-equivalent MACs of every projection and graded input."""
        return sum(p.dense_macs for p in self.projections) + sum(p.dense_graded_macs for p in self.populations)

    @property
    def neuron_updates(self) -> int:
        """Neuron state updates of all populations."""
        return sum(p.neuron_updates for p in self.populations)

    @property
    def activation_sparsity(self) -> float:
        """``1 - spikes / neuron_updates`` over all populations."""
        updates = self.neuron_updates
        return 1.0 - self.spikes / updates if updates else 1.0

    @property
    def plasticity_updates(self) -> int:
        """Weights touched by plasticity rules."""
        return sum(p.plasticity_updates for p in self.projections)

    # -- arithmetic over runs ----------------------------------------------------------------
    def __add__(self, other: OperationCounts) -> OperationCounts:
        """Counts of two runs of the same network one after the other (steps add up, trials must match)."""
        if not isinstance(other, OperationCounts):
            return NotImplemented
        names = ([p.name for p in self.populations], [p.name for p in self.projections])
        if names != ([p.name for p in other.populations], [p.name for p in other.projections]):
            raise ValueError("cannot add the operation counts of different networks")
        return OperationCounts(
            steps=self.steps + other.steps,
            trials=max(self.trials, other.trials),
            numeric=self.numeric,
            backend=self.backend,
            populations=tuple(_add(a, b) for a, b in zip(self.populations, other.populations, strict=True)),
            projections=tuple(_add(a, b) for a, b in zip(self.projections, other.projections, strict=True)),
        )

    def per_trial(self) -> dict[str, Any]:
        """:meth:`as_dict` with every count divided by ``trials`` (floats): the cost of one trial."""
        return self.as_dict(scale=1.0 / self.trials)

    def as_dict(self, scale: float = 1.0) -> dict[str, Any]:
        """JSON-ready totals, per population and per projection (counts multiplied by ``scale``)."""

        def num(value: int) -> float | int:
            return value if scale == 1.0 else value * scale

        return {
            "numeric": self.numeric,
            "backend": self.backend,
            "steps": self.steps,
            "trials": self.trials,
            "scale": scale,
            "total": {
                "spikes": num(self.spikes),
                "synaptic_ops": num(self.synaptic_ops),
                "accumulate_ops": num(self.accumulate_ops),
                "multiply_accumulate_ops": num(self.multiply_accumulate_ops),
                "dense_macs": num(self.dense_macs),
                "neuron_updates": num(self.neuron_updates),
                "plasticity_updates": num(self.plasticity_updates),
                "activation_sparsity": self.activation_sparsity,
            },
            "populations": {
                p.name: {
                    "spikes": num(p.spikes),
                    "neuron_updates": num(p.neuron_updates),
                    "graded_macs": num(p.graded_macs),
                    "activation_sparsity": p.activation_sparsity,
                }
                for p in self.populations
            },
            "projections": {
                p.name: {
                    "accumulate_ops": num(p.accumulate_ops),
                    "dense_macs": num(p.dense_macs),
                    "plasticity_updates": num(p.plasticity_updates),
                    "synapses": p.synapses,
                    "connection_sparsity": p.connection_sparsity,
                }
                for p in self.projections
            },
        }


def _add(a: Any, b: Any) -> Any:
    """Field-wise sum of two count records of the same element (names and sizes kept)."""
    keep = {"name", "size", "pre", "post", "synapses", "dense_synapses"}
    return replace(a, **{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(a) if f.name not in keep})


def join_trials(a: OperationCounts, b: OperationCounts) -> OperationCounts:
    """Counts of two batches of independent trials of the same length (e.g. two ``run_batch`` calls): trials add."""
    if a.steps != b.steps:
        raise ValueError(f"cannot join trials of {a.steps} and {b.steps} steps; add consecutive runs with +")
    return replace(a + b, steps=a.steps, trials=a.trials + b.trials)


def sum_counts(counts: Iterable[OperationCounts]) -> OperationCounts:
    """The sum of the counts of consecutive runs of one network (:meth:`OperationCounts.__add__`)."""
    items = list(counts)
    if not items:
        raise ValueError("sum_counts needs at least one OperationCounts")
    total = items[0]
    for item in items[1:]:
        total = total + item
    return total


# -- the synapses that exist --------------------------------------------------------------------
def existing_synapses(proj: Projection) -> np.ndarray:
    """Boolean ``(n_post, n_pre)``: the synapses of a projection (module docstring, :math:`M`)."""
    weights = np.asarray(proj.weights)
    exists = np.ones(weights.shape, dtype=bool) if proj.mask is None else np.asarray(proj.mask, dtype=bool)
    if proj.plasticity is None:
        exists = exists & (weights != 0)
    return exists


# -- what must be recorded ------------------------------------------------------------------------
def raster_sources(network: Network) -> frozenset[str]:
    """Populations whose per-step spikes the count needs: the sources of projections and the posts of STDP."""
    populations = {pop.name for pop in network.populations}
    needed = {proj.pre for proj in network.projections if proj.pre in populations}
    needed |= {proj.post for proj in network.projections if isinstance(proj.plasticity, PairSTDP)}
    return frozenset(needed)


def tail_sources(network: Network) -> frozenset[str]:
    """Sources of :func:`raster_sources` whose count can come from per-neuron totals and a spike tail.

    A projection's delivered spikes need, per source neuron, only its spike
    total over the run and its spikes in the run's last ``delay`` steps
    (:func:`count_operations`, ``tails``); so do the events it causes. The
    pres and posts of :class:`~spikemem.spec.PairSTDP` need the per-step
    raster (the updates pair spikes of one step), and so does a population
    whose spikes the spec monitors anyway (its raster is there already).
    """
    stdp = {
        name for proj in network.projections if isinstance(proj.plasticity, PairSTDP) for name in (proj.pre, proj.post)
    }
    monitored = {m.target for m in network.monitors if m.variable == "spikes"}
    return raster_sources(network) - stdp - monitored


def tail_depths(network: Network, sources: Iterable[str]) -> dict[str, int]:
    """Source -> the spike tail its count needs: the largest delay of the projections it feeds."""
    depths: dict[str, int] = {}
    wanted = set(sources)
    for proj in network.projections:
        if proj.pre in wanted:
            depths[proj.pre] = max(depths.get(proj.pre, 1), int(proj.delay))
    return depths


def cost_monitors(network: Network, tails: Iterable[str] = ()) -> list[Monitor]:
    """Monitors the count needs that ``network`` lacks: a raster of :func:`raster_sources`, counts of the rest.

    ``tails``: sources (of :func:`tail_sources`) whose backend supplies their
    spike tails (``Simulation._spike_tails``); they get a per-neuron count
    instead of a raster.
    """
    have = {(m.target, m.variable) for m in network.monitors}
    rasters = raster_sources(network) - set(tails)
    extra: list[Monitor] = []
    for pop in network.populations:
        if (pop.name, "spikes") in have:
            continue
        if pop.name in rasters:
            extra.append(Monitor(pop.name, "spikes"))
        elif (pop.name, "count") not in have:
            extra.append(Monitor(pop.name, "count"))
    return extra


def with_cost_monitors(network: Network, tails: Iterable[str] = ()) -> tuple[Network, frozenset[str]]:
    """A shallow copy of ``network`` with :func:`cost_monitors` added, and the keys of the added monitors."""
    extra = cost_monitors(network, tails)
    if not extra:
        return network, frozenset()
    return replace(network, monitors=[*network.monitors, *extra]), frozenset(m.key for m in extra)


# -- the count --------------------------------------------------------------------------------------
def _batched(array: np.ndarray, batched: bool) -> np.ndarray:
    """``(B, ...)`` from a recorded array (a plain run has no batch axis)."""
    return array if batched else array[None]


def count_operations(
    network: Network,
    data: Mapping[str, np.ndarray],
    *,
    steps: int,
    trials: int = 1,
    batched: bool = False,
    inputs: Mapping[str, np.ndarray] | None = None,
    currents: Mapping[str, np.ndarray | int] | None = None,
    in_transit: Mapping[str, np.ndarray] | None = None,
    tails: Mapping[str, np.ndarray] | None = None,
    learn: bool = True,
    graded_fan_in: Mapping[str, int] | None = None,
    fanouts: Mapping[str, np.ndarray] | None = None,
    numeric: str = "float",
    backend: str = "",
) -> OperationCounts:
    r"""Count the operations of one run from its recorded spikes (module docstring for the definitions).

    Parameters
    ----------
    network
        The spec that ran.
    data
        Recorded arrays: ``"pop.spikes"`` ``(steps, n)`` (``(B, steps, n)`` when
        ``batched``) for every population of :func:`raster_sources`, and
        ``"pop.spikes"`` or ``"pop.count"`` for the others.
    steps, trials, batched
        The run's length, its number of trials and whether ``data`` has a
        leading trial axis.
    inputs
        Spike input name -> its raster of the run, ``(steps, n)`` or ``(B, steps, n)``.
    currents
        Population -> its external current of the run (same shapes), or the
        number of its non-zero elements.
    in_transit
        Source name -> ``(B, depth, n)`` spikes of the steps before the run
        that are still travelling (the previous run's last ``depth`` steps,
        oldest first); None after a reset.
    tails
        Source population recorded by ``"pop.count"`` only -> ``(B, depth, n)``
        its spikes in the run's last ``depth`` steps (oldest first; steps
        before the run are False), ``depth`` at least the delay of every
        projection it feeds. Its delivered spikes per neuron are then
        :math:`\sum_t s_j[t] - \sum_{t \ge S - d} s_j[t]` plus the arriving
        ones: the same as from its raster.
    learn
        Whether the plastic projections learned during the run.
    graded_fan_in
        Population -> MACs per non-zero graded input element (default 1).
    fanouts
        Projection name -> its :func:`fanout` (computed here when omitted; a
        simulation computes it once).
    numeric, backend
        Recorded with the counts.
    """
    inputs = inputs or {}
    currents = currents or {}
    in_transit = in_transit or {}
    graded_fan_in = graded_fan_in or {}
    tails = tails or {}
    rasters: dict[str, np.ndarray] = {}
    totals: dict[str, np.ndarray] = {}
    for name, raster in inputs.items():
        rasters[name] = _batched(np.asarray(raster, dtype=bool), batched)
    pops: list[PopulationCounts] = []
    for pop in network.populations:
        key = f"{pop.name}.spikes"
        if key in data:
            rasters[pop.name] = _batched(np.asarray(data[key], dtype=bool), batched)
            spikes = int(np.count_nonzero(rasters[pop.name]))
        elif f"{pop.name}.count" in data:
            total = np.asarray(data[f"{pop.name}.count"])
            spikes = int(total.sum())
            if pop.name in tails:
                totals[pop.name] = _batched(total, batched).sum(axis=0, dtype=np.int64)
        else:
            raise KeyError(f"no spikes of population {pop.name!r} were recorded; add Monitor({pop.name!r}, 'count')")
        updates = steps * pop.size * trials
        fan_in = int(graded_fan_in.get(pop.name, 1))
        graded = 0
        if pop.name in currents:
            given = currents[pop.name]
            graded = given if isinstance(given, int) else nonzero(given)
        dense_graded = updates * fan_in if pop.name in currents else 0
        pops.append(PopulationCounts(pop.name, pop.size, spikes, updates, graded, graded * fan_in, dense_graded))
    projs: list[ProjectionCounts] = []
    for proj in network.projections:
        fanout = fanouts[proj.name] if fanouts is not None else synapse_fanout(proj)
        if proj.pre in rasters:
            delivered, events = _delivered(rasters[proj.pre], in_transit.get(proj.pre), proj.delay, steps, fanout)
        elif proj.pre in totals:
            kept = _kept_from_tail(totals[proj.pre], np.asarray(tails[proj.pre], dtype=bool), proj.delay, proj.name)
            carried = in_transit.get(proj.pre)
            if carried is not None:
                kept = kept + _arriving(np.asarray(carried, dtype=bool), proj.delay, steps)
            delivered, events = int(kept.sum()), int(kept @ fanout)
        else:
            raise KeyError(
                f"no spike raster (or count and tail) of {proj.pre!r}, the source of projection {proj.name!r}"
            )
        n_post, n_pre = np.shape(proj.weights)
        touched = 0
        if proj.plasticity is not None and learn:
            touched = _plasticity_updates(proj, existing_synapses(proj), fanout, rasters, steps, trials)
        projs.append(
            ProjectionCounts(
                proj.name,
                proj.pre,
                proj.post,
                int(fanout.sum()),
                n_post * n_pre,
                delivered,
                events,
                steps * n_post * n_pre * trials,
                touched,
            )
        )
    return OperationCounts(steps, trials, numeric, backend, tuple(pops), tuple(projs))


def nonzero(array: np.ndarray) -> int:
    """Non-zero elements of an array (of a float array through a boolean mask: faster than on floats).

    A broadcast view (stride 0 along an axis: a constant current repeated
    over the steps of a run, as :func:`spikemem.stimulus.input_window` makes
    it) is counted on one slice along each such axis, times the axis lengths,
    without materialising the repeats.
    """
    array = np.asarray(array)
    if array.size == 0:
        return 0
    repeats = 1
    if 0 in array.strides:
        repeats = int(np.prod([size for size, stride in zip(array.shape, array.strides, strict=True) if stride == 0]))
        array = array[tuple(0 if stride == 0 else slice(None) for stride in array.strides)]
    return repeats * int(np.count_nonzero(array if array.dtype == bool else array != 0))


def nonzero_total(arrays: Iterable[np.ndarray]) -> int:
    """:func:`nonzero` summed over ``arrays`` (e.g. one current block per trial of a batch).

    Arrays of one shape that are not broadcast views are stacked and counted
    at once (one numpy call instead of one per trial).
    """
    total = 0
    by_shape: dict[tuple[int, ...], list[np.ndarray]] = {}
    for array in arrays:
        array = np.asarray(array)
        if array.size and 0 in array.strides:
            total += nonzero(array)
        else:
            by_shape.setdefault(array.shape, []).append(array)
    for group in by_shape.values():
        total += nonzero(group[0] if len(group) == 1 else np.stack(group))
    return total


def synapse_fanout(proj: Projection) -> np.ndarray:
    """int64 ``(n_pre,)``: the existing synapses of each presynaptic neuron (:func:`existing_synapses`)."""
    return existing_synapses(proj).sum(axis=0).astype(np.int64)


def _delivered(
    raster: np.ndarray, carried: np.ndarray | None, delay: int, steps: int, fanout: np.ndarray
) -> tuple[int, int]:
    """Spikes delivered inside the run (emitted at steps ``[-d, S - d)``) and the synaptic events they cause."""
    emitted = raster[:, : max(steps - delay, 0)]
    uniform = fanout.size > 0 and bool((fanout == fanout[0]).all())
    if uniform and carried is None:  # every neuron reaches as many synapses: count the spikes only
        spikes = int(np.count_nonzero(emitted))
        return spikes, spikes * int(fanout[0])
    kept = np.count_nonzero(emitted, axis=(0, 1)).astype(np.int64)
    if carried is not None:
        kept = kept + _arriving(np.asarray(carried, dtype=bool), delay, steps)
    return int(kept.sum()), int(kept @ fanout)


def _kept_from_tail(total: np.ndarray, tail: np.ndarray, delay: int, projection: str) -> np.ndarray:
    """Per neuron, its spikes of the run that the run delivers: its total less its spikes of the last ``delay`` steps.

    ``tail`` is ``(B, depth, n)`` (steps before the run False), so a run
    shorter than ``delay`` delivers none of its own spikes.
    """
    if tail.ndim != 3 or tail.shape[1] < delay:
        raise ValueError(
            f"the spike tail of projection {projection!r}'s source has shape {tail.shape}; "
            f"it needs (trials, depth >= {delay}, n)"
        )
    return total - tail[:, tail.shape[1] - delay :].sum(axis=(0, 1), dtype=np.int64)


def _arriving(carried: np.ndarray, delay: int, steps: int) -> np.ndarray:
    """Per neuron, the spikes in transit (``(B, depth, n)``, the last step last) that arrive inside the run.

    A spike of step :math:`-k` (``k >= 1``) arrives at :math:`d - k`, inside the
    run when :math:`0 \\le d - k < S`.
    """
    depth = carried.shape[1]
    k_min, k_max = max(1, delay - steps + 1), min(delay, depth)
    if k_max < k_min:
        return np.zeros(carried.shape[-1], dtype=np.int64)
    return carried[:, depth - k_max : depth - k_min + 1].sum(axis=(0, 1), dtype=np.int64)


def _plasticity_updates(
    proj: Projection,
    exists: np.ndarray,
    fanout: np.ndarray,
    rasters: Mapping[str, np.ndarray],
    steps: int,
    trials: int,
) -> int:
    """Weights touched by ``proj``'s rule over the run (module docstring)."""
    if not isinstance(proj.plasticity, PairSTDP):
        return int(exists.sum()) * steps * trials
    pre = rasters[proj.pre].astype(np.int64)  # (B, S, n_pre)
    post = rasters[proj.post].astype(np.int64)  # (B, S, n_post)
    fanin = exists.sum(axis=1).astype(np.int64)
    by_pre = int((pre.sum(axis=(0, 1)) * fanout).sum())
    by_post = int((post.sum(axis=(0, 1)) * fanin).sum())
    both = int(np.einsum("bti,ij,btj->", post, exists.astype(np.int64), pre))
    return by_pre + by_post - both


def spike_input_names(network: Network) -> frozenset[str]:
    """Names of the network's spike sources that are inputs (Poisson, spike arrays)."""
    return frozenset(inp.name for inp in network.inputs if isinstance(inp, SPIKE_SOURCE_TYPES))
