r"""How the learning circuits run: the rule's traces, the signal, and its coding for the engine.

How a circuit's signals reach the engine depends on the numeric model:
float sends the pre signal as it is (times ``OVERWRITE_SCALE``) and the third
factor :math:`\eta f / \alpha` (:math:`\alpha` = ``THIRD_FACTOR_DECAY``);
fixed point sends 7-bit codes (``_plan.encode_pre``, ``_plan.encode_signed``,
rounded stochastically from a generator seeded once per build) and leaves
:math:`\eta` to the rule's coefficients. Each Process has one base model
(the step) and two tagged leaves (the coding and the port types).
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType

from spikemem.backends.lava_backend._lava.buffers import CTRL_RESEED, SharedModel
from spikemem.backends.lava_backend._lava.circuits.process import ProjectedTrace, SubspaceResidual
from spikemem.backends.lava_backend._lava.decorate import cpu_model
from spikemem.backends.lava_backend._plan import OVERWRITE_SCALE, THIRD_FACTOR_DECAY, encode_pre, encode_signed
from spikemem.learning import RuleState, advance_traces, reconstruction_residual, subspace_activity
from spikemem.spec import project_out


class _RuleTraces(SharedModel):
    """The rule's pre and post traces (:func:`spikemem.learning.advance_traces`), cleared at every reset."""

    def _traces(self, pre: np.ndarray, post: np.ndarray) -> RuleState:
        if self._new_reset() or not hasattr(self, "_state"):
            self._state = RuleState(x=np.zeros(pre.shape), y=np.zeros(post.shape))
            if self.ctrl[CTRL_RESEED] and hasattr(self, "_generator"):
                del self._generator  # fixed point: a full restart repeats the rounding of the codes
        advance_traces(self.proc_params["rule"], self._state, pre, post, self.proc_params["dt"])
        return self._state

    def _pre_payload(self, signal: np.ndarray) -> np.ndarray:
        """What the engine's graded pre trace receives for ``signal``."""
        raise NotImplementedError

    def _third_factor(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The engine's third-factor inputs ``y1, y2`` for ``values``."""
        raise NotImplementedError

    def _weights(self, received: np.ndarray) -> np.ndarray:
        """The synapses' weights (float) from what ``w_in`` received."""
        raise NotImplementedError


class _FloatCoding(_RuleTraces):
    """The signals as they are (float)."""

    def _pre_payload(self, signal: np.ndarray) -> np.ndarray:
        return OVERWRITE_SCALE * signal

    def _third_factor(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.proc_params["rule"].eta * values / THIRD_FACTOR_DECAY, np.zeros_like(values)

    def _weights(self, received: np.ndarray) -> np.ndarray:
        return received


class _FixedCoding(_RuleTraces):
    """7-bit codes of the signals (fixed point); received weights are mantissas times ``unit``."""

    @property
    def _rng(self) -> np.random.Generator:
        if not hasattr(self, "_generator"):
            self._generator = np.random.default_rng(self.proc_params["seed"])
        return self._generator

    def _pre_payload(self, signal: np.ndarray) -> np.ndarray:
        plan = self.proc_params["plan"]
        return (2 * encode_pre(signal, plan.pre_range, self._rng)).astype(np.int32)

    def _third_factor(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y1, y2 = encode_signed(values, self.proc_params["plan"].third_scale, self._rng)
        return y1.astype(np.int32), y2.astype(np.int32)

    def _weights(self, received: np.ndarray) -> np.ndarray:
        return received.astype(np.float64) * self.proc_params["unit"]


class _ProjectedTraceModel(_RuleTraces, PyLoihiProcessModel):
    """Step of :class:`ProjectedTrace`; the coding comes from :class:`_FloatCoding` or :class:`_FixedCoding`."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    x_out: PyOutPort

    def _step(self) -> None:
        state = self._traces(self.s_in.recv().astype(np.float64), np.zeros(0))  # no postsynaptic trace
        self.x_out.send(self._pre_payload(project_out(state.x, self.proc_params["rule"].basis)))

    def run_spk(self) -> None:
        self._guard("run_spk", self._step)


@cpu_model(ProjectedTrace, "floating_pt")
class PyProjectedTraceModel(_FloatCoding, _ProjectedTraceModel):
    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)


@cpu_model(ProjectedTrace, "fixed_pt")
class PyProjectedTraceModelFixed(_FixedCoding, _ProjectedTraceModel):
    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)


class _SubspaceResidualModel(_RuleTraces, PyLoihiProcessModel):
    """Step of :class:`SubspaceResidual`; the coding comes from :class:`_FloatCoding` or :class:`_FixedCoding`."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    s_post: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    w_in: PyInPort
    x_out: PyOutPort
    y1: PyOutPort
    y2: PyOutPort
    y3: PyOutPort

    def _step(self) -> None:
        rule = self.proc_params["rule"]
        pre = self.s_in.recv().astype(np.float64)
        weights = self._weights(self.w_in.recv())
        post = self.s_post.recv().astype(np.float64)
        state = self._traces(pre, post)
        x_perp = project_out(state.x, rule.basis)
        y = subspace_activity(rule, weights, x_perp, state.y)
        self.x_out.send(self._pre_payload(reconstruction_residual(weights, x_perp, y)))
        y1, y2 = self._third_factor(y)
        self.y1.send(y1)
        self.y2.send(y2)
        self.y3.send(np.zeros_like(y1))

    def run_spk(self) -> None:
        self._guard("run_spk", self._step)


@cpu_model(SubspaceResidual, "floating_pt")
class PySubspaceResidualModel(_FloatCoding, _SubspaceResidualModel):
    w_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)


@cpu_model(SubspaceResidual, "fixed_pt")
class PySubspaceResidualModelFixed(_FixedCoding, _SubspaceResidualModel):
    w_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=9)
    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
