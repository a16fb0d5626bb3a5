"""Cross-backend evaluation of a trained run: the same test sets, the same spec network, any backend.

:func:`load_run` reads a ``spikemem run`` directory of a continual-learning
config (the trained model and, rebuilt from the stored config and seed, the
exact task stream it was trained on). :func:`evaluate_model` classifies every
task's test set on one backend through
:class:`~spikemem.continual.inference.InferenceSession`, and
:func:`agreement` quantifies how far two backends' spike counts and
predictions differ on the same inputs. ``spikemem evaluate`` and ``spikemem
deploy`` are built from these.

Rate-encoded inputs are drawn once per task from the run's seed
(:func:`encoded_test_set`), so every backend sees the same spikes.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikemem.continual.config import parse_section
from spikemem.continual.inference import Inference, InferenceSession, Progress
from spikemem.continual.streams import StreamConfig, Task, build_stream
from spikemem.continual.trained import MODEL_FILE, TrainedMLP
from spikemem.cost import OperationCounts, cost_section, join_trials
from spikemem.evaluation.continual import accuracy
from spikemem.fixed_point import FixedPointModel
from spikemem.io import read_checked, read_json_object
from spikemem.seeding import derived_rng


@dataclass
class TrainedRun:
    """A finished continual-learning run: its model, task stream and ``result.json``."""

    directory: Path
    model: TrainedMLP
    tasks: list[Task]
    result: dict[str, Any]
    max_test: int = 0

    @property
    def seed(self) -> int:
        """The run's seed."""
        return int(self.result["seed"])

    @property
    def trained_accuracy(self) -> list[float] | None:
        """Accuracy on every task after the last task, as the training backend reported it (``R[-1]``)."""
        matrix = self.result.get("metrics", {}).get("R")
        return [float(v) for v in matrix[-1]] if matrix else None


def load_run(run_dir: str | Path, max_test: int = 0) -> TrainedRun:
    """Read a run directory; ``max_test`` > 0 keeps the first samples of each test set.

    Raises
    ------
    FileNotFoundError
        When ``run_dir`` holds no finished continual-learning run.
    """
    directory = Path(run_dir)
    if not directory.is_dir():
        raise FileNotFoundError(
            f"{directory}: no such directory; pass the --out directory of a finished `spikemem run`"
            if not directory.exists()
            else f"{directory}: is a file; pass the --out directory of a finished `spikemem run`"
        )
    result_path = directory / "result.json"
    if not result_path.exists():
        raise FileNotFoundError(f"{directory}: no result.json; pass the --out directory of a finished `spikemem run`")
    result = read_json_object(result_path, "spikemem result (JSON)")
    config = result.get("config", {})
    experiment = config.get("experiment", {}) if isinstance(config, dict) else {}
    if not isinstance(experiment, dict) or experiment.get("kind") not in ("continual", "continual_local"):
        raise FileNotFoundError(f"{directory}: result.json is not from a continual-learning config (experiment.kind)")
    model = trained_model_of_run(directory)
    stream = build_stream(
        parse_section(StreamConfig, config.get("stream"), "stream"), derived_rng(int(result["seed"]), "stream")
    )
    tasks = list(stream.tasks)
    if max_test > 0:
        tasks = [_first(task, max_test) for task in tasks]
    return TrainedRun(directory, model, tasks, result, max_test)


_REBUILD = "delete it and result.json, then run the same `spikemem run` again: it rebuilds both from the checkpoint"


def trained_model_of_run(run_dir: str | Path) -> TrainedMLP:
    """The trained model of a ``spikemem run`` directory of a continual-learning config.

    ``trained_model.npz`` when the run wrote one; a BPTT run directory that
    predates the file is rebuilt from ``result.json`` and its last torch state
    (:func:`spikemem.continual.experiment.trained_model_from_state`, which needs torch).

    Raises
    ------
    FileNotFoundError
        When the directory holds no finished continual-learning run.
    """
    directory = Path(run_dir)
    path = directory / MODEL_FILE
    if path.exists():
        return read_checked(path, "trained model", TrainedMLP.load, _REBUILD)
    from spikemem.continual.experiment import trained_model_from_state  # torch: only for such old directories

    return trained_model_from_state(directory)


def _first(task: Task, count: int) -> Task:
    from dataclasses import replace

    return replace(task, x_test=task.x_test[:count], y_test=task.y_test[:count])


def encoded_test_set(model: TrainedMLP, task: Task, index: int, seed: int) -> np.ndarray:
    """Encoded test inputs of task ``index`` (rate spikes drawn from the run's seed, the same for every backend)."""
    return model.encode(task.x_test, derived_rng(seed, "evaluate", index))


@dataclass
class BackendEvaluation:
    """One backend's results on every task.

    Attributes
    ----------
    backend, numeric
        Where it ran.
    accuracy
        Accuracy per task.
    outputs
        The :class:`~spikemem.continual.inference.Inference` of each task (logits, spike counts).
    seconds
        Wall time of the runs (compile excluded).
    samples
        Number of samples classified.
    fixed_point
        The quantization the backend ran (``Simulation.fixed_point``; None in float).
    """

    backend: str
    numeric: str
    accuracy: list[float]
    outputs: list[Inference]
    seconds: float
    samples: int
    fixed_point: FixedPointModel | None = None
    cost: OperationCounts | None = None
    """The operations of every classification (:class:`spikemem.cost.OperationCounts`), None when not counted."""

    @property
    def samples_per_s(self) -> float:
        """Inference throughput."""
        return self.samples / self.seconds if self.seconds > 0 else float("nan")

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (no per-sample arrays)."""
        return {
            "backend": self.backend,
            "numeric": self.numeric,
            "accuracy": self.accuracy,
            "mean_accuracy": float(np.mean(self.accuracy)),
            "seconds": self.seconds,
            "samples_per_s": self.samples_per_s,
            **({} if self.cost is None else {"cost": cost_section(self.cost, unit="test inference")}),
        }


def evaluate_model(
    model: TrainedMLP,
    tasks: list[Task],
    seed: int,
    backend: str,
    numeric: str = "float",
    options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> BackendEvaluation:
    """Classify every task's test set on ``backend`` (one compiled network for all tasks)."""
    accuracies, outputs, seconds, samples = [], [], 0.0, 0
    with InferenceSession(model, backend, numeric, options) as session:
        fixed_point = session.simulation.fixed_point
        for index, task in enumerate(tasks):
            encoded = encoded_test_set(model, task, index, seed)
            start = time.perf_counter()
            result = session.run(encoded, progress)
            seconds += time.perf_counter() - start
            samples += len(task.y_test)
            outputs.append(result)
            accuracies.append(accuracy(result.predictions(model.head_sizes, task.head), task.y_test))
    costs = [o.cost for o in outputs if o.cost is not None]
    cost = functools.reduce(join_trials, costs) if costs and len(costs) == len(outputs) else None
    return BackendEvaluation(backend, numeric, accuracies, outputs, seconds, samples, fixed_point, cost)


def agreement(model: TrainedMLP, tasks: list[Task], a: BackendEvaluation, b: BackendEvaluation) -> dict[str, Any]:
    """How closely ``b`` reproduces ``a`` on the same inputs.

    Returns
    -------
    dict
        ``count_equal_fraction`` (per hidden layer: fraction of (sample,
        neuron) spike counts that are equal), ``count_max_abs_diff`` (per
        layer), ``samples_identical_fraction`` (samples whose counts agree in
        every layer), ``prediction_agreement`` (fraction of equal predicted
        labels) and ``logit_max_abs_diff``.
    """
    layers = len(model.layers)
    equal = np.zeros(layers)
    total = np.zeros(layers)
    max_diff = np.zeros(layers, dtype=np.int64)
    identical = same_label = samples = 0
    logit_diff = 0.0
    for task, x, y in zip(tasks, a.outputs, b.outputs, strict=True):
        same_sample = np.ones(len(task.y_test), dtype=bool)
        for layer in range(layers):
            diff = np.abs(x.counts[layer].astype(np.int64) - y.counts[layer].astype(np.int64))
            equal[layer] += float((diff == 0).sum())
            total[layer] += diff.size
            max_diff[layer] = max(int(max_diff[layer]), int(diff.max(initial=0)))
            same_sample &= (diff == 0).all(axis=1)
        identical += int(same_sample.sum())
        same_label += int(
            (x.predictions(model.head_sizes, task.head) == y.predictions(model.head_sizes, task.head)).sum()
        )
        samples += len(task.y_test)
        logit_diff = max(logit_diff, float(np.abs(x.logits - y.logits).max(initial=0.0)))
    return {
        "count_equal_fraction": (equal / np.maximum(total, 1)).tolist(),
        "count_max_abs_diff": max_diff.tolist(),
        "samples_identical_fraction": identical / max(samples, 1),
        "prediction_agreement": same_label / max(samples, 1),
        "logit_max_abs_diff": logit_diff,
    }


__all__ = [
    "BackendEvaluation",
    "TrainedRun",
    "agreement",
    "encoded_test_set",
    "evaluate_model",
    "load_run",
    "trained_model_of_run",
]


def evaluate_run(
    run_dir: str | Path,
    backend: str,
    numeric: str = "float",
    against: str | None = "source",
    options: dict[str, Any] | None = None,
    max_test: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Evaluate a trained run on ``backend`` and, unless ``against`` is None, compare it with another backend.

    ``against="source"`` compares with the backend that trained the run (run through the same spec network).
    """
    run = load_run(run_dir, max_test)
    target = evaluate_model(run.model, run.tasks, run.seed, backend, numeric, options, progress=progress)
    report: dict[str, Any] = {
        "run": str(Path(run_dir)),
        "source_backend": run.model.source_backend,
        "tasks": [task.name for task in run.tasks],
        "test_samples": [len(task.y_test) for task in run.tasks],
        "trained_accuracy": run.trained_accuracy,
        "max_test": max_test,
        "evaluation": target.summary(),
    }
    if against is not None:
        name = run.model.source_backend if against == "source" else against
        reference = evaluate_model(run.model, run.tasks, run.seed, name, progress=progress)
        report["against"] = reference.summary()
        report["agreement"] = agreement(run.model, run.tasks, reference, target)
    return report


def print_evaluation(report: dict[str, Any]) -> None:
    """Accuracy per task (trained, evaluated, compared) and the agreement figures."""
    from spikemem.tables import format_table

    runs = [report["evaluation"], *([report["against"]] if "against" in report else [])]
    trained = report["trained_accuracy"] or [float("nan")] * len(report["tasks"])
    header = [
        "task",
        f"trained ({report['source_backend']}){_subset_mark(report)}",
        *(f"{r['backend']} {r['numeric']}" for r in runs),
    ]
    rows = [
        [name, f"{trained[j]:.4f}", *(f"{r['accuracy'][j]:.4f}" for r in runs)]
        for j, name in enumerate(report["tasks"])
    ]
    print(format_table(header, rows))
    print_subset_note(report)
    if "agreement" in report:
        agree = report["agreement"]
        print(
            f"vs {report['against']['backend']}: same label {agree['prediction_agreement']:.4f}, equal spike counts "
            + " / ".join(f"{v:.4f}" for v in agree["count_equal_fraction"])
            + f" per layer, identical samples {agree['samples_identical_fraction']:.4f}, "
            f"max |logit diff| {agree['logit_max_abs_diff']:.3g}"
        )


def _subset_mark(report: dict[str, Any]) -> str:
    return "*" if report.get("max_test") else ""


def print_subset_note(report: dict[str, Any]) -> None:
    """Explain the ``trained`` column when only the first test samples were evaluated."""
    if report.get("max_test"):
        print(f"* over the whole test set; the other columns use the first {report['max_test']} samples of each task")


__all__ += ["evaluate_run", "print_evaluation", "print_subset_note"]
