"""Populations, projections, monitors and the network that holds them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeVar

import numpy as np

from spikemem.spec.inputs import SPIKE_SOURCE_TYPES, Input
from spikemem.spec.neurons import LIF
from spikemem.spec.plasticity import PlasticityRule

InputT = TypeVar("InputT")


@dataclass(eq=False)
class Population:
    """A group of identical neurons.

    Parameters
    ----------
    name
        Unique name (shared namespace with inputs).
    size
        Number of neurons, >= 1.
    neuron
        The neuron model.
    v_init
        Membrane potential before the first step: a scalar or ``(size,)``.
    """

    name: str
    size: int
    neuron: LIF
    v_init: float | np.ndarray = 0.0


@dataclass(eq=False)
class Projection:
    r"""Weighted connections from a spike source onto a population.

    The projection adds :math:`W\, s_{pre}[t - d]` to the postsynaptic
    :math:`I_{syn}[t]`: a spike emitted at step ``t`` arrives ``delay`` steps
    later (the minimum, ``delay = 1``, is the next step).

    Parameters
    ----------
    pre
        Name of the presynaptic population or spike input.
    post
        Name of the postsynaptic population.
    weights
        ``(n_post, n_pre)``: ``weights[i, j]`` connects pre ``j`` to post ``i``.
        Absent synapses are zeros (plasticity never creates them: the
        connectivity mask is ``weights != 0`` for rules that keep sparsity,
        see ``mask``).
    delay
        Transmission delay in steps, >= 1.
    plasticity
        Optional rule updating ``weights`` during the run.
    name
        Unique projection name; defaults to ``"pre->post"``.
    mask
        Optional boolean ``(n_post, n_pre)``: where False there is no synapse
        and the weight stays zero under plasticity. ``None``: all-to-all.
    """

    pre: str
    post: str
    weights: np.ndarray
    delay: int = 1
    plasticity: PlasticityRule | None = None
    name: str = ""
    mask: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not self.name:
            self.name = f"{self.pre}->{self.post}"


MonitorVariable = Literal["spikes", "v", "count", "weights"]

POPULATION_VARIABLES = ("spikes", "v", "count")
PROJECTION_VARIABLES = ("weights",)


@dataclass(eq=False)
class Monitor:
    """A recorded variable.

    Variables of populations: ``"spikes"`` (bool ``(steps, size)``), ``"v"``
    (membrane potential after reset, ``(steps, size)``), ``"count"`` (spikes
    per neuron over the run, ``(size,)``, the cheapest to read back). Of
    spike inputs: ``"spikes"`` and ``"count"``. Of projections: ``"weights"``,
    the weights at the end of the run (``(n_post, n_pre)``), or, with
    ``every = k``, a snapshot after every ``k``-th step (``(steps // k, n_post,
    n_pre)``).

    Parameters
    ----------
    target
        Name of a population, spike input or projection.
    variable
        One of the variables above.
    every
        Snapshot interval in steps for ``"weights"``; ``None`` for final only.
    """

    target: str
    variable: MonitorVariable = "spikes"
    every: int | None = None

    @property
    def key(self) -> str:
        """Key of the recorded array in a :class:`~spikemem.recording.Recording`."""
        return f"{self.target}.{self.variable}"


@dataclass(eq=False)
class Network:
    """A complete model: what every backend compiles and runs.

    Parameters
    ----------
    dt
        Time step in seconds, > 0 and smaller than every ``tau_mem``.
    populations, projections, inputs, monitors
        The parts of the model; names are unique within populations + inputs
        and within projections.
    name
        A label for reports.
    """

    dt: float
    populations: list[Population] = field(default_factory=list)
    projections: list[Projection] = field(default_factory=list)
    inputs: list[Input] = field(default_factory=list)
    monitors: list[Monitor] = field(default_factory=list)
    name: str = "network"

    def population(self, name: str) -> Population:
        """The population called ``name`` (KeyError if none)."""
        for pop in self.populations:
            if pop.name == name:
                return pop
        raise KeyError(f"no population named {name!r}")

    def projection(self, name: str) -> Projection:
        """The projection called ``name`` (KeyError if none)."""
        for proj in self.projections:
            if proj.name == name:
                return proj
        raise KeyError(f"no projection named {name!r}")

    def input(self, name: str) -> Input:
        """The input called ``name`` (KeyError if none)."""
        for inp in self.inputs:
            if inp.name == name:
                return inp
        raise KeyError(f"no input named {name!r}")

    def input_of(self, kind: type[InputT], name: str) -> InputT:
        """The input called ``name``, which must be a ``kind`` (KeyError if none, TypeError if another kind)."""
        inp = self.input(name)
        if not isinstance(inp, kind):
            raise TypeError(f"input {name!r} is a {type(inp).__name__}, not a {kind.__name__}")
        return inp

    def source_size(self, name: str) -> int:
        """Size of the population or spike input called ``name``."""
        for pop in self.populations:
            if pop.name == name:
                return pop.size
        for inp in self.inputs:
            if inp.name == name and isinstance(inp, SPIKE_SOURCE_TYPES):
                return inp.size
        raise KeyError(f"no population or spike input named {name!r}")

    def validate(self) -> Network:
        """Check the whole description; raise :class:`SpecError` on the first problem.

        Returns the network itself, so that ``net.validate()`` can be chained.
        """
        from spikemem.spec.validation import validate

        validate(self)
        return self
