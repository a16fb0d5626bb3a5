"""The ``continual_local`` experiment kind: continual learning with local rules on any backend that runs them.

Config tables: ``[local]`` (:class:`~.config.LocalConfig`: method and rules),
``[network]`` (:class:`~.config.NetworkConfig`: the fixed hidden layer),
``[stream]`` (a permuted stream: one readout shared by every task) and
``[encoding]``. See ``experiments/README.md``.

The run writes what a ``continual`` run writes: ``R.csv``, the plots, per-task
state (``local-state-i.npz``, resume after the last finished task),
``trained_model.npz`` (so ``spikemem evaluate`` and ``spikemem deploy`` take
a run of any backend) and, through the runner, ``result.json`` with ``R``,
``ACC``, ``BWT``, ``FWT``, ``forgetting``, the untrained accuracies and timings.
Test inputs are encoded exactly as ``spikemem evaluate`` encodes them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikemem.backend import Capabilities
from spikemem.continual.config import ConfigError, parse_section, require
from spikemem.continual.encoding import EncodingConfig
from spikemem.continual.local.config import LocalConfig, NetworkConfig
from spikemem.continual.streams import StreamConfig, TaskStream
from spikemem.continual.task_records import TaskRecords
from spikemem.continual.trained import DT, MODEL_FILE, TrainedMLP, encoding_constants
from spikemem.experiments.runner import Checkpoint, ExperimentContext


@dataclass(frozen=True)
class LocalSettings:
    """Every table of a ``continual_local`` config, parsed and checked."""

    local: LocalConfig
    network: NetworkConfig
    stream: StreamConfig
    encoding: EncodingConfig
    raw: dict[str, Any]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LocalSettings:
        """Parse (and check) the tables; raises ConfigError naming the first bad key."""
        return cls(
            parse_section(LocalConfig, config.get("local"), "local"),
            parse_section(NetworkConfig, config.get("network"), "network"),
            parse_section(StreamConfig, config.get("stream"), "stream"),
            parse_section(EncodingConfig, config.get("encoding"), "encoding"),
            config,
        )


def initial_model(settings: LocalSettings, stream: TaskStream, rng: np.random.Generator, backend: str) -> TrainedMLP:
    r"""The untrained model: hidden weights :math:`\mathcal N(0, s^2/n_{in})`, a zero readout."""
    net, enc = settings.network, settings.encoding
    hidden = rng.normal(0.0, net.weight_scale / np.sqrt(stream.n_inputs), (net.hidden, stream.n_inputs))
    mean, std = encoding_constants(enc.kind, enc.standardize, stream.tasks[0].x_train)
    readout = np.zeros((stream.head_sizes[0], net.hidden))
    return TrainedMLP([hidden], [readout], net.neuron(DT), enc.steps, enc.kind, enc.gain, mean, std, backend)


HLOP_RULES = ("ErrorModulated", "OjaSubspace")
HLOP_OPTIONS = ("ErrorModulated.basis", "OjaSubspace.basis", "OjaSubspace.activity=graded")


def check_backend(capabilities: Capabilities, method: str, name: str, numeric: str = "float") -> None:
    """Refuse, before anything runs, a backend that lacks a rule (or rule option) the method needs."""
    rules = ("ErrorModulated",) if method == "finetune" else HLOP_RULES
    options = () if method == "finetune" else HLOP_OPTIONS
    available = capabilities.fixed_point_rules if numeric == "fixed" else capabilities.rules
    missing = [rule for rule in rules if rule not in available]
    missing += [option for option in options if option in capabilities.refused_options]
    mode = " in fixed point" if numeric == "fixed" else ""
    require(
        not missing,
        "experiment.backend_options.numeric" if numeric == "fixed" and missing else "--backend",
        f"local {method} needs {', '.join(missing)}, which {name} does not run inside its simulator{mode} "
        f"({capabilities.notes or 'see `spikemem backends`'}); "
        + (
            "use numeric = 'float'"
            if numeric == "fixed"
            else "use reference, brian2, lava or snntorch"
            + (", or method = 'finetune' (ErrorModulated without a basis)" if method != "finetune" else "")
        ),
    )


class LocalCheckpoints(TaskRecords):
    """The readout and the consolidated basis after each task, in ``local-state-i.npz``."""

    def __init__(self, directory: Path, checkpoint: Checkpoint) -> None:
        super().__init__(directory, checkpoint, "local-state", "npz")

    def save(self, index: int, state: dict[str, np.ndarray], record: dict[str, Any]) -> None:
        """Persist the state after task ``index`` and its record (in that order)."""
        self.save_state(index, lambda handle: np.savez(handle, **state), record)

    def restore(self) -> dict[str, np.ndarray] | None:
        """The state after the last finished task, or None."""
        path = self.last_state()
        if path is None:
            return None
        with np.load(path) as data:
            return {key: data[key] for key in data.files}


def run(ctx: ExperimentContext) -> dict[str, Any]:
    """Learn the stream task by task with local rules on ``ctx.backend``, evaluating every task after each."""
    from spikemem.backends import get_backend
    from spikemem.continual.evaluate import encoded_test_set
    from spikemem.continual.local.learner import LocalLearner
    from spikemem.continual.local.network import automatic_gap
    from spikemem.continual.report import print_summary, write_matrix_csv
    from spikemem.continual.streams import build_stream
    from spikemem.evaluation.continual import continual_metrics
    from spikemem.evaluation.continual_plots import CurveSet, save_run_plots

    settings = LocalSettings.from_config(ctx.config)
    backend = get_backend(ctx.backend)
    numeric = str(ctx.backend_options.get("numeric", "float"))
    check_backend(backend.capabilities, settings.local.method, ctx.backend, numeric)
    try:
        stream = build_stream(settings.stream, ctx.rng("stream"))
    except (OSError, ValueError) as exc:
        raise ConfigError("stream", str(exc)) from None
    require(
        stream.shared_head,
        "stream.kind",
        "local learning trains one readout shared by all tasks; use kind = 'permuted'",
    )
    model = initial_model(settings, stream, ctx.rng("init"), ctx.backend)
    gap = settings.local.gap or automatic_gap(settings.network.beta)
    tasks = stream.tasks
    tests = [encoded_test_set(model, task, j, ctx.seed) for j, task in enumerate(tasks)]

    options = dict(ctx.backend_options)
    if numeric == "fixed":  # fixed point rounds stochastically: seeded from the run's seed
        options.setdefault("seed", ctx.seed)
    learner = LocalLearner(model, settings.local, ctx.backend, gap, options)
    try:

        def evaluate() -> list[float]:
            return [learner.accuracy(tests[j], task.y_test) for j, task in enumerate(tasks)]

        store = LocalCheckpoints(ctx.out, ctx.checkpoint)
        if "baseline" not in ctx.checkpoint:
            ctx.checkpoint.put("baseline", evaluate())
        state = store.restore()
        if state is not None:
            learner.restore(state)
        start = store.finished()
        for index in ctx.progress(range(start, len(tasks)), "tasks", len(tasks) - start):
            task, rng = tasks[index], ctx.rng("train", index)

            def encode(pixels: np.ndarray, rng: np.random.Generator = rng) -> np.ndarray:
                return model.encode(pixels, rng)

            stats = learner.train_task(task.x_train, task.y_train, encode, rng, ctx.progress)
            store.save(index, learner.state(), {"accuracy": evaluate(), **asdict(stats)})
    finally:
        learner.close()
    model.save(ctx.out / MODEL_FILE)
    baseline = ctx.checkpoint.get("baseline")
    records = store.records()
    matrix = np.array([r["accuracy"] for r in records])
    metrics = continual_metrics(matrix, baseline)
    label = f"local {settings.local.method} / {stream.name} / {ctx.backend}"
    write_matrix_csv(ctx.out / "R.csv", matrix)
    save_run_plots(ctx.out, CurveSet(label, matrix))
    print_summary(label, matrix, metrics)
    train_seconds = sum(r["train_seconds"] for r in records)
    return {
        "R": matrix.tolist(),
        **metrics,
        "baseline": baseline,
        "method": f"local-{settings.local.method}",
        "stream": stream.name,
        "tasks": len(tasks),
        "gap_steps": gap,
        "train_seconds": train_seconds,
        "train_samples_per_s": sum(r["samples"] for r in records) / train_seconds if train_seconds else None,
        "per_task": [{k: v for k, v in r.items() if k != "accuracy"} for r in records],
    }


__all__ = ["LocalCheckpoints", "LocalSettings", "check_backend", "initial_model", "run"]
