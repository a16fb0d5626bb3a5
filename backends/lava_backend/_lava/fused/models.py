"""How the fused network runs: its graph's ProcessModels, stepped inside this one (float and fixed point alike)."""

from __future__ import annotations

from lava.magma.core.model.py.model import PyLoihiProcessModel

from spikemem.backends.lava_backend._lava.buffers import SharedModel
from spikemem.backends.lava_backend._lava.decorate import cpu_model
from spikemem.backends.lava_backend._lava.fused.process import FusedNetwork
from spikemem.backends.lava_backend._lava.fusion import FusedGraph


@cpu_model(FusedNetwork, "floating_pt", "fixed_pt")
class PyFusedNetworkModel(SharedModel, PyLoihiProcessModel):
    """Each phase of a step: the same phase of every sub-model (:class:`~..fusion.FusedGraph`)."""

    @property
    def graph(self) -> FusedGraph:
        if not hasattr(self, "_graph"):
            self._graph = FusedGraph(self.proc_params["graph"])
        return self._graph

    def run_spk(self) -> None:
        self._guard("run_spk", lambda: self.graph.run_spk(self.time_step))

    def lrn_guard(self) -> bool:
        return self.graph.lrn_guard()

    def run_lrn(self) -> None:
        self._guard("run_lrn", self.graph.run_lrn)
