r"""How the batched synapses run: :math:`a[t+1] = s[t] W^\top` for a ``(B, n_pre)`` block of samples.

Float: one matrix product per step (BLAS) instead of Lava's column sum per
sample. Fixed point: the same product on the integer mantissas in float64,
exact while :math:`|\sum_j w_{ij}| < 2^{53}` (8-bit mantissas: any layer
below :math:`2^{44}` inputs), then Lava's ``PyDenseModelBitAcc`` arithmetic:
:math:`a = \mathrm{accum} \ll e` (or :math:`\gg -e`) and the int32 message,
so every sample's activation equals the unbatched ``Dense``'s bit for bit.
Reset and weight reload come from the unbatched models' mixin.
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.utils.weightutils import clip_weights, truncate_weights

from spikemem.backends.lava_backend._lava.batched.process import BatchDense, InputDense
from spikemem.backends.lava_backend._lava.connections.models import _ConnectionMixin
from spikemem.backends.lava_backend._lava.decorate import cpu_model


class _BatchBase(PyLoihiProcessModel):
    """Send last step's activation, then form this step's from the ``(B, n_pre)`` spikes."""

    weights: np.ndarray
    a_buff: np.ndarray
    a_out: PyOutPort

    def _spikes(self) -> np.ndarray:
        raise NotImplementedError

    def _accumulate(self, spikes: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def run_spk(self) -> None:
        self.a_out.send(self.a_buff)
        self.a_buff = self._accumulate(self._spikes())


class _FromPort(_BatchBase):
    s_in: PyInPort

    def _spikes(self) -> np.ndarray:
        return self.s_in.recv()


class _FromBuffer(_ConnectionMixin, _BatchBase):
    def _spikes(self) -> np.ndarray:
        return self.shared[self.proc_params["key"]][self._row()]


class _Float:
    weights: np.ndarray

    def _accumulate(self, spikes: np.ndarray) -> np.ndarray:
        return spikes.astype(np.float64) @ self.weights.T


class _Fixed:
    """``PyDenseModelBitAcc``: weights clipped and truncated once, then ``accum << weight_exp``."""

    weights: np.ndarray
    proc_params: dict

    def _accumulate(self, spikes: np.ndarray) -> np.ndarray:
        if not getattr(self, "_weights_set", False):  # Lava's Dense does this on its first step
            sign_mode = self.proc_params["sign_mode"]
            clipped = clip_weights(self.weights, sign_mode, num_bits=8)
            self.weights = truncate_weights(clipped, sign_mode, self.proc_params["num_weight_bits"])
            self._weights_set = True
        if getattr(self, "_float_of", None) is not self.weights:  # a reload replaces the array
            self._float_of = self.weights
            self._float_weights = np.asarray(self.weights, dtype=np.float64).T.copy()
        accum = (spikes.astype(np.float64) @ self._float_weights).astype(np.int64)
        exponent = int(self.proc_params["weight_exp"])
        return np.left_shift(accum, exponent) if exponent > 0 else np.right_shift(accum, -exponent)


_FLOAT_TYPES = {
    "a_out": LavaPyType(PyOutPort.VEC_DENSE, float),
    "a_buff": LavaPyType(np.ndarray, float),
    "weights": LavaPyType(np.ndarray, float),
}
_FIXED_TYPES = {
    "a_out": LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=16),
    "a_buff": LavaPyType(np.ndarray, np.int32, precision=16),
    "weights": LavaPyType(np.ndarray, np.int32, precision=8),
}


@cpu_model(BatchDense, "floating_pt")
class PyBatchDenseFloat(_ConnectionMixin, _Float, _FromPort):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    a_out: PyOutPort = _FLOAT_TYPES["a_out"]
    a_buff: np.ndarray = _FLOAT_TYPES["a_buff"]
    weights: np.ndarray = _FLOAT_TYPES["weights"]


@cpu_model(BatchDense, "fixed_pt")
class PyBatchDenseFixed(_ConnectionMixin, _Fixed, _FromPort):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    a_out: PyOutPort = _FIXED_TYPES["a_out"]
    a_buff: np.ndarray = _FIXED_TYPES["a_buff"]
    weights: np.ndarray = _FIXED_TYPES["weights"]


@cpu_model(InputDense, "floating_pt")
class PyInputDenseFloat(_Float, _FromBuffer):
    a_out: PyOutPort = _FLOAT_TYPES["a_out"]
    a_buff: np.ndarray = _FLOAT_TYPES["a_buff"]
    weights: np.ndarray = _FLOAT_TYPES["weights"]


@cpu_model(InputDense, "fixed_pt")
class PyInputDenseFixed(_Fixed, _FromBuffer):
    a_out: PyOutPort = _FIXED_TYPES["a_out"]
    a_buff: np.ndarray = _FIXED_TYPES["a_buff"]
    weights: np.ndarray = _FIXED_TYPES["weights"]
