"""What the one connection Process of our own is (Lava's ``Dense`` family is used as it is; models in
:mod:`.models`)."""

from __future__ import annotations

from typing import Any

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.proc.dense.process import LearningDense


class ProjectedLearningDense(LearningDense):
    """A ``LearningDense`` whose pre trace is a graded signal computed in the same step.

    ``s_in`` carries the graded payload that sets the pre trace :math:`x_1`
    (Lava's ``GradedSpikeCfg.OVERWRITE``), ``s_fwd`` the presynaptic spikes
    that the weights carry forward, and ``w_out`` sends the current weights
    to the circuit that computes the signal
    (:class:`~spikemem.backends.lava_backend._lava.circuits.process.SubspaceResidual`).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        shape = kwargs["weights"].shape
        self.s_fwd = InPort(shape=(shape[1],))
        self.w_out = OutPort(shape=shape)
