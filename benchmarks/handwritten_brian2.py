"""A plain hand-written Brian2 script: the baseline the spikemem Brian2 backend is measured against.

The network (:mod:`benchmark_network`, the same for spikemem and every peer): ``n`` LIF neurons (tau 20 ms, dt 1 ms,
threshold 1, reset to 0), recurrent synapses where the weight matrix is
nonzero (probability ``p``, normal weights with std 0.1), a constant drive of
0.06 per step, a ``SpikeMonitor``. It runs the canonical discrete update
``v[t] = beta v[t-1] + W s[t-1] + 0.06`` the way a Brian2 user writes it:

``style="discrete"`` (default)
    ``v : 1`` with the update ``v = beta*v + drive`` as one ``run_regularly``
    operation (one code object per step: the fastest way to say it);
``style="ode"``
    ``dv/dt = -v/tau`` integrated with ``method="exact"`` plus
    ``run_regularly("v += drive")`` (the textbook form; two code objects).

Synapses ``on_pre="v_post += w"`` in the ``before_thresholds`` slot, so that
the spikes of step ``t - 1`` arrive before the threshold of step ``t``.

Timing: ``build_seconds`` is creating the objects (and, for
``cpp_standalone``, generating and compiling the C++ project);
``seconds`` is ``net.run`` (runtime targets: Brian2's code generation, which
loads cached compiled modules, plus the simulation; the first call of a
cython network in a fresh cache also compiles, so take the best of several)
or the standalone binary's run.
"""

from __future__ import annotations

import math
import tempfile
import time
from typing import Any

import numpy as np
from benchmark_network import DRIVE, DT, TAU, benchmark_weights

STYLES = ("discrete", "ode")


def _objects(b2: Any, n: int, p: float, seed: int, style: str) -> tuple[Any, Any]:
    """The network's objects; returns ``(network, spike_monitor)``."""
    if style == "discrete":
        neurons = b2.NeuronGroup(n, "v : 1", threshold="v > 1", reset="v = 0")
        neurons.run_regularly("v = beta*v + drive", when="groups")
    elif style == "ode":
        neurons = b2.NeuronGroup(n, "dv/dt = -v/tau : 1", threshold="v > 1", reset="v = 0", method="exact")
        neurons.run_regularly("v += drive", when="groups", order=1)
    else:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    weights = benchmark_weights(n, p, seed)
    post, pre = np.nonzero(weights)
    synapses = b2.Synapses(neurons, neurons, "w : 1", on_pre="v_post += w")
    synapses.connect(i=pre, j=post)
    synapses.w = weights[post, pre]
    synapses.pre.when = "before_thresholds"
    monitor = b2.SpikeMonitor(neurons)
    return b2.Network(neurons, synapses, monitor), monitor


def run_handwritten_brian2(
    n: int = 1000, steps: int = 1000, p: float = 0.1, seed: int = 0, target: str = "cython", style: str = "discrete"
) -> dict[str, Any]:
    """Build and run the hand-written script on ``target`` (``"numpy"``, ``"cython"`` or ``"cpp_standalone"``).

    Returns
    -------
    dict
        ``spike_count``, ``seconds`` (the run), ``cpu_seconds`` (its process CPU time;
        runtime targets only), ``build_seconds`` (objects, and
        the C++ build for standalone), ``target``, ``style``.
    """
    import brian2 as b2

    namespace = {"beta": math.exp(-DT / TAU), "drive": DRIVE, "tau": TAU * b2.second}
    previous_target = b2.prefs.codegen.target
    previous_dt = b2.defaultclock.dt
    b2.defaultclock.dt = DT * b2.second
    try:
        if target == "cpp_standalone":
            return _run_standalone(b2, n, steps, p, seed, style, namespace)
        b2.prefs.codegen.target = target
        start = time.perf_counter()
        net, monitor = _objects(b2, n, p, seed, style)
        built, cpu_start = time.perf_counter(), time.process_time()
        net.run(steps * DT * b2.second, namespace=namespace)
        ran, cpu = time.perf_counter(), time.process_time() - cpu_start
        return {
            "spike_count": int(monitor.num_spikes),
            "seconds": ran - built,
            "cpu_seconds": cpu,
            "build_seconds": built - start,
            "target": target,
            "style": style,
        }
    finally:
        b2.prefs.codegen.target = previous_target
        b2.defaultclock.dt = previous_dt


def _run_standalone(b2: Any, n: int, steps: int, p: float, seed: int, style: str, namespace: dict) -> dict[str, Any]:
    directory = tempfile.mkdtemp(prefix="handwritten-brian2-")
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    try:
        start = time.perf_counter()
        net, monitor = _objects(b2, n, p, seed, style)
        net.run(steps * DT * b2.second, namespace=namespace)
        b2.device.build(run=False, directory=directory)
        built = time.perf_counter()
        b2.device.run(with_output=False)
        ran = time.perf_counter()
        count = int(monitor.num_spikes)
    finally:
        b2.device.reinit()
        b2.device.activate()
        b2.set_device("runtime")
    return {
        "spike_count": count,
        "seconds": ran - built,
        "build_seconds": built - start,
        "target": "cpp_standalone",
        "style": style,
    }


if __name__ == "__main__":
    for style in STYLES:
        print(run_handwritten_brian2(style=style))
