"""Benchmark: the same LIF network on every backend and against hand-written peers.

The network (:mod:`benchmark_network`, shared/FACTS.md): ``--n`` LIF neurons
(tau 20 ms, dt 1 ms, reset to zero), random recurrent connectivity ``--p``
with normal weights (std 0.1), a constant drive of 0.06 per step, ``--steps``
steps, every spike recorded. Default: 1,000 neurons, p = 0.1, 1,000 steps.

Timed with :mod:`harness` (warm-up, alternating rounds, compile detection,
min/median/max, ratios of minima and of medians):

- spikemem's reference backend vs a bare numpy loop of the canonical update,
- spikemem's Brian2 backend vs a hand-written Brian2 script (same target);
  both compile outside the timed region (the network is built and compiled
  before each run, the run alone is timed) and a run during which Brian2's
  cython cache grew is discarded and run again,
- spikemem's snnTorch backend (CPU here, CUDA where present), reported only,
- in a case of their own (``--lava-repeats`` rounds, run first since Lava
  forks processes before torch starts threads): spikemem's Lava backend vs a
  hand-written Lava script recording with ``lava.proc.monitor.Monitor``,
  compared end to end (start, run, read-back of every spike, stop) since that
  is what a user waits for; both warm up on a 50-neuron network.

Every implementation computes on one thread (``OMP_NUM_THREADS`` etc. are
set to 1 unless given): the same for all, and steadier on a shared machine.

Targets (issue 3): reference <= 1.2x bare numpy; Brian2 backend <= 1.10x the
hand-written Brian2 script; Lava backend >= 5x faster than the hand-written
Lava script. Every implementation must give the same spike count (checked).

Usage::

    python benchmarks/network_throughput.py --out benchmarks/results/network_throughput.json
    python benchmarks/network_throughput.py --n 1500 --p 0.08 --seed 7 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy starts its BLAS
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from benchmark_network import DRIVE, DT, TAU, benchmark_network, benchmark_weights
from handwritten_brian2 import HandwrittenBrian2
from handwritten_lava import run_handwritten_lava

from spikemem.backends import get_backend

BACKENDS = ("lava", "reference", "brian2", "snntorch")
QUICK = {"n": 60, "steps": 50, "p": 0.1, "repeats": 2, "lava_repeats": 1}


def bare_numpy(n: int, steps: int, p: float, seed: int) -> harness.Implementation:
    """The canonical update as the shortest numpy loop a user would write (the weights drawn untimed)."""
    beta = np.exp(-DT / TAU)

    def run(w: np.ndarray) -> dict[str, Any]:
        v = np.zeros(n)
        s = np.zeros(n, dtype=bool)
        raster = np.zeros((steps, n), dtype=bool)
        for t in range(steps):
            v = beta * v + w @ s + DRIVE
            s = v > 1.0
            v[s] = 0.0
            raster[t] = s
        return {"spike_count": int(raster.sum())}

    return harness.Implementation("bare numpy loop", run, prepare=lambda: benchmark_weights(n, p, seed))


def spikemem_backend(name: str, label: str, n: int, steps: int, p: float, seed: int, **options: Any):
    """Compile (untimed, ``prepare``), run (timed), close (untimed) the spec on one backend (Brian2: watching
    its cython cache)."""
    backend = get_backend(name, **options)

    def run(sim: Any) -> dict[str, Any]:
        return {"spike_count": int(sim.run(steps).spikes("lif").sum())}

    return harness.Implementation(
        label,
        run,
        prepare=lambda: backend.compile(benchmark_network(n, p, seed)),
        teardown=lambda sim: sim.close(),
        detectors=(harness.BRIAN2_CYTHON,) if name == "brian2" else (),
    )


def spikemem_end_to_end(name: str, label: str, n: int, steps: int, p: float, seed: int) -> harness.Implementation:
    """Compile, run and close in the timed region (what a user of Lava waits for)."""
    backend = get_backend(name)

    def once(size: int, length: int) -> dict[str, Any]:
        with backend.compile(benchmark_network(size, p, seed)) as sim:
            return {"spike_count": int(sim.run(length).spikes("lif").sum())}

    return harness.Implementation(label, lambda _: once(n, steps), warmup=lambda: once(50, 20))


def handwritten_brian2(n: int, steps: int, p: float, seed: int, target: str) -> harness.Implementation:
    script = HandwrittenBrian2(n, steps, p, seed, target)
    return harness.Implementation(
        f"handwritten brian2 ({target})",
        script.run,
        prepare=script.prepare,
        teardown=script.teardown,
        detectors=(harness.BRIAN2_CYTHON,),
    )


def handwritten_lava(n: int, steps: int, p: float, seed: int) -> harness.Implementation:
    def run(size: int, length: int) -> dict[str, Any]:
        out = run_handwritten_lava(n=size, steps=length, p=p, seed=seed)
        return {"spike_count": out["spike_count"], "readback_seconds": out["readback_seconds"]}

    return harness.Implementation("handwritten lava (Monitor)", lambda _: run(n, steps), warmup=lambda: run(50, 20))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="neurons")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--p", type=float, default=0.1, help="connection probability")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="alternating rounds")
    parser.add_argument("--lava-repeats", type=int, default=2, help="rounds of the Lava case (its peer takes ~25 s)")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--brian2-target", default="cython", choices=["numpy", "cython", "cpp_standalone"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/network_throughput.json"))
    return harness.parse_arguments(parser, argv, QUICK)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n, steps, p, seed, target = args.n, args.steps, args.p, args.seed, args.brian2_target
    sizes = {"n": n, "p": p, "steps": steps, "seed": seed}
    unavailable = {b: str(get_backend(b).available().reason) for b in args.backends if not get_backend(b).available()}
    wanted = [b for b in args.backends if b not in unavailable]
    cases = []
    if "lava" in wanted:  # first: Lava forks processes, which must happen before torch initialises threads/CUDA
        lava = [handwritten_lava(n, steps, p, seed), spikemem_end_to_end("lava", "spikemem lava", n, steps, p, seed)]
        ratio = harness.Comparison(
            "handwritten lava / lava backend, end to end", "handwritten lava (Monitor)", "spikemem lava", 5.0, ">="
        )
        cases.append(
            harness.run_case(
                "lava, end to end",
                sizes,
                lava,
                [ratio],
                args.lava_repeats,
                args.warmup,
                checks=harness.same_spike_counts,
            )
        )
    impls = [bare_numpy(n, steps, p, seed)]
    if "reference" in wanted:
        impls.append(spikemem_backend("reference", "spikemem reference", n, steps, p, seed))
    if "brian2" in wanted:
        impls.append(handwritten_brian2(n, steps, p, seed, target))
        impls.append(spikemem_backend("brian2", f"spikemem brian2 ({target})", n, steps, p, seed, target=target))
    if "snntorch" in wanted:
        impls.append(spikemem_backend("snntorch", "spikemem snntorch", n, steps, p, seed))
    brian_ours, brian_peer = f"spikemem brian2 ({target})", f"handwritten brian2 ({target})"
    comparisons = [
        harness.Comparison("reference / bare numpy, wall", "spikemem reference", "bare numpy loop", 1.2, "<="),
        harness.Comparison(
            "reference / bare numpy, CPU", "spikemem reference", "bare numpy loop", 1.2, "<=", "cpu_seconds"
        ),
        harness.Comparison("brian2 backend / handwritten brian2, wall", brian_ours, brian_peer, 1.10, "<="),
        harness.Comparison(
            "brian2 backend / handwritten brian2, CPU", brian_ours, brian_peer, 1.10, "<=", "cpu_seconds"
        ),
        harness.Comparison("snntorch / bare numpy, wall", "spikemem snntorch", "bare numpy loop"),
    ]
    cases.append(
        harness.run_case(
            "simulation", sizes, impls, comparisons, args.repeats, args.warmup, checks=harness.same_spike_counts
        )
    )
    print(f"Network: {n} LIF, p={p}, {steps} steps, seed {seed} (tau {TAU} s, dt {DT} s, drive {DRIVE})")
    spikes = {"spikes": lambda record: record["info"]["spike_count"]}
    for case in cases:
        harness.print_case(case, spikes)
    settings = {**vars(args), "tau_s": TAU, "dt_s": DT, "drive": DRIVE}
    doc = harness.document("network_throughput", cases, settings, {"unavailable": unavailable})
    harness.write(args.out, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
