"""Experiment configs: TOML files and ``--set key.path=value`` overrides.

An override must name a key that exists in the config and give a value of
the same type (an integer is accepted for a float); anything else is a
:class:`ConfigError` naming the key and what is accepted, raised before any
simulator starts. Values are parsed as TOML literals: ``--set model.n=500``,
``--set recall.mode="async"`` (or the bare word ``async``),
``--set sweep.loads=[0.05,0.1]``, ``--set plot=false``.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

from spikemem.spec import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10
    import tomli as tomllib


class ConfigError(SpecError):
    """An experiment config or override is invalid."""


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a TOML config; it must have ``[experiment] kind``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(str(path), "no such config file")
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML ({exc})") from None
    kind = config.get("experiment", {}).get("kind")
    if not isinstance(kind, str):
        raise ConfigError(f"{path}: experiment.kind", 'missing; add [experiment] with kind = "<name>"')
    return config


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word is a string


def _same_type(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    if isinstance(old, float):
        return isinstance(new, (int, float))
    if isinstance(old, list):
        return isinstance(new, list)
    return type(old) is type(new)


def apply_overrides(config: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of ``config`` with each ``key.path=value`` applied (checked, see module docstring)."""
    result = copy.deepcopy(config)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item}", "expected key.path=value")
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        node: Any = result
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(f"--set {key}", f"the config has no table {where!r}")
            node = node[part]
        last = parts[-1]
        if last not in node:
            raise ConfigError(f"--set {key}", f"the config has no key {key!r}; known here: {sorted(node)}")
        value = _parse_value(text.strip())
        old = node[last]
        if isinstance(old, dict):
            raise ConfigError(f"--set {key}", "names a table; set one of its keys instead")
        if not _same_type(old, value):
            raise ConfigError(
                f"--set {key}", f"expects a {type(old).__name__} like {old!r}, got {value!r} ({type(value).__name__})"
            )
        node[last] = float(value) if isinstance(old, float) else value
    return result
