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

Timing (:class:`HandwrittenBrian2`): ``prepare`` creates the objects (and, for
``cpp_standalone``, generates and compiles the C++ project); ``run`` is
``net.run`` (runtime targets: Brian2's code generation, which loads cached
compiled modules, plus the simulation; the first call of a cython network in a
fresh cache also compiles, which the benchmark harness keeps out of the timed
runs by a warm-up and detects in its cache directory) or the standalone
binary's run.
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


class HandwrittenBrian2:
    """The script split as the harness times it: :meth:`prepare` builds the objects (and, for
    ``cpp_standalone``, generates and compiles the C++ project), :meth:`run` is ``net.run`` (runtime
    targets) or the binary's run (standalone), :meth:`teardown` restores Brian2's global preferences.

    Parameters
    ----------
    n, steps, p, seed
        The benchmark network (:mod:`benchmark_network`) and its length.
    target
        ``"numpy"``, ``"cython"`` or ``"cpp_standalone"``.
    style
        ``"discrete"`` or ``"ode"`` (module docstring).
    """

    def __init__(
        self,
        n: int = 1000,
        steps: int = 1000,
        p: float = 0.1,
        seed: int = 0,
        target: str = "cython",
        style: str = "discrete",
    ) -> None:
        self.n, self.steps, self.p, self.seed, self.target, self.style = n, steps, p, seed, target, style

    def prepare(self) -> dict[str, Any]:
        """Build the network (untimed); returns the state :meth:`run` and :meth:`teardown` take."""
        import brian2 as b2

        state = {"b2": b2, "previous": (b2.prefs.codegen.target, b2.defaultclock.dt)}
        state["namespace"] = {"beta": math.exp(-DT / TAU), "drive": DRIVE, "tau": TAU * b2.second}
        b2.defaultclock.dt = DT * b2.second
        if self.target == "cpp_standalone":
            directory = tempfile.mkdtemp(prefix="handwritten-brian2-")
            b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
            state["net"], state["monitor"] = _objects(b2, self.n, self.p, self.seed, self.style)
            state["net"].run(self.steps * DT * b2.second, namespace=state["namespace"])
            b2.device.build(run=False, directory=directory)
        else:
            b2.prefs.codegen.target = self.target
            state["net"], state["monitor"] = _objects(b2, self.n, self.p, self.seed, self.style)
        return state

    def run(self, state: dict[str, Any]) -> dict[str, Any]:
        """The timed region; returns ``spike_count``."""
        b2 = state["b2"]
        if self.target == "cpp_standalone":
            b2.device.run(with_output=False)
        else:
            state["net"].run(self.steps * DT * b2.second, namespace=state["namespace"])
        return {"spike_count": int(state["monitor"].num_spikes)}

    def teardown(self, state: dict[str, Any]) -> None:
        """Restore the device, target and clock the script changed."""
        b2 = state["b2"]
        if self.target == "cpp_standalone":
            b2.device.reinit()
            b2.device.activate()
            b2.set_device("runtime")
        b2.prefs.codegen.target, b2.defaultclock.dt = state["previous"]


def run_handwritten_brian2(
    n: int = 1000, steps: int = 1000, p: float = 0.1, seed: int = 0, target: str = "cython", style: str = "discrete"
) -> dict[str, Any]:
    """Build and run the hand-written script once on ``target``.

    Returns
    -------
    dict
        ``spike_count``, ``seconds`` (the run), ``cpu_seconds`` (its process CPU time), ``build_seconds``
        (objects, and the C++ build for standalone), ``target``, ``style``.
    """
    script = HandwrittenBrian2(n, steps, p, seed, target, style)
    start = time.perf_counter()
    state = script.prepare()
    try:
        built, cpu_start = time.perf_counter(), time.process_time()
        out = script.run(state)
        ran, cpu = time.perf_counter(), time.process_time() - cpu_start
    finally:
        script.teardown(state)
    return {
        **out,
        "seconds": ran - built,
        "cpu_seconds": cpu,
        "build_seconds": built - start,
        "target": target,
        "style": style,
    }


if __name__ == "__main__":
    for style in STYLES:
        print(run_handwritten_brian2(style=style))
