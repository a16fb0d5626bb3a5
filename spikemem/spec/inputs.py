r"""External inputs of the spec: spike trains, Poisson spikes, currents, modulators.

Time indexing: an input's data are indexed by the step counted from the
start of the simulation (or from its last ``reset``). Data passed to
``Simulation.run(steps, inputs=...)`` replace an input's data for that run and
are indexed from the run's first step. Past the end of its data an input is
silent (no spikes, zero current, zero modulation).

Spike inputs (:class:`SpikeInput`, :class:`PoissonInput`) are spike *sources*:
projections read them like a population, with the same delay semantics.
:class:`CurrentInput` adds :math:`I_{ext}[t]` to its target population's
membrane update without delay. :class:`ModulatorInput` feeds the third factor
of :class:`~spikemem.spec.ThreeFactor` rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(eq=False)
class SpikeInput:
    """A fixed spike raster.

    Parameters
    ----------
    name
        Unique name (shared namespace with populations).
    spikes
        Boolean array ``(steps, size)``: ``spikes[t, j]`` is emitted at step ``t``.
    """

    name: str
    spikes: np.ndarray

    @property
    def size(self) -> int:
        """Number of input channels."""
        return int(np.shape(self.spikes)[-1])


@dataclass(eq=False)
class PoissonInput:
    r"""Independent Bernoulli (discrete Poisson) spike trains with a seed.

    Channel ``j`` spikes at step ``t`` when :math:`u_{t,j} < r_j\,dt`, with
    :math:`u_{t,\cdot}` drawn from ``numpy.random.default_rng([seed, t])``
    (``t`` counted from the last reset). The draw depends only on the seed and
    the step, so every backend sees the same spikes, whatever the run lengths.

    Parameters
    ----------
    name
        Unique name.
    size
        Number of channels, >= 1.
    rate_hz
        Rate in Hz, a scalar or one value per channel, with ``rate_hz * dt <= 1``.
    seed
        Non-negative integer seed.
    """

    name: str
    size: int
    rate_hz: float | np.ndarray
    seed: int = 0


@dataclass(eq=False)
class CurrentInput:
    """External current added to a population each step, without delay.

    Parameters
    ----------
    name
        Unique name.
    target
        Name of the population it drives.
    values
        ``(size,)`` for a constant current, or ``(steps, size)`` time-varying.
    """

    name: str
    target: str
    values: np.ndarray

    @property
    def constant(self) -> bool:
        """True when the current does not change over time."""
        return np.ndim(self.values) == 1


@dataclass(eq=False)
class ModulatorInput:
    """Modulatory (third-factor) signal for :class:`~spikemem.spec.ThreeFactor`.

    Parameters
    ----------
    name
        Unique name, referenced by ``ThreeFactor.modulator``.
    values
        ``(steps,)`` for one global signal, or ``(steps, n_post)`` per neuron.
    """

    name: str
    values: np.ndarray


Input = SpikeInput | PoissonInput | CurrentInput | ModulatorInput
SPIKE_SOURCE_TYPES = (SpikeInput, PoissonInput)
INPUT_TYPES = (SpikeInput, PoissonInput, CurrentInput, ModulatorInput)
