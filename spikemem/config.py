"""The one typed config parser: TOML tables -> frozen dataclasses, checked before anything runs.

Every table of an experiment config (and every backend's options) maps onto a
dataclass whose type hints are the schema. :func:`parse_section` builds it:

- an unknown key is an error listing the known keys;
- a missing key without a default is an error naming ``table.key``;
- a value is checked against the field's type: ``int`` (not ``bool``),
  ``float`` (an integer is accepted and converted; it must be finite unless
  the field is declared with :func:`unbounded`), ``bool``, ``str``,
  ``Literal[...]``, ``tuple[X, ...]``/``list[X]`` (TOML arrays; tuples are
  converted), ``dict[str, X]``, ``X | None`` and a nested dataclass (a
  sub-table, named ``table.key``);
- finally the dataclass's own ``check(table)`` runs (ranges, relations
  between keys), raising through :func:`require`.

Errors are :class:`ConfigError` (a :class:`~spikemem.spec.SpecError`: one
line ``table.key: problem``) unless the caller asks for another
:class:`~spikemem.spec.SpecError` class (backend options at ``compile``).
This module imports neither numpy nor any simulator.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from spikemem.spec.errors import SpecError

C = TypeVar("C")


class ConfigError(SpecError):
    """An experiment config or override is invalid."""


def require(condition: bool, field: str, problem: str) -> None:
    """Raise :class:`ConfigError` ``(field, problem)`` unless ``condition``."""
    if not condition:
        raise ConfigError(field, problem)


def config_warning(field: str, problem: str) -> None:
    """Print one line ``spikemem: warning: FIELD: PROBLEM`` on stderr: a setting that runs but not as written."""
    print(f"spikemem: warning: {field}: {problem}", file=sys.stderr)


def unbounded(default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field whose float values may be infinite or NaN (e.g. a time constant of ``inf``)."""
    return dataclasses.field(default=default, metadata={"finite": False})


def _union_args(annotation: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return None


def _is_dataclass_type(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def _accepts(annotation: Any, value: Any, finite: bool = True) -> bool:
    """Whether ``value`` (as TOML gives it) has the type ``annotation``."""
    args = _union_args(annotation)
    if args is not None:
        return any(_accepts(arg, value, finite) for arg in args)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return any(value == a and type(value) is type(a) for a in typing.get_args(annotation))
    if origin in (tuple, list):
        item = (typing.get_args(annotation) or (Any,))[0]
        return isinstance(value, (list, tuple)) and all(_accepts(item, v, finite) for v in value)
    if origin is dict:
        key, item = typing.get_args(annotation) or (Any, Any)
        return isinstance(value, dict) and all(
            _accepts(key, k, finite) and _accepts(item, v, finite) for k, v in value.items()
        )
    if origin is Callable:
        return callable(value)
    if annotation is Any:
        return True
    if annotation is type(None):
        return value is None
    if annotation is float:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return number and (not finite or math.isfinite(value))
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if _is_dataclass_type(annotation):
        return isinstance(value, dict)
    return isinstance(value, annotation)


def _convert(annotation: Any, value: Any) -> Any:
    args = _union_args(annotation)
    if args is not None:
        chosen = next(arg for arg in args if _accepts(arg, value, finite=False))
        return _convert(chosen, value)
    origin = typing.get_origin(annotation)
    if origin is tuple:
        item = typing.get_args(annotation)[0]
        return tuple(_convert(item, v) for v in value)
    if origin is list:
        item = typing.get_args(annotation)[0]
        return [_convert(item, v) for v in value]
    if origin is dict:
        item = typing.get_args(annotation)[1]
        return {k: _convert(item, v) for k, v in value.items()}
    if annotation is float:
        return float(value)
    return value


def describe(annotation: Any) -> str:
    """The type ``annotation`` in words, for error messages."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    args = _union_args(annotation)
    if args is not None:
        return " or ".join(describe(a) for a in args)
    if origin in (tuple, list):
        return f"a list, each item {describe(typing.get_args(annotation)[0])}"
    if origin is dict:
        return f"a table, each value {describe(typing.get_args(annotation)[1])}"
    if annotation is type(None):
        return "nothing"
    words = {float: "a finite number", int: "an integer", str: "a string", bool: "true or false"}
    if annotation in words:
        return words[annotation]
    if _is_dataclass_type(annotation):
        return "a table"
    return getattr(annotation, "__name__", str(annotation))


def field_types(cls: type) -> dict[str, tuple[Any, bool]]:
    """``{key: (type hint, must be finite)}`` of the keys a config table of dataclass ``cls`` accepts."""
    hints = typing.get_type_hints(cls)
    return {f.name: (hints[f.name], bool(f.metadata.get("finite", True))) for f in dataclasses.fields(cls) if f.init}


def required_keys(cls: type) -> list[str]:
    """The keys of dataclass ``cls`` that have no default."""
    return [
        f.name
        for f in dataclasses.fields(cls)
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]


def _join(table: str, key: str) -> str:
    return f"{table}.{key}" if table else key


def check_value(annotation: Any, value: Any, field: str, finite: bool = True, error: type[SpecError] = ConfigError):
    """``value`` converted to the field's type, or ``error(field, ...)`` saying what is accepted."""
    options = [arg for arg in (_union_args(annotation) or ()) if arg is not type(None)]
    if len(options) == 1 and _is_dataclass_type(options[0]) and value is not None:
        annotation = options[0]  # an optional sub-table
    if _is_dataclass_type(annotation):
        if not isinstance(value, dict):
            raise error(field, f"must be a table ([{field}]), got {value!r}")
        return parse_section(annotation, value, field, error)
    if not _accepts(annotation, value, finite):
        problem = f"expects {describe(annotation)}, got {value!r}"
        if _accepts(annotation, value, finite=False):
            problem = f"must be finite, got {value!r}"
        raise error(field, problem)
    return _convert(annotation, value)


def parse_section(cls: type[C], section: dict[str, Any] | None, table: str, error: type[SpecError] = ConfigError) -> C:
    """Build dataclass ``cls`` from the config table ``table`` (checked, see the module docstring).

    Parameters
    ----------
    cls
        The table's dataclass; fields holding dataclasses are sub-tables.
    section
        The table as TOML gives it (``None``: absent, every key takes its default).
    table
        Dotted name of the table in errors (``""`` for the top level of a file).
    error
        Class of the error raised (a :class:`~spikemem.spec.SpecError`).
    """
    if section is not None and not isinstance(section, dict):
        raise error(table, f"must be a table, got {section!r}")
    section = dict(section or {})
    fields = field_types(cls)
    values = {}
    for key, value in section.items():
        if key not in fields:
            raise error(_join(table, key), f"unknown key; known keys: {sorted(fields)}")
        annotation, finite = fields[key]
        values[key] = check_value(annotation, value, _join(table, key), finite, error)
    missing = [key for key in required_keys(cls) if key not in values]
    if missing:
        raise error(_join(table, missing[0]), f"missing; required keys: {required_keys(cls)}")
    result = cls(**values)
    check = getattr(result, "check", None)
    if check is not None:
        try:
            check(table)
        except SpecError as exc:
            if type(exc) is error:
                raise
            raise error(exc.field, exc.problem) from None
    return result


__all__ = [
    "ConfigError",
    "check_value",
    "config_warning",
    "describe",
    "field_types",
    "parse_section",
    "require",
    "unbounded",
]
