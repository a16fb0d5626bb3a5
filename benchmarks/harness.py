"""One harness for every benchmark in ``benchmarks/``: warm-up, ABAB alternation, compile detection, statistics.

A benchmark registers its implementations as :class:`Implementation` objects
(a name and three callables: ``prepare`` builds or compiles, untimed;
``run`` is the timed region; ``teardown`` releases, untimed) and the
comparisons it claims as :class:`Comparison` objects, then calls
:func:`run_case` once per problem size. :func:`run_case`

1. warms every implementation up: one untimed ``prepare``/``run``/``teardown``
   of the same structure (or the implementation's own cheaper ``warmup``),
   so that Brian2's cython compilation, Lava's process compilation, torch's
   first-call costs and imports fall outside the timed region;
2. times ``repeats`` rounds, each round running every implementation once in
   the registered order (A B A B ..., never A A A B B B), so that a load
   change on a shared machine hits every implementation alike;
3. watches every timed run with the implementation's compile detectors
   (:data:`BRIAN2_CYTHON`: the cython modules Brian2 compiled in this
   process during the run; :class:`CacheDirectory`: the file names in a
   compiler's cache directory before and after the run). A run during which
   something compiled is discarded, reported, and run again (at most
   ``retries`` times);
4. reports per implementation the minimum, median and maximum of the wall
   time and of this process's CPU time (``time.process_time``; work done in
   other processes, e.g. Lava's, is not in it), and per comparison the ratio
   of the minima and the ratio of the medians.

A comparison ``numerator / denominator`` with a target (``"<="`` or
``">="``) is *flagged* when its spread is larger than its margin to the
target:

    spread = max(max_t / min_t of the numerator, max_t / min_t of the denominator) - 1
    margin = |target / ratio_median - 1|

i.e. when the run-to-run noise is larger than the distance between the
ratio and the target, so that the verdict cannot be trusted. The ratios of
the minima and of the medians *agree* when ``|ratio_min / ratio_median - 1|
<= AGREEMENT`` (10%); a comparison with a target whose ratios do not agree
gets a line in the case's ``flags`` too. A comparison without a target is
reported, never flagged.

JSON schema (``SCHEMA``, checked by :func:`validate`)::

    {
      "schema": "spikemem-benchmark/1",
      "benchmark": str,                      # script name, e.g. "network_throughput"
      "command": [str, ...],                 # sys.argv
      "machine": {"python", "processor", "system": str, "cpus": int},
      "settings": {...},                     # the script's other options (JSON values)
      "cases": [{                            # one per problem size
        "label": str,
        "sizes": {str: value},               # the sizes of this case (e.g. {"n": 1000, "p": 0.1, "steps": 1000})
        "repeats": int, "order": "ABAB", "warmup": bool,
        "load_average": {"before": [3 numbers], "after": [3 numbers]},
        "implementations": {name: {
            "runs": [{"repeat": int, "seconds": number, "cpu_seconds": number, "info": {...}}],
            "discarded": [{"repeat": int, "seconds": number, "cpu_seconds": number, "reason": str}],
            "stats": {"seconds": {"min", "median", "max": number},
                      "cpu_seconds": {"min", "median", "max": number}},
            "info": {...}                    # the ``info`` of the last kept run
        }},
        "comparisons": [{"name", "numerator", "denominator", "metric": str,
                         "target": number | null, "direction": "<=" | ">=" | null,
                         "ratio_min", "ratio_median", "min_median_gap", "spread": number,
                         "ratio_paired_median": number | null,
                         "margin": number | null, "agree", "flagged": bool,
                         "meets_min", "meets_median": bool | null}],
        "checks": {...},                     # the script's correctness checks (e.g. spike counts agree)
        "flags": [str]                       # human-readable warnings: flagged ratios, discarded runs
      }],
      "extra": {...}                         # anything else the script records
    }
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from spikemem.io import write_json
from spikemem.tables import format_table

SCHEMA_NAME = "spikemem-benchmark/1"
AGREEMENT = 0.10
"""Largest relative gap between the ratio of the minima and the ratio of the medians called agreement."""


def _nothing(state: Any = None) -> None:
    return None


@dataclass(frozen=True)
class Implementation:
    """One timed implementation.

    Parameters
    ----------
    name
        Its name in tables and JSON.
    run
        The timed region: ``run(state)``. It may return a mapping: ``seconds``/``cpu_seconds`` in it replace
        the times the harness measured around the call (for an implementation that times a narrower region
        itself, e.g. a simulator's run without its result decoding); every other key is recorded as ``info``.
    prepare
        Untimed, before each run (or once, with ``once``): builds or compiles; its return value is ``state``.
    teardown
        Untimed, after each run (or once at the end): ``teardown(state)``.
    once
        Prepare once (before the warm-up) and reuse the state for every run, instead of once per run.
    warmup
        An untimed warm-up of the same structure to use instead of a full ``prepare``/``run``/``teardown``
        (e.g. a smaller network, where the full one costs minutes); ``None``: the full cycle.
    detectors
        Compile detectors watched around each of its timed runs (e.g. ``(BRIAN2_CYTHON,)`` for anything that
        runs Brian2's cython target). Per implementation, since a compiler cache is shared between processes:
        watching it around an implementation that cannot compile would only see other processes' compilations.
    """

    name: str
    run: Callable[[Any], Mapping[str, Any] | None]
    prepare: Callable[[], Any] = _nothing
    teardown: Callable[[Any], None] = _nothing
    once: bool = False
    warmup: Callable[[], Any] | None = None
    detectors: tuple[Detector, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """``numerator / denominator`` of a time statistic (``metric``: ``"seconds"`` or ``"cpu_seconds"``).

    ``target`` with ``direction`` ``"<="`` (the ratio must be at most the target) or ``">="``; ``None``: reported
    only.
    """

    name: str
    numerator: str
    denominator: str
    target: float | None = None
    direction: str | None = None
    metric: str = "seconds"

    def __post_init__(self) -> None:
        if (self.target is None) != (self.direction is None) or self.direction not in (None, "<=", ">="):
            raise ValueError(f"comparison {self.name!r}: give a target with direction '<=' or '>=', or neither")


class Detector(Protocol):
    """Something that tells whether a compilation happened between two snapshots."""

    label: str

    def snapshot(self) -> Any:
        """A value that changes when something compiles."""

    def describe(self, before: Any, after: Any) -> str:
        """What compiled between the snapshots ``before`` and ``after`` (they differ)."""


class CacheDirectory:
    """A compile detector: the file names in a directory (a compiler's cache), compared before and after a run.

    A cache shared between processes also sees the other processes' compilations (a false alarm for this
    process, but a sign that the machine was busy compiling during the run).
    """

    def __init__(self, path: Path | Callable[[], Path], label: str) -> None:
        self._path, self.label = path, label

    @property
    def path(self) -> Path:
        return Path(self._path() if callable(self._path) else self._path)

    def snapshot(self) -> frozenset[str]:
        """Names of the files in the directory now (lock files excluded)."""
        try:
            return frozenset(p.name for p in self.path.iterdir() if not p.name.endswith(".lock"))
        except OSError:
            return frozenset()

    def describe(self, before: frozenset[str], after: frozenset[str]) -> str:
        return f"{self.label}: {len(after - before)} new file(s)"


class Brian2Compilations:
    """A compile detector: the cython modules Brian2 compiled *in this process* (not those of other processes
    that share its cache directory, ``~/.cython/brian_extensions``).

    Counts the calls of Brian2's ``CythonExtensionManager._load_module`` that find no compiled module at their
    path, i.e. that compile one (brian2 2.x; the wrapper is installed at the first snapshot, which imports
    Brian2 outside any timed region).
    """

    label = "Brian2 cython"

    def __init__(self) -> None:
        self.compiled = 0
        self._installed = False

    def _install(self) -> None:
        from brian2.codegen.runtime.cython_rt.extension_manager import CythonExtensionManager

        load_module = CythonExtensionManager._load_module

        def counting(manager: Any, module_path: str, *args: Any, **kwargs: Any) -> Any:
            if not os.path.isfile(module_path):
                self.compiled += 1
            return load_module(manager, module_path, *args, **kwargs)

        CythonExtensionManager._load_module = counting
        self._installed = True

    def snapshot(self) -> int:
        """Cython modules compiled in this process so far."""
        if not self._installed:
            self._install()
        return self.compiled

    def describe(self, before: int, after: int) -> str:
        return f"{self.label}: {after - before} module(s) compiled"


BRIAN2_CYTHON = Brian2Compilations()
"""Watch this around anything that runs Brian2's cython target."""


def machine() -> dict[str, Any]:
    """Python version, processor, operating system and usable CPUs of this run."""
    return {
        "python": platform.python_version(),
        "processor": platform.processor(),
        "system": platform.system(),
        "cpus": cpus(),
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (zeros where the system has none)."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else [0.0, 0.0, 0.0]


def cpus() -> int:
    """CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _timed(impl: Implementation, state: Any) -> tuple[float, float, dict[str, Any]]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = impl.run(state)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    info = dict(out or {})
    return float(info.pop("seconds", wall)), float(info.pop("cpu_seconds", cpu)), info


def _summary(values: Sequence[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def compare(comparison: Comparison, records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The ratios, spread, margin and verdicts of one comparison, from the implementations' records
    (``stats`` and ``runs``)."""
    metric = comparison.metric
    numerator, denominator = records[comparison.numerator], records[comparison.denominator]
    num, den = numerator["stats"][metric], denominator["stats"][metric]
    ratio_min, ratio_median = num["min"] / den["min"], num["median"] / den["median"]
    by_round = {run["repeat"]: run[metric] for run in denominator["runs"]}
    paired = [run[metric] / by_round[run["repeat"]] for run in numerator["runs"] if run["repeat"] in by_round]
    spread = max(s["max"] / s["min"] for s in (num, den)) - 1.0
    gap = abs(ratio_min / ratio_median - 1.0)
    target, direction = comparison.target, comparison.direction
    margin = abs(target / ratio_median - 1.0) if target is not None else None

    def meets(ratio: float) -> bool | None:
        if target is None:
            return None
        return ratio <= target if direction == "<=" else ratio >= target

    return {
        "name": comparison.name,
        "numerator": comparison.numerator,
        "denominator": comparison.denominator,
        "metric": comparison.metric,
        "target": target,
        "direction": direction,
        "ratio_min": ratio_min,
        "ratio_median": ratio_median,
        "ratio_paired_median": statistics.median(paired) if paired else None,
        "min_median_gap": gap,
        "spread": spread,
        "margin": margin,
        "agree": gap <= AGREEMENT,
        "flagged": margin is not None and spread > margin,
        "meets_min": meets(ratio_min),
        "meets_median": meets(ratio_median),
    }


def _cycle(impl: Implementation, state: Any, detectors: Sequence[Detector]) -> tuple[float, float, dict, str]:
    """One timed run; ``reason`` names what compiled during it ("" when nothing did).

    The garbage of earlier runs is collected first (untimed): its collection would otherwise fall into a
    timed run, and Brian2 reuses an object's name (hence its compiled code) only once the old object is gone.
    """
    gc.collect()
    fresh = impl.prepare() if not impl.once else state
    before = [d.snapshot() for d in detectors]
    try:
        seconds, cpu, info = _timed(impl, fresh)
    finally:
        if not impl.once:
            impl.teardown(fresh)
    changed = [
        d.describe(old, after)
        for d, old, after in zip(detectors, before, (d.snapshot() for d in detectors), strict=True)
        if after != old
    ]
    return seconds, cpu, info, "; ".join(changed)


def run_case(
    label: str,
    sizes: Mapping[str, Any],
    implementations: Sequence[Implementation],
    comparisons: Sequence[Comparison] = (),
    repeats: int = 3,
    warmup: bool = True,
    retries: int = 2,
    checks: Callable[[Mapping[str, Mapping[str, Any]]], Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Warm up, then time ``repeats`` alternating rounds of ``implementations``; the case's JSON document.

    Parameters
    ----------
    label, sizes
        The case's name and problem sizes (recorded).
    implementations, comparisons
        What to time and which ratios to report.
    repeats
        Rounds; each runs every implementation once, in order.
    warmup
        Warm every implementation up first (untimed).
    retries
        How many times a run that compiled is run again before the round gives up on it.
    checks
        ``checks(implementations)`` -> correctness checks to record (e.g. equal spike counts), given each
        implementation's ``info`` and ``stats``.
    """
    names = [impl.name for impl in implementations]
    if len(set(names)) != len(names):
        raise ValueError(f"implementation names must be unique: {names}")
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    loads = {"before": load_average()}
    states = {impl.name: impl.prepare() for impl in implementations if impl.once}
    records: dict[str, dict[str, Any]] = {name: {"runs": [], "discarded": []} for name in names}
    try:
        if warmup:
            for impl in implementations:
                if impl.warmup is not None:
                    impl.warmup()
                else:
                    _cycle(impl, states.get(impl.name), ())
        for repeat in range(repeats):
            for impl in implementations:
                for _ in range(retries + 1):
                    seconds, cpu, info, compiled = _cycle(impl, states.get(impl.name), impl.detectors)
                    run = {"repeat": repeat, "seconds": seconds, "cpu_seconds": cpu}
                    if not compiled:
                        records[impl.name]["runs"].append({**run, "info": info})
                        break
                    records[impl.name]["discarded"].append({**run, "reason": compiled})
    finally:
        for impl in implementations:
            if impl.once:
                impl.teardown(states[impl.name])
    loads["after"] = load_average()
    flags: list[str] = []
    for name, record in records.items():
        runs = record["runs"]
        if not runs:
            raise RuntimeError(f"{label}: every timed run of {name!r} compiled ({record['discarded']})")
        record["stats"] = {key: _summary([r[key] for r in runs]) for key in ("seconds", "cpu_seconds")}
        record["info"] = runs[-1]["info"]
        if record["discarded"]:
            flags.append(f"{name}: {len(record['discarded'])} timed run(s) compiled and were discarded")
    results = [compare(c, records) for c in comparisons if c.numerator in records and c.denominator in records]
    for result in results:
        if result["flagged"]:
            flags.append(
                f"{result['name']}: spread {result['spread']:.0%} exceeds the margin {result['margin']:.0%} "
                f"to the target; the verdict is not reliable"
            )
        if not result["agree"] and result["target"] is not None:
            flags.append(f"{result['name']}: ratio of minima and of medians differ by {result['min_median_gap']:.0%}")
    return {
        "label": label,
        "sizes": dict(sizes),
        "repeats": repeats,
        "order": "ABAB",
        "warmup": warmup,
        "load_average": loads,
        "implementations": records,
        "comparisons": results,
        "checks": dict(checks(records)) if checks else {},
        "flags": flags,
    }


def same_spike_counts(records: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """A ``checks`` for :func:`run_case`: every implementation's ``info["spike_count"]`` (of its last timed run) and
    whether they all agree."""
    counts = {name: record["info"]["spike_count"] for name, record in records.items()}
    return {"spike_counts": counts, "spike_counts_agree": len(set(counts.values())) == 1}


def print_case(
    case: Mapping[str, Any], columns: Mapping[str, Callable[[Mapping[str, Any]], Any]] | None = None
) -> None:
    """Print a case's implementations and comparisons as tables; ``columns``: extra ``header -> f(record)``."""
    columns = columns or {}
    load = case["load_average"]
    print(
        f"\n{case['label']}: {case['repeats']} alternating rounds after a warm-up; load average "
        f"{load['before'][0]:.2f} -> {load['after'][0]:.2f}"
    )
    rows = []
    for name, record in case["implementations"].items():
        wall, cpu = record["stats"]["seconds"], record["stats"]["cpu_seconds"]
        rows.append(
            [
                name,
                *(f"{wall[k]:.4f}" for k in ("min", "median", "max")),
                *(f"{cpu[k]:.4f}" for k in ("min", "median")),
                len(record["discarded"]),
                *(f(record) for f in columns.values()),
            ]
        )
    headers = ["implementation", "min s", "median s", "max s", "CPU min s", "CPU median s", "discarded", *columns]
    print(format_table(headers, rows))
    if case["comparisons"]:
        print(
            format_table(
                ["comparison", "target", "ratio of min", "ratio of median", "agree", "paired", "spread", "verdict"],
                [_comparison_row(c) for c in case["comparisons"]],
            )
        )
    for key, value in case["checks"].items():
        print(f"check {key}: {value}")
    for flag in case["flags"]:
        print(f"FLAG {flag}")


def _comparison_row(c: Mapping[str, Any]) -> list[Any]:
    target = f"{c['direction']} {c['target']:g}" if c["target"] is not None else "-"
    if c["target"] is None:
        verdict = "-"
    elif c["flagged"]:
        verdict = "unsure (noise > margin)"
    else:
        verdict = "meets" if c["meets_median"] and c["meets_min"] else "misses"
    agree = f"{'yes' if c['agree'] else 'no'} ({c['min_median_gap']:.0%})"
    paired = f"{c['ratio_paired_median']:.3f}" if c["ratio_paired_median"] is not None else "-"
    return [
        c["name"],
        target,
        f"{c['ratio_min']:.3f}",
        f"{c['ratio_median']:.3f}",
        agree,
        paired,
        f"{c['spread']:.0%}",
        verdict,
    ]


def parse_arguments(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, quick: Mapping[str, Any]
) -> argparse.Namespace:
    """Add ``--quick`` and ``--no-warmup`` to ``parser`` and parse ``argv``; with ``--quick`` the sizes ``quick``
    replace the parsed ones and the warm-up is off (``args.warmup``, for :func:`run_case`).

    Every benchmark script runs at its ``quick`` sizes in the tests (no timing asserted, its JSON validated), where
    a warm-up would only run every implementation a second time.
    """
    parser.add_argument("--quick", action="store_true", help=f"a tiny run for the tests, no warm-up: {dict(quick)}")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false", help="time without the untimed warm-up")
    args = parser.parse_args(argv)
    if args.quick:
        args.warmup = False
        for key, value in quick.items():
            setattr(args, key, value)
    return args


def document(
    benchmark: str,
    cases: Sequence[Mapping[str, Any]],
    settings: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The benchmark's JSON document (see the module docstring)."""
    return {
        "schema": SCHEMA_NAME,
        "benchmark": benchmark,
        "command": list(sys.argv),
        "machine": machine(),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in settings.items()},
        "cases": list(cases),
        "extra": dict(extra or {}),
    }


def write(out: Path | str | None, doc: Mapping[str, Any]) -> None:
    """Validate ``doc`` and write it to ``out`` as JSON (atomically); nothing when ``out`` is ``None``."""
    validate(doc)
    if out is None:
        return
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, dict(doc))
    print(f"wrote {out}")


# -- the schema, as data, and its validator -------------------------------------------------------------------------

NUMBER = (int, float)
STATS = {"min": NUMBER, "median": NUMBER, "max": NUMBER}
RUN = {"repeat": int, "seconds": NUMBER, "cpu_seconds": NUMBER, "info": dict}
DISCARDED = {"repeat": int, "seconds": NUMBER, "cpu_seconds": NUMBER, "reason": str}
COMPARISON = {
    "name": str,
    "numerator": str,
    "denominator": str,
    "metric": str,
    "target": (*NUMBER, type(None)),
    "direction": (str, type(None)),
    "ratio_min": NUMBER,
    "ratio_median": NUMBER,
    "ratio_paired_median": (*NUMBER, type(None)),
    "min_median_gap": NUMBER,
    "spread": NUMBER,
    "margin": (*NUMBER, type(None)),
    "agree": bool,
    "flagged": bool,
    "meets_min": (bool, type(None)),
    "meets_median": (bool, type(None)),
}
IMPLEMENTATION = {
    "runs": [RUN],
    "discarded": [DISCARDED],
    "stats": {"seconds": STATS, "cpu_seconds": STATS},
    "info": dict,
}
CASE = {
    "label": str,
    "sizes": dict,
    "repeats": int,
    "order": str,
    "warmup": bool,
    "load_average": {"before": [NUMBER], "after": [NUMBER]},
    "implementations": {str: IMPLEMENTATION},
    "comparisons": [COMPARISON],
    "checks": dict,
    "flags": [str],
}
SCHEMA = {
    "schema": str,
    "benchmark": str,
    "command": [str],
    "machine": {"python": str, "processor": str, "system": str, "cpus": int},
    "settings": dict,
    "cases": [CASE],
    "extra": dict,
}
"""The document's shape: a dict lists required keys (``{str: X}``: any keys, each value of shape X), a one-item
list is a list of that shape, a type or tuple of types is an ``isinstance`` check (``bool`` is not a number)."""


def validate(doc: Any, schema: Any = SCHEMA, path: str = "$") -> None:
    """Raise ``ValueError`` naming the first place where ``doc`` does not have the shape ``schema``.

    The document is also checked to survive a JSON round trip (finite numbers, string keys), and every
    case's comparisons to name implementations of that case.
    """
    if path == "$":
        if not isinstance(doc, dict):
            raise ValueError(f"$: expected an object, got {type(doc).__name__}")
        json.dumps(doc, allow_nan=False)
        if doc.get("schema") != SCHEMA_NAME:
            raise ValueError(f"$.schema: expected {SCHEMA_NAME!r}, got {doc.get('schema')!r}")
        if not doc.get("cases"):
            raise ValueError("$.cases: a benchmark document has at least one case")
    if isinstance(schema, dict):
        if not isinstance(doc, dict):
            raise ValueError(f"{path}: expected an object, got {type(doc).__name__}")
        if list(schema) == [str]:
            for key, value in doc.items():
                validate(value, schema[str], f"{path}.{key}")
            return
        for key, sub in schema.items():
            if key not in doc:
                raise ValueError(f"{path}: missing key {key!r}")
            validate(doc[key], sub, f"{path}.{key}")
        if "implementations" in schema and "comparisons" in schema:
            for c in doc["comparisons"]:
                for side in ("numerator", "denominator"):
                    if c[side] not in doc["implementations"]:
                        raise ValueError(f"{path}.comparisons: {c['name']!r} names unknown {side} {c[side]!r}")
        return
    if isinstance(schema, list):
        if not isinstance(doc, list):
            raise ValueError(f"{path}: expected a list, got {type(doc).__name__}")
        for i, item in enumerate(doc):
            validate(item, schema[0], f"{path}[{i}]")
        return
    types = schema if isinstance(schema, tuple) else (schema,)
    if isinstance(doc, bool) and bool not in types:
        raise ValueError(f"{path}: expected {'/'.join(t.__name__ for t in types)}, got bool")
    if not isinstance(doc, types):
        raise ValueError(f"{path}: expected {'/'.join(t.__name__ for t in types)}, got {type(doc).__name__}")
