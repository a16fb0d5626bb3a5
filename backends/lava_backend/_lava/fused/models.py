"""How the fused network runs: its graph's ProcessModels, stepped inside this one (float and fixed point alike)."""

from __future__ import annotations

from typing import Any

from lava.magma.core.model.py.model import PyLoihiProcessModel

from spikemem.backends.lava_backend._lava.buffers import CTRL_BASE, CTRL_LENGTH, SharedModel
from spikemem.backends.lava_backend._lava.decorate import cpu_model
from spikemem.backends.lava_backend._lava.fused.process import FusedNetwork
from spikemem.backends.lava_backend._lava.fusion import FusedGraph


@cpu_model(FusedNetwork, "floating_pt", "fixed_pt")
class PyFusedNetworkModel(SharedModel, PyLoihiProcessModel):
    """Each Lava step: a whole chunk of network steps, each the spiking, then the learning phase of every
    sub-model (:class:`~..fusion.FusedGraph`).

    Its own learning phase never runs (``lrn_guard`` is Lava's default, false): see :meth:`_step`.
    """

    @property
    def graph(self) -> FusedGraph:
        if not hasattr(self, "_graph"):
            self._blas = one_blas_thread()
            self._graph = FusedGraph(self.proc_params["graph"])
        return self._graph

    def run_spk(self) -> None:
        self._guard("run_spk", self._step)

    def _step(self) -> None:
        """The whole chunk (:data:`~..buffers.CTRL_BASE`, :data:`~..buffers.CTRL_LENGTH`) in this one Lava step.

        Each network step: the spiking phase of every sub-model, then the learning phase of those whose
        guard holds. Lava's runtime runs every process's spiking phase before any learning phase; this
        process is the only one of its runtime, so running the learning phase at the end of its own
        spiking phase is the same order; and nothing outside it acts between two steps of a chunk (the
        host writes inputs and reads records between chunks), so stepping the chunk inside one Lava
        step is the same sequence of sub-model phases, without the runtime's round of messages per step.
        The sub-models see the network's step (``base + 1 .. base + length``), as in the per-process graph.
        """
        graph = self.graph
        ctrl = self.ctrl
        base, length = int(ctrl[CTRL_BASE]), int(ctrl[CTRL_LENGTH])
        for time_step in range(base + 1, base + length + 1):
            graph.run_spk(time_step)
            graph.run_lrn()


def one_blas_thread() -> Any:
    """Limit this process's BLAS to one thread (``threadpoolctl``, where installed); returns the limiter.

    The sub-models' matrix-vector products (a circuit's :math:`B^\top (B x)`, the subspace activity)
    are a few thousand multiply-adds: a second BLAS thread only hands work over and waits for it, and
    on a loaded machine it waits for a core (profiled: most of a fixed-point step's CPU time). One
    thread computes each output element with the same kernel, so the numbers are the same (checked
    by ``benchmarks/local_learning_throughput.py``'s readouts against the per-process graph's).
    Without ``threadpoolctl`` (not a dependency of this package) BLAS keeps its threads.
    """
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - an optional speed-up
        return None
    return threadpool_limits(limits=1, user_api="blas")
