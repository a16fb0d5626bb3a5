"""The ``continual`` experiment kind: one method on one task stream, on the snnTorch backend.

Config tables: ``[continual] method`` (a name of the registry
:data:`spikemem.continual.methods.METHODS`: finetune, hlop, ewc, gpm, replay,
multitask), ``[stream]``, ``[encoding]``, ``[model]``, ``[training]`` and the
method's own table (``[hlop]``, ``[ewc]``, ``[gpm]``, ``[replay]``; tables of
other methods are ignored, so one file can carry several). See
``experiments/README.md``.

Writes into the run directory: ``R.csv`` (the accuracy matrix),
``forgetting_curves.png``, ``accuracy_matrix.png``, per-task state files
(resume), ``trained_model.npz`` (the final weights and constants as numpy
data, :class:`~spikemem.continual.trained.TrainedMLP`: what ``spikemem
evaluate`` and ``spikemem deploy`` load) and, through the runner, ``result.json`` whose ``metrics`` hold
``R``, ``ACC``, ``BWT``, ``FWT``, ``forgetting``, the untrained model's
accuracies (``baseline``), timings and per-task diagnostics. The loop over tasks
is :func:`spikemem.continual.task_loop.run_task_loop`, with a :class:`GradientLearner`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from spikemem.continual.capacity import check_lateral_capacity
from spikemem.continual.config import ConfigError, parse_section, require
from spikemem.continual.encoding import Encoder, EncodingConfig
from spikemem.continual.methods import METHODS, Method, build_method
from spikemem.continual.methods.hlop import HLOPConfig
from spikemem.continual.model import ModelConfig, SpikingMLP
from spikemem.continual.streams import StreamConfig, TaskStream, build_stream
from spikemem.continual.task_loop import RunContext, run_task_loop
from spikemem.continual.trained import TrainedMLP, from_settings
from spikemem.continual.training import Trainer, TrainingConfig, generator_from, resolve_device
from spikemem.evaluation.continual import accuracy
from spikemem.io import read_checked, read_json_object
from spikemem.seeding import derived_rng

BACKENDS = ("snntorch",)
"""Backends that train the spiking MLP by gradient (surrogate BPTT)."""
STATE_PREFIX = "state"
"""Per-task state files of a run: ``state-<task>.pt`` (torch: the model's and the method's state)."""


@dataclass(frozen=True)
class ContinualConfig:
    """The ``[continual]`` table: the ``method`` to run, a name of the method registry.

    The accepted names are the keys of :data:`spikemem.continual.methods.METHODS`
    (registering a method there is all a config needs).
    """

    method: str = "hlop"

    def check(self, table: str) -> None:
        """Raise ConfigError for a method the registry does not know."""
        require(
            self.method in METHODS,
            f"{table}.method",
            f"unknown method {self.method!r}; choose one of {', '.join(repr(m) for m in METHODS)}",
        )


@dataclass(frozen=True)
class Settings:
    """Every table of a continual-learning config, parsed and checked."""

    continual: ContinualConfig
    stream: StreamConfig
    encoding: EncodingConfig
    model: ModelConfig
    training: TrainingConfig
    raw: dict[str, Any]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Settings:
        """Parse (and check) the tables; raises ConfigError naming the first bad key.

        An HLOP run's fixed lateral schedule (``growth = "count"``) is also checked against the layer widths
        (:func:`spikemem.continual.capacity.check_lateral_capacity`: a warning where
        it is capped, an error where no layer could learn the later tasks).
        """
        settings = cls(
            parse_section(ContinualConfig, config.get("continual"), "continual"),
            parse_section(StreamConfig, config.get("stream"), "stream"),
            parse_section(EncodingConfig, config.get("encoding"), "encoding"),
            parse_section(ModelConfig, config.get("model"), "model"),
            parse_section(TrainingConfig, config.get("training"), "training"),
            config,
        )
        if settings.continual.method == "hlop":
            hlop = parse_section(HLOPConfig, config.get("hlop"), "hlop")
            if hlop.growth == "count":  # energy growth is sized by the data, and capped at run time
                settings.check_hlop_capacity(hlop)
        return settings

    def check_hlop_capacity(self, hlop: HLOPConfig) -> None:
        """HLOP's lateral neurons against each protected layer's input width (the hidden layers, a shared head)."""
        hidden = list(self.model.hidden)
        widths = [self.stream.input_width, *hidden[:-1]] + ([hidden[-1]] if self.stream.shared_head else [])
        added = [hlop.added(task, len(widths)) for task in range(self.stream.tasks)]
        fields = [
            "hlop.initial" if width is not None and added[0][layer] > width else "hlop.increment"
            for layer, width in enumerate(widths)
        ]
        check_lateral_capacity(fields, widths, added)


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Flush denormal floats to zero inside the block (CPU), then restore IEEE behaviour.

    Surrogate gradients of silent neurons underflow into denormals, which make
    CPU training several times slower; the flag is process-wide (numpy too),
    hence the block.
    """
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


class GradientLearner:
    """The BPTT trainer and a method, as a :class:`~spikemem.continual.task_loop.Learner`.

    Training and evaluation run with denormals flushed (:func:`flush_denormals`);
    the state after a task is the model's and the method's ``state_dict``
    (``state-<task>.pt``).
    """

    state_prefix = STATE_PREFIX
    state_suffix = "pt"

    def __init__(self, trainer: Trainer, method: Method, stream: TaskStream, settings: Settings, backend: str) -> None:
        self.trainer = trainer
        self.method = method
        self.tasks = stream.tasks
        self.settings = settings
        self.backend = backend
        self.encoder = trainer.encoder

    def train_task(self, index: int, rng: np.random.Generator) -> dict[str, Any]:
        """One task of :meth:`Trainer.train_task <spikemem.continual.training.Trainer.train_task>`."""
        with flush_denormals():
            return self.trainer.train_task(self.method, index, self.tasks[index], generator_from(rng))

    def evaluate(self, rng: np.random.Generator) -> list[float]:
        """Accuracy on every task's test set (rate spikes drawn from ``rng``)."""
        generator = generator_from(rng)
        with flush_denormals():
            return [
                accuracy(self.trainer.predict(j, task, generator), task.y_test) for j, task in enumerate(self.tasks)
            ]

    def write_state(self, index: int, handle: IO[bytes]) -> None:
        """``{"task", "model", "method"}`` with ``torch.save``."""
        state = {"task": index, "model": self.trainer.model.state_dict(), "method": self.method.state_dict()}
        torch.save(state, handle)

    def read_state(self, path: Path) -> None:
        """Load a file of :meth:`write_state` into the model and the method."""
        device = next(self.trainer.model.parameters()).device
        state = torch.load(path, map_location=device, weights_only=True)
        self.trainer.model.load_state_dict(state["model"])
        self.method.load_state_dict(state["method"])

    def trained_model(self) -> TrainedMLP:
        """The current weights as numpy data (:func:`trained_model`)."""
        return trained_model(self.trainer.model, self.settings, self.encoder, self.backend)

    def close(self) -> None:
        """Drop snnTorch's global references to the model's neurons."""
        self.trainer.model.release()


def run(ctx: RunContext) -> dict[str, Any]:
    """Train the method on the stream, evaluating every task after every task (resumable)."""
    given = getattr(ctx, "settings", None)  # parsed (and its warnings printed) by the runner
    settings = given if isinstance(given, Settings) else Settings.from_config(ctx.config)
    require(
        ctx.backend in BACKENDS,
        "--backend",
        f"continual learning trains by surrogate-gradient BPTT; use --backend snntorch (got {ctx.backend!r}), "
        "then `spikemem evaluate RUN_DIR --backend NAME` or `spikemem deploy RUN_DIR` for the other backends",
    )
    if settings.training.threads:
        torch.set_num_threads(settings.training.threads)
    device = resolve_device(settings.training.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("training.device", "CUDA requested but torch.cuda.is_available() is False")

    try:
        stream = build_stream(settings.stream, ctx.rng("stream"))
    except ConfigError:
        raise  # already names its key (stream.path, stream.idx_*)
    except (OSError, ValueError) as exc:
        raise ConfigError("stream", str(exc)) from None
    encoder = Encoder.fit(settings.encoding, stream.tasks[0].x_train)
    model = SpikingMLP(
        stream.n_inputs, stream.head_sizes, settings.model, encoder.steps, generator_from(ctx.rng("init"))
    )
    trainer = Trainer(model, encoder, settings.training, device, progress=ctx.progress)
    method = build_method(settings.continual.method, trainer.model, stream, settings.raw)
    learner = GradientLearner(trainer, method, stream, settings, ctx.backend)
    info = {
        "method": settings.continual.method,
        "stream": stream.name,
        "tasks": len(stream.tasks),
        "device": str(device),
    }
    return run_task_loop(ctx, learner, len(stream.tasks), f"{settings.continual.method} / {stream.name}", info)


def trained_model(model: SpikingMLP, settings: Settings, encoder: Encoder, backend: str) -> TrainedMLP:
    """The trained :class:`~spikemem.continual.model.SpikingMLP` as backend-independent numpy data."""
    layers = [w.detach().cpu().double().numpy() for w in model.layers]
    heads = [h.detach().cpu().double().numpy() for h in model.heads]
    return from_settings(layers, heads, settings, encoder.mean, encoder.std, backend)


def trained_model_from_state(directory: Path) -> TrainedMLP:
    """The model of a run directory that predates ``trained_model.npz``: ``result.json`` and the last state file.

    Raises
    ------
    FileNotFoundError
        When the directory holds neither ``result.json`` nor a ``state-*.pt`` file.
    """
    states = sorted(directory.glob(f"{STATE_PREFIX}-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    if not states or not (directory / "result.json").exists():
        raise FileNotFoundError(
            f"{directory}: no trained_model.npz (nor result.json and {STATE_PREFIX}-*.pt); pass the --out "
            "directory of a finished `spikemem run` of a continual-learning config"
        )
    result = read_json_object(directory / "result.json", "spikemem result (JSON)")
    settings = Settings.from_config(result["config"])
    state = read_checked(
        states[-1], "checkpoint state", lambda path: torch.load(path, map_location="cpu", weights_only=True)["model"]
    )
    layers = [state[f"layers.{i}"].numpy() for i in range(len(settings.model.hidden))]
    heads = [state[k].numpy() for k in sorted((k for k in state if k.startswith("heads.")), key=_index)]
    stream = build_stream(settings.stream, derived_rng(int(result["seed"]), "stream"))
    encoder = Encoder.fit(settings.encoding, stream.tasks[0].x_train)
    return from_settings(layers, heads, settings, encoder.mean, encoder.std, str(result["backend"]))


def _index(key: str) -> int:
    return int(key.split(".")[1])


__all__ = [
    "BACKENDS",
    "ContinualConfig",
    "GradientLearner",
    "Settings",
    "run",
    "trained_model",
    "trained_model_from_state",
]
