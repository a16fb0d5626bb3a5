"""Benchmark: inference throughput (samples/s) of one trained spiking MLP on every backend, same run.

The network comes from ``--run`` (a finished continual-learning ``spikemem
run`` directory) or, by default, is trained here on snnTorch from ``--config``
(``experiments/pdigits_finetune.toml``: 64-800-800-10, T = 6) for one epoch of
one task (``--train-samples`` of it; default all). Every backend then
classifies the same ``--samples`` test samples through the spec network
(:class:`spikemem.continual.inference.InferenceSession`, ``run_batch``: each
sample from the reset state); Lava runs float and fixed point, all samples in
one runtime. Timed with :mod:`harness`: every session is compiled once,
untimed (Brian2 code generation, Lava process start), warmed up by one
classification, then ``--repeats`` alternating rounds; min/median/max and
each backend's ratio to the reference (of minima and of medians). Every
backend must give the reference's spike counts (float) — the benchmark
checks it and records the agreement.

Usage::

    python benchmarks/inference_throughput.py --out benchmarks/results/inference_throughput.json
    python benchmarks/inference_throughput.py --samples 100 --repeats 5 --backends reference:float snntorch:float
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

from spikemem.continual.evaluate import encoded_test_set, load_run
from spikemem.continual.inference import InferenceSession
from spikemem.experiments import run_experiment

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
TARGETS = [("reference", "float"), ("snntorch", "float"), ("brian2", "float"), ("lava", "float"), ("lava", "fixed")]
QUICK = {"samples": 8, "train_samples": 64, "repeats": 2}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="trained run directory (default: train one here)")
    parser.add_argument("--config", type=Path, default=EXPERIMENTS / "pdigits_finetune.toml")
    parser.add_argument("--samples", type=int, default=300, help="test samples classified per timed run")
    parser.add_argument(
        "--train-samples", type=int, default=0, help="training samples of the run trained here (0: all)"
    )
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds")
    parser.add_argument("--backends", nargs="+", default=[f"{b}:{n}" for b, n in TARGETS])
    parser.add_argument("--brian2-target", default="auto", choices=["auto", "numpy", "cython"])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/inference_throughput.json"))
    return harness.parse_arguments(parser, argv, QUICK)


def trained_run(args: argparse.Namespace, scratch: Path) -> Path:
    """The run to benchmark: ``--run``, or a one-task, one-epoch training of ``--config``."""
    if args.run is not None:
        return args.run
    out = scratch / "run"
    overrides = ["stream.tasks=1", "training.epochs=1", f"stream.max_train={args.train_samples}"]
    run_experiment(args.config, backend="snntorch", seed=0, overrides=overrides, out=out, show_progress=False)
    return out


def session(model: Any, target: str, encoded: np.ndarray, outputs: dict, options: dict) -> harness.Implementation:
    """One backend's session: opened once (untimed), each timed run classifies ``encoded``."""
    backend, numeric = target.split(":")

    def run(s: InferenceSession) -> None:
        outputs[target] = s.run(encoded)

    return harness.Implementation(
        target,
        run,
        prepare=lambda: InferenceSession(model, backend, numeric, options.get(backend), batch=len(encoded)),
        teardown=lambda s: s.close(),
        once=True,
        detectors=(harness.BRIAN2_CYTHON,) if backend == "brian2" else (),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = {"brian2": {"target": args.brian2_target}}
    outputs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        run = load_run(trained_run(args, Path(scratch)), max_test=args.samples)
        model, task = run.model, run.tasks[0]
        encoded = encoded_test_set(model, task, 0, run.seed)
        impls = [session(model, target, encoded, outputs, options) for target in args.backends]
        first = next((t for t in args.backends if t.endswith(":float")), args.backends[0])

        def checks(records: dict) -> dict[str, Any]:
            counts = {
                t: np.concatenate([c.reshape(len(encoded), -1) for c in out.counts], axis=1)
                for t, out in outputs.items()
            }
            accuracy = {
                t: float(np.mean(out.predictions(model.head_sizes, task.head) == task.y_test))
                for t, out in outputs.items()
            }
            equal = {t: float(np.mean(c == counts[first])) for t, c in counts.items()}
            return {"accuracy": accuracy, f"fraction_of_counts_equal_to_{first}": equal}

        comparisons = [harness.Comparison(f"{t} / {first}", t, first) for t in args.backends if t != first]
        sizes = {"samples": len(encoded), "network": [model.n_inputs, *(w.shape[0] for w in model.layers)]}
        case = harness.run_case(
            "classify the test samples", sizes, impls, comparisons, args.repeats, args.warmup, checks=checks
        )
    samples_per_s = {"samples/s (median)": lambda r: f"{len(encoded) / r['stats']['seconds']['median']:.1f}"}
    harness.print_case(case, samples_per_s)
    extra = {"network": [model.n_inputs, *(w.shape[0] for w in model.layers), *model.head_sizes]}
    extra["steps_per_sample"] = model.steps
    harness.write(args.out, harness.document("inference_throughput", [case], vars(args), extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
