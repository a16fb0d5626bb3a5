"""One simulation engine for the array backends (the numpy reference and snnTorch).

- :mod:`~spikemem.engine.topology`: the network's structure, built once;
- :mod:`~spikemem.engine.kernel`: what a backend supplies (arrays, synaptic input, neuron step);
- :mod:`~spikemem.engine.loop`: THE step loop (the per-step order and equations);
- :mod:`~spikemem.engine.recorder`: one recorder over a kernel's arrays;
- :mod:`~spikemem.engine.simulation`: the :class:`~spikemem.backend.Simulation` protocol over them.

numpy only: a kernel brings its own array library.
"""

from spikemem.engine.kernel import Kernel, NeuronStep, SynapticInput
from spikemem.engine.loop import EngineState, simulate, stack_trials
from spikemem.engine.recorder import Recorder
from spikemem.engine.simulation import EngineSimulation
from spikemem.engine.topology import Incoming, Topology

__all__ = [
    "EngineSimulation",
    "EngineState",
    "Incoming",
    "Kernel",
    "NeuronStep",
    "Recorder",
    "SynapticInput",
    "Topology",
    "simulate",
    "stack_trials",
]
