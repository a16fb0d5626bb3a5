"""The ``spikemem`` command line.

Every user error (invalid spec, unknown backend, missing file, bad option)
ends with one line on stderr and exit code 2, before any simulator starts.

Exit codes: 0 success; 1 an unexpected error inside spikemem (with its
traceback: a bug to report); 2 bad input; 3 ``run`` finished and wrote its
results but a check the experiment declares (``metrics.checks``) does not
hold; 4 the simulator failed, hung or timed out on a valid input (e.g. a Lava
timeout: one line naming the fix, usually a longer timeout); 130 interrupted by
Ctrl-C; 143 stopped by SIGTERM. After 4, 130 and 143 simulators have been closed
and running the same command again resumes.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from spikemem.backend import SimulatorError
from spikemem.io import InputFileError
from spikemem.spec import SpecError

EXIT_OK = 0
"""The command did what was asked."""
EXIT_BUG = 1
"""An unexpected error inside spikemem (a traceback is printed): please report it."""
EXIT_USAGE = 2
"""Bad input (a config value, an option, a file): one line on stderr names it; nothing ran."""
EXIT_CHECK_FAILED = 3
"""``run``: the run finished and its results are written, but a check the experiment declares does not hold."""
EXIT_SIMULATOR_FAILED = 4
"""The simulator failed, hung or timed out on valid input (e.g. a Lava timeout); the line says what to change."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (SIGINT): stopped; running the same command again resumes."""
EXIT_TERMINATED = 143
"""SIGTERM (``timeout``, job schedulers): stopped cleanly (simulators closed); running it again resumes."""


class Terminated(BaseException):
    """Raised in the main thread by the SIGTERM handler, so that every ``finally`` and ``with`` block runs."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


class UsageError(Exception):
    """A user mistake that the CLI reports in one line with exit code 2."""


def _cmd_backends(args: argparse.Namespace) -> int:
    from spikemem.backend import Capabilities
    from spikemem.backends import backend_names, get_backend
    from spikemem.tables import format_table

    rows: list[dict[str, Any]] = []
    for name in backend_names():
        try:
            backend = get_backend(name)
        except ImportError as exc:  # a broken install: report it instead of crashing the listing
            rows.append(
                {
                    "name": name,
                    "available": False,
                    "reason": f"backend module failed to import: {exc}",
                    "capabilities": Capabilities().as_dict(),
                }
            )
            continue
        availability = backend.available()
        rows.append(
            {
                "name": name,
                "available": availability.ok,
                "reason": availability.reason,
                "capabilities": backend.capabilities.as_dict(),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = [
        [
            r["name"],
            r["available"],
            ",".join(r["capabilities"]["numeric"]),
            (",".join(r["capabilities"]["rules"]) or "-")
            + (
                f" (fixed: {','.join(r['capabilities']['fixed_point_rules'])})"
                if r["capabilities"]["fixed_point_rules"]
                else ""
            ),
            r["capabilities"]["gradient_training"],
            ",".join(r["capabilities"]["devices"]),
            r["reason"] or "-",
        ]
        for r in rows
    ]
    print(
        format_table(["backend", "available", "numeric", "plasticity rules", "gradients", "devices", "reason"], table)
    )
    print()
    for row in rows:
        if row["capabilities"]["notes"]:
            print(f"{row['name']}: {row['capabilities']['notes']}")
    return 0


def _load_network(path: str):
    """The network saved at ``path``; a missing file, a folder or an unreadable file is a one-line UsageError."""
    import zipfile

    from spikemem.spec.serialize import load

    file = Path(path)
    if not file.exists():
        raise UsageError(f"{path}: no such file")
    if not file.is_file():
        raise UsageError(f"{path}: is a directory; give the network's .json file (written by spikemem.spec.save)")
    try:
        return load(path)
    except SpecError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:  # UnicodeDecodeError is a ValueError
        raise UsageError(f"{path}: not a readable spikemem network file ({type(exc).__name__}: {exc})") from None


def _output_file(path: str, option: str = "--out") -> Path:
    """``path`` as a file to write: a folder there, or a file where its folder should be, is a UsageError."""
    file = Path(path)
    if file.is_dir():
        raise UsageError(f"{option} {path}: is a directory; give a file name")
    if any(parent.exists() and not parent.is_dir() for parent in file.parents):
        raise UsageError(f"{option} {path}: a parent is a file, not a folder")
    return file


def _output_folder(path: str, option: str = "--out") -> Path:
    """``path`` as a folder to write into: an existing file there (or above it) is a UsageError."""
    folder = Path(path)
    if any(p.exists() and not p.is_dir() for p in (folder, *folder.parents)):
        raise UsageError(f"{option} {path}: is a file (or inside one); give a folder")
    return folder


def _cmd_validate(args: argparse.Namespace) -> int:
    network = _load_network(args.network).validate()
    sizes = ", ".join(f"{p.name}={p.size}" for p in network.populations)
    print(f"{args.network}: valid ({sizes}; {len(network.projections)} projections)")
    return 0


def _backend(name: str, **options: object):
    from spikemem.backends import get_backend

    try:
        return get_backend(name, **options)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None


def _cmd_simulate(args: argparse.Namespace) -> int:
    import numpy as np

    from spikemem.tables import format_table

    network = _load_network(args.network)
    if args.out:
        _output_folder(args.out)
    backend = _backend(args.backend)
    with backend.compile(network, numeric=args.numeric) as sim:
        recording = sim.run(args.steps)
    rows = [
        [key, tuple(np.shape(value)), int(np.sum(value)) if value.dtype == bool else ""]
        for key, value in recording.data.items()
    ]
    print(format_table(["recorded", "shape", "spikes"], rows))
    print(f"{backend.name} ({args.numeric}): {args.steps} steps in {recording.wall_time_s:.3f} s")
    if args.out:
        from spikemem.io import save_recording

        path = save_recording(recording, args.out)
        print(f"wrote {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from spikemem.demo import run_demo

    return run_demo(_output_folder(args.out), steps=args.steps)


def _cmd_run(args: argparse.Namespace) -> int:
    from spikemem.experiments import run_experiment

    path = run_experiment(
        args.config, backend=args.backend, seed=args.seed, overrides=args.set, out=args.out, force=args.force
    )
    print(f"wrote {path}")
    failed = failed_checks(path)
    if failed:
        print(f"spikemem run: {len(failed)} declared check(s) do not hold: {', '.join(failed)}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    return 0


def failed_checks(result_path: Path) -> list[str]:
    """Names of the checks a finished run declared (``metrics.checks``) that do not hold."""
    metrics = json.loads(Path(result_path).read_text()).get("metrics", {})
    checks = metrics.get("checks", []) if isinstance(metrics, dict) else []
    return [str(check.get("name")) for check in checks if isinstance(check, dict) and check.get("holds") is False]


def _cmd_compare(args: argparse.Namespace) -> int:
    from spikemem.evaluation.compare import CompareError, compare_runs

    _output_file(args.out)
    try:
        table, path = compare_runs(args.dirs, args.out)
    except CompareError as exc:
        raise UsageError(str(exc)) from None
    print(table)
    print(f"wrote {path}")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from spikemem.sweep import run_sweep

    if args.out:
        _output_folder(args.out)
    outcome = run_sweep(args.sweep, args.out, args.executor, args.workers, args.address, args.dry_run)
    return 1 if any(s.get("status") != "ok" for s in outcome["statuses"].values()) else 0


def _progress():
    from tqdm.auto import tqdm

    def progress(iterable, desc, total):  # disable=None: no bar when stderr is not a terminal (logs stay clean)
        return tqdm(iterable, desc=desc, total=total, leave=False, disable=None)

    return progress


def _lava_options(args: argparse.Namespace) -> dict[str, object]:
    return {"timeout_s": args.timeout} if args.timeout is not None else {}


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from spikemem.continual.evaluate import evaluate_run, print_evaluation
    from spikemem.io import write_json

    _backend(args.backend)
    if args.against not in ("source", "none"):
        _backend(args.against)
    if args.out:
        _output_file(args.out)
    options = _lava_options(args) if args.backend == "lava" else {}
    if args.neurobench:
        _require_neurobench()
    try:
        report = evaluate_run(
            args.run_dir,
            args.backend,
            args.numeric,
            None if args.against == "none" else args.against,
            options,
            args.max_test,
            _progress(),
        )
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    print_evaluation(report)
    if args.neurobench:
        report["neurobench"] = _neurobench_comparison(args, report["evaluation"])
    out = Path(args.out) if args.out else Path(args.run_dir) / f"evaluation-{args.backend}-{args.numeric}.json"
    write_json(out, report)
    print(f"wrote {out}")
    return 0


def _require_neurobench() -> None:
    from spikemem.continual.neurobench import NeuroBenchMissing, require_neurobench

    try:
        require_neurobench()
    except NeuroBenchMissing as exc:
        raise UsageError(f"--neurobench: {exc}") from None


def _neurobench_comparison(args: argparse.Namespace, evaluation: dict[str, Any]) -> dict[str, Any]:
    """NeuroBench's figures on the snnTorch model beside the counts of ``evaluation`` (the same test samples)."""
    import numpy as np

    from spikemem.continual.evaluate import encoded_test_set, load_run
    from spikemem.continual.inference import mlp_network
    from spikemem.continual.neurobench import RELATIONS, neurobench_figures, side_by_side
    from spikemem.cost import footprint
    from spikemem.tables import format_table

    if "cost" not in evaluation:
        raise UsageError("--neurobench: the evaluation counted no operations (spikemem.cost); nothing to compare")
    counts = evaluation["cost"]["counts"]
    run = load_run(args.run_dir, args.max_test)
    encoded = np.concatenate([encoded_test_set(run.model, task, i, run.seed) for i, task in enumerate(run.tasks)])
    nb = neurobench_figures(run.model, encoded, np.concatenate([task.y_test for task in run.tasks]))
    nb = {key: value for key, value in nb.items() if key not in ("spike_counts", "logits")}
    fp = footprint(mlp_network(run.model), "float").as_dict()
    print(
        f"\nNeuroBench {nb['neurobench']} (snnTorch model, {nb['dtype']}) beside spikemem ({args.backend} "
        f"{args.numeric}, spec network), per sample of the same {len(encoded)} test samples:"
    )
    print(format_table(["figure", "NeuroBench", "spikemem"], side_by_side(nb, counts, fp)))
    print("how the figures differ:")
    for name, text in RELATIONS.items():
        print(f"  {name}: {text}")
    return {"neurobench": nb, "spikemem": {"counts": counts, "footprint": fp}}


def _cmd_deploy(args: argparse.Namespace) -> int:
    from spikemem.continual.deployment import check_deploy_target, deploy, print_report
    from spikemem.continual.evaluate import load_run

    out = Path(args.out) if args.out else Path(args.run_dir) / "deploy"
    try:
        run = load_run(args.run_dir, args.max_test)  # the inputs first, then the simulator
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from None
    check_deploy_target(out)
    availability = _backend(args.to).available()
    if not availability:
        raise UsageError(f"--to {args.to}: not available here: {availability.reason}")
    report = deploy(run, out, args.fixed_point, _lava_options(args), args.max_test, _progress())
    print_report(report)
    print(f"wrote {out / 'deploy_report.json'} and the deployment folder {report['deployment']}")
    return 0


def count(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: an integer ``>= minimum`` (else one line naming what is valid)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is not >= {minimum}")
        return value

    return parse


def seconds(text: str) -> float:
    """An argparse ``type``: a finite number of seconds ``> 0``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a finite number of seconds > 0")
    return value


def _trained_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by the commands that load a trained run: the directory, a test subset, the Lava timeout."""
    parser.add_argument("run_dir", help="--out directory of a finished continual-learning `spikemem run`")
    parser.add_argument(
        "--max-test", type=count(0), default=0, help="evaluate only the first N test samples of each task (0: all)"
    )
    parser.add_argument("--timeout", type=seconds, help="Lava: seconds allowed per worker request (> 0)")


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``spikemem CMD: error: ...; see --help``), exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``message`` in one line and exit with :data:`EXIT_USAGE`."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = OneLineParser(prog="spikemem", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("backends", help="list backends, whether they run here, and what they can do")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_backends)

    p = sub.add_parser("validate", help="check a saved network description (JSON + .npz)")
    p.add_argument("network")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("simulate", help="run a saved network on a backend")
    p.add_argument("network")
    p.add_argument("--backend", default="reference")
    p.add_argument("--steps", type=count(1), required=True)
    p.add_argument("--numeric", choices=["float", "fixed"], default="float")
    p.add_argument("--out", help="write the recording (.npz) to this directory")
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser("run", help="run an experiment config into a result directory (resumable)")
    p.add_argument("config", help="TOML file, e.g. experiments/hopfield_recall.toml")
    p.add_argument("--backend", help="reference, brian2, snntorch or lava (default: the config's)")
    p.add_argument("--seed", type=int, help="seed of every random choice (default: the config's)")
    p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="set a config key")
    p.add_argument("--out", help="result directory (running again with it resumes)")
    p.add_argument("--force", action="store_true", help="write into --out even if it is a non-empty folder of your own")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("sweep", help="run a sweep file (configs x grid x backends x seeds), resumable, aggregated")
    p.add_argument("sweep", help="TOML sweep file, e.g. experiments/sweeps/pdigits.toml")
    p.add_argument("--executor", choices=["local", "ray"], default="local", help="process pool or Ray tasks")
    p.add_argument(
        "--workers", type=count(1), help="parallel runs (local) or CPUs of a local Ray cluster (default: cores)"
    )
    p.add_argument("--address", help="Ray cluster to join ('auto' or HOST:PORT); default: start a local one")
    p.add_argument("--out", help="sweep directory (default results/sweeps/<name>; running again resumes)")
    p.add_argument("--dry-run", action="store_true", help="print the plan (runs and their state) and stop")
    p.set_defaults(func=_cmd_sweep)

    p = sub.add_parser("compare", help="forgetting curves and metrics of continual-learning runs, side by side")
    p.add_argument("dirs", nargs="+", metavar="DIR", help="run or sweep directories; seeds are pooled")
    p.add_argument("--out", required=True, help="PNG file for the figure")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("evaluate", help="evaluate a trained continual-learning run on any backend, through the spec")
    _trained_run_arguments(p)
    p.add_argument("--backend", required=True, help="reference, brian2, snntorch or lava")
    p.add_argument("--numeric", choices=["float", "fixed"], default="float")
    p.add_argument(
        "--against", default="source", help="backend to compare with ('source': the one that trained it; 'none')"
    )
    p.add_argument("--out", help="JSON report (default RUN_DIR/evaluation-BACKEND-NUMERIC.json)")
    p.add_argument(
        "--neurobench",
        action="store_true",
        help="also print NeuroBench's figures (snnTorch model) beside spikemem's counts (extra 'neurobench')",
    )
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("deploy", help="deploy a trained run to the Lava simulator, with a fixed-point parity report")
    _trained_run_arguments(p)
    p.add_argument("--to", choices=["lava"], default="lava", help="target simulator")
    p.add_argument("--fixed-point", action="store_true", help="also run Loihi fixed point (8-bit weights)")
    p.add_argument("--out", help="report and deployment folder (default RUN_DIR/deploy)")
    p.set_defaults(func=_cmd_deploy)

    p = sub.add_parser("demo", help="one network on every backend: identical spikes, a raster plot")
    p.add_argument("--out", default="demo_out")
    p.add_argument("--steps", type=count(1), default=300)
    p.set_defaults(func=_cmd_demo)
    return parser


_TIMEOUT_FIX: dict[str, str] = defaultdict(
    lambda: "(if it timed out, give it more time: [backend_options.lava] timeout_s)",
    evaluate="(if it timed out, give it more time: --timeout SECONDS)",
    deploy="(if it timed out, give it more time: --timeout SECONDS)",
    run="(if it timed out, give it more time: --set backend_options.lava.timeout_s=SECONDS)",
)
"""What to change after a simulator failure, per command (a Lava timeout is the usual one)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``spikemem`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return func(args)
    except (SpecError, UsageError, InputFileError) as exc:
        print(f"spikemem {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SimulatorError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"spikemem {args.command}: simulator failed: {first} {_TIMEOUT_FIX[args.command]}", file=sys.stderr)
        return EXIT_SIMULATOR_FAILED
    except KeyboardInterrupt:
        print(f"spikemem {args.command}: interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:
        print(f"spikemem {args.command}: terminated (SIGTERM); run the same command again to resume", file=sys.stderr)
        return EXIT_TERMINATED
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
