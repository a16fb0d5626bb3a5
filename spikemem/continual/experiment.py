"""The ``continual`` experiment kind: one method on one task stream, on the snnTorch backend.

Config tables: ``[continual] method`` (finetune, hlop, ewc, gpm, replay,
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
accuracies (``baseline``), timings and per-task diagnostics.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from spikemem.continual.config import ConfigError, parse_section, require
from spikemem.continual.encoding import EncodingConfig
from spikemem.continual.model import ModelConfig
from spikemem.continual.report import print_summary, write_matrix_csv
from spikemem.continual.streams import StreamConfig
from spikemem.continual.trained import MODEL_FILE, TrainedMLP, from_settings
from spikemem.continual.training import TrainingConfig
from spikemem.experiments.runner import ExperimentContext

BACKENDS = ("snntorch",)
"""Backends that train the spiking MLP by gradient (surrogate BPTT)."""


@dataclass(frozen=True)
class ContinualConfig:
    """The ``[continual]`` table: the ``method`` to run (see :mod:`spikemem.continual.methods`)."""

    method: Literal["finetune", "hlop", "ewc", "gpm", "replay", "multitask"] = "hlop"


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
        """Parse (and check) the tables; raises ConfigError naming the first bad key."""
        return cls(
            parse_section(ContinualConfig, config.get("continual"), "continual"),
            parse_section(StreamConfig, config.get("stream"), "stream"),
            parse_section(EncodingConfig, config.get("encoding"), "encoding"),
            parse_section(ModelConfig, config.get("model"), "model"),
            parse_section(TrainingConfig, config.get("training"), "training"),
            config,
        )


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Flush denormal floats to zero inside the block (CPU), then restore IEEE behaviour.

    Surrogate gradients of silent neurons underflow into denormals, which make
    CPU training several times slower; the flag is process-wide (numpy too),
    hence the block.
    """
    import torch

    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def run(ctx: ExperimentContext) -> dict[str, Any]:
    """Train the method on the stream, evaluating every task after every task (resumable)."""
    settings = Settings.from_config(ctx.config)
    require(
        ctx.backend in BACKENDS,
        "--backend",
        f"continual learning trains by surrogate-gradient BPTT; use --backend snntorch (got {ctx.backend!r}), "
        "then `spikemem evaluate RUN_DIR --backend NAME` or `spikemem deploy RUN_DIR` for the other backends",
    )
    import torch

    from spikemem.continual.checkpoint import TaskCheckpoints
    from spikemem.continual.encoding import Encoder
    from spikemem.continual.methods import build_method
    from spikemem.continual.model import SpikingMLP
    from spikemem.continual.streams import build_stream
    from spikemem.continual.training import Trainer, generator_from, resolve_device
    from spikemem.evaluation.continual import accuracy, continual_metrics
    from spikemem.evaluation.continual_plots import CurveSet, save_run_plots

    if settings.training.threads:
        torch.set_num_threads(settings.training.threads)
    device = resolve_device(settings.training.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("training.device", "CUDA requested but torch.cuda.is_available() is False")

    try:
        stream = build_stream(settings.stream, ctx.rng("stream"))
    except (OSError, ValueError) as exc:
        raise ConfigError("stream", str(exc)) from None
    encoder = Encoder.fit(settings.encoding, stream.tasks[0].x_train)
    model = SpikingMLP(
        stream.n_inputs, stream.head_sizes, settings.model, encoder.steps, generator_from(ctx.rng("init"))
    )
    trainer = Trainer(model, encoder, settings.training, device, progress=ctx.progress)
    method = build_method(settings.continual.method, trainer.model, stream, settings.raw)
    tasks = stream.tasks
    labels = [task.y_test for task in tasks]

    def evaluate(stage: int) -> list[float]:
        generator = generator_from(ctx.rng("eval", stage + 1))
        return [accuracy(trainer.predict(j, task, generator), labels[j]) for j, task in enumerate(tasks)]

    store = TaskCheckpoints(ctx.out, ctx.checkpoint)
    with flush_denormals():
        if "baseline" not in ctx.checkpoint:
            ctx.checkpoint.put("baseline", evaluate(-1))
        start = store.restore(trainer.model, method)
        for index in ctx.progress(range(start, len(tasks)), "tasks", len(tasks) - start):
            stats = trainer.train_task(method, index, tasks[index], generator_from(ctx.rng("train", index)))
            store.save(index, trainer.model, method, {"accuracy": evaluate(index), **stats})
    model.release()
    trained_model(model, settings, encoder, ctx.backend).save(ctx.out / MODEL_FILE)
    baseline = ctx.checkpoint.get("baseline")

    records = store.records()
    matrix = np.array([r["accuracy"] for r in records])
    metrics = continual_metrics(matrix, baseline)
    label = f"{settings.continual.method} / {stream.name}"
    write_matrix_csv(ctx.out / "R.csv", matrix)
    save_run_plots(ctx.out, CurveSet(label, matrix))
    train_seconds = sum(r["train_seconds"] for r in records)
    print_summary(label, matrix, metrics)
    return {
        "R": matrix.tolist(),
        **metrics,
        "baseline": baseline,
        "method": settings.continual.method,
        "stream": stream.name,
        "tasks": len(tasks),
        "device": str(device),
        "train_seconds": train_seconds,
        "train_samples_per_s": sum(r["samples"] for r in records) / train_seconds if train_seconds else None,
        "per_task": [{k: v for k, v in r.items() if k != "accuracy"} for r in records],
    }


def trained_model(model: Any, settings: Settings, encoder: Any, backend: str) -> TrainedMLP:
    """The trained :class:`~spikemem.continual.model.SpikingMLP` as backend-independent numpy data."""
    layers = [w.detach().cpu().double().numpy() for w in model.layers]
    heads = [h.detach().cpu().double().numpy() for h in model.heads]
    return from_settings(layers, heads, settings, encoder.mean, encoder.std, backend)


__all__ = ["BACKENDS", "ContinualConfig", "Settings", "run"]
