"""Benchmark: training throughput of HLOP against plain training of the same spiking MLP, same run.

The network, encoding, batch size and HLOP settings are those of ``--config``
(default ``experiments/pmnist_hlop.toml``: the HLOP paper's 784-800-800-10 LIF
MLP, T = 6, batch 64, SGD, surrogate-gradient BPTT on snnTorch). It trains on
one permuted MNIST-5k task in the middle of a stream: HLOP's lateral neurons
already hold the subspaces of ``--tasks-before`` finished tasks (random
orthonormal rows of the config's sizes) and grow for the current one.
Variants, each timed through ``Trainer.train_task`` (the code the
experiments run; the timed figure is its epoch loop, ``train_seconds``) with
:mod:`harness`: a warm-up of each, then ``--repeats`` alternating rounds
(weights and method state restored before each run, untimed), min/median/max
and the ratios of the minima and of the medians:

- ``plain``: fine-tuning (no projection, no lateral neurons);
- ``hlop``: projection of every protected layer's update plus ``--iterations``
  Hebbian (Oja subspace) steps per batch on the new lateral neurons;
- ``hlop-projection-only``: the projection alone (Hebbian steps off).

Samples/s count training samples over the epoch loop (median run); ``end_task_s`` is the
time of the task's closing hook (HLOP: energy diagnostic and merge). Target
(issue 5): HLOP costs at most 1.5x plain training. For context, the original
HLOP code costs 3.1-4.4x on CPU (shared/FACTS.md). CUDA is used when present
(``--device auto``).

Usage::

    python benchmarks/hlop_throughput.py --out benchmarks/results/hlop_throughput.json
    python benchmarks/hlop_throughput.py --samples 512 --tasks-before 1 --repeats 5
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

from spikemem.continual.config import parse_section
from spikemem.continual.encoding import Encoder
from spikemem.continual.experiment import Settings
from spikemem.continual.methods import HLOP, Method
from spikemem.continual.methods.hlop import HLOPConfig
from spikemem.continual.model import SpikingMLP
from spikemem.continual.streams import build_stream
from spikemem.continual.training import Trainer, generator_from, resolve_device
from spikemem.experiments import load_config

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


TARGET = 1.5
QUICK = {"samples": 128, "tasks_before": 1, "repeats": 2}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        type=Path,
        default=EXPERIMENTS / "pmnist_hlop.toml",
        help="experiment config whose [model], [encoding], [training] and [hlop] tables are used",
    )
    parser.add_argument("--samples", type=int, default=2048, help="training samples per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds")
    parser.add_argument("--tasks-before", type=int, default=3, help="finished tasks held by the lateral neurons")
    parser.add_argument("--iterations", type=int, help="Hebbian steps per batch (default: the config's)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    return harness.parse_arguments(parser, argv, QUICK)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print a table; optionally write JSON."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    device = resolve_device(args.device)
    settings = Settings.from_config(load_config(args.config))
    hlop_config = parse_section(HLOPConfig, settings.raw.get("hlop"), "hlop")
    if args.iterations is not None:
        hlop_config = dataclasses.replace(hlop_config, iterations=args.iterations)
    stream = build_stream(
        dataclasses.replace(settings.stream, tasks=args.tasks_before + 1, max_train=args.samples),
        np.random.default_rng(0),
    )
    task_index = args.tasks_before
    task = stream.tasks[task_index]
    encoder = Encoder.fit(settings.encoding, stream.tasks[0].x_train)
    model = SpikingMLP(
        stream.n_inputs, stream.head_sizes, settings.model, encoder.steps, generator_from(np.random.default_rng(1))
    )
    training = dataclasses.replace(settings.training, epochs=1)
    trainer = Trainer(model, encoder, training, device)
    generator = generator_from(np.random.default_rng(2))
    initial_weights = copy.deepcopy(trainer.model.state_dict())

    def hlop(iterations: int) -> HLOP:
        method = HLOP(trainer.model, stream, dataclasses.replace(hlop_config, iterations=iterations))
        for earlier in range(task_index):  # subspaces of the finished tasks (random orthonormal rows)
            method.begin_task(earlier, stream.tasks[earlier], trainer, generator)
            for subspace in method.subspaces:
                subspace.merge()
        return method

    def variant(name: str, method: Method) -> harness.Implementation:
        saved = copy.deepcopy(method.state_dict())

        def prepare() -> None:
            trainer.model.load_state_dict(initial_weights)
            method.load_state_dict(copy.deepcopy(saved))
            if device.type == "cuda":
                torch.cuda.synchronize()

        def run(_: Any) -> dict[str, Any]:
            stats = trainer.train_task(method, task_index, task, generator)
            return {
                "seconds": stats["train_seconds"],
                "samples": int(stats["samples"]),
                "samples_per_s": float(stats["samples_per_s"]),
                "end_task_s": float(stats["end_task_seconds"]),
            }

        return harness.Implementation(name, run, prepare=prepare)

    variants = {
        "plain": Method(trainer.model, stream),
        "hlop": hlop(hlop_config.iterations),
        "hlop-projection-only": hlop(0),
    }
    lateral = [s.size for s in variants["hlop"].subspaces]  # type: ignore[attr-defined]
    comparisons = [
        harness.Comparison("hlop / plain", "hlop", "plain", TARGET, "<="),
        harness.Comparison("hlop-projection-only / plain", "hlop-projection-only", "plain"),
    ]
    sizes = {
        "samples": args.samples,
        "tasks_before": args.tasks_before,
        "hidden": list(settings.model.hidden),
        "steps": encoder.steps,
        "batch": training.batch_size,
        "iterations": hlop_config.iterations,
    }
    implementations = [variant(name, method) for name, method in variants.items()]
    case = harness.run_case("one task, one epoch", sizes, implementations, comparisons, args.repeats, args.warmup)
    print(
        f"HLOP throughput ({args.config.name}): hidden {list(settings.model.hidden)}, T={encoder.steps}, "
        f"batch {training.batch_size}, {hlop_config.iterations} Hebbian steps per batch, {args.samples} samples, "
        f"device {device}, torch threads {torch.get_num_threads()}, lateral neurons after this task {lateral}"
    )
    columns = {
        "samples/s (median)": lambda r: f"{r['info']['samples'] / r['stats']['seconds']['median']:.0f}",
        "end_task_s": lambda r: f"{r['info']['end_task_s']:.3f}",
    }
    harness.print_case(case, columns)
    extra = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "torch_threads": torch.get_num_threads(),
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
        "lateral_neurons": lateral,
        "target": f"hlop / plain <= {TARGET:g}",
    }
    harness.write(args.out, harness.document("hlop_throughput", [case], vars(args), extra))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
