"""Benchmark: every backend on the same three workloads, each backend's time as a ratio to the reference.

The workloads (one harness case each; ``--workloads`` picks):

``recall``
    Dense associative memory as in ``experiments/dense_memory.toml``: the four models (classical Hebb,
    polynomial n = 2 and n = 3, winner-take-all) of ``--features`` N and ``--patterns`` K, recalling
    ``--cues`` cues with 10 % flipped bits (:func:`spikemem.memory.recall.recall_on`: compile + run of
    every model, timed; batched where the backend has ``native_batch``, else multiplexed).
``inference``
    The permuted-digits spiking MLP (64-800-800-10, T = 6, direct encoding; trained here on snnTorch for
    one epoch of one task on ``--train-samples`` samples, or ``--run``) classifying ``--samples`` test
    samples (:class:`spikemem.continual.inference.InferenceSession`; compiled once, untimed; timed:
    ``run``, i.e. ``run_batch`` of all samples).
``learning``
    Local HLOP learning (:class:`spikemem.continual.local.learner.LocalLearner`,
    ``experiments/local_pdigits_hlop.toml``): ``--tasks`` tasks of ``--learn-samples`` samples; timed:
    the learner's training time (the static network's compilation is untimed).

Backends (``--backends``): ``reference:float snntorch:float brian2:float lava:float lava:fixed``. A
backend that refuses a workload's network (e.g. a rule it does not translate in fixed point) is left
out of that case with the reason (``extra.skipped``). Every timed run is also broken down
(``info.profile``, seconds): ``compile`` (``Backend.compile``: network construction), ``run_calls``
(inside ``Simulation.run`` / ``run_batch``; the rest of the timed region is the caller's Python work:
encoding, decoding), ``backend_run`` (the backend's own ``_run`` / ``_run_batch``, without the
materialisation of the inputs), and for Brian2 ``brian2_setup`` (``Network.before_run``: code
generation and code-object creation of every run), ``brian2_loop`` (the rest of ``Network.run``: the
time-step loop) and ``brian2_runs`` (how many Brian2 runs); on ``cpp_standalone`` ``brian2_program``
(``device.run``: writing the run arguments, the program, reading its results back),
``brian2_program_binary`` (the program's process alone), ``brian2_program_cpu`` (its CPU time: the
harness's CPU columns count this process only, not the program's), ``brian2_program_loop`` (its time-step loop, as
the program measures it) and ``brian2_program_runs``. A Brian2 target can be named per backend entry,
``brian2/cython:float`` or ``brian2/cpp_standalone:float`` (else ``--brian2-target``), so that several
targets run in one case against the same reference; ``--brian2-openmp-threads`` sets the standalone
program's OpenMP threads (default 0, the backend's default: none).

Timed with :mod:`harness` (warm-up, alternating rounds, compile detection for Brian2's cython
target); each case compares every backend with ``reference:float`` of the same run (``--target-ratio``
sets the target of the comparisons, reported only by default). Checks: the final recalled states,
the inference spike counts and the learned readout against the reference.

Usage::

    python benchmarks/backend_speed.py --out benchmarks/results/backend_speed.json
    python benchmarks/backend_speed.py --workloads inference --backends reference:float brian2:float
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from inference_throughput import trained_run

from spikemem.backend import Backend, Simulation, SpecError, UnsupportedFeatureError
from spikemem.backends import get_backend
from spikemem.continual.evaluate import encoded_test_set, load_run
from spikemem.continual.inference import InferenceSession, mlp_network
from spikemem.continual.local.experiment import LocalSettings, PreparedLearner, prepare_learner
from spikemem.experiments import apply_overrides, load_config
from spikemem.memory.dense import build_polynomial_memory, build_winner_take_all
from spikemem.memory.hopfield import Dynamics, build_hopfield
from spikemem.memory.patterns import flip_fraction, hebb_couplings, random_patterns
from spikemem.memory.recall import recall_on

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
BACKENDS = ["reference:float", "snntorch:float", "brian2:float", "lava:float", "lava:fixed"]
REFERENCE = "reference:float"
WORKLOADS = ["recall", "inference", "learning"]
MODELS = ["classical", "polynomial_n2", "polynomial_n3", "winner_take_all"]
EVENT_DRIVEN = ("brian2",)
"""Backends that run the classical memory's "relay" structure (as ``experiments/memory_kinds.py``)."""
QUICK = {
    "features": 20,
    "patterns": 10,
    "cues": 4,
    "samples": 6,
    "train_samples": 64,
    "learn_samples": 4,
    "tasks": 1,
    "repeats": 1,
    "set": ["network.hidden=40", "local.batch_size=2", "local.lateral_per_task=8"],
}


# -- the breakdown of a timed run -------------------------------------------------------------------------------
class Profile:
    """Seconds spent in ``Backend.compile``, ``Simulation.run``/``run_batch``, the backends' runs and Brian2's
    ``Network.before_run`` / ``Network.run``, accumulated while :meth:`install` ed wrappers are in place."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self._installed = False

    def add(self, key: str, seconds: float) -> None:
        self.totals[key] = self.totals.get(key, 0.0) + seconds

    def _wrap(self, owner: Any, attribute: str, key: str, after: Callable[[Any], None] | None = None) -> None:
        original = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                out = original(*args, **kwargs)
            finally:
                self.add(key, time.perf_counter() - start)
            if after is not None:
                after(out)
            return out

        setattr(owner, attribute, timed)

    def install(self) -> None:
        """Wrap the measured functions (once per process)."""
        if self._installed:
            return
        self._installed = True
        self._wrap(Backend, "compile", "compile")
        backend_run = lambda rec: self.add("backend_run", rec.wall_time_s)  # noqa: E731
        self._wrap(Simulation, "run", "run_calls", backend_run)
        self._wrap(Simulation, "run_batch", "run_calls", backend_run)
        try:
            from brian2.core.network import Network
        except ImportError:
            return
        self._wrap(Network, "before_run", "brian2_setup")
        self._wrap(Network, "run", "brian2_network_run", lambda _: self.add("brian2_runs", 1))
        from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

        program_run = CPPStandaloneDevice.run

        @functools.wraps(program_run)
        def timed_program(device: Any, *args: Any, **kwargs: Any) -> Any:
            start, before = time.perf_counter(), os.times()
            try:
                return program_run(device, *args, **kwargs)
            finally:
                after = os.times()
                self.add("brian2_program", time.perf_counter() - start)
                children = after.children_user + after.children_system - before.children_user - before.children_system
                self.add("brian2_program_cpu", children)
                self.add("brian2_program_binary", device.timers.get("run_binary") or 0.0)
                self.add("brian2_program_loop", device._last_run_time or 0.0)
                self.add("brian2_program_runs", 1)

        CPPStandaloneDevice.run = timed_program

    def start(self) -> None:
        self.totals = {}

    def result(self) -> dict[str, float]:
        """The breakdown since :meth:`start` (``brian2_loop`` = ``Network.run`` - ``before_run``)."""
        out = dict(self.totals)
        if "brian2_network_run" in out:
            out["brian2_loop"] = out.pop("brian2_network_run") - out.get("brian2_setup", 0.0)
        return {key: round(value, 6) for key, value in out.items()}


PROFILE = Profile()


def profiled(run: Callable[[Any], dict[str, Any] | None]) -> Callable[[Any], dict[str, Any]]:
    """``run`` with the profile of its call in its info (``profile``)."""

    def wrapped(state: Any) -> dict[str, Any]:
        PROFILE.start()
        start = time.perf_counter()
        info = dict(run(state) or {})
        seconds = info.get("seconds", time.perf_counter() - start)
        profile = PROFILE.result()
        profile["timed"] = round(seconds, 6)
        return {**info, "profile": profile}

    return wrapped


def split(target: str) -> tuple[str, str]:
    """``backend[/brian2 target]:numeric`` -> (backend, numeric)."""
    backend, _, numeric = target.partition(":")
    return backend.partition("/")[0], numeric or "float"


def options_for(target: str, options: dict[str, dict]) -> dict[str, Any]:
    """The backend options of ``target``: ``options[backend]``, with the Brian2 code-generation target of
    ``brian2/<target>:float`` (e.g. ``brian2/cpp_standalone:float``) instead of ``--brian2-target``."""
    name = target.partition(":")[0]
    backend, _, codegen = name.partition("/")
    out = dict(options.get(backend, {}))
    if codegen:
        out["target"] = codegen
    return out


def detectors(backend: str) -> tuple[Any, ...]:
    return (harness.BRIAN2_CYTHON,) if backend == "brian2" else ()


def refusal(backend: str, numeric: str, networks: list[Any], options: dict[str, Any]) -> str:
    """Why ``backend`` cannot run one of ``networks`` in ``numeric`` ("" when it can; fixed point: compiled once)."""
    instance = get_backend(backend, **options)
    availability = instance.available()
    if not availability:
        return availability.reason
    for network in networks:
        try:
            instance.check_supported(network, numeric)
            if numeric == "fixed":  # quantization checks happen at compile time
                instance.compile(network, numeric=numeric).close()
        except (UnsupportedFeatureError, SpecError) as exc:
            return str(exc)
    return ""


# -- workloads -----------------------------------------------------------------------------------------------------
def recall_case(args: argparse.Namespace, options: dict[str, dict]) -> tuple[dict[str, Any], dict[str, str]]:
    """Dense recall of every model on every backend (compile + run timed)."""
    n, k = args.features, args.patterns
    rng = np.random.default_rng([args.seed, n, k])
    patterns = random_patterns(rng, k, n)
    cues = flip_fraction(rng, patterns[: args.cues], 0.10)

    def models(backend: str) -> dict[str, Any]:
        structure = "relay" if backend in EVENT_DRIVEN else "alternating"
        out = {}
        for name in MODELS:
            if name == "classical":
                out[name] = build_hopfield(
                    hebb_couplings(patterns), Dynamics("sync", args.updates * 5), name=name, structure=structure
                )
            elif name == "winner_take_all":
                out[name] = build_winner_take_all(patterns)
            else:
                out[name] = build_polynomial_memory(patterns, int(name.removeprefix("polynomial_n")), args.updates)
        return out

    finals: dict[str, dict[str, np.ndarray]] = {}
    impls, skipped = [], {}
    for target in args.backends:
        backend, numeric = split(target)
        nets = models(backend)
        reason = refusal(backend, numeric, [net.network for net in nets.values()], options_for(target, options))
        if reason:
            skipped[target] = reason
            continue

        def run(_: Any, target: str = target, backend: str = backend, numeric: str = numeric, nets: Any = nets) -> Any:
            instance = get_backend(backend, **options_for(target, options))
            results = {name: recall_on(instance, net, cues, numeric=numeric) for name, net in nets.items()}
            finals[target] = {name: r.final for name, r in results.items()}
            return {
                "exact_recall_fraction": {
                    name: float(np.mean(np.all(r.final == patterns[: args.cues], axis=1)))
                    for name, r in results.items()
                },
                "mode": {name: r.mode for name, r in results.items()},
            }

        impls.append(harness.Implementation(target, profiled(run), detectors=detectors(backend)))

    def checks(records: dict) -> dict[str, Any]:
        ref = finals.get(REFERENCE)
        if ref is None:
            return {}
        equal = {t: {name: bool(np.array_equal(f[name], ref[name])) for name in MODELS} for t, f in finals.items()}
        return {"final_states_equal_to_reference": equal}

    sizes = {"features": n, "patterns": k, "cues": args.cues, "models": MODELS}
    return run_workload("recall", sizes, impls, args, checks), skipped


def inference_case(
    args: argparse.Namespace, options: dict[str, dict], scratch: Path
) -> tuple[dict[str, Any], dict[str, str]]:
    """Classification of the test samples by the spiking MLP (session compiled untimed)."""
    run_dir = trained_run(
        argparse.Namespace(run=args.run, config=args.config, train_samples=args.train_samples), scratch
    )
    run = load_run(run_dir, max_test=args.samples)
    model, task = run.model, run.tasks[0]
    encoded = encoded_test_set(model, task, 0, run.seed)
    outputs: dict[str, Any] = {}
    impls, skipped = [], {}
    network = mlp_network(model)
    for target in args.backends:
        backend, numeric = split(target)
        reason = refusal(backend, numeric, [network], options_for(target, options))
        if reason:
            skipped[target] = reason
            continue

        def prepare(
            backend: str = backend, numeric: str = numeric, target: str = target
        ) -> tuple[InferenceSession, float]:
            start = time.perf_counter()
            session = InferenceSession(model, backend, numeric, options_for(target, options), batch=len(encoded))
            return session, time.perf_counter() - start

        def run_one(state: tuple[InferenceSession, float], target: str = target) -> dict[str, Any]:
            session, compile_s = state
            outputs[target] = session.run(encoded)
            return {"session_compile_s": round(compile_s, 6)}

        impls.append(
            harness.Implementation(
                target,
                profiled(run_one),
                prepare=prepare,
                teardown=lambda state: state[0].close(),
                once=True,
                detectors=detectors(backend),
            )
        )

    def checks(records: dict) -> dict[str, Any]:
        if REFERENCE not in outputs:
            return {}
        flat = {t: np.concatenate([c.reshape(len(encoded), -1) for c in o.counts], axis=1) for t, o in outputs.items()}
        return {
            "fraction_of_counts_equal_to_reference": {t: float(np.mean(c == flat[REFERENCE])) for t, c in flat.items()},
            "accuracy": {
                t: float(np.mean(o.predictions(model.head_sizes, task.head) == task.y_test)) for t, o in outputs.items()
            },
        }

    sizes = {"samples": len(encoded), "network": [model.n_inputs, *(w.shape[0] for w in model.layers)]}
    return run_workload("inference", sizes, impls, args, checks), skipped


def learning_case(args: argparse.Namespace, options: dict[str, dict]) -> tuple[dict[str, Any], dict[str, str]]:
    """Local HLOP learning of ``--tasks`` tasks (the learner's training time)."""
    settings = LocalSettings.from_config(apply_overrides(load_config(args.learn_config), args.set))
    settings = replace(settings, local=replace(settings.local, method="hlop"))
    readouts: dict[str, np.ndarray] = {}
    impls, skipped = [], {}
    for target in args.backends:
        backend, numeric = split(target)
        backend_options = options_for(target, options)
        if numeric == "fixed":
            backend_options.update(numeric="fixed", seed=0)

        def prepare(backend: str = backend, backend_options: dict = backend_options) -> PreparedLearner:
            return prepare_learner(settings, backend, backend_options, 0)

        availability = get_backend(backend).available()
        if not availability:
            skipped[target] = availability.reason
            continue

        def run(state: PreparedLearner, target: str = target) -> dict[str, Any]:
            seconds, samples = state.learn(args.tasks, args.learn_samples)
            readouts[target] = state.learner.readout.copy()
            return {"seconds": seconds, "samples": samples}

        impls.append(
            harness.Implementation(
                target,
                profiled(run),
                prepare=prepare,
                teardown=PreparedLearner.close,
                detectors=detectors(backend),
            )
        )

    def checks(records: dict) -> dict[str, Any]:
        if REFERENCE not in readouts:
            return {}
        return {
            "max_abs_readout_diff_vs_reference": {
                t: float(np.abs(r - readouts[REFERENCE]).max()) for t, r in readouts.items()
            }
        }

    sizes = {
        "network": [64, settings.network.hidden, 10],
        "steps_per_sample": settings.encoding.steps,
        "tasks": args.tasks,
        "samples_per_task": args.learn_samples,
    }
    return run_workload("learning", sizes, impls, args, checks), skipped


def run_workload(
    label: str, sizes: dict[str, Any], impls: list[harness.Implementation], args: argparse.Namespace, checks: Any
) -> dict[str, Any]:
    """One harness case: every backend against the reference of the same run."""
    names = [impl.name for impl in impls]
    target = (args.target_ratio, "<=") if args.target_ratio else (None, None)
    comparisons = [harness.Comparison(f"{t} / {REFERENCE}", t, REFERENCE, *target) for t in names if t != REFERENCE]
    return harness.run_case(label, sizes, impls, comparisons, args.repeats, args.warmup, checks=checks)


# -- main ----------------------------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=WORKLOADS, choices=WORKLOADS)
    parser.add_argument("--backends", nargs="+", default=BACKENDS, help="backend:numeric")
    parser.add_argument("--features", type=int, default=100, help="recall: features N")
    parser.add_argument("--patterns", type=int, default=200, help="recall: stored patterns K")
    parser.add_argument("--cues", type=int, default=40, help="recall: cues (the first patterns, 10%% flipped)")
    parser.add_argument("--updates", type=int, default=4, help="recall: synchronous updates of the polynomial memory")
    parser.add_argument("--run", type=Path, help="inference: trained run directory (default: train one here)")
    parser.add_argument("--config", type=Path, default=EXPERIMENTS / "pdigits_finetune.toml")
    parser.add_argument("--samples", type=int, default=200, help="inference: test samples per timed run")
    parser.add_argument("--train-samples", type=int, default=512, help="inference: samples of the training here")
    parser.add_argument("--learn-config", type=Path, default=EXPERIMENTS / "local_pdigits_hlop.toml")
    parser.add_argument("--set", nargs="*", default=[], metavar="TABLE.KEY=VALUE", help="learning: config overrides")
    parser.add_argument("--learn-samples", type=int, default=64, help="learning: training samples per task")
    parser.add_argument("--tasks", type=int, default=2, help="learning: tasks (HLOP projects from the second)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target-ratio", type=float, default=0.0, help="target of every ratio (0: none)")
    parser.add_argument("--brian2-target", default="auto", choices=["auto", "numpy", "cython", "cpp_standalone"])
    parser.add_argument(
        "--brian2-openmp-threads", type=int, default=0, help="OpenMP threads of Brian2's cpp_standalone program"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/backend_speed.json"))
    return harness.parse_arguments(parser, argv, QUICK)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if REFERENCE not in args.backends:
        args.backends = [REFERENCE, *args.backends]
    options = {"brian2": {"target": args.brian2_target, "openmp_threads": args.brian2_openmp_threads}}
    PROFILE.install()
    cases, skipped = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for workload in args.workloads:
            if workload == "recall":
                case, refused = recall_case(args, options)
            elif workload == "inference":
                case, refused = inference_case(args, options, Path(scratch))
            else:
                case, refused = learning_case(args, options)
            harness.print_case(case, {"breakdown": breakdown})
            for target, reason in refused.items():
                print(f"{workload}: {target} left out: {reason}")
            cases.append(case)
            skipped[workload] = refused
    harness.write(args.out, harness.document("backend_speed", cases, vars(args), {"skipped": skipped}))
    return 0


def breakdown(record: dict[str, Any]) -> str:
    """The profile of the last timed run, in a table cell."""
    profile = record["info"].get("profile", {})
    keys = (
        "compile",
        "run_calls",
        "backend_run",
        "brian2_setup",
        "brian2_loop",
        "brian2_program",
        "brian2_program_binary",
        "brian2_program_cpu",
        "brian2_program_loop",
    )
    return " ".join(f"{key}={profile[key]:.3g}" for key in keys if key in profile)


if __name__ == "__main__":
    sys.exit(main())
