"""Config tables of a continual-learning run, parsed into frozen dataclasses.

Every table of an experiment config maps onto one dataclass of this package
(``[stream]`` -> :class:`~spikemem.continual.streams.StreamConfig`, ``[hlop]``
-> :class:`~spikemem.continual.methods.hlop.HLOPConfig`, ...). Keys missing
from the file take the dataclass defaults; an unknown key or a value of the
wrong type is a :class:`~spikemem.experiments.ConfigError` naming
``table.key`` and what is accepted, raised before any training starts.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

from spikemem.experiments.config import ConfigError

C = TypeVar("C")


def _accepts(annotation: Any, value: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_accepts(arg, value) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if origin in (tuple, list):
        (item, *_) = typing.get_args(annotation) or (Any,)
        return isinstance(value, (list, tuple)) and all(_accepts(item, v) for v in value)
    if annotation is Any:
        return True
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


def _convert(annotation: Any, value: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is tuple:
        (item, *_) = typing.get_args(annotation)
        return tuple(_convert(item, v) for v in value)
    if annotation is float:
        return float(value)
    return value


def parse_section(cls: type[C], section: dict[str, Any] | None, table: str) -> C:
    """Build dataclass ``cls`` from the config table ``table`` (checked, see the module docstring)."""
    section = dict(section or {})
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    values = {}
    for key, value in section.items():
        if key not in fields:
            raise ConfigError(f"{table}.{key}", f"unknown key; known keys: {sorted(fields)}")
        if not _accepts(hints[key], value):
            raise ConfigError(f"{table}.{key}", f"expects {_describe(hints[key])}, got {value!r}")
        values[key] = _convert(hints[key], value)
    try:
        result = cls(**values)
    except TypeError as exc:  # a required key is missing
        raise ConfigError(table, str(exc)) from None
    check = getattr(result, "check", None)
    if check is not None:
        check(table)
    return result


def _describe(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(annotation))
    if origin in (tuple, list):
        return f"a list of {_describe(typing.get_args(annotation)[0])}"
    return getattr(annotation, "__name__", str(annotation))


def require(condition: bool, field: str, problem: str) -> None:
    """Raise :class:`ConfigError` ``(field, problem)`` unless ``condition``."""
    if not condition:
        raise ConfigError(field, problem)


__all__ = ["ConfigError", "parse_section", "require"]
