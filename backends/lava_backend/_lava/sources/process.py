"""What the sources are: their ports (models in :mod:`.models`)."""

from __future__ import annotations

from lava.magma.core.process.ports.ports import OutPort
from lava.magma.core.process.process import AbstractProcess


class SpikeSource(AbstractProcess):
    """Emits the row of a shared spike raster that belongs to each step.

    Parameters
    ----------
    shape
        ``(n,)``.
    name, shm_dir
        Process name and the shared directory.
    key
        The raster's buffer (:func:`~spikemem.backends.lava_backend._lava.buffers.input_key`).
    """

    def __init__(self, *, shape: tuple[int, ...], name: str, shm_dir: str, key: str) -> None:
        super().__init__(shape=shape, name=name, shm_dir=shm_dir, key=key)
        self.s_out = OutPort(shape=shape)


class ModulatorSource(AbstractProcess):
    """Sends the third-factor inputs ``y1, y2, y3`` of a ``Loihi3FLearningRule`` from shared buffers.

    ``key`` names a ``(chunk, 3, n)`` buffer
    (:func:`~spikemem.backends.lava_backend._lava.buffers.modulator_key`); row
    ``t`` holds ``y1, y2, y3`` of step ``t``.
    """

    def __init__(self, *, shape: tuple[int, ...], name: str, shm_dir: str, key: str) -> None:
        super().__init__(shape=shape, name=name, shm_dir=shm_dir, key=key)
        self.y1 = OutPort(shape=shape)
        self.y2 = OutPort(shape=shape)
        self.y3 = OutPort(shape=shape)
