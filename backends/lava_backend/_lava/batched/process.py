"""What the batched synapses are: ports and state (models in :mod:`.models`).

Lava's ``Dense`` takes one spike vector per step; these take a ``(B, n_pre)``
block, one row per sample, and send ``(B, n_post)``. ``InputDense`` is a
``BatchDense`` fused with its spike source: it reads the sample rows of a
shared input raster itself (one process and one message per step fewer).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class BatchDense(AbstractProcess):
    """Static weights ``(n_post, n_pre)`` applied to ``B`` samples at once, with Dense's one-step delay.

    Parameters
    ----------
    batch
        Samples per step ``B``.
    weights
        Float weights, or integer mantissas in fixed point.
    name, shm_dir, index
        Process name (its buffers' keys), the shared directory, the connection's weight-generation slot.
    params
        Other keyword parameters (fixed point: ``weight_exp``, ``num_weight_bits``, ``sign_mode``).
    """

    def __init__(self, *, batch: int, weights: np.ndarray, name: str, shm_dir: str, index: int, **params: Any) -> None:
        super().__init__(batch=batch, name=name, shm_dir=shm_dir, index=index, **params)
        n_post, n_pre = weights.shape
        self.s_in = InPort(shape=(batch, n_pre))
        self.a_out = OutPort(shape=(batch, n_post))
        self.weights = Var(shape=weights.shape, init=weights)
        self.a_buff = Var(shape=(batch, n_post), init=0)


class InputDense(AbstractProcess):
    """A ``BatchDense`` whose presynaptic spikes are the rows of the shared raster ``key`` (no ``s_in`` port)."""

    def __init__(
        self, *, batch: int, weights: np.ndarray, name: str, shm_dir: str, index: int, key: str, **params: Any
    ) -> None:
        super().__init__(batch=batch, name=name, shm_dir=shm_dir, index=index, key=key, **params)
        n_post = weights.shape[0]
        self.a_out = OutPort(shape=(batch, n_post))
        self.weights = Var(shape=weights.shape, init=weights)
        self.a_buff = Var(shape=(batch, n_post), init=0)
