r"""Input encoding: pixels in [0, 1] -> input of the spiking network over ``steps`` time steps.

``direct``
    A constant current, the same at every step (the HLOP paper's encoding):

    .. math:: I[t] = g\,\frac{x - \mu}{\sigma} \quad (t = 0 \dots T-1)

    with :math:`\mu, \sigma` the mean and standard deviation of all training
    pixels of the stream's first task when ``standardize`` is on (the HLOP
    reference normalises MNIST the same way), else :math:`\mu = 0, \sigma = 1`.
    Returned once, shape ``(B, n)``: the network applies it at every step,
    and the first layer's input subspace is learned from it once per sample.
``rate``
    Bernoulli ("Poisson") spikes with probability :math:`\min(1, g\,x)` per
    step, independent across steps and pixels, shape ``(T, B, n)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from spikemem.continual.config import require

if TYPE_CHECKING:  # torch only where an Encoder encodes (the BPTT training); the config is numpy
    import torch


@dataclass(frozen=True)
class EncodingConfig:
    """The ``[encoding]`` table: ``kind`` (direct, rate), ``steps`` T, ``gain`` g, ``standardize``."""

    kind: Literal["direct", "rate"] = "direct"
    steps: int = 6
    gain: float = 1.0
    standardize: bool = True

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        require(self.steps >= 1, f"{table}.steps", "must be >= 1")
        require(self.gain > 0, f"{table}.gain", "must be > 0")


def encoding_constants(kind: str, standardize: bool, pixels: np.ndarray) -> tuple[float, float]:
    """:math:`\\mu, \\sigma` of the direct encoding fitted on training pixels (1 when the pixels are constant)."""
    if kind == "direct" and standardize:
        return float(np.mean(pixels)), float(np.std(pixels)) or 1.0
    return 0.0, 1.0


@dataclass(frozen=True)
class Encoder:
    """An encoding with its fitted constants: the one encoding of training (torch) and inference (numpy).

    The equations (module docstring) are written once, in :meth:`current` and
    :meth:`spikes`, on numpy arrays and torch tensors alike; only the source of
    the uniform noise of the rate encoding differs: a torch generator for
    training (:meth:`__call__`, time axis first) and a numpy generator for
    inference on every backend (:meth:`encode`, time axis second).

    Attributes
    ----------
    config
        The ``[encoding]`` table (``standardize`` only matters to :meth:`fit`).
    mean, std
        :math:`\\mu, \\sigma` of the direct encoding.
    """

    config: EncodingConfig
    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, config: EncodingConfig, pixels: np.ndarray) -> Encoder:
        """Fix the constants from training pixels (the first task's)."""
        return cls(config, *encoding_constants(config.kind, config.standardize, pixels))

    @property
    def steps(self) -> int:
        """Number of time steps T."""
        return self.config.steps

    @property
    def static(self) -> bool:
        """True when the encoded input is the same at every step (returned as ``(B, n)``)."""
        return self.config.kind == "direct"

    def current(self, pixels: Any) -> Any:
        r"""Direct encoding :math:`g (x - \mu) / \sigma` of ``(B, n)`` pixels (numpy or torch)."""
        return self.config.gain * (pixels - self.mean) / self.std

    def spikes(self, pixels: Any, uniform: Any, time_axis: int) -> Any:
        r"""Rate encoding: ``uniform`` :math:`< \min(1, g x)`, boolean, with ``uniform``'s shape.

        ``uniform`` holds draws in [0, 1), ``(T, B, n)`` (``time_axis=0``) or ``(B, T, n)`` (``time_axis=1``).
        """
        probability = (self.config.gain * pixels).clip(0.0, 1.0)
        return uniform < (probability[None] if time_axis == 0 else probability[:, None])

    def __call__(self, pixels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Encode a torch batch ``(B, n)``: ``(B, n)`` currents (direct) or ``(T, B, n)`` spikes (rate), its dtype."""
        import torch

        if self.static:
            return self.current(pixels)
        shape = (self.steps, *pixels.shape)
        device = generator.device if generator is not None else pixels.device
        noise = torch.rand(shape, generator=generator, device=device, dtype=pixels.dtype).to(pixels.device)
        return self.spikes(pixels, noise, time_axis=0).to(pixels.dtype)

    def encode(self, pixels: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Encode numpy pixels ``(B, n)``: ``(B, n)`` float64 currents (direct) or ``(B, T, n)`` bool spikes (rate)."""
        pixels = np.asarray(pixels, dtype=np.float64)
        if self.static:
            return self.current(pixels)
        if rng is None:
            raise ValueError("rate encoding needs a numpy generator (seeded from the run's seed)")
        return self.spikes(pixels, rng.random((pixels.shape[0], self.steps, pixels.shape[1])), time_axis=1)


__all__ = ["Encoder", "EncodingConfig", "encoding_constants"]
