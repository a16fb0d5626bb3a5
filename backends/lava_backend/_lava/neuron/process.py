"""What the spec's neuron is: ports and state (models in :mod:`.models`).

Lava's built-in ``LIF`` resets to 0 only, has no refractoriness in its
fixed-point model and a constant bias as its only external input, so the
spec's neuron is a Process of its own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class SpecLIF(AbstractProcess):
    """The spec's LIF population (see :class:`spikemem.spec.LIF`).

    Parameters
    ----------
    shape
        ``(n,)``.
    v_init
        Potentials before the first step (float, or int internal units).
    name, shm_dir
        Process name (used for its buffers' keys) and the shared directory.
    params
        ``LIFParams`` (float) or ``FixedNeuron`` (fixed point).
    record
        Monitored variables among ``"spikes"``, ``"v"``, ``"count"``.
    has_current
        Whether an external current buffer exists.
    """

    def __init__(
        self,
        *,
        shape: tuple[int, ...],
        v_init: np.ndarray,
        name: str,
        shm_dir: str,
        params: Any,
        record: tuple[str, ...],
        has_current: bool,
    ) -> None:
        super().__init__(
            shape=shape,
            name=name,
            shm_dir=shm_dir,
            params=params,
            record=record,
            has_current=has_current,
            v_init=v_init,
        )
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.v = Var(shape=shape, init=v_init)
        self.refractory = Var(shape=shape, init=0)
