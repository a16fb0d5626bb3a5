"""Experiment kinds: ``[experiment] kind = "name"`` -> the function that runs it and its settings type.

A kind is a function ``run(ctx: ExperimentContext) -> dict`` returning the
metrics; it may write plots into ``ctx.out`` and print tables. Its settings
type is a dataclass whose fields are the config's tables (each a dataclass
parsed by :func:`spikemem.config.parse_section`), built by its
``from_config(config)`` classmethod when it has one; the runner parses it
before anything runs and hands it over as ``ctx.settings``. Entries are
``"module:attribute"`` strings, imported only when used.
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from collections.abc import Callable
from typing import Any

from spikemem.config import ConfigError, parse_section
from spikemem.experiments.config import parse_tables

KINDS: dict[str, tuple[str, str | None]] = {
    "continual": ("spikemem.continual.experiment:run", "spikemem.continual.experiment:Settings"),
    "continual_local": ("spikemem.continual.local.experiment:run", "spikemem.continual.local.experiment:LocalSettings"),
    "hopfield_recall": (
        "spikemem.experiments.memory_kinds:hopfield_recall",
        "spikemem.memory.settings:HopfieldRecallSettings",
    ),
    "hopfield_capacity": (
        "spikemem.experiments.memory_kinds:hopfield_capacity",
        "spikemem.memory.settings:HopfieldCapacitySettings",
    ),
    "dense_memory": ("spikemem.experiments.memory_kinds:dense_memory", "spikemem.memory.settings:DenseMemorySettings"),
    "multitask": ("spikemem.experiments.memory_kinds:multitask", "spikemem.memory.settings:MultitaskSettings"),
    "learn_from_examples": (
        "spikemem.experiments.memory_kinds:learn_from_examples",
        "spikemem.memory.settings:ExamplesSettings",
    ),
    "stdp_storage": ("spikemem.experiments.memory_kinds:stdp_storage", "spikemem.memory.settings:STDPStorageSettings"),
    "modern_hopfield": (
        "spikemem.experiments.modern_hopfield:modern_hopfield",
        "spikemem.memory.settings:ModernHopfieldSettings",
    ),
}
"""Kind name -> (``"module:function"`` running it, ``"module:Class"`` of its settings, or None: tables unchecked)."""


def _method_tables() -> dict[str, type]:
    from spikemem.continual.methods import METHODS

    return {name: table for name, (_, table) in METHODS.items() if table is not None}


EXTRA_TABLES: dict[str, Callable[[], dict[str, type]]] = {"continual": _method_tables}
"""Tables a kind accepts beyond its settings' fields (``continual``: the table of every registered method)."""


def register_kind(name: str, target: str, settings: str | None = None) -> None:
    """Register an experiment kind as ``"package.module:function"`` with its settings ``"package.module:Class"``.

    A kind without a settings type gets its tables unchecked (only
    ``[experiment]`` and ``[backend_options.*]`` are).
    """
    KINDS[name] = (target, settings)


def _resolve(target: str) -> Any:
    module, attribute = target.split(":")
    return getattr(importlib.import_module(module), attribute)


def _entry(name: str) -> tuple[str, str | None]:
    if name not in KINDS:
        raise ConfigError("experiment.kind", f"unknown kind {name!r}; known kinds: {sorted(KINDS)}")
    return KINDS[name]


def get_kind(name: str) -> Callable[[Any], dict[str, Any]]:
    """The function running experiment kind ``name``."""
    return _resolve(_entry(name)[0])


def settings_type(name: str) -> type | None:
    """The settings dataclass of kind ``name`` (None: it declares none)."""
    target = _entry(name)[1]
    return None if target is None else _resolve(target)


def _is_table(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def kind_tables(name: str) -> dict[str, type] | None:
    """Table name -> dataclass of every table kind ``name`` accepts (None: undeclared, unchecked)."""
    cls = settings_type(name)
    if cls is None:
        return None
    hints = typing.get_type_hints(cls)
    tables = {f.name: hints[f.name] for f in dataclasses.fields(cls) if _is_table(hints[f.name])}
    extra = EXTRA_TABLES.get(name)
    return {**tables, **(extra() if extra else {})}


def experiment_keys(name: str) -> tuple[str, ...]:
    """Keys of ``[experiment]`` beyond kind, seed, backend and numeric that kind ``name`` reads (``batching``)."""
    cls = settings_type(name)
    return tuple(getattr(cls, "EXPERIMENT_KEYS", ()))


def parse_settings(name: str, config: dict[str, Any]) -> Any:
    """The settings of kind ``name`` parsed from ``config`` (and each extra table checked); None if undeclared."""
    cls = settings_type(name)
    if cls is None:
        return None
    from_config = getattr(cls, "from_config", None)
    settings = from_config(config) if from_config is not None else parse_tables(cls, config)
    extra = EXTRA_TABLES.get(name)
    if extra is not None:
        for table, table_type in extra().items():
            if table in config:
                parse_section(table_type, config[table], table)
    return settings


__all__ = [
    "EXTRA_TABLES",
    "KINDS",
    "experiment_keys",
    "get_kind",
    "kind_tables",
    "parse_settings",
    "register_kind",
    "settings_type",
]
