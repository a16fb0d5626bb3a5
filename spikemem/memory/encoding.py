r"""The clocked spike encoding of :math:`\pm 1` states shared by every memory model.

A neuron's state :math:`\sigma_i = \pm 1` is "spikes at its read step, or
not" (:math:`x_i = (1 + \sigma_i)/2`). A canonical LIF neuron
(:class:`spikemem.spec.LIF`) integrates with memory,
:math:`v[t] = \beta v[t-1] + I[t]` with :math:`\beta = e^{-dt/\tau} > e^{-1}`,
so a silent neuron would carry its (possibly very negative) potential into
the next decision. The models remove that memory exactly with a **clock**:

- time is divided into cycles of ``period`` steps; each population has a
  *read* phase (it decides: spike iff its input exceeds the threshold) and
  a *wipe* phase, at which a large current :math:`H` (:func:`wipe_current`)
  makes every neuron of the population fire, resetting it to
  :math:`v = 0`. The read that follows therefore sees :math:`v = 0` and
  decides on the input of that step alone: a memoryless threshold unit.
- projection delays are chosen so that read spikes arrive at the target's
  read phase and wipe spikes at the target's wipe phase, where they are
  swamped by :math:`H`.
- a trial starts with a cue step at which a current :math:`\pm (S + v_{th} + 1)`
  (:func:`cue_current`, with :math:`S` the largest synaptic input) forces the
  cue state, and ends with a wipe of the cued population, so trials can
  follow each other in one long run (time multiplexing) and give the same
  answers as separate, reset runs.
- every projection has delay 1 (Lava's ``DelayDense`` for longer delays is
  an order of magnitude slower than its ``Dense``): where a state must reach
  its own population two steps later, it alternates between two populations
  or passes through a relay population.

Wipe spikes are real spikes: they are counted in the cost figures. The clock
currents of one trial are stored in the network's ``CurrentInput`` s (one per
population); :class:`RecallNetwork` says which inputs to tile for multiplexed
trials and how to encode cues.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikemem.evaluation.memory import Readout
from spikemem.spec import CurrentInput, Network

DT = 1e-3
"""Time step of every memory network (seconds); only the ratio tau/dt matters."""

TAU_MEM = 2e-3
r"""Membrane time constant of clocked populations (:math:`\beta = e^{-1/2}`); the wipes make it irrelevant."""


def max_input(*weights: np.ndarray, rows: int = 2048) -> float:
    r"""Largest possible :math:`|\sum_j W_{ij} s_j|` over every neuron, summed over projections.

    Computed in blocks of ``rows`` rows, so that no temporary the size of a
    large weight matrix is made.
    """
    total = 0.0
    for w in weights:
        w = np.asarray(w)
        total += max(float(np.abs(w[k : k + rows]).sum(axis=1).max()) for k in range(0, len(w), rows))
    return total


def cue_current(synaptic_bound: float, v_th: float) -> float:
    r"""Magnitude :math:`S + v_{th} + 1` of the cue current: from :math:`v = 0` it decides the spike alone."""
    return float(np.ceil(synaptic_bound + v_th + 1.0))


def wipe_current(synaptic_bound: float, current_bound: float, v_th: float) -> float:
    r"""A current that makes every neuron fire, whatever its state.

    With :math:`|I_{syn}| \le S` and every other current :math:`|I| \le B`,
    a neuron that did not fire at the previous step has
    :math:`|v| \le S + B`, so :math:`H = 2(S + B) + v_{th} + 1` gives
    :math:`v = \beta v + I_{syn} + H > v_{th}`. Rounded up to an integer so
    that the sums stay exact in floating point.
    """
    return float(np.ceil(2.0 * (synaptic_bound + current_bound) + v_th + 1.0))


@dataclass
class RecallNetwork:
    """A spiking recall network and how to drive and read it.

    Attributes
    ----------
    network
        The spec (with the clock currents of one trial).
    readout
        Where the answer lies (see :class:`spikemem.evaluation.memory.Readout`).
    cue_input
        Name of the ``CurrentInput`` that carries a trial's cue.
    encode_cue
        ``(B, N)`` cues in :math:`\\pm 1` -> ``(B, rows, n)`` cue currents
        (rows from the trial's first step; silent after them).
    clocks
        Names of the per-trial periodic ``CurrentInput`` s (tiled for
        multiplexed trials).
    sources
        Populations whose spike counts enter the cost figures.
    info
        Model parameters for reports (neurons per population, constants).
    """

    network: Network
    readout: Readout
    cue_input: str
    encode_cue: Callable[[np.ndarray], np.ndarray]
    clocks: tuple[str, ...]
    sources: tuple[str, ...]
    info: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    @property
    def trial_steps(self) -> int:
        """Steps of one trial."""
        return self.readout.trial_steps

    def clock_values(self) -> dict[str, np.ndarray]:
        """The clock currents of one trial, ``(trial_steps, n)`` per input."""
        return {name: np.asarray(self.network.input_of(CurrentInput, name).values) for name in self.clocks}

    def neurons(self) -> int:
        """Total number of neurons."""
        return sum(pop.size for pop in self.network.populations)

    def fan_out(self) -> dict[str, np.ndarray]:
        """Synapses driven by each neuron of each source (computed once: the weights are static)."""
        if "fan_out" not in self._cache:
            from spikemem.evaluation.memory import fan_out

            self._cache["fan_out"] = fan_out(self.network)
        return self._cache["fan_out"]


def periodic_current(
    trial_steps: int, size: int, values: Mapping[int, np.ndarray | float], default: float = 0.0
) -> np.ndarray:
    """``(trial_steps, size)`` current: ``values[t]`` at step ``t`` (scalar or ``(size,)``), else ``default``."""
    out = np.full((trial_steps, size), default, dtype=np.float64)
    for step, value in values.items():
        out[step] = value
    return out
