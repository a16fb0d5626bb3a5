"""Benchmark: training throughput of HLOP against plain training of the same spiking MLP, same run.

The network, encoding, batch size and HLOP settings are those of ``--config``
(default ``experiments/pmnist_hlop.toml``: the HLOP paper's 784-800-800-10 LIF
MLP, T = 6, batch 64, SGD, surrogate-gradient BPTT on snnTorch). It trains on
one permuted MNIST-5k task in the middle of a stream: HLOP's lateral neurons
already hold the subspaces of ``--tasks-before`` finished tasks (random
orthonormal rows of the config's sizes) and grow for the current one.
Variants, each timed through ``Trainer.train_task`` (the code the
experiments run), alternated ``--repeats`` times, best run kept:

- ``plain``: fine-tuning (no projection, no lateral neurons);
- ``hlop``: projection of every protected layer's update plus ``--iterations``
  Hebbian (Oja subspace) steps per batch on the new lateral neurons;
- ``hlop-projection-only``: the projection alone (Hebbian steps off).

Samples/s count training samples over the epoch loop; ``end_task_s`` is the
time of the task's closing hook (HLOP: energy diagnostic and merge). Target
(issue 5): HLOP costs at most 1.5x plain training. For context, the original
HLOP code costs 3.1-4.4x on CPU (shared/FACTS.md). CUDA is used when present
(``--device auto``).

Usage::

    python benchmarks/hlop_throughput.py --out benchmarks/results/hlop_throughput.json
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import platform
import time
from pathlib import Path

import numpy as np
import torch

from spikemem.continual.config import parse_section
from spikemem.continual.encoding import Encoder
from spikemem.continual.experiment import Settings
from spikemem.continual.methods import HLOP, Method
from spikemem.continual.methods.hlop import HLOPConfig
from spikemem.continual.model import SpikingMLP
from spikemem.continual.streams import build_stream
from spikemem.continual.training import Trainer, generator_from, resolve_device
from spikemem.experiments import load_config
from spikemem.io import write_json
from spikemem.tables import format_table

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        type=Path,
        default=EXPERIMENTS / "pmnist_hlop.toml",
        help="experiment config whose [model], [encoding], [training] and [hlop] tables are used",
    )
    parser.add_argument("--samples", type=int, default=2048, help="training samples per timed run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks-before", type=int, default=3, help="finished tasks held by the lateral neurons")
    parser.add_argument("--iterations", type=int, help="Hebbian steps per batch (default: the config's)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    return parser.parse_args()


def main() -> int:
    """Run the benchmark; print a table; optionally write JSON."""
    args = parse_args()
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

    variants: dict[str, Method] = {
        "plain": Method(trainer.model, stream),
        "hlop": hlop(hlop_config.iterations),
        "hlop-projection-only": hlop(0),
    }
    saved = {name: copy.deepcopy(m.state_dict()) for name, m in variants.items()}
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, method in variants.items():
            trainer.model.load_state_dict(initial_weights)
            method.load_state_dict(copy.deepcopy(saved[name]))
            if device.type == "cuda":
                torch.cuda.synchronize()
            stats = trainer.train_task(method, task_index, task, generator)
            runs[name].append({"samples_per_s": stats["samples_per_s"], "end_task_s": stats["end_task_seconds"]})

    best = {name: max(r["samples_per_s"] for r in rs) for name, rs in runs.items()}
    lateral = [s.size for s in variants["hlop"].subspaces]  # type: ignore[attr-defined]
    rows = [
        [
            name,
            f"{best[name]:.0f}",
            f"{best['plain'] / best[name]:.2f}x",
            f"{min(r['end_task_s'] for r in runs[name]):.3f}",
        ]
        for name in variants
    ]
    print(
        f"HLOP throughput ({args.config.name}): hidden {list(settings.model.hidden)}, T={encoder.steps}, "
        f"batch {training.batch_size}, {hlop_config.iterations} Hebbian steps per batch, {args.samples} samples, "
        f"device {device}, torch threads {torch.get_num_threads()}, lateral neurons after this task {lateral}"
    )
    print(format_table(["variant", "samples/s (best)", "cost vs plain", "end_task_s"], rows))
    ratio = best["plain"] / best["hlop"]
    print(f"HLOP / plain cost: {ratio:.2f}x (target <= 1.5x)")
    if args.out:
        result = {
            "benchmark": "hlop_throughput",
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "device": str(device),
            "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
            "torch_threads": torch.get_num_threads(),
            "versions": {"torch": torch.__version__, "python": platform.python_version()},
            "lateral_neurons": lateral,
            "runs": runs,
            "best_samples_per_s": best,
            "hlop_cost_vs_plain": ratio,
            "target": 1.5,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        write_json(args.out, result)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
