"""What an array backend supplies to the engine: its arrays, its synaptic product and its neuron step.

A kernel holds a network's weights in its own array library (numpy,
torch on CPU or CUDA) and number system (float, Loihi-style integers), and
computes the two things that differ between backends: a projection's
synaptic input (with its own fast paths) and a population's neuron update.
Everything else (topology, order of a step, spike rings, plasticity,
recording) is the engine's, once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np

NeuronStep = Callable[[Any, Any], tuple[Any, Any]]
"""``(current, state) -> (spikes, state)`` of one population; ``state`` has a ``v`` attribute."""

SynapticInput = Callable[[Any], Any]
"""``spikes (B, n_pre) -> W s (B, n_post)``, or ``None`` when it is zero, for one projection."""


class Kernel(Protocol):
    """The backend's half of a simulation (see the module docstring).

    Attributes
    ----------
    weights
        Projection name -> its current weights ``(n_post, n_pre)`` in the
        kernel's arrays and internal units; the engine replaces a plastic
        projection's entry after each plasticity step.
    spike_dtype, value_dtype, count_dtype
        The kernel's dtypes of recorded spikes, of potentials and of spike counts.
    """

    weights: dict[str, Any]
    spike_dtype: Any
    value_dtype: Any
    count_dtype: Any

    def zeros(self, shape: tuple[int, ...], dtype: Any) -> Any:
        """A zero array of the kernel's library."""

    def silent(self, batch: int, size: int) -> Any:
        """Spikes ``(batch, size)`` of a source that did not spike (before the first step)."""

    def spikes(self, raster: np.ndarray) -> Any:
        """Input spikes, bool ``(steps, B, n)`` numpy -> the kernel's spikes."""

    def external(self, population: str, current: np.ndarray) -> Any:
        """External current ``(steps, B, n)`` in float units -> the kernel's arrays and internal units."""

    def modulator(self, values: np.ndarray) -> Any:
        """A modulatory signal ``(steps, n)`` -> the kernel's arrays."""

    def mask(self, mask: np.ndarray) -> Any:
        """A projection's boolean mask -> the form :func:`spikemem.learning.rule_step` takes in this kernel."""

    def initial_neurons(self, population: str, batch: int) -> Any:
        """State of ``population`` before the first step, batch ``batch``."""

    def no_current(self, population: str, batch: int) -> Any:
        """Zero input ``(batch, n)`` for a step in which nothing reaches ``population``."""

    def neuron_step(self, population: str) -> NeuronStep:
        """The update of one population: ``(current, state) -> (spikes, state)``."""

    def synaptic_input(self, projection: str, batch: int) -> SynapticInput:
        """The synaptic input function of ``projection`` for a run of ``batch`` trials."""

    @property
    def copy_into(self) -> Callable[[Any, Any], Any]:
        """``copy_into(target, values)``: write ``values`` into the array (view) ``target``.

        Called per step and monitor: a static function (e.g. ``torch.Tensor.copy_``) saves a Python frame.
        """

    def to_numpy(self, array: Any) -> np.ndarray:
        """A kernel array as numpy (floats as float64, integers and bools as they are); may share memory."""

    def weights_to_float(self, projection: str, weights: np.ndarray) -> np.ndarray:
        """Weights (numpy, internal units) -> a new float64 array in float units."""

    def set_weights(self, projection: str, weights: np.ndarray) -> None:
        """Replace a projection's weights (float units)."""

    def reset_weights(self) -> None:
        """Restore every projection's spec weights."""

    def running(self) -> AbstractContextManager[Any]:
        """Context of a run (e.g. ``torch.no_grad()``)."""
