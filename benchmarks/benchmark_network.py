"""The one benchmark network, defined once for spikemem and for the hand-written peer scripts.

``n`` LIF neurons (tau 20 ms, dt 1 ms, threshold 1, reset to 0), recurrent
weights normal(0, 0.1) where a uniform draw is below ``p`` (else no synapse),
a constant drive of 0.06 per step, every spike recorded (shared/FACTS.md).
"""

from __future__ import annotations

import numpy as np

from spikemem.spec import LIF, CurrentInput, Monitor, Network, Population, Projection

DT = 1e-3
TAU = 0.02
DRIVE = 0.06
WEIGHT_STD = 0.1


def benchmark_weights(n: int, p: float, seed: int) -> np.ndarray:
    """``(n, n)`` recurrent weights: normal (std 0.1) where a uniform draw is below ``p``, else 0."""
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, WEIGHT_STD, (n, n)) * (rng.random((n, n)) < p)


def benchmark_network(n: int = 1000, p: float = 0.1, seed: int = 0) -> Network:
    """The benchmark network as a spikemem spec (population ``"lif"``, spikes monitored)."""
    return Network(
        dt=DT,
        populations=[Population("lif", n, LIF(tau_mem=TAU))],
        inputs=[CurrentInput("drive", "lif", np.full(n, DRIVE))],
        projections=[Projection("lif", "lif", benchmark_weights(n, p, seed))],
        monitors=[Monitor("lif", "spikes")],
        name=f"benchmark-{n}",
    )
