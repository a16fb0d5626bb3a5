"""Experiment kinds of the associative-memory configs (``experiments/*.toml``).

Each kind builds its networks with :mod:`spikemem.memory`, runs every
recall on the chosen backend (the spiking network does the recall), scores
it with :mod:`spikemem.evaluation.memory`, compares with
:mod:`spikemem.memory.theory`, prints a table, writes plots into the run
directory and returns the metrics (``overlap_mean``, ``overlap_min``,
``exact_recall_fraction``, ``curve`` for sweeps, and ``checks``: the issue's
expected numbers, each with the measured value and whether it holds). Sweep
points are checkpointed, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from spikemem.backends import get_backend
from spikemem.cost import cost_section
from spikemem.evaluation import memory as ev
from spikemem.experiments.config import parse_tables
from spikemem.experiments.runner import ExperimentContext
from spikemem.memory import theory
from spikemem.memory.dense import build_polynomial_memory, build_winner_take_all
from spikemem.memory.encoding import RecallNetwork
from spikemem.memory.hopfield import Dynamics, build_hopfield
from spikemem.memory.patterns import (
    example_couplings,
    flip_fraction,
    hebb_couplings,
    noisy_examples,
    parallel_state,
    random_patterns,
)
from spikemem.memory.recall import RecallResult, recall_on
from spikemem.memory.settings import (
    DenseMemorySettings,
    DynamicsTable,
    ExamplesSettings,
    HopfieldCapacitySettings,
    HopfieldRecallSettings,
    MultitaskSettings,
    STDPStorageSettings,
)
from spikemem.memory.stdp import STDPProtocol, build_stdp_learning, learning_steps
from spikemem.tables import format_table

SUMMARY_KEYS = ("overlap_mean", "overlap_min", "exact_recall_fraction")


# -- shared helpers ---------------------------------------------------------------------
def _backend(ctx: ExperimentContext):
    return get_backend(ctx.backend, **ctx.backend_options)


S = TypeVar("S")


def _start(ctx: ExperimentContext, kind: type[S]) -> S:
    """The kind's settings (parsed by the runner); probes the backend (Lava: once) before any progress bar starts."""
    _backend(ctx).available()
    if isinstance(ctx.settings, kind):
        return ctx.settings
    return parse_tables(kind, ctx.config)  # a context built by hand


EVENT_DRIVEN = ("brian2",)
"""Backends whose cost is per synaptic event (they prefer the relay structure)."""


def _structure(ctx: ExperimentContext, dynamics: DynamicsTable) -> str:
    """The Hopfield network structure: the config's, or ``"auto"``: relay for event-driven backends."""
    if dynamics.structure == "auto":
        return "relay" if ctx.backend in EVENT_DRIVEN else "alternating"
    return dynamics.structure


def _hopfield(
    ctx: ExperimentContext, dynamics: DynamicsTable, couplings: np.ndarray, rng: np.random.Generator, **kwargs: Any
) -> RecallNetwork:
    return build_hopfield(couplings, dynamics.dynamics(), rng=rng, structure=_structure(ctx, dynamics), **kwargs)


def _recall(ctx: ExperimentContext, net: RecallNetwork, cues: np.ndarray, label: str) -> RecallResult:
    return recall_on(
        _backend(ctx),
        net,
        cues,
        mode=ctx.batching,
        numeric=ctx.numeric,
        progress=lambda it, desc, total: ctx.progress(it, f"{label}: {desc}", total),
    )


def _score(result: RecallResult, targets: np.ndarray) -> dict[str, Any]:
    """Summary of final overlaps, the mean trajectory, and the cost per recall."""
    trajectory = ev.target_overlaps(result.states, targets)  # (B, reads)
    trials = len(targets)
    return {
        **ev.recall_summary(trajectory[:, -1]),
        "trajectory": trajectory.mean(axis=0).round(6).tolist(),
        "spikes_per_recall": result.spikes / trials,
        "synaptic_events_per_recall": result.synaptic_events / trials,
        "simulated_steps": result.steps,
        "run_s": result.wall_time_s,
        "compile_s": result.extra.get("compile_s", 0.0),
        "batching": result.mode,
        **({} if result.counts is None else {"cost": cost_section(result.counts, unit="recall", units=trials)}),
    }


def _cached(ctx: ExperimentContext, key: str, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    if key not in ctx.checkpoint:
        ctx.checkpoint.put(key, compute())
    return ctx.checkpoint.get(key)


def _check(name: str, measured: float, relation: str, expected: float) -> dict[str, Any]:
    holds = {">=": measured >= expected, "<": measured < expected, "==": bool(np.isclose(measured, expected))}[relation]
    return {"name": name, "measured": measured, "relation": relation, "expected": expected, "holds": bool(holds)}


def _within(name: str, measured: float, expected: float, tolerance: float) -> dict[str, Any]:
    return {
        "name": name,
        "measured": measured,
        "relation": f"within {tolerance}",
        "expected": expected,
        "holds": bool(abs(measured - expected) <= tolerance),
    }


def _print_checks(checks: list[dict[str, Any]]) -> None:
    if checks:
        rows = [[c["name"], c["measured"], c["relation"], c["expected"], c["holds"]] for c in checks]
        print(format_table(["check", "measured", "relation", "expected", "holds"], rows))


def _cue_count(requested: int, available: int) -> int:
    return available if requested <= 0 else min(requested, available)


# -- classical Hopfield -----------------------------------------------------------------
def _hopfield_point(
    ctx: ExperimentContext,
    settings: HopfieldRecallSettings | HopfieldCapacitySettings,
    load: float,
    noise: float,
    cues: int,
    stream: str,
    with_theory: bool = True,
) -> dict[str, Any]:
    n = settings.model.neurons
    p = max(1, round(load * n))
    rng = ctx.rng(stream, "patterns", n, p)
    patterns = random_patterns(rng, p, n)
    chosen = np.arange(_cue_count(cues, p))
    cue_states = flip_fraction(ctx.rng(stream, "cues", n, p, int(noise * 1e6)), patterns[chosen], noise)
    net = _hopfield(
        ctx,
        settings.dynamics,
        hebb_couplings(patterns, settings.model.self_coupling),
        ctx.rng(stream, "schedule", n, p),
    )
    result = _recall(ctx, net, cue_states, f"alpha={load:g}")
    return {
        "alpha": p / n,
        "patterns": p,
        "cue_noise": noise,
        "initial_overlap": 1.0 - 2.0 * round(noise * n) / n,
        "theory_overlap": theory.ags_overlap(p / n) if with_theory else None,
        "final_overlaps": ev.target_overlaps(result.final, patterns[chosen]).round(6).tolist(),
        **_score(result, patterns[chosen]),
    }


def _point_row(point: dict[str, Any], first: str) -> list[Any]:
    return [
        point[first],
        point["overlap_mean"],
        point["overlap_min"],
        point["exact_recall_fraction"],
        "-" if point.get("theory_overlap") is None else point["theory_overlap"],
        round(point["spikes_per_recall"]),
        f"{point['synaptic_events_per_recall']:.3g}",
        round(point["run_s"], 2),
    ]


POINT_HEADERS = [
    "overlap_mean",
    "overlap_min",
    "exact_fraction",
    "theory",
    "spikes/recall",
    "syn.events/recall",
    "run s",
]


def hopfield_recall(ctx: ExperimentContext) -> dict[str, Any]:
    """Recall at one load from a noisy cue, plus the basin of attraction (final vs initial overlap)."""
    settings = _start(ctx, HopfieldRecallSettings)
    recall = settings.recall
    n, load = settings.model.neurons, settings.model.load
    main = _cached(ctx, "main", lambda: _hopfield_point(ctx, settings, load, recall.cue_noise, recall.cues, "main"))
    curve = []
    noises = list(recall.basin_noise)
    for k, noise in enumerate(ctx.progress(noises, "basin of attraction", len(noises))):
        curve.append(
            _cached(
                ctx,
                f"basin-{k}",
                partial(_hopfield_point, ctx, settings, load, noise, recall.basin_cues, "main", with_theory=False),
            )
        )
    checks = _hopfield_checks([main])
    stability = {}
    clean = [p for p in curve if p["cue_noise"] == 0.0 and len(p["trajectory"]) > 1]
    if clean:  # one update from the stored patterns themselves: the fraction of bits that flip
        stability = {
            "measured": (1.0 - clean[0]["trajectory"][1]) / 2.0,
            "theory": theory.unstable_bit_fraction(n, clean[0]["patterns"]),
        }
    print(f"Hopfield recall, N={n}, alpha={main['alpha']:.3g}, {settings.dynamics.mode} dynamics, {ctx.backend}")
    print(format_table(["cue noise", *POINT_HEADERS], [_point_row(main, "cue_noise")]))
    if curve:
        print("Basin of attraction:")
        print(format_table(["initial m", *POINT_HEADERS], [_point_row(p, "initial_overlap") for p in curve]))
    if stability:
        print(
            f"Bits unstable at a stored pattern: {stability['measured']:.2e} measured, "
            f"{stability['theory']:.2e} theory Phi(-sqrt(N/(P-1)))"
        )
    _print_checks(checks)
    if settings.output.plots and curve:
        initial = np.concatenate([[p["initial_overlap"]] * len(p["final_overlaps"]) for p in curve])
        final = np.concatenate([p["final_overlaps"] for p in curve])
        ev.plot_basin(
            initial, final, ctx.out / "basin.png", f"Basin of attraction, alpha={main['alpha']:.3g} ({ctx.backend})"
        )
    return {
        **{k: main[k] for k in SUMMARY_KEYS},
        "point": _strip(main),
        "curve": [_strip(p) for p in curve],
        "unstable_bit_fraction": stability,
        "checks": checks,
    }


def _strip(point: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in point.items() if k != "final_overlaps"}


HOPFIELD_EXPECTED = [
    (0.05, "exact_recall_fraction", "==", 1.0),
    (0.10, "overlap_mean", ">=", 0.99),
    (0.12, "overlap_mean", ">=", 0.97),
    (0.20, "overlap_mean", "<", 0.6),
]
"""The issue's numbers for N = 500 to 1,000 and 10% cue noise."""


def _hopfield_checks(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    checks = []
    for alpha, key, relation, expected in HOPFIELD_EXPECTED:
        for p in points:
            if np.isclose(p["alpha"], alpha) and np.isclose(p["cue_noise"], 0.1):
                checks.append(_check(f"alpha={alpha:g} {key}", p[key], relation, expected))
    return checks


def hopfield_capacity(ctx: ExperimentContext) -> dict[str, Any]:
    """Final overlap against load from 10%-noise cues, with the AGS theory curve."""
    settings = _start(ctx, HopfieldCapacitySettings)
    recall = settings.recall
    n = settings.model.neurons
    loads = list(recall.loads)
    points = []
    for k, load in enumerate(ctx.progress(loads, "loads", len(loads))):
        points.append(
            _cached(
                ctx,
                f"load-{k}",
                partial(_hopfield_point, ctx, settings, load, recall.cue_noise, recall.cues, f"load-{k}"),
            )
        )
    checks = _hopfield_checks(points)
    report = loads[0] if recall.report_load is None else recall.report_load
    main = min(points, key=lambda p: abs(p["alpha"] - report))
    mode = settings.dynamics.mode
    print(f"Hopfield capacity, N={n}, {mode} dynamics, cue noise {recall.cue_noise}, {ctx.backend}")
    print(format_table(["alpha", *POINT_HEADERS], [_point_row(p, "alpha") for p in points]))
    _print_checks(checks)
    if settings.output.plots:
        grid = np.linspace(0.005, max(loads) * 1.05, 200)
        ev.plot_capacity_curve(
            points,
            ctx.out / "capacity.png",
            theory=(grid, theory.ags_curve(grid)),
            title=f"Hopfield capacity, N={n} ({ctx.backend})",
            critical=theory.ALPHA_C,
        )
    return {
        **{k: main[k] for k in SUMMARY_KEYS},
        "report_alpha": main["alpha"],
        "alpha_c_theory": theory.ALPHA_C,
        "curve": [_strip(p) for p in points],
        "checks": checks,
    }


# -- dense associative memory -----------------------------------------------------------
def _dense_model(name: str, patterns: np.ndarray, updates: int, ctx: ExperimentContext) -> RecallNetwork:
    if name == "classical":
        structure = "relay" if ctx.backend in EVENT_DRIVEN else "alternating"
        return build_hopfield(
            hebb_couplings(patterns), Dynamics("sync", max(updates, 1) * 5), name="classical", structure=structure
        )
    if name == "winner_take_all":
        return build_winner_take_all(patterns)
    return build_polynomial_memory(patterns, int(name.removeprefix("polynomial_n")), updates=updates)


def dense_memory(ctx: ExperimentContext) -> dict[str, Any]:
    """Dense (polynomial and winner-take-all) memories against the classical rule at K = 2N."""
    settings = _start(ctx, DenseMemorySettings)
    model, recall = settings.model, settings.recall
    n, k = model.features, model.patterns
    patterns = random_patterns(ctx.rng("patterns", n, k), k, n)
    chosen = np.arange(_cue_count(recall.cues, k))
    cues = flip_fraction(ctx.rng("cues", n, k), patterns[chosen], recall.cue_noise)
    points = []
    for name in ctx.progress(list(model.models), "models", len(model.models)):

        def compute(name: str = name) -> dict[str, Any]:
            start = time.perf_counter()
            net = _dense_model(name, patterns, model.updates, ctx)
            build = time.perf_counter() - start
            result = _recall(ctx, net, cues, name)
            point = {"model": name, "neurons": net.neurons(), "build_s": build, **_score(result, patterns[chosen])}
            if name.startswith("polynomial_n"):
                point["theory_capacity"] = theory.dense_capacity(n, int(name.removeprefix("polynomial_n")))
            return point

        points.append(_cached(ctx, f"model-{name}", compute))
    by_name = {p["model"]: p for p in points}
    checks = []
    if "polynomial_n3" in by_name:
        checks.append(
            _check("n=3 exact_recall_fraction", by_name["polynomial_n3"]["exact_recall_fraction"], ">=", 0.99)
        )
    if "winner_take_all" in by_name:
        checks.append(
            _check(
                "winner-take-all exact_recall_fraction", by_name["winner_take_all"]["exact_recall_fraction"], "==", 1.0
            )
        )
    if "classical" in by_name:
        checks.append(
            _check("classical fails: exact_recall_fraction", by_name["classical"]["exact_recall_fraction"], "<", 0.5)
        )
    print(f"Dense associative memory, N={n} features, K={k} patterns, cue noise {recall.cue_noise}, {ctx.backend}")
    rows = [
        [
            p["model"],
            p["neurons"],
            p["overlap_mean"],
            p["overlap_min"],
            p["exact_recall_fraction"],
            round(p["spikes_per_recall"]),
            f"{p['synaptic_events_per_recall']:.3g}",
            round(p["run_s"], 2),
        ]
        for p in points
    ]
    print(
        format_table(
            [
                "model",
                "neurons",
                "overlap_mean",
                "overlap_min",
                "exact_fraction",
                "spikes/recall",
                "syn.events/recall",
                "run s",
            ],
            rows,
        )
    )
    _print_checks(checks)
    if settings.output.plots:
        ev.plot_bars(
            [p["model"] for p in points],
            [p["exact_recall_fraction"] for p in points],
            ctx.out / "dense_memory.png",
            "exact-recall fraction",
            f"N={n}, K={k}: dense memories vs the classical rule ({ctx.backend})",
        )
    primary = by_name.get(model.report, points[0])
    return {
        **{key: primary[key] for key in SUMMARY_KEYS},
        "report_model": primary["model"],
        "curve": points,
        "checks": checks,
    }


# -- multitasking ---------------------------------------------------------------------------
def _multitask_point(ctx: ExperimentContext, settings: MultitaskSettings, dilution: float) -> dict[str, Any]:
    n, p = settings.model.neurons, settings.model.patterns
    rng = ctx.rng("multitask", n, p, int(dilution * 1e6))
    patterns = random_patterns(rng, p, n, dilution=dilution)
    orders = [rng.permutation(p) for _ in range(settings.recall.cues)]
    targets = np.stack([parallel_state(patterns[order]) for order in orders])
    cues = flip_fraction(rng, targets, settings.recall.cue_noise)
    net = _hopfield(ctx, settings.dynamics, hebb_couplings(patterns), rng, name="multitask")
    result = _recall(ctx, net, cues, f"d={dilution:g}")
    ordered = np.stack([ev.overlaps(result.final[b], patterns[order]) for b, order in enumerate(orders)])  # (B, P)
    expected = theory.multitask_overlaps(dilution, p)
    return {
        "dilution": dilution,
        "m_measured": ordered.mean(axis=0).round(6).tolist(),
        "m_min": ordered.min(axis=0).round(6).tolist(),
        "m_max": ordered.max(axis=0).round(6).tolist(),
        "m_theory": expected.tolist(),
        "max_deviation": float(np.abs(ordered.mean(axis=0) - expected).max()),
        **_score(result, targets),
    }


def multitask(ctx: ExperimentContext) -> dict[str, Any]:
    """Parallel retrieval with diluted patterns: overlaps m_k = (1 - d) d^(k-1)."""
    settings = _start(ctx, MultitaskSettings)
    dilutions = list(settings.model.dilutions)
    points = [
        _cached(ctx, f"dilution-{k}", partial(_multitask_point, ctx, settings, d))
        for k, d in enumerate(ctx.progress(dilutions, "dilutions", len(dilutions)))
    ]
    tolerance = settings.recall.tolerance
    checks = [
        _within(f"d={p['dilution']:g} m_{k + 1}", p["m_measured"][k], p["m_theory"][k], tolerance)
        for p in points
        for k in range(len(p["m_theory"]))
    ]
    n, count = settings.model.neurons, settings.model.patterns
    print(f"Multitasking, N={n}, {count} diluted patterns, {ctx.backend} (overlaps in the cue's order)")
    rows = [
        [
            p["dilution"],
            " ".join(f"{m:.3f}" for m in p["m_measured"]),
            " ".join(f"{m:.3f}" for m in p["m_theory"]),
            round(p["max_deviation"], 4),
            p["overlap_mean"],
            round(p["run_s"], 2),
        ]
        for p in points
    ]
    print(format_table(["d", "m_k measured", "m_k theory", "max |dev|", "overlap with parallel state", "run s"], rows))
    _print_checks(checks)
    if settings.output.plots:
        ks = np.arange(1, count + 1)
        ev.plot_lines(
            ks,
            {f"d={p['dilution']:g}": np.array(p["m_measured"]) for p in points},
            ctx.out / "multitask.png",
            "pattern rank k",
            "overlap $m_k$",
            f"Parallel retrieval, N={n} ({ctx.backend})",
            theory={f"d={p['dilution']:g}": (ks, np.array(p["m_theory"])) for p in points},
        )
    primary = points[0]
    return {
        **{key: primary[key] for key in SUMMARY_KEYS},
        "report_dilution": primary["dilution"],
        "curve": points,
        "checks": checks,
    }


# -- learning from examples ---------------------------------------------------------------
def _examples_point(ctx: ExperimentContext, settings: ExamplesSettings, supervised: bool, count: int) -> dict[str, Any]:
    model, recall = settings.model, settings.recall
    n, k, r = model.neurons, model.archetypes, model.quality
    rng = ctx.rng("examples", n, k, count, int(r * 1e6))
    archetypes = random_patterns(rng, k, n)
    examples = noisy_examples(rng, archetypes, count, r)
    couplings = example_couplings(examples, supervised=supervised)
    targets = np.repeat(archetypes, recall.cues_per_archetype, axis=0)
    cues = flip_fraction(ctx.rng("examples-cues", n, k, count), targets, recall.cue_noise)
    net = _hopfield(ctx, settings.dynamics, couplings, rng, name="examples")
    label = "supervised" if supervised else "unsupervised"
    result = _recall(ctx, net, cues, f"{label} M={count}")
    return {
        "mode": label,
        "examples": count,
        "quality": r,
        "rho": theory.example_rho(r, count),
        "theory_overlap": theory.example_overlap(r, count),
        "theory_overlap_binomial": theory.example_overlap_exact(r, count),
        **_score(result, targets),
    }


def learn_from_examples(ctx: ExperimentContext) -> dict[str, Any]:
    """Hebbian couplings from M noisy examples: archetype overlap vs erf(1/sqrt(2 rho))."""
    settings = _start(ctx, ExamplesSettings)
    model = settings.model
    work = [(mode, m) for mode in model.modes for m in model.examples]
    points = []
    for mode, count in ctx.progress(work, "datasets", len(work)):
        points.append(
            _cached(
                ctx,
                f"{mode}-{count}",
                partial(_examples_point, ctx, settings, mode == "supervised", count),
            )
        )
    tolerance = settings.recall.tolerance
    checks = [
        _within(f"{p['mode']} M={p['examples']} overlap_mean", p["overlap_mean"], p["theory_overlap"], tolerance)
        for p in points
    ]
    n, k, r = model.neurons, model.archetypes, model.quality
    print(f"Learning from examples, N={n}, K={k} archetypes, r={r}, {ctx.backend}")
    rows = [
        [
            p["mode"],
            p["examples"],
            round(p["rho"], 3),
            p["overlap_mean"],
            p["overlap_min"],
            round(p["theory_overlap"], 4),
            round(p["overlap_mean"] - p["theory_overlap"], 4),
            round(p["run_s"], 2),
        ]
        for p in points
    ]
    print(format_table(["mode", "M", "rho", "overlap_mean", "overlap_min", "theory erf", "difference", "run s"], rows))
    _print_checks(checks)
    if settings.output.plots:
        rho = np.array(sorted({p["rho"] for p in points}))
        grid = np.geomspace(rho.min() * 0.7, rho.max() * 1.4, 200)
        series: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for mode in model.modes:
            chosen = sorted((p for p in points if p["mode"] == mode), key=lambda p: p["rho"])
            series[mode] = (np.array([p["rho"] for p in chosen]), np.array([p["overlap_mean"] for p in chosen]))
        _plot_examples(series, grid, ctx.out / "learn_from_examples.png", ctx.backend)
    primary = points[0]
    return {
        **{key: primary[key] for key in SUMMARY_KEYS},
        "report": {"mode": primary["mode"], "examples": primary["examples"]},
        "curve": points,
        "checks": checks,
    }


def _plot_examples(
    series: dict[str, tuple[np.ndarray, np.ndarray]], grid: np.ndarray, path: Path, backend: str
) -> None:
    import math

    plt = ev.pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(grid, [math.erf(1 / math.sqrt(2 * r)) for r in grid], color="black", lw=1.2, label=r"erf$(1/\sqrt{2\rho})$")
    for (label, (x, y)), marker in zip(series.items(), "os", strict=False):
        ax.plot(x, y, marker, label=label)
    ax.set_xscale("log")
    ax.set_xlabel(r"dataset entropy $\rho = (1-r^2)/(M r^2)$")
    ax.set_ylabel("overlap with the archetype")
    ax.set_title(f"Hebbian learning from noisy examples ({backend})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# -- online STDP storage ------------------------------------------------------------------
def stdp_storage(ctx: ExperimentContext) -> dict[str, Any]:
    """Pair STDP inside the simulator learns the Hebb matrix; the learned weights then recall."""
    settings = _start(ctx, STDPStorageSettings)
    recall, rule = settings.recall, settings.stdp
    n, load = settings.model.neurons, settings.model.load
    p = max(1, round(load * n))
    patterns = random_patterns(ctx.rng("stdp-patterns", n, p), p, n)
    protocol = STDPProtocol(a_minus=rule.a_minus, tau_pre=rule.tau_pre, tau_post=rule.tau_post, gap=rule.gap)

    def learn() -> dict[str, Any]:
        net = build_stdp_learning(patterns, protocol)
        steps = learning_steps(net)
        start = time.perf_counter()
        with _backend(ctx).compile(net, numeric=ctx.numeric) as sim:
            compiled = time.perf_counter()
            record = sim.run(steps)
        learned = np.asarray(record.weights("recurrent"))
        hebb = hebb_couplings(patterns, 0.0)
        np.save(ctx.out / "learned_weights.npy", learned)
        return {
            "learning_steps": steps,
            "learning_compile_s": compiled - start,
            "learning_run_s": record.wall_time_s,
            "weight_correlation": ev.weight_correlation(learned, hebb),
            "unit": protocol.unit,
            "max_deviation_units": float(np.abs(learned / protocol.unit - hebb - p * np.eye(n)).max()),
            "a_plus": protocol.a_plus,
            "a_minus": protocol.a_minus,
            **({} if record.cost is None else {"cost": cost_section(record.cost, net, unit="learning run")}),
        }

    learned_info = _cached(ctx, "learning", learn)
    learned = np.load(ctx.out / "learned_weights.npy")

    def recall_point() -> dict[str, Any]:
        chosen = np.arange(_cue_count(recall.cues, p))
        cues = flip_fraction(ctx.rng("stdp-cues", n, p), patterns[chosen], recall.cue_noise)
        net = _hopfield(ctx, settings.dynamics, learned / protocol.unit, ctx.rng("stdp-schedule"))
        result = _recall(ctx, net, cues, "recall")
        return {
            "alpha": p / n,
            "patterns": p,
            "cue_noise": recall.cue_noise,
            **_score(result, patterns[chosen]),
        }

    point = _cached(ctx, "recall", recall_point)
    checks = [
        _check("weight correlation with the Hebb matrix", learned_info["weight_correlation"], ">=", 0.95),
        _check("recall overlap_mean", point["overlap_mean"], ">=", 0.95),
    ]
    print(f"Online STDP storage, N={n}, P={p} (alpha={p / n:.3g}), {ctx.backend}")
    print(
        format_table(
            ["weight corr.", "learn steps", "learn s", "overlap_mean", "overlap_min", "exact_fraction", "recall s"],
            [
                [
                    learned_info["weight_correlation"],
                    learned_info["learning_steps"],
                    round(learned_info["learning_run_s"], 2),
                    point["overlap_mean"],
                    point["overlap_min"],
                    point["exact_recall_fraction"],
                    round(point["run_s"], 2),
                ]
            ],
        )
    )
    _print_checks(checks)
    if settings.output.plots:
        _plot_weights(learned / protocol.unit, hebb_couplings(patterns, 0.0), ctx.out / "stdp_weights.png", ctx.backend)
    return {**{k: point[k] for k in SUMMARY_KEYS}, "learning": learned_info, "recall": point, "checks": checks}


def _plot_weights(learned: np.ndarray, hebb: np.ndarray, path: Path, backend: str) -> None:
    plt = ev.pyplot()
    keep = ~np.eye(len(hebb), dtype=bool)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.plot(hebb[keep][:20000], learned[keep][:20000], ".", ms=2, alpha=0.3)
    ax.set_xlabel(r"Hebb matrix $\sum_\mu \xi_i^\mu \xi_j^\mu$")
    ax.set_ylabel("STDP-learned weight / unit")
    ax.set_title(f"Weights learned by pair STDP ({backend})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
