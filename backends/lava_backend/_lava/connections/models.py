"""How the connections run: Lava's ``Dense``-family models, subclassed only to add what a reusable simulation needs.

- *reset and weight reload*: a new reset generation in the control buffer
  clears the state (``a_buff``, traces); a new weight generation
  (:data:`~spikemem.backends.lava_backend._lava.buffers.WEIGHT_GENERATIONS`)
  reloads the weights from their shared buffer before the step, without the
  slow per-element ``Var.set``;
- *learning order and bounds* (``LearningDense``): after Lava's learning
  phase the weights are clipped to the rule's ``[w_min, w_max]`` and masked,
  and the activation for the next step is recomputed with the new weights
  (Lava computes it in the spiking phase, before learning; the spec applies
  the update of step ``t`` to the spikes of step ``t``);
- *records*: learned weights at the end of each chunk and snapshots every
  ``snapshot_every`` steps, written to shared buffers.

Our models of Lava's own Processes live outside Lava's ``lava/proc/dense``
folder, where Lava's compiler looks for them, so the worker names them in the
run configuration (:data:`LAVA_PROCESS_MODELS`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from lava.magma.core.learning import string_symbols
from lava.magma.core.learning.constants import FACTOR_TO_WIDTH_DICT, W_ACCUMULATOR_U, W_S_MANT
from lava.magma.core.learning.learning_rule_applier import LearningRuleApplierBitApprox, LearningRuleApplierFloat
from lava.magma.core.learning.random import ConnVarRandom
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.proc.dense.models import (
    PyDelayDenseModelBitAcc,
    PyDelayDenseModelFloat,
    PyDenseModelBitAcc,
    PyDenseModelFloat,
    PyLearningDenseModelBitApproximate,
    PyLearningDenseModelFloat,
)
from lava.proc.dense.process import DelayDense, Dense, LearningDense

from spikemem.backends.lava_backend._lava.buffers import (
    CTRL_BASE,
    CTRL_RESEED,
    WEIGHT_GENERATIONS,
    SharedModel,
    snapshot_key,
    weights_in_key,
    weights_out_key,
)
from spikemem.backends.lava_backend._lava.connections.process import ProjectedLearningDense
from spikemem.backends.lava_backend._lava.decorate import cpu_model


class _ConnectionMixin(SharedModel):
    """Reset and weight reload for Lava's Dense-family models."""

    weights: np.ndarray
    a_buff: np.ndarray

    def _sync(self) -> None:
        if self._new_reset():
            self.a_buff = np.zeros_like(self.a_buff)
            self._reset_learning()
        generation = int(self.shared[WEIGHT_GENERATIONS][self.proc_params["index"]])
        if generation != getattr(self, "_weights_seen", 0):
            self._weights_seen = generation
            loaded = np.array(self.shared[weights_in_key(self.proc_params["name"])])
            self.weights = loaded.astype(self.weights.dtype)

    def _reset_learning(self) -> None:
        """Connections without learning have no further state."""

    def run_spk(self) -> None:
        def step() -> None:
            self._sync()
            # mypy: run_spk comes from the Lava model after this mixin in the MRO, invisible from the mixin
            super(_ConnectionMixin, self).run_spk()  # type: ignore[misc]

        self._guard("run_spk", step)


@cpu_model(Dense, "floating_pt")
class PyDenseFloat(_ConnectionMixin, PyDenseModelFloat):
    pass


@cpu_model(Dense, "fixed_pt")
class PyDenseFixed(_ConnectionMixin, PyDenseModelBitAcc):
    pass


@cpu_model(DelayDense, "floating_pt")
class PyDelayDenseFloat(_ConnectionMixin, PyDelayDenseModelFloat):
    pass


@cpu_model(DelayDense, "fixed_pt")
class PyDelayDenseFixed(_ConnectionMixin, PyDelayDenseModelBitAcc):
    pass


class _LearningMixin(_ConnectionMixin):
    """Bounds, mask, reset and the spec's update order around Lava's learning engine (t_epoch = 1)."""

    # Declared for mypy only (no value: the MRO is unchanged): state and methods of Lava's learning model that
    # follows this mixin in each concrete class.
    tx: np.ndarray
    tag_1: np.ndarray
    _init_randoms: Callable[[], None]

    def _reset_learning(self) -> None:
        for name in ("x1", "x2", "y1", "y2", "y3", "x0", "y0", "tx", "ty"):
            setattr(self, name, np.zeros_like(getattr(self, name)))
        self.tag_1 = np.full_like(self.tag_1, self.proc_params["tag_init"])
        if self.ctrl[CTRL_RESEED]:  # a full restart repeats the stochastic rounding; a plain reset draws on
            self._init_randoms()

    def _saturate_synaptic_variable(self, synaptic_variable_name: str, synaptic_variable_values: np.ndarray) -> Any:
        # mypy (here and in _learn): the method comes from the Lava model after this mixin in the MRO
        values = super()._saturate_synaptic_variable(synaptic_variable_name, synaptic_variable_values)  # type: ignore[misc]
        if synaptic_variable_name != "weights":
            return values
        low, high = self.proc_params["w_min"], self.proc_params["w_max"]
        if low is not None or high is not None:
            values = np.clip(values, low, high)
        mask = self.proc_params["mask"]
        return values if mask is None else values * mask

    def _extract_applier_evaluated_traces(
        self, x_traces_history: np.ndarray, y_traces_history: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Lava's evaluated traces, only those the rule reads, each gathered directly.

        Lava builds all 15 every learning phase, two of them as the diagonal of a ``(pre, pre)``
        gather; here the same elements are gathered without the square (``h[tx, k, i]`` for
        ``h[tx, k].diagonal()[i]``): the values are Lava's, only fewer arrays are built.
        """
        names = self._evaluated_names()
        return {name: _EVALUATED[name](self, x_traces_history, y_traces_history) for name in names}

    def _evaluated_names(self) -> tuple[str, ...]:
        """The ``trace_dependency`` names the rule's products read (a rule is fixed at build time)."""
        if not hasattr(self, "_evaluated"):
            appliers = self._learning_rule_appliers.values()  # type: ignore[attr-defined]  # Lava's model
            self._evaluated = tuple(
                sorted(
                    {
                        f"{factor.state_var}_{product.dependency}"
                        for applier in appliers
                        for product in applier._product_series.products
                        for factor in product.factors
                        if factor.state_var in string_symbols.TRACES
                    }
                )
            )
        return self._evaluated

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
            self.shared[snapshot_key(name)][offset // every - 1] = self.weights
        if self._chunk_end():
            self.shared[weights_out_key(name)][:] = self.weights

    def run_lrn(self) -> None:
        self._guard("run_lrn", self._learn)


def _diagonal(history: np.ndarray, times: np.ndarray, trace: int) -> np.ndarray:
    """``history[times, trace].diagonal()`` (element ``i``: ``history[times[i], trace, i]``) without the square."""
    return history[times, trace, np.arange(times.shape[0])]


_Evaluate = Callable[[Any, np.ndarray, np.ndarray], np.ndarray]
_EVALUATED: dict[str, _Evaluate] = {
    # Lava's LearningConnectionModel._extract_applier_evaluated_traces, key by key (same shapes and values)
    "x1_x0": lambda m, x, y: _diagonal(x, m.tx, 0)[np.newaxis, :],
    "x2_x0": lambda m, x, y: _diagonal(x, m.tx, 1)[np.newaxis, :],
    "y1_x0": lambda m, x, y: y[m.tx, 0].T,
    "y2_x0": lambda m, x, y: y[m.tx, 1].T,
    "y3_x0": lambda m, x, y: y[m.tx, 2].T,
    "x1_y0": lambda m, x, y: x[m.ty, 0],
    "x2_y0": lambda m, x, y: x[m.ty, 1],
    "y1_y0": lambda m, x, y: _diagonal(y, m.ty, 0)[:, np.newaxis],
    "y2_y0": lambda m, x, y: _diagonal(y, m.ty, 1)[:, np.newaxis],
    "y3_y0": lambda m, x, y: _diagonal(y, m.ty, 2)[:, np.newaxis],
    "x1_u": lambda m, x, y: x[-1, 0][np.newaxis, :],
    "x2_u": lambda m, x, y: x[-1, 1][np.newaxis, :],
    "y1_u": lambda m, x, y: y[-1, 0][:, np.newaxis],
    "y2_u": lambda m, x, y: y[-1, 1][:, np.newaxis],
    "y3_u": lambda m, x, y: y[-1, 2][:, np.newaxis],
}
"""Each evaluated trace Lava's engine offers a rule: ``trace_dependency`` -> its value from the model ``m``
(``tx``, ``ty``: within-epoch spike times) and the trace histories ``x`` ``(t_epoch + 1, 2, pre)`` and
``y`` ``(t_epoch + 1, 3, post)``."""


class ParsedApplierFloat(LearningRuleApplierFloat):
    """Lava's float rule applier, its rule string evaluated as the Python expression Lava compiles it to.

    Lava's applier hands the string to an asteval interpreter on every call, which parses it and walks
    its syntax tree calling Python's own operators (``a * b``, ``a + b``, ``a ** b``, ``np.sign``) on
    the same operands in the same order; Lava also compiles the string (``_applier_compiled``) but
    never uses it. Evaluating that code object applies the same operators in the same order without
    the interpreter's per-node dispatch, so every number is Lava's (CPython folds the constant scale
    factors ``m * 2. ** (e - 7)`` at compile time with the same float operations);
    ``tests/backends/test_lava_engine.py`` checks it against Lava's applier.
    """

    def apply(self, init_accumulator: np.ndarray, **applier_args: Any) -> np.ndarray:
        update = eval(self._applier_compiled, {"__builtins__": {}}, applier_args)  # Lava's own rule
        return init_accumulator + update


class ClipApplierBitApprox(LearningRuleApplierBitApprox):
    """Lava's fixed-point rule applier with ``np.clip`` called as its ufunc.

    Lava's ``apply`` line for line (each product: the dependency, each factor clipped to its width
    and multiplied, the scale's shift, the accumulator's saturation); only ``np.clip(a, lo, hi)``,
    which numpy 1.26 forwards through three Python wrappers to ``np.core.umath.clip(a, lo, hi)``,
    calls that ufunc directly (about 19 clips per call). ``tests/backends/test_lava_engine.py``
    checks it against Lava's applier.
    """

    def apply(self, init_accumulator: np.ndarray, **applier_args: Any) -> np.ndarray:
        clip = np.core.umath.clip  # type: ignore[attr-defined]  # numpy 1.x: the ufunc np.clip forwards to
        low, high = -(2**W_ACCUMULATOR_U) - 1, 2**W_ACCUMULATOR_U - 1
        result = init_accumulator
        for product in self._product_series.products:
            current_result = np.ones(applier_args["shape"], dtype=np.int32)
            current_result *= applier_args[product.dependency]
            factor_width_sum = 0
            for factor in product.factors:
                factor_width = FACTOR_TO_WIDTH_DICT[factor.state_var]
                factor_width_sum += factor_width
                factor_val = self._compute_factor(product.dependency, factor, applier_args)
                factor_val = clip(factor_val, -(2**factor_width), 2**factor_width - 1)
                current_result *= factor_val.astype(np.int32)
            factor_width_sum += W_S_MANT
            current_result *= product.s_mantissa
            shift = np.maximum(0, factor_width_sum - W_ACCUMULATOR_U)
            current_result = np.right_shift(current_result, shift)
            current_result = np.left_shift(current_result, product.s_exp)
            current_result = clip(current_result, low, high)
            result = clip(result + current_result, low, high)
        return result


class _FloatApplierMixin:
    """Our float learning models build :class:`ParsedApplierFloat` appliers."""

    def _create_learning_rule_applier(self, product_series: Any) -> LearningRuleApplierFloat:
        return ParsedApplierFloat(product_series)


@cpu_model(LearningDense, "floating_pt")
class PyLearningDenseFloat(_FloatApplierMixin, _LearningMixin, PyLearningDenseModelFloat):
    """Lava's float learning engine with the spec's bounds, mask and update order."""


@cpu_model(LearningDense, "fixed_pt")
class PyLearningDenseFixed(_LearningMixin, PyLearningDenseModelBitApproximate):
    """Lava's fixed-point ("bit-approximate") learning engine; bounds and mask in mantissa units."""

    def _create_learning_rule_applier(self, product_series: Any) -> LearningRuleApplierBitApprox:
        return ClipApplierBitApprox(product_series)

    def _init_randoms(self) -> None:
        super()._init_randoms()
        # Lava seeds the weight rounding with a constant (2); follow the rule's seed (rng_seed 1 gives Lava's 2)
        self._conn_var_random = ConnVarRandom(seed_stochastic_rounding=self._learning_rule.rng_seed + 1)

    def _activation(self, spiked: np.ndarray) -> np.ndarray:
        accumulated = self.weights[:, spiked].sum(axis=1)
        exponent = self.proc_params.get("weight_exp", 0)
        return np.left_shift(accumulated, exponent) if exponent > 0 else np.right_shift(accumulated, -exponent)


class _ProjectedMixin(_LearningMixin):
    """A learning engine whose pre trace is a circuit's graded payload; the weights carry ``s_fwd`` forward."""

    implements_process = None  # inherited from Lava's LearningDense model; cpu_model sets ProjectedLearningDense

    # Declared for mypy only, like _LearningMixin's: the ports of the concrete models and Lava's trace input.
    x1: np.ndarray
    a_out: PyOutPort
    w_out: PyOutPort
    s_in: PyInPort
    s_fwd: PyInPort
    recv_traces: Callable[[np.ndarray], None]

    def _process_pre_spikes(self, s_in: np.ndarray) -> None:
        super()._process_pre_spikes(s_in)  # type: ignore[misc]  # Lava's method, after this mixin in the MRO
        self.x1[s_in == 0] = 0  # OVERWRITE skips zero payloads; the trace is this step's signal

    def _forward_spikes(self) -> np.ndarray:
        return self._forward

    def _spike_step(self) -> None:
        self._sync()
        self.a_out.send(self.a_buff)
        self.w_out.send(self.weights)
        self._forward = self.s_fwd.recv().astype(bool)
        self.recv_traces(self.s_in.recv())

    def run_spk(self) -> None:
        self._guard("run_spk", self._spike_step)


@cpu_model(ProjectedLearningDense, "floating_pt")
class PyProjectedLearningDenseFloat(_FloatApplierMixin, _ProjectedMixin, PyLearningDenseModelFloat):
    """Lava's float learning engine on a graded pre trace; the weights carry ``s_fwd`` forward."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_fwd: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    w_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)


@cpu_model(ProjectedLearningDense, "fixed_pt")
class PyProjectedLearningDenseFixed(_ProjectedMixin, PyLearningDenseFixed):
    """Lava's fixed-point engine on a 7-bit graded pre trace (payload = 2 x code); weights sent as mantissas."""

    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_fwd: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    w_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=9)


LAVA_PROCESS_MODELS: dict[str, dict[type, type]] = {
    "floating_pt": {Dense: PyDenseFloat, DelayDense: PyDelayDenseFloat, LearningDense: PyLearningDenseFloat},
    "fixed_pt": {Dense: PyDenseFixed, DelayDense: PyDelayDenseFixed, LearningDense: PyLearningDenseFixed},
}
"""Our model of each of Lava's own Processes, per tag (Lava's ``exception_proc_model_map``); the Processes of
this package are found and selected by tag."""
