"""What a simulation run returns: the monitored arrays, keyed ``"target.variable"``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from spikemem.cost.counts import OperationCounts


@dataclass
class Recording:
    """Monitored data of one run (or of a batch of runs).

    Parameters
    ----------
    dt
        Time step of the network in seconds.
    steps
        Number of steps of the run.
    t_start
        Step index (since the last reset) of the run's first step.
    data
        Arrays keyed ``"target.variable"`` (see :class:`~spikemem.spec.Monitor`
        for shapes). A batched run adds a leading batch axis to every array
        but the (static) weights.
    backend
        Name of the backend that produced it.
    numeric
        ``"float"`` or ``"fixed"``. In fixed point, ``v`` is in integer units.
    wall_time_s
        Wall-clock time of the run (simulation and read-back).
    cost
        The run's :class:`~spikemem.cost.OperationCounts` (synaptic events,
        spikes, neuron and plasticity updates), counted by the backend
        protocol from the recorded spikes; None when counting is off.
    """

    dt: float
    steps: int
    t_start: int = 0
    data: dict[str, np.ndarray] = field(default_factory=dict)
    backend: str = ""
    numeric: str = "float"
    wall_time_s: float = 0.0
    cost: OperationCounts | None = None

    def __getitem__(self, key: str) -> np.ndarray:
        try:
            return self.data[key]
        except KeyError:
            raise KeyError(
                f"nothing recorded as {key!r}; recorded: {sorted(self.data)}. Add a spikemem.spec.Monitor for it."
            ) from None

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def spikes(self, target: str) -> np.ndarray:
        """Boolean spike raster ``(steps, size)`` of a population or spike input."""
        return self[f"{target}.spikes"]

    def v(self, target: str) -> np.ndarray:
        """Membrane potentials ``(steps, size)`` of a population."""
        return self[f"{target}.v"]

    def count(self, target: str) -> np.ndarray:
        """Spike counts per neuron over the run."""
        key = f"{target}.count"
        if key in self.data:
            return self.data[key]
        return self.spikes(target).sum(axis=-2)

    def weights(self, projection: str) -> np.ndarray:
        """Recorded weights of a projection."""
        return self[f"{projection}.weights"]

    def times(self) -> np.ndarray:
        """Time in seconds of every step of the run (from the last reset)."""
        return (self.t_start + np.arange(self.steps)) * self.dt
