"""How the sources run: one row of a shared buffer per step."""

from __future__ import annotations

import numpy as np
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyOutPort
from lava.magma.core.model.py.type import LavaPyType

from spikemem.backends.lava_backend._lava.buffers import SharedModel
from spikemem.backends.lava_backend._lava.decorate import cpu_model
from spikemem.backends.lava_backend._lava.sources.process import ModulatorSource, SpikeSource


@cpu_model(SpikeSource, "floating_pt", "fixed_pt")
class PySpikeSourceModel(SharedModel, PyLoihiProcessModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, bool, precision=1)

    def run_spk(self) -> None:
        self._guard("run_spk", lambda: self.s_out.send(self.shared[self.proc_params["key"]][self._row()]))


class _ModulatorSourceModel(SharedModel, PyLoihiProcessModel):
    """Sends row ``t`` of the buffer as ``y1, y2, y3`` in the port's dtype."""

    y1: PyOutPort
    y2: PyOutPort
    y3: PyOutPort

    def _values(self, rows: np.ndarray) -> np.ndarray:
        return rows

    def run_spk(self) -> None:
        def step() -> None:
            values = self._values(self.shared[self.proc_params["key"]][self._row()])
            self.y1.send(values[0])
            self.y2.send(values[1])
            self.y3.send(values[2])

        self._guard("run_spk", step)


@cpu_model(ModulatorSource, "floating_pt")
class PyModulatorSourceModel(_ModulatorSourceModel):
    y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)


@cpu_model(ModulatorSource, "fixed_pt")
class PyModulatorSourceModelFixed(_ModulatorSourceModel):
    """The same rows as 7-bit integers (``_plan.third_factor_inputs`` computed them)."""

    y1: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    y2: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    y3: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)

    def _values(self, rows: np.ndarray) -> np.ndarray:
        return rows.astype(np.int32)
