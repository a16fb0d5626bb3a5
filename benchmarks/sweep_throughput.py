"""Benchmark: wall time of one sweep on the local executor (1 and 2 workers) and on Ray (2 CPUs), in one run.

The sweep: ``--runs`` seeds (default 12) of ``experiments/local_pdigits_finetune.toml`` on the
reference backend, shrunk with ``--max-train`` (samples per task; the default 400 makes a run
take about 10 s on one core of the 2-core box). Each executor runs the whole sweep into its own
fresh directory; every run's accuracy matrix must equal the first executor's (same seeds, same
code). Ray is started before its timing (``ray.init(num_cpus=2)``; the start-up is reported
apart) and the sweep joins it, so the Ray figure is the executor's own overhead: task
submission, the ``return`` transfer of each run's files, Ray's worker processes.

Targets of the issue (on an otherwise idle 2-core machine): 2 local workers at least 1.7x
faster than 1; Ray's wall time at most 10 % above the local executor's at the same
parallelism (2). The machine's load average is recorded beside the figures: on a shared
machine the ratios mean little.

Usage::

    python benchmarks/sweep_throughput.py --out benchmarks/results/sweep_throughput.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _report import write_document

from spikemem.sweep.executors import execute
from spikemem.sweep.plan import load_sweep

ROOT = Path(__file__).resolve().parents[1]


def sweep_file(directory: Path, runs: int, max_train: int) -> Path:
    """The benchmark's sweep: ``runs`` seeds of the local fine-tuning config, reference backend."""
    path = directory / "bench.toml"
    overrides = [f"stream.max_train={max_train}", "stream.max_test=100"]
    path.write_text(
        f"""
[sweep]
name = "sweep_throughput"
seeds = {list(range(runs))}
set = {json.dumps(overrides)}
configs = ["{ROOT / "experiments" / "local_pdigits_finetune.toml"}"]
"""
    )
    return path


def timed(points: list, out: Path, **options: object) -> dict[str, object]:
    """Run the sweep with ``options``; its wall time, per-run times and accuracy matrices."""
    start = time.perf_counter()
    statuses = execute(points, out, progress=False, **options)
    wall = time.perf_counter() - start
    failed = [s for s in statuses.values() if s["status"] != "ok"]
    if failed:
        raise RuntimeError(f"runs failed: {failed[0]['id']}: {failed[0].get('error')}")
    results = {p.id: json.loads((out / "runs" / p.id / "result.json").read_text()) for p in points}
    return {
        "wall_s": wall,
        "run_wall_s": sorted(s["wall_time_s"] for s in statuses.values()),
        "R": {k: r["metrics"]["R"] for k, r in results.items()},
        "load_average": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    """Time the three executors and write the JSON document."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--max-train", type=int, default=400)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "sweep_throughput.json")
    args = parser.parse_args(argv)
    import ray

    with tempfile.TemporaryDirectory(prefix="sweep-bench-") as tmp:
        points = load_sweep(sweep_file(Path(tmp), args.runs, args.max_train)).points
        figures = {
            "local_1": timed(points, Path(tmp) / "local1", executor="local", workers=1),
            "local_2": timed(points, Path(tmp) / "local2", executor="local", workers=2),
        }
        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
        ray_start = time.perf_counter() - start
        try:
            figures["ray_2"] = timed(points, Path(tmp) / "ray2", executor="ray", workers=2)
        finally:
            ray.shutdown()
    same = all(f["R"] == figures["local_1"]["R"] for f in figures.values())
    speedup = figures["local_1"]["wall_s"] / figures["local_2"]["wall_s"]
    overhead = figures["ray_2"]["wall_s"] / figures["local_2"]["wall_s"] - 1.0
    for name, figure in figures.items():
        runs = figure["run_wall_s"]
        print(f"{name:8s} wall {figure['wall_s']:7.1f} s  median run {runs[len(runs) // 2]:6.1f} s")
        figure.pop("R")
    print(f"2 workers / 1: {speedup:.2f}x (target >= 1.7)  Ray overhead: {overhead:+.1%} (target <= +10%)")
    print(f"Ray start-up (not counted): {ray_start:.1f} s; identical accuracy matrices: {same}")
    write_document(
        args.out,
        {
            "benchmark": "sweep_throughput",
            "runs": args.runs,
            "max_train": args.max_train,
            "cpus": os.cpu_count(),
            "figures": figures,
            "speedup_2_workers": speedup,
            "ray_overhead": overhead,
            "ray_startup_s": ray_start,
            "identical_results": same,
            "targets": {"speedup_2_workers": ">= 1.7", "ray_overhead": "<= 0.10"},
        },
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
