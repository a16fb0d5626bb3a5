"""Lava Processes and ProcessModels of the spikemem Lava backend (imported only inside the worker).

Lava's built-in ``LIF`` resets to 0 only, has no refractoriness in its
fixed-point model and a constant bias as its only external input, so the
spec's neuron is a Process of its own, :class:`SpecLIF`, with a
``floating_pt`` model (:func:`spikemem.dynamics.lif_step`) and a ``fixed_pt``
model (:func:`spikemem.fixed_point.fixed_lif_step`, which is
``PyLifModelBitAcc``'s arithmetic extended by the spec). Connections are
Lava's own ``Dense``, ``DelayDense`` and ``LearningDense`` ProcessModels,
subclassed only to add what a reusable simulation needs:

- *shared buffers*: inputs are read from, and monitors written to, numpy
  files in a shared-memory directory (``Var.get`` sends one element per
  message, about 23 us each: reading a 1,000 x 1,000 raster that way takes
  ~23 s, a shared buffer ~1 ms);
- *reset and weight reload*: a control file holds a reset generation and a
  weight generation per connection; a model seeing a new value clears its
  state (``a_buff``, traces, potentials) or reloads its weights before the
  step, without the slow per-element ``Var.set``;
- *error reporting*: an exception inside a model is written to ``error.txt``
  before it propagates, so the parent reports it instead of waiting for a
  runtime that will never answer;
- *learning order and bounds* (``LearningDense``): after Lava's learning
  phase the weights are clipped to the rule's ``[w_min, w_max]`` and masked,
  and the activation for the next step is recomputed with the new weights
  (Lava computes it in the spiking phase, before learning; the spec applies
  the update of step ``t`` to the spikes of step ``t``).

Every model indexes its buffers by ``time_step - base - 1`` where ``base``
(written by the worker before each ``run`` call) is the Lava time step before
the chunk's first step.
"""

from __future__ import annotations

import os
import traceback
from typing import Any

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.learning.random import ConnVarRandom
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol
from lava.proc.dense.models import (
    PyDelayDenseModelBitAcc,
    PyDelayDenseModelFloat,
    PyDenseModelBitAcc,
    PyDenseModelFloat,
    PyLearningDenseModelBitApproximate,
    PyLearningDenseModelFloat,
)
from lava.proc.dense.process import DelayDense, Dense, LearningDense

from spikemem.dynamics import lif_step
from spikemem.fixed_point import ACT_SHIFT, fixed_lif_step
from spikemem.learning import RuleState, advance_traces, reconstruction_residual, subspace_activity
from spikemem.spec import project_out

from .._plan import OVERWRITE_SCALE, THIRD_FACTOR_DECAY, encode_pre, encode_signed

# layout of the control file ctrl.npy (int64)
CTRL_BASE = 0
CTRL_LENGTH = 1
CTRL_RESET = 2
CTRL_RESEED = 3
"""1 when the last reset also restored the weights: stochastic rounding then restarts from its seeds."""
CTRL_SIZE = 4


class SharedBuffers:
    """Numpy ``.npy`` files in one directory, memory-mapped by every process that opens them."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._open: dict[str, np.ndarray] = {}

    def path(self, key: str) -> str:
        return os.path.join(self.directory, f"{key}.npy")

    def create(self, key: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        array = np.lib.format.open_memmap(self.path(key), mode="w+", dtype=dtype, shape=shape)
        self._open[key] = array
        return array

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._open:
            self._open[key] = np.load(self.path(key), mmap_mode="r+")
        return self._open[key]

    def __contains__(self, key: str) -> bool:
        return key in self._open or os.path.exists(self.path(key))

    def report_error(self, where: str) -> None:
        """Append the current exception's traceback to ``error.txt``."""
        with open(os.path.join(self.directory, "error.txt"), "a") as handle:
            handle.write(f"[{where}] {traceback.format_exc()}\n")


class _SharedModel:
    """Mixin of every model: shared buffers, control file, error reporting."""

    proc_params: Any
    time_step: int

    @property
    def shared(self) -> SharedBuffers:
        if not hasattr(self, "_shared"):
            self._shared = SharedBuffers(self.proc_params["shm_dir"])
        return self._shared

    @property
    def ctrl(self) -> np.ndarray:
        return self.shared["ctrl"]

    def _row(self) -> int:
        return self.time_step - int(self.ctrl[CTRL_BASE]) - 1

    def _chunk_end(self) -> bool:
        ctrl = self.ctrl
        return self.time_step == int(ctrl[CTRL_BASE] + ctrl[CTRL_LENGTH])

    def _new_reset(self) -> bool:
        generation = int(self.ctrl[CTRL_RESET])
        if generation != getattr(self, "_reset_seen", 0):
            self._reset_seen = generation
            return True
        return False

    def _guard(self, phase: str, function: Any) -> None:
        try:
            function()
        except BaseException:
            self.shared.report_error(f"{self.proc_params['name']}.{phase}, Lava step {self.time_step}")
            raise


# -- sources -------------------------------------------------------------------------------
class SpikeSource(AbstractProcess):
    """Emits the row of a shared spike raster that belongs to each step."""

    def __init__(self, *, shape: tuple[int, ...], name: str, shm_dir: str, key: str) -> None:
        super().__init__(shape=shape, name=name, shm_dir=shm_dir, key=key)
        self.s_out = OutPort(shape=shape)


@implements(proc=SpikeSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt", "fixed_pt")
class PySpikeSourceModel(_SharedModel, PyLoihiProcessModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, bool, precision=1)

    def run_spk(self) -> None:
        self._guard("run_spk", lambda: self.s_out.send(self.shared[self.proc_params["key"]][self._row()]))


class ModulatorSource(AbstractProcess):
    """Sends the third-factor inputs ``y1, y2, y3`` of a ``Loihi3FLearningRule`` from shared buffers."""

    def __init__(self, *, shape: tuple[int, ...], name: str, shm_dir: str, key: str) -> None:
        super().__init__(shape=shape, name=name, shm_dir=shm_dir, key=key)
        self.y1 = OutPort(shape=shape)
        self.y2 = OutPort(shape=shape)
        self.y3 = OutPort(shape=shape)


@implements(proc=ModulatorSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyModulatorSourceModel(_SharedModel, PyLoihiProcessModel):
    y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self) -> None:
        def step() -> None:
            values = self.shared[self.proc_params["key"]][self._row()]
            self.y1.send(values[0])
            self.y2.send(values[1])
            self.y3.send(values[2])

        self._guard("run_spk", step)


@implements(proc=ModulatorSource, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyModulatorSourceModelFixed(PyModulatorSourceModel):
    """The same rows as 7-bit integers (``_plan.third_factor_inputs`` computed them)."""

    y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)

    def run_spk(self) -> None:
        def step() -> None:
            values = self.shared[self.proc_params["key"]][self._row()].astype(np.int32)
            self.y1.send(values[0])
            self.y2.send(values[1])
            self.y3.send(values[2])

        self._guard("run_spk", step)


# -- the spec's neuron -----------------------------------------------------------------------
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


class _SpecLIFBase(_SharedModel, PyLoihiProcessModel):
    """Shared run loop of both numeric models."""

    def _input(self, a_in: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _step(self, current: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _spike_step(self) -> None:
        if self._new_reset():
            self.v[:] = self.proc_params["v_init"]
            self.refractory[:] = 0
        row = self._row()
        name = self.proc_params["name"]
        current = self._input(self.a_in.recv())
        if self.proc_params["has_current"]:
            current = current + self.shared[f"cur.{name}"][row]
        spikes, v, refractory = self._step(current)
        self.v[:] = v
        self.refractory[:] = refractory
        record = self.proc_params["record"]
        if "spikes" in record:
            self.shared[f"rec.spikes.{name}"][row] = spikes
        if "v" in record:
            self.shared[f"rec.v.{name}"][row] = v
        if "count" in record:
            self.shared[f"rec.count.{name}"][:] += spikes
        self.s_out.send(spikes)

    def run_spk(self) -> None:
        self._guard("run_spk", self._spike_step)


@implements(proc=SpecLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySpecLIFModelFloat(_SpecLIFBase):
    """float64: :func:`spikemem.dynamics.lif_step` on ``a_in + I_ext``."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, bool, precision=1)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    refractory: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def _input(self, a_in: np.ndarray) -> np.ndarray:
        return a_in

    def _step(self, current: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return lif_step(self.v, self.refractory, current, self.proc_params["params"])


@implements(proc=SpecLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySpecLIFModelFixed(_SpecLIFBase):
    """Integers: :func:`spikemem.fixed_point.fixed_lif_step` on ``(a_in << 6) + I_ext``."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, bool, precision=1)
    v: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    refractory: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def _input(self, a_in: np.ndarray) -> np.ndarray:
        return np.left_shift(a_in.astype(np.int64), ACT_SHIFT)

    def _step(self, current: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return fixed_lif_step(self.v, self.refractory, current, self.proc_params["params"])


# -- connections -------------------------------------------------------------------------------
class _ConnectionMixin(_SharedModel):
    """Reset and weight reload for Lava's Dense-family models."""

    weights: np.ndarray
    a_buff: np.ndarray

    def _sync(self) -> None:
        if self._new_reset():
            self.a_buff = np.zeros_like(self.a_buff)
            self._reset_learning()
        generation = int(self.shared["wgen"][self.proc_params["index"]])
        if generation != getattr(self, "_weights_seen", 0):
            self._weights_seen = generation
            loaded = np.array(self.shared[f"win.{self.proc_params['name']}"])
            self.weights = loaded.astype(self.weights.dtype)

    def _reset_learning(self) -> None:
        """Connections without learning have no further state."""

    def run_spk(self) -> None:
        def step() -> None:
            self._sync()
            super(_ConnectionMixin, self).run_spk()  # type: ignore[misc]

        self._guard("run_spk", step)


@implements(proc=Dense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyDenseFloat(_ConnectionMixin, PyDenseModelFloat):
    pass


@implements(proc=Dense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyDenseFixed(_ConnectionMixin, PyDenseModelBitAcc):
    pass


@implements(proc=DelayDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyDelayDenseFloat(_ConnectionMixin, PyDelayDenseModelFloat):
    pass


@implements(proc=DelayDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyDelayDenseFixed(_ConnectionMixin, PyDelayDenseModelBitAcc):
    pass


class _LearningMixin(_ConnectionMixin):
    """Bounds, mask, reset and the spec's update order around Lava's learning engine (t_epoch = 1)."""

    tx: np.ndarray
    tag_1: np.ndarray

    def _reset_learning(self) -> None:
        for name in ("x1", "x2", "y1", "y2", "y3", "x0", "y0", "tx", "ty"):
            setattr(self, name, np.zeros_like(getattr(self, name)))
        self.tag_1 = np.full_like(self.tag_1, self.proc_params["tag_init"])
        if self.ctrl[CTRL_RESEED]:  # a full restart repeats the stochastic rounding; a plain reset draws on
            self._init_randoms()

    def _saturate_synaptic_variable(self, synaptic_variable_name: str, synaptic_variable_values: np.ndarray) -> Any:
        values = super()._saturate_synaptic_variable(synaptic_variable_name, synaptic_variable_values)  # type: ignore[misc]
        if synaptic_variable_name != "weights":
            return values
        low, high = self.proc_params["w_min"], self.proc_params["w_max"]
        if low is not None or high is not None:
            values = np.clip(values, low, high)
        mask = self.proc_params["mask"]
        return values if mask is None else values * mask

    def _activation(self, spiked: np.ndarray) -> np.ndarray:
        return self.weights[:, spiked].sum(axis=1)

    def _forward_spikes(self) -> np.ndarray:
        """The presynaptic spikes of this step (t_epoch = 1), read before the engine clears them."""
        return self.tx > 0

    def _learn(self) -> None:
        spiked = self._forward_spikes()
        super().run_lrn()  # type: ignore[misc]
        self.a_buff = self._activation(spiked)
        name = self.proc_params["name"]
        every = self.proc_params["snapshot_every"]
        offset = self.time_step - int(self.ctrl[CTRL_BASE])
        if every and offset % every == 0:
            self.shared[f"snap.{name}"][offset // every - 1] = self.weights
        if self._chunk_end():
            self.shared[f"wout.{name}"][:] = self.weights

    def run_lrn(self) -> None:
        self._guard("run_lrn", self._learn)


class _LearningDenseFloat(_LearningMixin, PyLearningDenseModelFloat):
    """Lava's float learning engine with the spec's bounds, mask and update order."""


@implements(proc=LearningDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLearningDenseFloat(_LearningDenseFloat):
    """Lava's float learning engine with the spec's bounds, mask and update order."""


@implements(proc=LearningDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyLearningDenseFixed(_LearningMixin, PyLearningDenseModelBitApproximate):
    """Lava's fixed-point ("bit-approximate") learning engine; bounds and mask in mantissa units."""

    def _init_randoms(self) -> None:
        super()._init_randoms()
        # Lava seeds the weight rounding with a constant (2); follow the rule's seed (rng_seed 1 gives Lava's 2)
        self._conn_var_random = ConnVarRandom(seed_stochastic_rounding=self._learning_rule.rng_seed + 1)

    def _activation(self, spiked: np.ndarray) -> np.ndarray:
        accumulated = self.weights[:, spiked].sum(axis=1)
        exponent = self.proc_params.get("weight_exp", 0)
        return np.left_shift(accumulated, exponent) if exponent > 0 else np.right_shift(accumulated, -exponent)


# -- learning on a computed presynaptic signal (float) -------------------------------------------
class ProjectedLearningDense(LearningDense):
    """A ``LearningDense`` whose pre trace is a graded signal computed in the same step.

    ``s_in`` carries the graded payload that sets the pre trace :math:`x_1`
    (Lava's ``GradedSpikeCfg.OVERWRITE``), ``s_fwd`` the presynaptic spikes
    that the weights carry forward, and ``w_out`` sends the current weights
    to the circuit that computes the signal (:class:`SubspaceResidual`).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        shape = kwargs["weights"].shape
        self.s_fwd = InPort(shape=(shape[1],))
        self.w_out = OutPort(shape=shape)


class ProjectedTrace(AbstractProcess):
    r"""Sends :math:`\tilde x = x - B^\top B x` of the presynaptic trace ``x`` in the step it is formed.

    ``x`` is the rule's trace (:math:`x \leftarrow \alpha x + s`), ``B`` the
    rule's basis; the payload is :data:`OVERWRITE_SCALE` :math:`\tilde x`.
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


class _RuleTraces(_SharedModel):
    r"""The rule's pre and post traces (:func:`spikemem.learning.advance_traces`), cleared at every reset.

    How a circuit's signals reach the engine depends on the numeric model:
    float sends the pre signal as it is (times :data:`OVERWRITE_SCALE`) and
    the third factor :math:`\eta f`; fixed point sends 7-bit codes
    (:func:`~.._plan.encode_pre`, :func:`~.._plan.encode_signed`, rounded
    stochastically from a generator seeded once per build) and leaves
    :math:`\eta` to the rule's coefficients.
    """

    def _traces(self, pre: np.ndarray, post: np.ndarray) -> RuleState:
        if self._new_reset() or not hasattr(self, "_state"):
            self._state = RuleState(x=np.zeros(pre.shape), y=np.zeros(post.shape))
            if self.ctrl[CTRL_RESEED] and hasattr(self, "_generator"):
                del self._generator  # fixed point: a full restart repeats the rounding of the codes
        advance_traces(self.proc_params["rule"], self._state, pre, post, self.proc_params["dt"])
        return self._state

    def _pre_payload(self, signal: np.ndarray) -> np.ndarray:
        return OVERWRITE_SCALE * signal

    def _third_factor(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.proc_params["rule"].eta * values / THIRD_FACTOR_DECAY, np.zeros_like(values)

    def _weights(self, received: np.ndarray) -> np.ndarray:
        return received


class _FixedCoding(_RuleTraces):
    """7-bit codes of the circuit's signals (fixed point), see :class:`_RuleTraces`."""

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


@implements(proc=ProjectedTrace, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyProjectedTraceModel(_RuleTraces, PyLoihiProcessModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def _step(self) -> None:
        state = self._traces(self.s_in.recv().astype(np.float64), np.zeros(0))  # no postsynaptic trace
        self.x_out.send(self._pre_payload(project_out(state.x, self.proc_params["rule"].basis)))

    def run_spk(self) -> None:
        self._guard("run_spk", self._step)


@implements(proc=ProjectedTrace, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyProjectedTraceModelFixed(_FixedCoding, PyProjectedTraceModel):
    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)


@implements(proc=SubspaceResidual, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySubspaceResidualModel(_RuleTraces, PyLoihiProcessModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    s_post: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    w_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

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


@implements(proc=SubspaceResidual, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySubspaceResidualModelFixed(_FixedCoding, PySubspaceResidualModel):
    w_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=9)
    x_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)


class _ProjectedMixin(_LearningMixin):
    """A learning engine whose pre trace is a circuit's graded payload; the weights carry ``s_fwd`` forward."""

    implements_process = None  # inherited from Lava's LearningDense model; set to ProjectedLearningDense below

    def _process_pre_spikes(self, s_in: np.ndarray) -> None:
        super()._process_pre_spikes(s_in)  # type: ignore[misc]
        self.x1[s_in == 0] = 0  # OVERWRITE skips zero payloads; the trace is this step's signal

    def _forward_spikes(self) -> np.ndarray:
        return self._forward

    def _spike_step(self) -> None:
        self._sync()
        self.a_out.send(self.a_buff)  # type: ignore[attr-defined]
        self.w_out.send(self.weights)  # type: ignore[attr-defined]
        self._forward = self.s_fwd.recv().astype(bool)  # type: ignore[attr-defined]
        self.recv_traces(self.s_in.recv())  # type: ignore[attr-defined]

    def run_spk(self) -> None:
        self._guard("run_spk", self._spike_step)


@implements(proc=ProjectedLearningDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyProjectedLearningDenseFloat(_ProjectedMixin, PyLearningDenseModelFloat):
    """Lava's float learning engine on a graded pre trace; the weights carry ``s_fwd`` forward."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_fwd: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    w_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)


@implements(proc=ProjectedLearningDense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyProjectedLearningDenseFixed(_ProjectedMixin, PyLearningDenseFixed):
    """Lava's fixed-point engine on a 7-bit graded pre trace (payload = 2 x code); weights sent as mantissas."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_fwd: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    w_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=9)


MODELS = {
    "floating_pt": {
        SpikeSource: PySpikeSourceModel,
        ModulatorSource: PyModulatorSourceModel,
        SpecLIF: PySpecLIFModelFloat,
        Dense: PyDenseFloat,
        DelayDense: PyDelayDenseFloat,
        LearningDense: PyLearningDenseFloat,
        ProjectedLearningDense: PyProjectedLearningDenseFloat,
        ProjectedTrace: PyProjectedTraceModel,
        SubspaceResidual: PySubspaceResidualModel,
    },
    "fixed_pt": {
        SpikeSource: PySpikeSourceModel,
        ModulatorSource: PyModulatorSourceModelFixed,
        SpecLIF: PySpecLIFModelFixed,
        Dense: PyDenseFixed,
        DelayDense: PyDelayDenseFixed,
        LearningDense: PyLearningDenseFixed,
        ProjectedLearningDense: PyProjectedLearningDenseFixed,
        ProjectedTrace: PyProjectedTraceModelFixed,
        SubspaceResidual: PySubspaceResidualModelFixed,
    },
}
"""ProcessModel of every Process class, per numeric tag (Lava's ``exception_proc_model_map``)."""
