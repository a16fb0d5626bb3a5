"""Benchmark: where Lava's time goes on the three workloads, before and after batching, as ratios to the reference.

Three cases, each timed with :mod:`harness` (warm-up, alternating rounds) against the numpy reference in
the same run, with the Lava worker's profile (:mod:`spikemem.backends.lava_backend._profile`: runtime
start, requests and their round trips, input writes, Lava ``run`` calls, record read-back, resets,
Lava steps) of each Lava run in its ``info``:

- ``recall``: the dense associative memories of ``experiments/dense_memory.toml`` (``--models``) at
  ``--features`` x ``--patterns``, every pattern cued with 10% flipped bits; each timed run compiles
  and recalls every model (the experiment's work). ``lava (before)``: trials one after another in one
  long run (``mode="multiplexed"``, what ``batching = "auto"`` chose before Lava had native
  batching); ``lava``: ``run_batch`` with ``B`` trials per time step. Final states must equal the
  reference's.
- ``inference``: a spiking MLP (``--hidden`` x 2 LIF layers, 64 direct-encoded inputs, 10 readout
  neurons, T = 6, random weights) classifies ``--samples`` samples through
  :class:`spikemem.continual.inference.InferenceSession` (``run_batch``), float and fixed point;
  ``before``: ``native_batch=False`` (one trial after another in the runtime). Logits must equal the
  reference's (fixed point: bit for bit against the reference's fixed point).
- ``local``: :class:`spikemem.continual.local.learner.LocalLearner` learns two tasks of
  ``experiments/local_pdigits_hlop.toml`` (HLOP, ``--local-hidden`` neurons, ``--local-samples``
  per task); Lava float and fixed point, before (``fuse = "never"``: one Lava process per
  population, synapse and circuit) and after (the default: the learning network fused into one Lava
  process). The learned readouts of before and after must be identical (same seed, same weights).
- ``steps``: Lava's per-step cost on minimal process graphs: a ring of ``k`` populations of 10 LIF
  neurons (``--ring``; ``2k`` Lava processes: ``k`` neurons, ``k`` synapses), ``--ring-steps`` steps
  per run, without learning and with one Hebbian projection (Lava's learning engine: a learning phase
  in every step, for every process), as the per-process graph (``fuse = "never"``; a fused graph runs
  a whole chunk in one Lava step). Its ``info`` gives milliseconds per Lava step
  (``lava_run_s / lava_steps``) and the process count: the floor under a workload whose samples are
  sequential (local learning) on the per-process graph, whatever its own models do.

Usage::

    python benchmarks/lava_profile.py --out benchmarks/results/lava_profile.json
    python benchmarks/lava_profile.py --cases inference --samples 512 --repeats 3
    python benchmarks/lava_profile.py --cases steps --ring 1 2 4 8 --ring-steps 500
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

from spikemem.backends import get_backend
from spikemem.continual.inference import InferenceSession
from spikemem.continual.local.experiment import LocalSettings, PreparedLearner, prepare_learner
from spikemem.continual.trained import TrainedMLP
from spikemem.experiments import apply_overrides, load_config
from spikemem.memory.dense import build_polynomial_memory, build_winner_take_all
from spikemem.memory.hopfield import Dynamics, build_hopfield
from spikemem.memory.patterns import flip_fraction, hebb_couplings, random_patterns
from spikemem.memory.recall import run_recall
from spikemem.seeding import derived_rng
from spikemem.spec import LIF, Hebb, Monitor, Network, Population, Projection

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
MODELS = ["classical", "polynomial_n2", "polynomial_n3", "winner_take_all"]
QUICK = {
    "features": 12,
    "patterns": 12,
    "models": ["polynomial_n3"],
    "samples": 16,
    "hidden": 40,
    "local_hidden": 48,
    "local_samples": 8,
    "repeats": 1,
    "ring": [1],
    "ring_steps": 10,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["recall", "inference", "local"])
    parser.add_argument("--features", type=int, default=60, help="recall: features N")
    parser.add_argument("--patterns", type=int, default=120, help="recall: stored patterns K (every one cued)")
    parser.add_argument("--models", nargs="+", default=MODELS, help="recall: dense_memory models")
    parser.add_argument("--samples", type=int, default=256, help="inference: samples per timed run")
    parser.add_argument("--hidden", type=int, default=400, help="inference: neurons per hidden layer")
    parser.add_argument("--local-hidden", type=int, default=100, help="local: hidden neurons")
    parser.add_argument("--local-samples", type=int, default=64, help="local: training samples per task")
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds")
    parser.add_argument("--ring", type=int, nargs="+", default=[1, 2, 4, 8], help="steps: populations per ring")
    parser.add_argument("--ring-steps", type=int, default=500, help="steps: Lava steps per timed run")
    parser.add_argument("--skip-before", action="store_true", help="leave out the '(before)' implementations")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/lava_profile.json"))
    return harness.parse_arguments(parser, argv, QUICK)


def lava_profile(sim: Any) -> dict[str, Any]:
    """The worker's profile of a Lava simulation (rounded), empty for another backend."""
    if not hasattr(sim, "profile"):
        return {}
    return {key: round(value, 4) if isinstance(value, float) else value for key, value in sim.profile().items()}


def merge(profiles: list[dict[str, Any]]) -> dict[str, Any]:
    """Sum of several profiles (the simulations of one timed run)."""
    total: dict[str, Any] = {}
    for profile in profiles:
        for key, value in profile.items():
            total[key] = round(total.get(key, 0) + value, 4)
    return total


# -- recall ------------------------------------------------------------------------------------------------
def dense_model(name: str, patterns: np.ndarray) -> Any:
    """The model ``name`` of ``experiments/dense_memory.toml`` (4 updates), as the experiment builds it."""
    if name == "classical":
        return build_hopfield(hebb_couplings(patterns), Dynamics("sync", 20), name="classical", structure="alternating")
    if name == "winner_take_all":
        return build_winner_take_all(patterns)
    return build_polynomial_memory(patterns, int(name.removeprefix("polynomial_n")), updates=4)


def recall_case(args: argparse.Namespace) -> dict[str, Any]:
    patterns = random_patterns(derived_rng(0, "patterns"), args.patterns, args.features)
    cues = flip_fraction(derived_rng(0, "cues"), patterns, 0.1)
    finals: dict[str, dict[str, np.ndarray]] = {}

    def implementation(name: str, backend: str, mode: str, options: dict[str, Any]) -> harness.Implementation:
        def run(_: Any) -> dict[str, Any]:
            profiles, out = [], {}
            for model in args.models:
                net = dense_model(model, patterns)
                with get_backend(backend).compile(net.network, **options) as sim:
                    native = get_backend(backend).capabilities.native_batch
                    result = run_recall(sim, net, cues, mode=mode, native_batch=native)  # type: ignore[arg-type]
                    profiles.append(lava_profile(sim))
                out[model] = result.final
            finals[name] = out
            return {"profile": merge(profiles)}

        return harness.Implementation(name, run)

    impls = selected(
        args,
        [
            implementation("reference", "reference", "auto", {}),
            implementation("lava (before)", "lava", "multiplexed", {"native_batch": False}),
            implementation("lava", "lava", "auto", {}),
        ],
    )

    def checks(_: dict) -> dict[str, Any]:
        want = finals["reference"]
        return {
            f"{name}: final states equal the reference's": all(np.array_equal(got[m], want[m]) for m in want)
            for name, got in finals.items()
            if name != "reference"
        }

    sizes = {"features": args.features, "patterns": args.patterns, "models": args.models, "cues": len(cues)}
    return harness.run_case("dense recall", sizes, impls, ratios(impls), args.repeats, args.warmup, checks=checks)


def selected(args: argparse.Namespace, impls: list[harness.Implementation]) -> list[harness.Implementation]:
    """``impls`` without the ``(before)`` ones with ``--skip-before``."""
    return [impl for impl in impls if not (args.skip_before and "(before)" in impl.name)]


def ratios(impls: list[harness.Implementation]) -> list[harness.Comparison]:
    """Every Lava implementation over the reference of its numeric mode (wall time)."""
    out = []
    for impl in impls:
        if impl.name.startswith("lava"):
            reference = "reference (fixed)" if "fixed" in impl.name else "reference"
            out.append(harness.Comparison(f"{impl.name} / {reference}", impl.name, reference))
    return out


# -- inference ---------------------------------------------------------------------------------------------
def random_mlp(hidden: int, seed: int = 0) -> TrainedMLP:
    """64 inputs -> two LIF layers of ``hidden`` -> 10, random weights that make the layers spike."""
    rng = np.random.default_rng(seed)
    layers = [
        rng.normal(0.0, 1.2 / np.sqrt(64), (hidden, 64)),
        rng.normal(0.02, 2.0 / np.sqrt(hidden), (hidden, hidden)),
    ]
    heads = [rng.normal(0.0, 1.0 / np.sqrt(hidden), (10, hidden))]
    return TrainedMLP(layers, heads, LIF(tau_mem=-1e-3 / np.log(0.5), v_th=1.0, reset="subtract"), steps=6)


def inference_case(args: argparse.Namespace) -> dict[str, Any]:
    model = random_mlp(args.hidden)
    encoded = np.random.default_rng(1).normal(0.0, 1.0, (args.samples, 64))
    logits: dict[str, np.ndarray] = {}

    def implementation(name: str, backend: str, numeric: str, options: dict[str, Any]) -> harness.Implementation:
        def prepare() -> InferenceSession:
            return InferenceSession(model, backend, numeric, options, batch=256)

        def run(session: InferenceSession) -> dict[str, Any]:
            logits[name] = session.run(encoded).logits
            return {"profile": lava_profile(session.simulation)}

        return harness.Implementation(name, run, prepare=prepare, teardown=lambda s: s.close(), once=True)

    impls = selected(
        args,
        [
            implementation("reference", "reference", "float", {}),
            implementation("reference (fixed)", "reference", "fixed", {}),
            implementation("lava float (before)", "lava", "float", {"native_batch": False}),
            implementation("lava float", "lava", "float", {}),
            implementation("lava fixed (before)", "lava", "fixed", {"native_batch": False}),
            implementation("lava fixed", "lava", "fixed", {}),
        ],
    )

    def checks(_: dict) -> dict[str, Any]:
        out = {}
        for name, got in logits.items():
            if name.startswith("lava"):
                want = logits["reference (fixed)" if "fixed" in name else "reference"]
                out[f"{name}: logits equal the reference's"] = bool(
                    np.array_equal(got, want) if "fixed" in name else np.allclose(got, want, atol=1e-9)
                )
        return out

    sizes = {"network": [64, args.hidden, args.hidden, 10], "steps": model.steps, "samples": args.samples}
    return harness.run_case("MLP inference", sizes, impls, ratios(impls), args.repeats, args.warmup, checks=checks)


# -- local learning ----------------------------------------------------------------------------------------
def local_case(args: argparse.Namespace) -> dict[str, Any]:
    from spikemem.backends.lava_backend import LavaSimulation

    overrides = [f"network.hidden={args.local_hidden}", "local.batch_size=16", "local.lateral_per_task=8"]
    settings = LocalSettings.from_config(
        apply_overrides(load_config(EXPERIMENTS / "local_pdigits_hlop.toml"), overrides)
    )
    readouts: dict[str, np.ndarray] = {}
    closed: list[dict[str, Any]] = []
    close = LavaSimulation.close

    def profiled_close(sim: LavaSimulation) -> None:  # the per-task learning simulations close inside the learner
        if not sim._closed:  # profile() is refused once close() has begun
            closed.append(lava_profile(sim))
        close(sim)

    LavaSimulation.close = profiled_close  # type: ignore[method-assign]

    def implementation(name: str, backend: str, options: dict[str, Any]) -> harness.Implementation:
        def prepare() -> PreparedLearner:
            return prepare_learner(settings, backend, options, 0)

        def run(state: PreparedLearner) -> dict[str, Any]:
            closed.clear()
            seconds, _ = state.learn(2, args.local_samples)
            readouts[name] = state.learner.readout.copy()
            return {"seconds": seconds, "profile": merge([*closed, lava_profile(state.learner._static)])}

        return harness.Implementation(name, run, prepare=prepare, teardown=PreparedLearner.close)

    fixed = {"numeric": "fixed", "seed": 0}
    impls = selected(
        args,
        [
            implementation("reference", "reference", {}),
            implementation("lava float (before)", "lava", {"fuse": "never"}),
            implementation("lava float", "lava", {}),
            implementation("lava fixed (before)", "lava", {**fixed, "fuse": "never"}),
            implementation("lava fixed", "lava", fixed),
        ],
    )
    comparisons = [harness.Comparison(f"{i.name} / reference", i.name, "reference") for i in impls[1:]]
    before = [] if args.skip_before else ["float", "fixed"]
    comparisons += [
        harness.Comparison(f"lava {n} (before) / lava {n}", f"lava {n} (before)", f"lava {n}") for n in before
    ]

    def checks(_: dict) -> dict[str, Any]:
        return {
            f"lava {n}: readout identical before/after": bool(
                np.array_equal(readouts[f"lava {n} (before)"], readouts[f"lava {n}"])
            )
            for n in before
        }

    sizes = {"network": [64, args.local_hidden, 10], "tasks": 2, "samples_per_task": args.local_samples}
    try:
        return harness.run_case(
            "local HLOP learning", sizes, impls, comparisons, args.repeats, args.warmup, checks=checks
        )
    finally:
        LavaSimulation.close = close  # type: ignore[method-assign]


# -- per-step cost -----------------------------------------------------------------------------------------
def ring_network(populations: int, learning: bool) -> Network:
    """A ring of ``populations`` populations of 10 LIF neurons; ``learning``: its closing projection is Hebbian."""
    rng = np.random.default_rng(0)
    names = [f"p{index}" for index in range(populations)]
    projections = []
    for index, pre in enumerate(names):
        post = names[(index + 1) % populations]
        closing = index == populations - 1
        rule = Hebb(eta=1e-4) if learning and closing else None
        projections.append(Projection(pre, post, rng.normal(0.1, 0.1, (10, 10)), plasticity=rule, name=f"w{index}"))
    return Network(
        dt=1e-3,
        populations=[Population(name, 10, LIF(tau_mem=0.02), v_init=1.5) for name in names],
        projections=projections,
        monitors=[Monitor(names[-1], "count")],
    )


def steps_case(args: argparse.Namespace) -> dict[str, Any]:
    def implementation(populations: int, learning: bool) -> harness.Implementation:
        def prepare() -> Any:
            # per-process graph: a fused one runs a whole chunk in one Lava step (no per-step floor to measure)
            return get_backend("lava").compile(ring_network(populations, learning), fuse="never")

        def run(sim: Any) -> dict[str, Any]:
            sim.run(args.ring_steps)
            profile = lava_profile(sim)
            per_step = profile["lava_run_s"] / profile["lava_steps"]
            processes = 2 * populations  # k SpecLIF, k synapses (lava_processes is counted at the start only)
            return {"ms_per_step": round(1e3 * per_step, 4), "processes": processes, "profile": profile}

        name = f"ring {populations}{' + learning' if learning else ''}"
        return harness.Implementation(name, run, prepare=prepare, teardown=lambda sim: sim.close(), once=True)

    impls = [implementation(k, learning) for learning in (False, True) for k in args.ring]
    sizes = {"populations": args.ring, "neurons_per_population": 10, "steps": args.ring_steps}
    return harness.run_case("Lava per-step cost", sizes, impls, (), args.repeats)


CASES: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "recall": recall_case,
    "inference": inference_case,
    "local": local_case,
    "steps": steps_case,
}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cases = []
    for name in args.cases:
        start = time.perf_counter()
        case = CASES[name](args)
        harness.print_case(case)
        for impl, record in case["implementations"].items():
            if "ms_per_step" in record["info"]:
                print(f"  {impl}: {record['info']['processes']} processes, {record['info']['ms_per_step']} ms per step")
            if record["info"].get("profile"):
                print(f"  {impl}: {record['info']['profile']}")
        print(f"({name}: {time.perf_counter() - start:.0f} s)")
        cases.append(case)
    harness.write(args.out, harness.document("lava_profile", cases, {k: str(v) for k, v in vars(args).items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
