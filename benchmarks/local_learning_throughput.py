"""Benchmark: local-rule learning throughput (training samples/s) on every backend, same run.

Each backend learns the first task of ``--config`` (``experiments/local_pdigits_hlop.toml``:
64 inputs, 400 fixed hidden LIF neurons, 10 readout neurons, T = 10) from the
same ``--samples`` training samples with :class:`spikemem.continual.local.learner.LocalLearner`:
per minibatch one run of the static network (the errors) and one run of the
learning network (the rules inside the simulator). HLOP learns its lateral
neurons too (a second task adds the projection: ``--tasks 2``); on Lava both
rules run on its learning engine, in float (``lava``) or in Loihi fixed point (``lava-fixed``:
``numeric = "fixed"``, seed 0; its readout differs from the reference's by the stochastic
rounding of 8-bit weights, which the max |dW| column shows). Compile time (the static network) is reported apart; the
figure is training samples per second of wall time. Every backend's learned
readout is compared with the reference's (max |dW|).

Usage::

    python benchmarks/local_learning_throughput.py --out benchmarks/results/local_learning_throughput.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _report import write_document  # benchmarks/ is the script's directory, hence on sys.path

from spikemem.continual.local.experiment import LocalSettings, initial_model
from spikemem.continual.local.learner import LocalLearner
from spikemem.continual.local.network import automatic_gap
from spikemem.continual.streams import build_stream
from spikemem.experiments import apply_overrides, load_config
from spikemem.experiments.runner import derived_rng
from spikemem.tables import format_table

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
TARGETS = [
    "reference:hlop",
    "snntorch:hlop",
    "brian2:hlop",
    "lava:hlop",
    "lava-fixed:hlop",
    "reference:finetune",
    "brian2:finetune",
    "lava:finetune",
    "lava-fixed:finetune",
]
# Targets that are a backend with options: name -> (backend, compile options).
VARIANTS = {"lava-fixed": ("lava", {"numeric": "fixed", "seed": 0})}


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=EXPERIMENTS / "local_pdigits_hlop.toml")
    parser.add_argument("--samples", type=int, default=256, help="training samples per task")
    parser.add_argument("--tasks", type=int, default=2, help="tasks learned (2: HLOP projects in the second)")
    parser.add_argument("--targets", nargs="+", default=TARGETS, help="backend:method pairs")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/local_learning_throughput.json"))
    return parser.parse_args()


def learn(settings: LocalSettings, target: str, method: str, tasks: int, samples: int) -> dict:
    """Train ``tasks`` tasks of ``samples`` samples on ``target``; timings and the final readout."""
    from dataclasses import replace

    backend, options = VARIANTS.get(target, (target, {}))
    settings = replace(settings, local=replace(settings.local, method=method))
    stream = build_stream(settings.stream, derived_rng(0, "stream"))
    model = initial_model(settings, stream, derived_rng(0, "init"), backend)
    start = time.perf_counter()
    gap = settings.local.gap or automatic_gap(settings.network.beta)
    learner = LocalLearner(model, settings.local, backend, gap, options)
    compile_s = time.perf_counter() - start
    try:
        seconds = 0.0
        for index in range(tasks):
            task, rng = stream.tasks[index], derived_rng(0, "train", index)
            x, y = task.x_train[:samples], task.y_train[:samples]
            stats = learner.train_task(x, y, lambda p, r=rng: model.encode(p, r), rng)
            seconds += stats.train_seconds
    finally:
        learner.close()
    return {"compile_s": compile_s, "train_s": seconds, "readout": learner.readout.copy()}


def main() -> None:
    args = parse_args()
    settings = LocalSettings.from_config(apply_overrides(load_config(args.config), []))
    rows, results, reference = [], [], {}
    for target in args.targets:
        backend, method = target.split(":")
        outcome = learn(settings, backend, method, args.tasks, args.samples)
        trained = args.tasks * args.samples
        if backend == "reference":
            reference[method] = outcome["readout"]
        gap = float(np.abs(outcome["readout"] - reference[method]).max()) if method in reference else float("nan")
        result = {
            "backend": backend,
            "method": method,
            "samples": trained,
            "compile_s": outcome["compile_s"],
            "train_s": outcome["train_s"],
            "samples_per_s": trained / outcome["train_s"],
            "max_abs_readout_diff_vs_reference": gap,
        }
        results.append(result)
        timing = [f"{outcome['compile_s']:.2f}", f"{outcome['train_s']:.2f}", f"{result['samples_per_s']:.1f}"]
        rows.append([backend, method, *timing, f"{gap:.2e}"])
    print(format_table(["backend", "method", "compile s", "train s", "samples/s", "max |dW| vs reference"], rows))
    document = {
        "benchmark": "local_learning_throughput",
        "network": [64, settings.network.hidden, 10],
        "steps_per_sample": settings.encoding.steps,
        "tasks": args.tasks,
        "samples_per_task": args.samples,
        "results": results,
    }
    write_document(args.out, document)


if __name__ == "__main__":
    main()
