r"""The canonical neuron update as a pure step function, shared by the numpy reference and snnTorch.

:func:`lif_step` is the executable form of :class:`spikemem.spec.LIF`'s
docstring. It accepts numpy arrays or torch tensors (any leading batch axes),
so the reference backend and the snnTorch backend run literally the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def lif_step(v: Any, refractory: Any, current: Any, params: LIFParams) -> tuple[Any, Any, Any]:
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

    Returns
    -------
    spikes, v, refractory
        Boolean spikes of this step and the updated state.
    """
    xp = namespace(v)
    active = refractory == 0
    v = xp.where(active, params.beta * v + current, v)
    spikes = active & (v > params.v_th)
    if params.subtract:
        v = v - params.v_th * spikes
    else:
        v = xp.where(spikes, xp.full_like(v, params.v_reset), v)
    if params.refractory_steps:
        refractory = xp.where(spikes, params.refractory_steps, xp.where(active, refractory, refractory - 1))
    return spikes, v, refractory
