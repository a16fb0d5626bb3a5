"""The :class:`~spikemem.backend.Simulation` protocol over the engine: state, runs, resets and weights.

An array backend's simulation is this class with its kernel
(:class:`~spikemem.engine.kernel.Kernel`): the topology is built once, at
compile time, and every run goes through :func:`spikemem.engine.loop.simulate`.
"""

from __future__ import annotations

import numpy as np

from spikemem.backend import Simulation
from spikemem.engine.kernel import Kernel, SynapticInput
from spikemem.engine.loop import EngineState, simulate
from spikemem.engine.recorder import Recorder
from spikemem.engine.topology import Topology
from spikemem.spec import Network
from spikemem.stimulus import InputWindow


class EngineSimulation(Simulation):
    """A network run step by step by the engine on ``kernel``'s arrays.

    Parameters
    ----------
    network
        A validated network.
    numeric
        ``"float"`` or ``"fixed"``.
    kernel
        The backend's arrays and kernels for ``network``.
    topology
        ``network``'s topology, when the backend built it already (to build its kernel).
    """

    def __init__(self, network: Network, numeric: str, kernel: Kernel, topology: Topology | None = None) -> None:
        super().__init__(network, numeric)
        self.topology = Topology.from_network(network) if topology is None else topology
        self.kernel = kernel
        self._masks = {
            proj.name: None if (mask := self.topology.masks[proj.name]) is None else kernel.mask(mask)
            for proj in self.topology.plastic
        }
        self._state = EngineState.initial(self.topology, kernel, batch=1)

    @property
    def _weights(self) -> dict:
        """The kernel's current weights (internal units), by projection name."""
        return self.kernel.weights

    def _input_function(self, projection: str, batch: int) -> SynapticInput:
        """The input function of ``projection`` for a run of ``batch`` trials (the kernel's)."""
        return self.kernel.synaptic_input(projection, batch)

    def _simulate(self, state: EngineState, windows: list[InputWindow], learn: bool) -> dict[str, np.ndarray]:
        recorder = Recorder(self.network, self.kernel, windows[0].steps, len(windows), self.topology.spike_inputs)
        return simulate(
            self.topology,
            self.kernel,
            state,
            windows,
            dt=self.network.dt,
            masks=self._masks,
            recorder=recorder,
            learn=learn,
            synaptic_input=self._input_function,
        )

    def _run(self, window: InputWindow) -> dict[str, np.ndarray]:
        data = self._simulate(self._state, [window], learn=True)
        unbatched = {m.key for m in self.network.monitors if m.variable == "weights"}
        return {key: value if key in unbatched else value[0] for key, value in data.items()}

    def _run_batch(self, windows: list[InputWindow]) -> dict[str, np.ndarray]:
        return self._simulate(EngineState.initial(self.topology, self.kernel, len(windows)), windows, learn=False)

    def _reset(self, weights: bool) -> None:
        if weights:
            self.kernel.reset_weights()
        self._state = EngineState.initial(self.topology, self.kernel, batch=1)

    def _get_weights(self, projection: str) -> np.ndarray:
        return self.kernel.weights_to_float(projection, self.kernel.to_numpy(self.kernel.weights[projection]))

    def _set_weights(self, projection: str, weights: np.ndarray) -> None:
        self.kernel.set_weights(projection, weights)
