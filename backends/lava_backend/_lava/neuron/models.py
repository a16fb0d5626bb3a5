r"""How the spec's neuron runs: float (:func:`spikemem.dynamics.lif_step`) or integers
(:func:`spikemem.fixed_point.fixed_lif_step`, ``PyLifModelBitAcc``'s arithmetic extended by the spec).

Each step: :math:`I = a_{in} + I_{ext}` (fixed point: :math:`(a_{in} \ll 6) + I_{ext}`), one LIF step,
the monitored variables written to their shared buffers, the spikes sent.
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType

from spikemem.backends.lava_backend._lava.buffers import SharedModel, current_key, record_key
from spikemem.backends.lava_backend._lava.decorate import cpu_model
from spikemem.backends.lava_backend._lava.neuron.process import SpecLIF
from spikemem.dynamics import lif_step
from spikemem.fixed_point import ACT_SHIFT, fixed_lif_step


class _SpecLIFBase(SharedModel, PyLoihiProcessModel):
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
            current = current + self.shared[current_key(name)][row]
        spikes, v, refractory = self._step(current)
        self.v[:] = v
        self.refractory[:] = refractory
        record = self.proc_params["record"]
        if "spikes" in record:
            self.shared[record_key("spikes", name)][row] = spikes
        if "v" in record:
            self.shared[record_key("v", name)][row] = v
        if "count" in record:
            self.shared[record_key("count", name)][:] += spikes
        self.s_out.send(spikes)

    def run_spk(self) -> None:
        self._guard("run_spk", self._spike_step)


@cpu_model(SpecLIF, "floating_pt")
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


@cpu_model(SpecLIF, "fixed_pt")
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
