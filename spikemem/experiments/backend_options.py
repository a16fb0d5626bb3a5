"""Backend options in a config: ``[backend_options.<backend>]`` tables, one per backend.

``BACKEND_OPTIONS`` maps each backend name to its options dataclass
(``"module:Class"``, imported on use; ``None``: the backend takes no options).
The modules named import no simulator at import time (a test checks it), so
a config is checked without starting one. Every table present is validated
against its backend's options type, whichever backend runs; the chosen
backend's table becomes the keyword options of ``get_backend``/``compile``.
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

from spikemem.config import ConfigError, parse_section

BACKEND_OPTIONS: dict[str, str | None] = {
    "reference": None,
    "brian2": "spikemem.backends.brian2_backend:Brian2Options",
    "snntorch": "spikemem.backends.snntorch_backend:SnnTorchOptions",
    "lava": "spikemem.backends.lava_backend:LavaOptions",
}


def register_backend_options(name: str, target: str | None) -> None:
    """Register the options dataclass of backend ``name`` as ``"package.module:Class"`` (or None: no options)."""
    BACKEND_OPTIONS[name] = target


def options_type(name: str) -> type | None:
    """The options dataclass of backend ``name`` (None: it takes no options)."""
    if name not in BACKEND_OPTIONS:
        raise ConfigError(f"backend_options.{name}", f"unknown backend; known backends: {sorted(BACKEND_OPTIONS)}")
    target = BACKEND_OPTIONS[name]
    if target is None:
        return None
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)


def parse_options(name: str, section: Any) -> dict[str, Any]:
    """The table ``[backend_options.<name>]`` checked against the backend's options type.

    Returns the keys given in the table, converted to their types (keys left
    out keep the backend's own defaults).
    """
    table = f"backend_options.{name}"
    cls = options_type(name)
    if not isinstance(section, dict):
        raise ConfigError(table, f"must be a table, got {section!r}")
    if cls is None:
        if section:
            raise ConfigError(f"{table}.{next(iter(section))}", f"unknown key: backend {name!r} takes no options")
        return {}
    normalise = getattr(cls, "normalise", None)
    parsed: Any = parse_section(cls, normalise(section) if normalise else section, table)
    return {f.name: getattr(parsed, f.name) for f in dataclasses.fields(parsed) if f.name in section}


def backend_options(tables: Any, chosen: str) -> dict[str, Any]:
    """Check every ``[backend_options.*]`` table; return the options of backend ``chosen`` (``{}`` if none)."""
    if tables is None:
        return {}
    if not isinstance(tables, dict):
        raise ConfigError("backend_options", f"must hold one table per backend, got {tables!r}")
    parsed = {name: parse_options(name, section) for name, section in tables.items()}
    return parsed.get(chosen, {})


__all__ = ["BACKEND_OPTIONS", "backend_options", "options_type", "parse_options", "register_backend_options"]
