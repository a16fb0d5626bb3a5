"""Benchmark: local-rule learning throughput (training samples/s) on every backend, same run.

Each backend learns the first ``--tasks`` tasks of ``--config`` (``experiments/local_pdigits_hlop.toml``:
64 inputs, 1,000 fixed hidden LIF neurons, 10 readout neurons, T = 10; ``--set table.key=value``
overrides it, e.g. ``network.hidden=800``) from the same ``--samples`` training samples per task with
:class:`spikemem.continual.local.learner.LocalLearner`: per minibatch one run of the static network
(the errors) and one run of the learning network (the rules inside the simulator). HLOP learns its
lateral neurons too (a second task adds the projection: ``--tasks 2``); on Lava both rules run on
its learning engine, in float (``lava``) or in Loihi fixed point (``lava-fixed``: ``numeric =
"fixed"``, seed 0; its readout differs from the reference's by the stochastic rounding of 8-bit
weights, which the max |dW| check shows). ``lava-unfused`` and ``lava-fixed-unfused`` run the learning
network as one Lava process per population, synapse and circuit (``fuse = "never"``) instead of the fused
process (the default): their ratio to the fused target is the fusion's speed-up, and their readouts must
equal the fused ones bit for bit (``readout_identical_fused_vs_unfused``).

Timed with :mod:`harness`: each target builds its learner (the static network's compilation) untimed
before each run, warms up by one full learning run, then ``--repeats`` alternating rounds; the timed
figure is the learner's training time (``train_seconds`` summed over the tasks). Reported:
min/median/max, samples/s of the median run, each target's ratio to the reference of the same method
(minima and medians), and every backend's learned readout against the reference's (max |dW|).

Usage::

    python benchmarks/local_learning_throughput.py --out benchmarks/results/local_learning_throughput.json
    python benchmarks/local_learning_throughput.py --samples 128 --set network.hidden=800 --repeats 3
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

from spikemem.continual.local.experiment import LocalSettings, PreparedLearner, prepare_learner
from spikemem.experiments import apply_overrides, load_config

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
TARGETS = [
    "reference:hlop",
    "snntorch:hlop",
    "brian2:hlop",
    "lava:hlop",
    "lava-unfused:hlop",
    "lava-fixed:hlop",
    "lava-fixed-unfused:hlop",
    "reference:finetune",
    "brian2:finetune",
    "lava:finetune",
    "lava-unfused:finetune",
    "lava-fixed:finetune",
    "lava-fixed-unfused:finetune",
]
# Targets that are a backend with options: name -> (backend, compile options). "-unfused": the learning
# network as one Lava process per population, synapse and circuit (fuse = "never"), the path before the fused one.
VARIANTS = {
    "lava-unfused": ("lava", {"fuse": "never"}),
    "lava-fixed": ("lava", {"numeric": "fixed", "seed": 0}),
    "lava-fixed-unfused": ("lava", {"numeric": "fixed", "seed": 0, "fuse": "never"}),
}
UNFUSED = "-unfused"
FUSION_TARGET = 4.0
"""Issue 18: Lava local learning at least 4x faster than the per-process graph, identical weights."""
QUICK = {
    "samples": 8,
    "tasks": 2,
    "repeats": 1,
    "set": ["network.hidden=40", "local.batch_size=4", "local.lateral_per_task=8"],  # 5 tasks x 40 would fill 40
    "targets": [
        "reference:hlop",
        "snntorch:hlop",
        "lava:hlop",
        "reference:finetune",
        "brian2:finetune",
        "lava-fixed:finetune",
    ],
}
"""Every backend once (each rule on Brian2 and Lava is in the full run), at a tiny size."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=EXPERIMENTS / "local_pdigits_hlop.toml")
    parser.add_argument("--set", nargs="*", default=[], metavar="TABLE.KEY=VALUE", help="config overrides")
    parser.add_argument("--samples", type=int, default=256, help="training samples per task")
    parser.add_argument("--tasks", type=int, default=2, help="tasks learned (2: HLOP projects in the second)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds")
    parser.add_argument("--targets", nargs="+", default=TARGETS, help="backend:method pairs")
    parser.add_argument("--brian2-target", default="auto", choices=["auto", "numpy", "cython"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/local_learning_throughput.json"))
    return harness.parse_arguments(parser, argv, QUICK)


def learner_of(
    settings: LocalSettings, target: str, args: argparse.Namespace, readouts: dict
) -> harness.Implementation:
    """``target`` (``backend:method``): build the learner (untimed), learn ``--tasks`` tasks (timed: the
    learner's training time), close; the learned readout goes to ``readouts[target]``."""
    name, method = target.split(":")
    backend, options = VARIANTS.get(name, (name, {}))
    if backend == "brian2":
        options = {**options, "target": args.brian2_target}
    settings = replace(settings, local=replace(settings.local, method=method))

    def prepare() -> PreparedLearner:
        return prepare_learner(settings, backend, options, 0)

    def run(state: PreparedLearner) -> dict[str, Any]:
        seconds, samples = state.learn(args.tasks, args.samples)
        readouts[target] = state.learner.readout.copy()
        return {"seconds": seconds, "samples": samples}

    return harness.Implementation(
        target,
        run,
        prepare=prepare,
        teardown=PreparedLearner.close,
        detectors=(harness.BRIAN2_CYTHON,) if backend == "brian2" else (),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = LocalSettings.from_config(apply_overrides(load_config(args.config), args.set))
    readouts: dict[str, np.ndarray] = {}
    impls = [learner_of(settings, target, args, readouts) for target in args.targets]

    def reference_of(target: str) -> str:
        return f"reference:{target.split(':')[1]}"

    def fused_of(target: str) -> str:
        name, method = target.split(":")
        return f"{name.removesuffix(UNFUSED)}:{method}"

    def checks(records: dict) -> dict[str, Any]:
        gaps = {
            t: float(np.abs(r - readouts[reference_of(t)]).max())
            for t, r in readouts.items()
            if reference_of(t) in readouts
        }
        identical = {
            t: bool(np.array_equal(r, readouts[fused_of(t)]))
            for t, r in readouts.items()
            if t.split(":")[0].endswith(UNFUSED) and fused_of(t) in readouts
        }
        return {"max_abs_readout_diff_vs_reference": gaps, "readout_identical_fused_vs_unfused": identical}

    comparisons = [
        harness.Comparison(f"{t} / {reference_of(t)}", t, reference_of(t))
        for t in args.targets
        if reference_of(t) in args.targets and t != reference_of(t)
    ]

    comparisons += [  # the per-process graph against the fused one (same code otherwise): the fusion's speed-up
        harness.Comparison(f"{t} / {fused_of(t)}", t, fused_of(t), FUSION_TARGET, ">=")
        for t in args.targets
        if t.split(":")[0].endswith(UNFUSED) and fused_of(t) in args.targets
    ]
    sizes = {
        "network": [64, settings.network.hidden, 10],
        "steps_per_sample": settings.encoding.steps,
        "tasks": args.tasks,
        "samples_per_task": args.samples,
    }
    case = harness.run_case("learn the tasks", sizes, impls, comparisons, args.repeats, args.warmup, checks=checks)
    per_second = {"samples/s (median)": lambda r: f"{r['info']['samples'] / r['stats']['seconds']['median']:.1f}"}
    harness.print_case(case, per_second)
    harness.write(args.out, harness.document("local_learning_throughput", [case], vars(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
