r"""A reusable, differentiable LIF layer step on torch tensors, built on snnTorch.

:class:`LIFLayer` advances one population of :class:`spikemem.spec.LIF`
neurons by one step, with the spec's exact semantics
(:func:`spikemem.dynamics.lif_step`):

.. math::

    v[t] &= \beta\, v[t-1] + I[t] \quad\text{(where not refractory)}\\
    s[t] &= H(v[t] - v_{th}) \\
    v[t] &\leftarrow v_{reset} \text{ or } v[t] - v_{th} \quad\text{(where } s[t])

The reset happens in the same step as the spike, and the next step integrates
normally from the reset value. The snnTorch backend runs every population
through this module, and training loops (BPTT) call it directly::

    layer = LIFLayer(LIF(tau_mem=0.02, reset="subtract"), dt=1e-3, surrogate="sigmoid")
    state = layer.initial_state(batch=64, size=800, dtype=torch.float32)
    for t in range(T):
        spikes, state = layer(fc(x[t]), state)

Two execution paths give identical values:

- ``snntorch.Leaky(reset_mechanism="zero", reset_delay=False)`` where it
  expresses the spec exactly: reset to ``v_reset == 0``, no refractoriness,
  and an incoming ``v <= v_th`` (always true for states this layer produced;
  Leaky would reset a ``v_init`` above threshold before integrating). With
  ``reset_delay=False`` Leaky resets in the spike's step and returns the
  post-reset potential, like the spec.
- :func:`spikemem.dynamics.lif_step` (shared with the numpy reference) for
  everything else: ``reset="subtract"``, ``v_reset != 0``, refractoriness.
  ``Leaky(reset_mechanism="subtract")`` is *not* the spec: with the default
  ``reset_delay=True`` it subtracts ``v_th`` one step late (undecayed), and
  with ``reset_delay=False`` it computes the next step's spike from
  :math:`\beta v + I - v_{th}` whenever the post-reset ``v`` is still above
  threshold (see ``tests/backends/test_snntorch.py``).

Spike generation: when autograd is on (:func:`torch.is_grad_enabled`) the
spike is an ``snntorch.surrogate`` Heaviside whose backward pass is the
surrogate derivative (default ``fast_sigmoid``; ``"sigmoid"`` is a NaN-free
form of snnTorch 1.0's, see :func:`sigmoid_surrogate`); under
:func:`torch.no_grad` it is the plain comparison. Gradients flow through the reset, as in snnTorch
with ``reset_delay=False``. Spikes are returned as 0/1 floats in the dtype of
the input current.

This module imports torch and snnTorch at import time; the backend registry
imports it only when the snnTorch backend is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import snntorch
import snntorch.surrogate
import torch
from torch import nn

from spikemem.dynamics import LIFParams, lif_step
from spikemem.spec import LIF

SurrogateSpec = str | Callable[[torch.Tensor], torch.Tensor]

SURROGATES = ("fast_sigmoid", "sigmoid", "atan", "triangular", "straight_through_estimator", "spike_rate_escape")
"""Names accepted for ``surrogate``, built with their default parameters."""


def sigmoid_surrogate(slope: float = 25.0) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""Heaviside with the sigmoid surrogate derivative :math:`k\,\sigma(kx)(1 - \sigma(kx))`.

    The same function as ``snntorch.surrogate.sigmoid``, whose backward pass
    in snnTorch 1.0 computes :math:`k e^{-kx} / (e^{-kx} + 1)^2` and returns
    NaN once :math:`e^{-kx}` overflows (:math:`x < -3.5` in float32 at
    ``slope = 25``; jeshraghian/snntorch#427). Built with
    ``snntorch.surrogate.custom_surrogate``.
    """

    def derivative(input_: torch.Tensor, grad_input: torch.Tensor, spikes: torch.Tensor) -> torch.Tensor:
        sig = torch.sigmoid(slope * input_)
        return grad_input * slope * sig * (1.0 - sig)

    return snntorch.surrogate.custom_surrogate(derivative)


def make_surrogate(surrogate: SurrogateSpec) -> Callable[[torch.Tensor], torch.Tensor]:
    """A surrogate-gradient Heaviside from a name in :data:`SURROGATES` or a ready callable.

    Names map to the ``snntorch.surrogate`` factory of that name with its
    defaults, except ``"sigmoid"``: :func:`sigmoid_surrogate`. For other
    parameters pass a callable, e.g. ``sigmoid_surrogate(slope=4)`` or
    ``snntorch.surrogate.fast_sigmoid(slope=10)``.
    """
    if callable(surrogate):
        return surrogate
    if surrogate not in SURROGATES:
        raise ValueError(f"unknown surrogate {surrogate!r}; choose one of {SURROGATES} or pass a callable")
    if surrogate == "sigmoid":
        return sigmoid_surrogate()
    return getattr(snntorch.surrogate, surrogate)()


def leaky_expresses(neuron: LIF) -> bool:
    """True when ``snntorch.Leaky`` runs ``neuron`` exactly (reset to 0, no refractoriness)."""
    return neuron.reset == "value" and float(neuron.v_reset) == 0.0 and int(neuron.refractory_steps) == 0


class LIFState(NamedTuple):
    """State of a LIF layer: potentials and refractory counters, both ``(..., size)``."""

    v: torch.Tensor
    refractory: torch.Tensor


class LIFLayer(nn.Module):
    """One step of a population of spec LIF neurons: ``(current, state) -> (spikes, state)``.

    Parameters
    ----------
    neuron
        The spec's neuron model.
    dt
        Time step in seconds.
    surrogate
        Surrogate gradient used when autograd is on: a name of
        :data:`SURROGATES` or a callable from ``snntorch.surrogate``.
    leaky
        Use ``snntorch.Leaky`` where it expresses the neuron exactly (see
        the module docstring); ``False`` always uses the shared
        :func:`~spikemem.dynamics.lif_step`.
    """

    def __init__(
        self, neuron: LIF, dt: float, *, surrogate: SurrogateSpec = "fast_sigmoid", leaky: bool = True
    ) -> None:
        super().__init__()
        self.neuron = neuron
        self.params = LIFParams.from_neuron(neuron, dt)
        self.surrogate = make_surrogate(surrogate)
        self.uses_leaky = bool(leaky) and leaky_expresses(neuron)
        if self.uses_leaky:
            self.leaky_grad = self._leaky(spike_grad=self.surrogate)
            self.leaky_plain = self._leaky(surrogate_disable=True)

    def _leaky(self, **kwargs: object) -> snntorch.Leaky:
        # float64 constants: Leaky stores python floats as float32 tensors
        beta = torch.tensor(self.params.beta, dtype=torch.float64)
        threshold = torch.tensor(self.params.v_th, dtype=torch.float64)
        return snntorch.Leaky(beta=beta, threshold=threshold, reset_mechanism="zero", reset_delay=False, **kwargs)

    def initial_state(
        self,
        batch: int | tuple[int, ...],
        size: int,
        v_init: float | np.ndarray | torch.Tensor = 0.0,
        *,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
    ) -> LIFState:
        """State before the first step: ``v = v_init`` (scalar or ``(size,)``), not refractory."""
        shape = (batch, size) if isinstance(batch, int) else (*batch, size)
        v = torch.as_tensor(v_init, dtype=dtype, device=device).expand(shape).clone()
        if self.uses_leaky and bool((v > self.params.v_th).any()):
            raise ValueError(
                "v_init above v_th: snntorch.Leaky would reset it before integrating; build the "
                "layer with leaky=False for this initial state"
            )
        return LIFState(v, torch.zeros(shape, dtype=torch.int64, device=device))

    def _surrogate_spike(self, x: torch.Tensor) -> torch.Tensor:
        return self.surrogate(x).to(x.dtype)

    def forward(self, current: torch.Tensor, state: LIFState) -> tuple[torch.Tensor, LIFState]:
        """Advance one step with total input ``current`` (same shape as ``state.v``).

        Returns the spikes of this step (0/1 in ``current``'s dtype) and the new state.
        """
        grad = torch.is_grad_enabled()
        if self.uses_leaky:
            spikes, v = (self.leaky_grad if grad else self.leaky_plain)(current, state.v)
            return spikes.to(current.dtype), LIFState(v, state.refractory)
        spikes, v, refractory = lif_step(
            state.v, state.refractory, current, self.params, self._surrogate_spike if grad else None
        )
        return spikes.to(current.dtype), LIFState(v, refractory)

    def release(self) -> None:
        """Drop snnTorch's global references to this layer's neurons (``SpikingNeuron.instances``)."""
        for module in self.modules():
            if isinstance(module, snntorch.SpikingNeuron):
                module.mem = torch.zeros(0)
                instances = snntorch.SpikingNeuron.instances
                for index in range(len(instances) - 1, -1, -1):
                    if instances[index] is module:
                        del instances[index]


__all__ = ["SURROGATES", "LIFLayer", "LIFState", "leaky_expresses", "make_surrogate", "sigmoid_surrogate"]
