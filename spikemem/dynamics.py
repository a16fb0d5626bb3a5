r"""The canonical neuron update as a pure step function, shared by the numpy reference and snnTorch.

:func:`lif_step` is the executable form of :class:`spikemem.spec.LIF`'s
docstring. It accepts numpy arrays or torch tensors (any leading batch axes),
so the reference backend and the snnTorch backend run literally the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from spikemem._arrays import namespace
from spikemem.spec import LIF


@dataclass(frozen=True)
class LIFParams:
    r"""Per-step constants of a :class:`~spikemem.spec.LIF` population.

    Attributes
    ----------
    beta
        Membrane decay per step, :math:`e^{-dt/\tau_{mem}}`.
    v_th, v_reset
        Threshold and reset value.
    subtract
        True for reset by subtraction.
    refractory_steps
        Clamped steps after each spike.
    """

    beta: float
    v_th: float
    v_reset: float
    subtract: bool
    refractory_steps: int

    @classmethod
    def from_neuron(cls, neuron: LIF, dt: float) -> LIFParams:
        """Constants of ``neuron`` at time step ``dt``."""
        return cls(
            beta=neuron.beta(dt),
            v_th=float(neuron.v_th),
            v_reset=float(neuron.v_reset),
            subtract=neuron.reset == "subtract",
            refractory_steps=int(neuron.refractory_steps),
        )


class NeuronState(NamedTuple):
    """State of a population between steps: potentials and refractory counters, both ``(..., n)``."""

    v: Any
    refractory: Any


def lif_step(
    v: Any, refractory: Any, current: Any, params: LIFParams, spike_fn: Callable[[Any], Any] | None = None
) -> tuple[Any, Any, Any]:
    r"""One canonical LIF step.

    .. math::

        v &\leftarrow \beta v + I \quad\text{(where not refractory)}\\
        s &= (v > v_{th}) \wedge \neg\text{refractory}\\
        v &\leftarrow v_{reset} \text{ or } v - v_{th} \quad\text{(where } s)

    Parameters
    ----------
    v
        Membrane potentials after the previous step.
    refractory
        Integer counters of remaining refractory steps (0: integrating).
    current
        Total input of this step, :math:`I_{syn}[t] + I_{ext}[t]`.
    params
        The population's constants.
    spike_fn
        Optional differentiable Heaviside of :math:`v - v_{th}` returning 0/1
        in ``v``'s dtype (a surrogate-gradient spike, e.g. built from
        ``snntorch.surrogate``). ``None`` (default): the plain comparison
        :math:`v > v_{th}`. Both give the same values; with ``spike_fn`` the
        spikes are floats and the reset is written
        :math:`v (1 - s) + v_{reset} s` (or :math:`v - v_{th} s`), so that
        gradients flow through the spike into the reset, as in snnTorch.

    Returns
    -------
    spikes, v, refractory
        Spikes of this step (boolean, or floats with ``spike_fn``) and the
        updated state.
    """
    xp = namespace(v)
    # Without refractoriness every neuron integrates every step: skip the masks (hot path).
    active = refractory == 0 if params.refractory_steps else None
    v = params.beta * v + current if active is None else xp.where(active, params.beta * v + current, v)
    if spike_fn is None:
        spikes = fired = v > params.v_th if active is None else active & (v > params.v_th)
    else:
        spikes = spike_fn(v - params.v_th)
        spikes = spikes if active is None else spikes * active
        fired = spikes > 0
    if params.subtract:
        v = v - params.v_th * spikes
    elif spike_fn is None:
        v = xp.where(spikes, params.v_reset, v)
    else:
        v = v * (1 - spikes) + params.v_reset * spikes
    if active is not None:
        refractory = xp.where(fired, params.refractory_steps, xp.where(active, refractory, refractory - 1))
    return spikes, v, refractory
