"""Benchmark: what counting operations (``Recording.cost``, on by default) costs, on every backend.

Each backend runs the same network twice per round, compiled with
``count_operations=True`` and ``False`` (alternating, :mod:`harness`), and
the ratio of the run times (wall, and this process's CPU time, steadier on a
shared machine; Lava's work is in its own processes) is reported against the
target of issue 17 (counting costs at most 5%: ratio <= 1.05). Two cases:

- **network**: the benchmark network of ``network_throughput.py``
  (:mod:`benchmark_network`: ``--n`` LIF neurons, recurrence ``--p``,
  ``--steps`` steps) monitoring only spike *counts*: the worst case, since
  counting must then record the population's spike raster (a spec that
  records spikes anyway pays only the count itself; Brian2's runtime
  targets record counts and read the spike tail from the neurons' last
  spike steps instead, ``Simulation._spike_tails``);
- **inference**: a continual-learning inference, a spiking MLP
  (``--inputs``-``--hidden``-``--hidden``-10, direct encoding, T = 6,
  random weights) classifying ``--samples`` samples through
  :class:`~spikemem.continual.inference.InferenceSession` (``run_batch``).

Besides the ratios, every counting run records ``count_cpu_s``: the CPU time
of the count itself (``Simulation._count``, wrapped with a timer here), and
each case prints its share of the run's time (the median over the runs; of
this process's CPU time, for Lava of the wall time, its work being in other
processes).
The share is what counting adds apart from recording the spikes the count
reads; on a loaded machine it is steadier than the ratios, whose spread
there exceeds the 5% margin.

Lava (end to end: compile, run, read-back, stop, as its user waits) runs
first, since it forks processes before torch starts threads. Every
implementation computes on one thread. The two variants must give the same
spikes (checked).

Usage::

    python benchmarks/cost_overhead.py --out benchmarks/results/cost_overhead.json
    python benchmarks/cost_overhead.py --backends reference snntorch --repeats 7
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy starts its BLAS
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from benchmark_network import benchmark_network

from spikemem.backend import Simulation
from spikemem.backends import get_backend
from spikemem.continual.inference import InferenceSession
from spikemem.continual.trained import TrainedMLP
from spikemem.spec import LIF, Monitor

BACKENDS = ("lava", "reference", "brian2", "snntorch")
QUICK = {"n": 60, "steps": 50, "p": 0.1, "samples": 8, "hidden": 20, "repeats": 2, "lava_repeats": 1}
TARGET = 1.05
"""Counting may cost at most 5% of a run's time (issue 17)."""

_COUNT_CPU = [0.0]
"""CPU seconds spent in ``Simulation._count`` so far (:func:`_timed_count`)."""


def _timed_count(count: Any) -> Any:
    """``Simulation._count`` with its CPU time added to ``_COUNT_CPU`` (the count runs in this process)."""

    @functools.wraps(count)
    def timed(self: Simulation, *args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return count(self, *args, **kwargs)
        finally:
            _COUNT_CPU[0] += time.process_time() - start

    return timed


Simulation._count = _timed_count(Simulation._count)  # type: ignore[method-assign]


def with_count_time(run: Any) -> Any:
    """``run`` whose info also holds ``count_cpu_s``, the CPU time of the counts it made."""

    def timed(*args: Any) -> dict[str, Any]:
        before = _COUNT_CPU[0]
        info = run(*args)
        return {**info, "count_cpu_s": _COUNT_CPU[0] - before}

    return timed


def network_case(name: str, counting: bool, n: int, steps: int, p: float, seed: int, options: dict) -> Any:
    """The benchmark network, spike counts monitored only; run timed (Lava: end to end)."""
    label = f"{name} {'counting' if counting else 'not counting'}"
    backend = get_backend(name, **options)

    def network(size: int) -> Any:
        net = benchmark_network(size, p, seed)
        net.monitors = [Monitor("lif", "count")]
        return net

    if name == "lava":

        def once(size: int, length: int) -> dict[str, Any]:
            with backend.compile(network(size), count_operations=counting) as sim:
                return {"spike_count": int(sim.run(length).count("lif").sum())}

        return harness.Implementation(label, with_count_time(lambda _: once(n, steps)), warmup=lambda: once(50, 20))
    return harness.Implementation(
        label,
        with_count_time(lambda sim: {"spike_count": int(sim.run(steps).count("lif").sum())}),
        prepare=lambda: backend.compile(network(n), count_operations=counting),
        teardown=lambda sim: sim.close(),
        detectors=(harness.BRIAN2_CYTHON,) if name == "brian2" else (),
    )


def random_mlp(inputs: int, hidden: int, seed: int) -> TrainedMLP:
    """A 2-hidden-layer spiking MLP with random weights (it fires: uniform weights with a positive mean)."""
    rng = np.random.default_rng(seed)
    layers = [rng.normal(0.05, 0.15, (hidden, inputs)), rng.normal(0.02, 0.1, (hidden, hidden))]
    heads = [rng.normal(0.0, 0.1, (10, hidden))]
    return TrainedMLP(layers, heads, LIF(tau_mem=2e-3, reset="subtract"), steps=6, source_backend="random")


def inference_case(name: str, counting: bool, model: TrainedMLP, samples: np.ndarray, options: dict) -> Any:
    """Classify ``samples`` through an InferenceSession (Lava: end to end)."""
    label = f"{name} {'counting' if counting else 'not counting'}"
    compile_options = {**options, "count_operations": counting}

    def classify(session: InferenceSession, batch: np.ndarray) -> dict[str, Any]:
        result = session.run(batch)
        return {"spike_count": int(sum(c.sum() for c in result.counts))}

    if name == "lava":

        def once(batch: np.ndarray) -> dict[str, Any]:
            with InferenceSession(model, name, options=compile_options) as session:
                return classify(session, batch)

        return harness.Implementation(label, with_count_time(lambda _: once(samples)), warmup=lambda: once(samples[:2]))
    return harness.Implementation(
        label,
        with_count_time(lambda session: classify(session, samples)),
        prepare=lambda: InferenceSession(model, name, options=compile_options),
        teardown=lambda session: session.close(),
        detectors=(harness.BRIAN2_CYTHON,) if name == "brian2" else (),
    )


def count_share(record: dict[str, Any], lava: bool = False) -> float | None:
    """Median over the runs of the count's CPU time over the run's time.

    The run's time is this process's CPU time, or for Lava, whose work is in
    its own processes, the wall time (end to end).
    """
    time_key = "seconds" if lava else "cpu_seconds"
    shares = [run["info"]["count_cpu_s"] / run[time_key] for run in record["runs"] if run[time_key] > 0]
    return float(np.median(shares)) if shares else None


def share_column(record: dict[str, Any]) -> str:
    """The ``count_share`` of a record as a table cell."""
    share = record.get("count_share")
    return "-" if share is None else f"{share:.4f}"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="neurons of the network case")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--p", type=float, default=0.1, help="connection probability")
    parser.add_argument("--inputs", type=int, default=64, help="inputs of the inference case's MLP")
    parser.add_argument("--hidden", type=int, default=400, help="width of its two hidden layers")
    parser.add_argument("--samples", type=int, default=256, help="samples classified per timed run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="alternating rounds")
    parser.add_argument("--lava-repeats", type=int, default=2, help="rounds of the Lava cases")
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--brian2-target", default="cython", choices=["numpy", "cython"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cost_overhead.json"))
    return harness.parse_arguments(parser, argv, QUICK)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    unavailable = {b: str(get_backend(b).available().reason) for b in args.backends if not get_backend(b).available()}
    wanted = [b for b in args.backends if b not in unavailable]
    wanted.sort(key=lambda b: b != "lava")  # Lava first: it forks before torch starts threads
    options = {name: ({"target": args.brian2_target} if name == "brian2" else {}) for name in wanted}
    model = random_mlp(args.inputs, args.hidden, args.seed)
    samples = np.random.default_rng(args.seed + 1).random((args.samples, args.inputs)) * 2.0
    cases = []
    for name in wanted:
        repeats = args.lava_repeats if name == "lava" else args.repeats
        on, off = f"{name} counting", f"{name} not counting"
        ratio = [
            harness.Comparison(f"{name}: counting / not counting, wall", on, off, TARGET, "<="),
            harness.Comparison(f"{name}: counting / not counting, CPU", on, off, TARGET, "<=", "cpu_seconds"),
        ]
        sizes = {"n": args.n, "p": args.p, "steps": args.steps, "seed": args.seed}
        impls = [network_case(name, c, args.n, args.steps, args.p, args.seed, options[name]) for c in (True, False)]
        cases.append(
            harness.run_case(
                f"network, {name}", sizes, impls, ratio, repeats, args.warmup, checks=harness.same_spike_counts
            )
        )
        sizes = {"inputs": args.inputs, "hidden": args.hidden, "samples": args.samples, "seed": args.seed}
        impls = [inference_case(name, c, model, samples, options[name]) for c in (True, False)]
        cases.append(
            harness.run_case(
                f"inference, {name}", sizes, impls, ratio, repeats, args.warmup, checks=harness.same_spike_counts
            )
        )
    columns = {"spikes": lambda record: record["info"]["spike_count"], "count share of CPU": share_column}
    for case in cases:
        for name, record in case["implementations"].items():
            record["count_share"] = count_share(record, lava=name.startswith("lava"))
        harness.print_case(case, columns)
    doc = harness.document("cost_overhead", cases, vars(args), {"unavailable": unavailable, "target": TARGET})
    harness.write(args.out, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
