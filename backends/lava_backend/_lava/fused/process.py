"""What the fused network is: a Process without ports (model in :mod:`.models`)."""

from __future__ import annotations

from typing import Any

from lava.magma.core.process.process import AbstractProcess


class FusedNetwork(AbstractProcess):
    """A whole process graph as one Process (see :mod:`spikemem.backends.lava_backend._lava.fusion`).

    Parameters
    ----------
    name, shm_dir
        Process name (for error reports) and the shared directory.
    graph
        The :class:`~spikemem.backends.lava_backend._lava.fusion.GraphSpec` of the processes it runs.
    """

    def __init__(self, *, name: str, shm_dir: str, graph: Any) -> None:
        super().__init__(name=name, shm_dir=shm_dir, graph=graph)
