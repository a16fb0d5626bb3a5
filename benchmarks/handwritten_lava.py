"""A naive hand-written Lava script: the baseline the spikemem Lava backend is measured against.

The network (:mod:`benchmark_network`, shared with the spikemem version):
``n`` LIF neurons (tau 20 ms, dt 1 ms, threshold 1, reset to 0), a recurrent
``Dense`` with connection probability ``p`` and normal weights (std 0.1), a
constant drive of 0.06 per step, spikes recorded for every step. The script
does what the Lava tutorials do: ``LIF`` + ``Dense`` + a ``Monitor`` probing
``s_out``, one ``run``, ``get_data()``, ``stop()``. Reading the raster back
through the Monitor costs one message per element (~23 us), which dominates.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from benchmark_network import DRIVE, DT, TAU, benchmark_weights


def run_handwritten_lava(n: int = 1000, steps: int = 1000, p: float = 0.1, seed: int = 0) -> dict[str, Any]:
    """Run the naive Lava script; return the spike count and the wall time (build, run, read-back, stop).

    Returns
    -------
    dict
        ``spike_count`` (total spikes), ``seconds`` (total: build, run, read-back, stop), ``run_seconds`` and
        ``readback_seconds`` (the Monitor's ``get_data``).
    """
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.dense.process import Dense
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor

    start = time.perf_counter()
    beta = math.exp(-DT / TAU)
    lif = LIF(shape=(n,), du=1.0, dv=1.0 - beta, vth=1.0, bias_mant=DRIVE)
    dense = Dense(weights=benchmark_weights(n, p, seed))
    lif.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    monitor = Monitor()
    monitor.probe(lif.s_out, steps)
    try:
        lif.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="floating_pt"))
        ran = time.perf_counter()
        raster = monitor.get_data()[lif.name]["s_out"]
        read = time.perf_counter()
    finally:
        lif.stop()
    end = time.perf_counter()
    return {
        "spike_count": int(np.asarray(raster).sum()),
        "seconds": end - start,
        "run_seconds": ran - start,
        "readback_seconds": read - ran,
    }


if __name__ == "__main__":
    print(run_handwritten_lava())
