"""What the learning circuits are: their ports (models in :mod:`.models`).

Parameters common to both: ``name``, ``shm_dir``, ``rule`` (the spec's
plasticity rule), ``dt``, and ``coding`` (fixed point: ``plan``, the rule's
``RulePlan``; ``seed`` of the codes' rounding; ``unit``, the weight of one
mantissa step).
"""

from __future__ import annotations

from typing import Any

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess


class ProjectedTrace(AbstractProcess):
    r"""Sends :math:`\tilde x = x - B^\top B x` of the presynaptic trace ``x`` in the step it is formed.

    ``x`` is the rule's trace (:math:`x \leftarrow \alpha x + s`), ``B`` the
    rule's basis; the payload is ``OVERWRITE_SCALE`` :math:`\tilde x`.
    """

    def __init__(self, *, size: int, name: str, shm_dir: str, rule: Any, dt: float, **coding: Any) -> None:
        super().__init__(shape=(size,), name=name, shm_dir=shm_dir, rule=rule, dt=dt, **coding)
        self.s_in = InPort(shape=(size,))
        self.x_out = OutPort(shape=(size,))


class SubspaceResidual(AbstractProcess):
    r"""The signals of :class:`~spikemem.spec.OjaSubspace` on Lava's learning engine, in the step they are formed.

    From the presynaptic spikes, the postsynaptic spikes and the synapses'
    current weights ``W`` (read from ``w_in``): the lateral activity
    :math:`y` (:func:`spikemem.learning.subspace_activity`) and the residual
    :math:`r = \tilde x - W^\top y`; it sends :math:`r` as the learning
    synapses' graded pre trace and :math:`\eta y` as their third factor, so
    that Lava's engine evaluates ``dw = u0*x1*y1`` to
    :math:`\Delta W = \eta\, y\, r^\top`.
    """

    def __init__(self, *, shape: tuple[int, int], name: str, shm_dir: str, rule: Any, dt: float, **coding: Any) -> None:
        super().__init__(shape=shape, name=name, shm_dir=shm_dir, rule=rule, dt=dt, **coding)
        n_post, n_pre = shape
        self.s_in = InPort(shape=(n_pre,))
        self.s_post = InPort(shape=(n_post,))
        self.w_in = InPort(shape=shape)
        self.x_out = OutPort(shape=(n_pre,))
        self.y1 = OutPort(shape=(n_post,))
        self.y2 = OutPort(shape=(n_post,))
        self.y3 = OutPort(shape=(n_post,))
