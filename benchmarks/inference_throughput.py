"""Benchmark: inference throughput (samples/s) of one trained spiking MLP on every backend, same run.

The network comes from ``--run`` (a finished continual-learning ``spikemem
run`` directory) or, by default, is trained here on snnTorch from ``--config``
(``experiments/pdigits_finetune.toml``: 64-800-800-10, T = 6) for one epoch of
one task. Every backend then classifies the same ``--samples`` test samples
through the spec network (:class:`spikemem.continual.inference.InferenceSession`,
``run_batch``: each sample from the reset state); Lava runs float and fixed
point, all samples in one runtime. Compile time (Brian2 code generation, Lava
process start) is reported apart from the run time; the best of ``--repeats``
runs counts. Every backend must give the reference's spike counts (float) —
the benchmark checks it and records the agreement.

Usage::

    python benchmarks/inference_throughput.py --out benchmarks/results/inference_throughput.json
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import write_document  # benchmarks/ is the script's directory, hence on sys.path

from spikemem.continual.evaluate import encoded_test_set, load_run
from spikemem.continual.inference import InferenceSession
from spikemem.experiments import run_experiment
from spikemem.tables import format_table

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
TARGETS = [("reference", "float"), ("snntorch", "float"), ("brian2", "float"), ("lava", "float"), ("lava", "fixed")]


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="trained run directory (default: train one here)")
    parser.add_argument("--config", type=Path, default=EXPERIMENTS / "pdigits_finetune.toml")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=[f"{b}:{n}" for b, n in TARGETS])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/inference_throughput.json"))
    return parser.parse_args()


def trained_run(args: argparse.Namespace, scratch: Path) -> Path:
    """The run to benchmark: ``--run``, or a one-task, one-epoch training of ``--config``."""
    if args.run is not None:
        return args.run
    out = scratch / "run"
    overrides = ["stream.tasks=1", "training.epochs=1"]
    run_experiment(args.config, backend="snntorch", seed=0, overrides=overrides, out=out, show_progress=False)
    return out


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run = load_run(trained_run(args, Path(scratch)), max_test=args.samples)
        model, task = run.model, run.tasks[0]
        encoded = encoded_test_set(model, task, 0, run.seed)
        rows, results, reference_counts = [], [], None
        for target in args.backends:
            backend, numeric = target.split(":")
            start = time.perf_counter()
            with InferenceSession(model, backend, numeric, batch=len(encoded)) as session:
                compile_s = time.perf_counter() - start
                times = []
                for _ in range(args.repeats):
                    begin = time.perf_counter()
                    output = session.run(encoded)
                    times.append(time.perf_counter() - begin)
            counts = np.concatenate([c.reshape(len(encoded), -1) for c in output.counts], axis=1)
            if reference_counts is None and numeric == "float":
                reference_counts = counts
            equal = float(np.mean(counts == reference_counts)) if reference_counts is not None else float("nan")
            best = min(times)
            accuracy = float(np.mean(output.predictions(model.head_sizes, task.head) == task.y_test))
            result = {
                "backend": backend,
                "numeric": numeric,
                "samples": len(encoded),
                "compile_s": compile_s,
                "run_s": times,
                "samples_per_s": len(encoded) / best,
                "accuracy": accuracy,
                "counts_equal_to_first_float": equal,
            }
            results.append(result)
            rows.append(
                [
                    backend,
                    numeric,
                    f"{compile_s:.2f}",
                    f"{best:.3f}",
                    f"{len(encoded) / best:.1f}",
                    f"{accuracy:.4f}",
                    f"{equal:.4f}",
                ]
            )
    print(format_table(["backend", "numeric", "compile s", "run s", "samples/s", "accuracy", "equal counts"], rows))
    sizes = [model.n_inputs, *(w.shape[0] for w in model.layers), *model.head_sizes]
    document = {
        "benchmark": "inference_throughput",
        "network": sizes,
        "steps_per_sample": model.steps,
        "results": results,
    }
    write_document(args.out, document)


if __name__ == "__main__":
    main()
