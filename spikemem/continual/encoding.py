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
from typing import TYPE_CHECKING, Literal

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


@dataclass(frozen=True)
class Encoder:
    """An encoding with its fitted constants.

    Attributes
    ----------
    config
        The ``[encoding]`` table.
    mean, std
        :math:`\\mu, \\sigma` of the direct encoding.
    """

    config: EncodingConfig
    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, config: EncodingConfig, pixels: np.ndarray) -> Encoder:
        """Fix the constants from training pixels (the first task's)."""
        from spikemem.continual.trained import encoding_constants

        return cls(config, *encoding_constants(config.kind, config.standardize, pixels))

    @property
    def steps(self) -> int:
        """Number of time steps T."""
        return self.config.steps

    @property
    def static(self) -> bool:
        """True when the encoded input is the same at every step (returned as ``(B, n)``)."""
        return self.config.kind == "direct"

    def __call__(self, pixels: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Encode a batch ``(B, n)``: ``(B, n)`` currents (direct) or ``(T, B, n)`` spikes (rate)."""
        import torch

        gain = self.config.gain
        if self.static:
            return gain * (pixels - self.mean) / self.std
        probability = (gain * pixels).clamp(0.0, 1.0)
        shape = (self.steps, *pixels.shape)
        device = generator.device if generator is not None else pixels.device
        noise = torch.rand(shape, generator=generator, device=device, dtype=pixels.dtype).to(pixels.device)
        return (noise < probability).to(pixels.dtype)


__all__ = ["Encoder", "EncodingConfig"]
