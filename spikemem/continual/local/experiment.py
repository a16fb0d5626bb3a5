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

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import IO, Any

import numpy as np

from spikemem.backend import Capabilities
from spikemem.backends import get_backend
from spikemem.continual.capacity import check_lateral_capacity
from spikemem.continual.config import ConfigError, parse_section, require
from spikemem.continual.encoding import EncodingConfig, encoding_constants
from spikemem.continual.evaluate import encoded_test_set
from spikemem.continual.local.config import LocalConfig, NetworkConfig
from spikemem.continual.local.learner import LocalLearner, Progress
from spikemem.continual.local.network import automatic_gap
from spikemem.continual.streams import StreamConfig, Task, TaskStream, build_stream
from spikemem.continual.task_loop import RunContext, run_task_loop
from spikemem.continual.trained import DT, TrainedMLP
from spikemem.seeding import derived_rng


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
        """Parse (and check) the tables; raises ConfigError naming the first bad key.

        HLOP's ``lateral_per_task`` is also checked against the hidden width (the
        readout's inputs: :func:`spikemem.continual.capacity.check_lateral_capacity`).
        """
        settings = cls(
            parse_section(LocalConfig, config.get("local"), "local"),
            parse_section(NetworkConfig, config.get("network"), "network"),
            parse_section(StreamConfig, config.get("stream"), "stream"),
            parse_section(EncodingConfig, config.get("encoding"), "encoding"),
            config,
        )
        if settings.local.method == "hlop":
            local, widths = settings.local, settings.network.widths
            fields = ["local.lateral_per_task"]
            per_task = [local.lateral_per_task]
            if len(widths) > 1:  # the learned layer's input first, then the readout's
                fields.insert(0, "local.input_lateral_per_task")
                per_task.insert(0, local.input_lateral_per_task)
            check_lateral_capacity(fields, widths, [per_task] * settings.stream.tasks)
        return settings


def initial_model(settings: LocalSettings, stream: TaskStream, rng: np.random.Generator, backend: str) -> TrainedMLP:
    r"""The untrained model: hidden weights :math:`\mathcal N(0, s^2/n_{in})` (each layer), a zero readout."""
    net, enc = settings.network, settings.encoding
    layers = [rng.normal(0.0, net.weight_scale / np.sqrt(stream.n_inputs), (net.hidden, stream.n_inputs))]
    if net.learned_hidden:
        layers.append(rng.normal(0.0, net.learned_scale / np.sqrt(net.hidden), (net.learned_hidden, net.hidden)))
    mean, std = encoding_constants(enc.kind, enc.standardize, stream.tasks[0].x_train)
    readout = np.zeros((stream.head_sizes[0], net.widths[-1]))
    return TrainedMLP(layers, [readout], net.neuron(DT), enc.steps, enc.kind, enc.gain, mean, std, backend)


def feedback_matrix(settings: LocalSettings, classes: int, rng: np.random.Generator) -> np.ndarray | None:
    r"""The learned layer's fixed random feedback :math:`F \sim \mathcal N(0, 1)`, ``(classes, n_learned)``, or None."""
    learned = settings.network.learned_hidden
    return rng.normal(0.0, 1.0, (classes, learned)) if learned else None


@dataclass(frozen=True)
class PreparedLearner:
    """A stream, its untrained model and the :class:`~.learner.LocalLearner` that trains it: :func:`prepare_learner`."""

    stream: TaskStream
    model: TrainedMLP
    learner: LocalLearner
    seed: int

    def learn(self, tasks: int, samples: int | None = None) -> tuple[float, int]:
        """Learn the first ``tasks`` tasks (each on its first ``samples`` training samples, all when None), as a run
        does: task ``i`` encodes and orders its minibatches from ``derived_rng(seed, "train", i)``.

        Returns
        -------
        (seconds, count): the learner's training seconds summed over the tasks, and the samples learned.
        """
        seconds, count = 0.0, 0
        for index in range(tasks):
            task, rng = self.stream.tasks[index], derived_rng(self.seed, "train", index)
            x, y = task.x_train[:samples], task.y_train[:samples]
            seconds += self.learner.train_task(x, y, partial(self.model.encode, rng=rng), rng).train_seconds
            count += len(x)
        return seconds, count

    def close(self) -> None:
        """Release the learner's simulator."""
        self.learner.close()


def prepare_learner(settings: LocalSettings, backend: str, options: dict[str, Any], seed: int) -> PreparedLearner:
    r"""Build what a ``continual_local`` run learns with, every random draw from ``seed``.

    The stream from ``derived_rng(seed, "stream")``, the untrained model (:func:`initial_model`) from
    ``derived_rng(seed, "init")``, the learned layer's feedback (:func:`feedback_matrix`) from
    ``derived_rng(seed, "feedback")``, the sample gap ``local.gap`` (or
    :func:`~.network.automatic_gap` of :math:`\beta`) and the learner on ``backend`` with ``options``
    (``numeric = "fixed"`` rounds stochastically: its ``seed`` defaults to ``seed``). The experiment and the
    benchmarks that time local learning share this, so they learn the same thing. Raises ConfigError
    (``stream``, ``stream.kind``) for a stream that cannot be built or has more than one readout.
    """
    try:
        stream = build_stream(settings.stream, derived_rng(seed, "stream"))
    except (OSError, ValueError) as exc:
        raise ConfigError("stream", str(exc)) from None
    require(
        stream.shared_head,
        "stream.kind",
        "local learning trains one readout shared by all tasks; use kind = 'permuted'",
    )
    model = initial_model(settings, stream, derived_rng(seed, "init"), backend)
    gap = settings.local.gap or automatic_gap(settings.network.beta)
    options = dict(options)
    if options.get("numeric") == "fixed":
        options.setdefault("seed", seed)
    feedback = feedback_matrix(settings, stream.head_sizes[0], derived_rng(seed, "feedback"))
    learner = LocalLearner(model, settings.local, backend, gap, options, feedback=feedback)
    return PreparedLearner(stream, model, learner, seed)


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
        "experiment.numeric" if numeric == "fixed" and missing else "--backend",
        f"local {method} needs {', '.join(missing)}, which {name} does not run inside its simulator{mode} "
        f"({capabilities.notes or 'see `spikemem backends`'}); "
        + (
            "use numeric = 'float'"
            if numeric == "fixed"
            else "use reference, brian2, lava or snntorch"
            + (", or method = 'finetune' (ErrorModulated without a basis)" if method != "finetune" else "")
        ),
    )


class LocalTasks:
    """A :class:`~.learner.LocalLearner` on a task stream, as a :class:`~spikemem.continual.task_loop.Learner`.

    Test inputs are encoded once per task (:func:`~spikemem.continual.evaluate.encoded_test_set`,
    as ``spikemem evaluate`` encodes them); training inputs of task ``i`` are
    encoded from the task's generator, which also orders its minibatches. The
    state after a task (``local-state-<task>.npz``) is the learner's
    :meth:`~.learner.LocalLearner.state`.
    """

    state_prefix = "local-state"
    state_suffix = "npz"
    trains_in_simulator = True
    """Training runs in the simulator and counts its own operations (``per_task[i].cost``)."""

    def __init__(
        self, learner: LocalLearner, tasks: Sequence[Task], seed: int, progress: Progress | None = None
    ) -> None:
        self.learner = learner
        self.tasks = tasks
        self.progress = progress
        self.tests = [encoded_test_set(learner.model, task, j, seed) for j, task in enumerate(tasks)]

    def train_task(self, index: int, rng: np.random.Generator) -> dict[str, Any]:
        """Learn task ``index`` (:meth:`LocalLearner.train_task <.learner.LocalLearner.train_task>`)."""
        task, model = self.tasks[index], self.learner.model

        def encode(pixels: np.ndarray) -> np.ndarray:
            return model.encode(pixels, rng)

        return asdict(self.learner.train_task(task.x_train, task.y_train, encode, rng, self.progress))

    def evaluate(self, rng: np.random.Generator) -> list[float]:
        """Accuracy on every task's (pre-encoded) test set; ``rng`` is not needed."""
        return [self.learner.accuracy(self.tests[j], task.y_test) for j, task in enumerate(self.tasks)]

    def write_state(self, index: int, handle: IO[bytes]) -> None:
        """The learner's state arrays with ``np.savez``."""
        np.savez(handle, **self.learner.state())

    def read_state(self, path: Path) -> None:
        """Restore the learner from a file of :meth:`write_state`."""
        with np.load(path) as data:
            self.learner.restore({key: data[key] for key in data.files})

    def trained_model(self) -> TrainedMLP:
        """The model with the learned readout."""
        return self.learner.model

    def close(self) -> None:
        """Release the learner's simulator."""
        self.learner.close()


def run(ctx: RunContext) -> dict[str, Any]:
    """Learn the stream task by task with local rules on ``ctx.backend``, evaluating every task after each."""
    given = getattr(ctx, "settings", None)  # parsed (and its warnings printed) by the runner
    settings = given if isinstance(given, LocalSettings) else LocalSettings.from_config(ctx.config)
    backend = get_backend(ctx.backend)
    numeric = ctx.numeric
    check_backend(backend.capabilities, settings.local.method, ctx.backend, numeric)
    prepared = prepare_learner(settings, ctx.backend, {**ctx.backend_options, "numeric": numeric}, ctx.seed)
    stream, gap = prepared.stream, prepared.learner.windows.gap
    learner = LocalTasks(prepared.learner, stream.tasks, ctx.seed, ctx.progress)
    info = {
        "method": f"local-{settings.local.method}",
        "stream": stream.name,
        "tasks": len(stream.tasks),
        "gap_steps": gap,
    }
    label = f"local {settings.local.method} / {stream.name} / {ctx.backend}"
    return run_task_loop(ctx, learner, len(stream.tasks), label, info)


__all__ = [
    "LocalSettings",
    "LocalTasks",
    "PreparedLearner",
    "check_backend",
    "feedback_matrix",
    "initial_model",
    "prepare_learner",
    "run",
]
