"""Neuron models of the spec.

Every backend executes the same discrete-time update, written once here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

ResetMode = Literal["value", "subtract"]


@dataclass(frozen=True)
class LIF:
    r"""Leaky integrate-and-fire neuron in canonical discrete time.

    With step ``dt`` (from the :class:`~spikemem.spec.Network`) and
    :math:`\beta = e^{-dt/\tau_{mem}}`, each step ``t`` of every neuron is

    .. math::

        v[t] &= \beta\, v[t-1] + I_{syn}[t] + I_{ext}[t] \\
        s[t] &= v[t] > v_{th} \\
        v[t] &\leftarrow v_{reset}  \quad\text{(reset="value", where } s[t])\\
        v[t] &\leftarrow v[t] - v_{th} \quad\text{(reset="subtract", where } s[t])

    where :math:`I_{syn}[t] = \sum_{p} W_p\, s_{pre(p)}[t - d_p]` sums every
    projection ``p`` onto the population with its delay :math:`d_p \ge 1` steps,
    and :math:`I_{ext}[t]` is the sum of the current inputs targeting it.

    Refractoriness: after a spike at step ``t`` the neuron is refractory for the
    next ``refractory_steps`` steps. While refractory, ``v`` is held at its
    post-reset value, synaptic and external input is discarded and no spike is
    emitted.

    Parameters
    ----------
    tau_mem
        Membrane time constant in seconds, larger than ``dt``; ``math.inf``
        for no leak (:math:`\beta = 1`: a non-leaky integrate-and-fire neuron).
    v_th
        Firing threshold (strict inequality ``v > v_th``), > 0.
    v_reset
        Value ``v`` is set to after a spike when ``reset == "value"``; must be
        below ``v_th``. Ignored for ``reset == "subtract"``.
    reset
        ``"value"`` (reset to ``v_reset``) or ``"subtract"`` (subtract ``v_th``).
    refractory_steps
        Number of steps after a spike during which the neuron is clamped, >= 0.
    """

    tau_mem: float
    v_th: float = 1.0
    v_reset: float = 0.0
    reset: ResetMode = "value"
    refractory_steps: int = 0

    def beta(self, dt: float) -> float:
        r"""Per-step decay factor :math:`\beta = e^{-dt/\tau_{mem}}`."""
        return math.exp(-dt / self.tau_mem)
