"""Experiment kinds: ``[experiment] kind = "name"`` -> the function that runs it.

A kind is a function ``run(ctx: ExperimentContext) -> dict`` returning the
metrics; it may write plots into ``ctx.out`` and print tables. Entries are
``"module:function"`` strings, imported only when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from spikemem.experiments.config import ConfigError

KINDS: dict[str, str] = {
    "continual": "spikemem.continual.experiment:run",
    "continual_local": "spikemem.continual.local.experiment:run",
    "hopfield_recall": "spikemem.memory.experiments:hopfield_recall",
    "hopfield_capacity": "spikemem.memory.experiments:hopfield_capacity",
    "dense_memory": "spikemem.memory.experiments:dense_memory",
    "multitask": "spikemem.memory.experiments:multitask",
    "learn_from_examples": "spikemem.memory.experiments:learn_from_examples",
    "stdp_storage": "spikemem.memory.experiments:stdp_storage",
}


def register_kind(name: str, target: str) -> None:
    """Register an experiment kind as ``"package.module:function"``."""
    KINDS[name] = target


def get_kind(name: str) -> Callable[[Any], dict[str, Any]]:
    """The function running experiment kind ``name``."""
    if name not in KINDS:
        raise ConfigError("experiment.kind", f"unknown kind {name!r}; known kinds: {sorted(KINDS)}")
    module, function = KINDS[name].split(":")
    return getattr(importlib.import_module(module), function)
