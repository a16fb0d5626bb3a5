"""Experiment configs: TOML files, the ``[experiment]`` table and ``--set key.path=value`` overrides.

The tables every kind shares: ``[experiment]`` (:class:`ExperimentConfig`:
``kind``, ``seed``, ``backend``, ``numeric`` and, for the memory kinds,
``batching``) and ``[backend_options.<backend>]`` (one table per backend,
:mod:`spikemem.experiments.backend_options`). The kind's own tables come
from its settings type (:mod:`spikemem.experiments.registry`).

An override names a key of the config's schema (``table.key``, also keys the
file leaves out) and gives a value of that key's type; anything else is a
:class:`ConfigError` naming the key and what is accepted, raised before any
simulator starts. Values are parsed as TOML literals: ``--set model.n=500``,
``--set recall.mode="async"`` (or the bare word ``async``),
``--set sweep.loads=[0.05,0.1]``, ``--set plot=false``,
``--set backend_options.lava.timeout_s=60``.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from spikemem.config import ConfigError, check_value, field_types, parse_section, require
from spikemem.spec import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10
    import tomli as tomllib

NUMERIC_MODES = ("float", "fixed")


@dataclass(frozen=True)
class ExperimentConfig:
    """The ``[experiment]`` table.

    Attributes
    ----------
    kind
        The experiment kind (:data:`spikemem.experiments.registry.KINDS`).
    seed
        Seed of every random choice (an integer >= 0; ``--seed`` overrides it).
    backend
        Backend name (``--backend`` overrides it; default ``"reference"``).
    numeric
        ``"float"`` or ``"fixed"`` (Loihi integers, on the backends that run them).
    batching
        Memory kinds only: ``"auto"`` (batched where the backend batches
        natively), ``"batched"`` or ``"multiplexed"``.
    """

    kind: str
    seed: int = 0
    backend: str | None = None
    numeric: Literal["float", "fixed"] = "float"
    batching: Literal["auto", "batched", "multiplexed"] = "auto"

    def check(self, table: str) -> None:
        """Raise ConfigError for a negative seed or an unknown backend."""
        from spikemem.backends import backend_names

        require(self.seed >= 0, f"{table}.seed", f"must be an integer >= 0, got {self.seed}")
        require(
            self.backend is None or self.backend in backend_names(),
            f"{table}.backend",
            f"unknown backend {self.backend!r}; choose one of {backend_names()}",
        )


def read_toml(path: str | Path, what: str = "config", error: type[SpecError] = ConfigError) -> dict[str, Any]:
    """The tables of a TOML file; ``error(path, ...)`` in one line for a missing file, a folder, text that is not
    UTF-8, a file that cannot be read, or invalid TOML."""
    path = Path(path)
    if path.is_dir():
        raise error(str(path), f"is a directory; give a TOML {what} file")
    if not path.is_file():
        raise error(str(path), f"no such {what} file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise error(str(path), f"is not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise error(str(path), f"is not UTF-8 text (byte {exc.start}); save the {what} as UTF-8") from None
    except OSError as exc:
        raise error(str(path), f"cannot be read ({exc.strerror or exc})") from None


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a TOML config (:func:`read_toml`); it must have ``[experiment] kind``."""
    config = read_toml(path)
    experiment = config.get("experiment", {})
    kind = experiment.get("kind") if isinstance(experiment, dict) else None
    if not isinstance(kind, str):
        raise ConfigError(f"{path}: experiment.kind", 'missing; add [experiment] with kind = "<name>"')
    return config


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word is a string


Schema = dict[str, Any]
"""Top-level table name -> its dataclass, a nested :data:`Schema` (``backend_options``) or None (no keys)."""


def _schema_key(schema: Schema, parts: list[str], key: str) -> tuple[Any, bool]:
    """The type (and finiteness) of the key at ``parts`` in ``schema``; ConfigError if the schema lacks it."""
    where = f"--set {key}"
    node: Any = schema
    for depth, part in enumerate(parts):
        here = ".".join(parts[:depth])
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if part not in node:
                scope = f"table [{here}]" if here else "the config"
                raise ConfigError(where, f"{scope} has no table {part!r}; known tables: {sorted(node)}")
            node = node[part]
            if last:
                raise ConfigError(where, "names a table; set one of its keys instead")
            continue
        if node is None:
            raise ConfigError(where, f"table [{here}] takes no keys")
        if typing.get_origin(node) is dict and last:  # a key of a free-form table (e.g. weight_ranges)
            return typing.get_args(node)[1], True
        if not (isinstance(node, type) and dataclasses.is_dataclass(node)):
            raise ConfigError(where, f"{here} is not a table")
        fields = field_types(node)
        if part not in fields:
            raise ConfigError(where, f"no key {part!r} in table [{here}]; known keys: {sorted(fields)}")
        node, finite = fields[part]
        options = [arg for arg in typing.get_args(node) if arg is not type(None)]
        if not last and typing.get_origin(node) in (typing.Union, types.UnionType) and len(options) == 1:
            node = options[0]  # an optional sub-table
        if last:
            if isinstance(node, type) and dataclasses.is_dataclass(node):
                raise ConfigError(where, "names a table; set one of its keys instead")
            return node, finite
    raise ConfigError(where, "expected key.path=value")  # pragma: no cover - parts is never empty


def _same_type(old: Any, new: Any) -> bool:
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    if isinstance(old, float):
        return isinstance(new, (int, float))
    if isinstance(old, list):
        return isinstance(new, list)
    return type(old) is type(new)


def _untyped_value(node: dict[str, Any], parts: list[str], key: str, value: Any) -> Any:
    """Without a schema: the key must exist in the config and keep its value's type."""
    last = parts[-1]
    if last not in node:
        raise ConfigError(f"--set {key}", f"the config has no key {key!r}; known here: {sorted(node)}")
    old = node[last]
    if isinstance(old, dict):
        raise ConfigError(f"--set {key}", "names a table; set one of its keys instead")
    if not _same_type(old, value):
        raise ConfigError(
            f"--set {key}", f"expects a {type(old).__name__} like {old!r}, got {value!r} ({type(value).__name__})"
        )
    return float(value) if isinstance(old, float) else value


def apply_overrides(
    config: dict[str, Any], overrides: list[str], schema: Schema | None = None, strict: bool = False
) -> dict[str, Any]:
    """A copy of ``config`` with each ``key.path=value`` applied (checked, see the module docstring).

    Parameters
    ----------
    config
        The config as read from its file.
    overrides
        ``key.path=value`` strings.
    schema
        What the config may hold. A key under a top-level table of the schema
        is typed by it (and may be absent from the file); any other key must
        exist in the config and keep its value's type.
    strict
        The schema lists every table: a key under any other table is an error.
    """
    result = copy.deepcopy(config)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item}", "expected key.path=value")
        key, text = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        value = _parse_value(text.strip())
        typed = schema is not None and (strict or parts[0] in schema)
        if typed and schema is not None:  # (typed implies a schema; restated for mypy's narrowing)
            annotation, finite = _schema_key(schema, parts, key)
            value = check_value(annotation, value, f"--set {key}", finite)
        node: Any = result
        for depth, part in enumerate(parts[:-1]):
            if typed and isinstance(node, dict):
                node.setdefault(part, {})
            if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
                where = ".".join(parts[: depth + 1])
                raise ConfigError(f"--set {key}", f"the config has no table {where!r}")
            node = node[part]
        if not typed:
            value = _untyped_value(node, parts, key, value)
        node[parts[-1]] = list(value) if isinstance(value, tuple) else value
    return result


def parse_tables(cls: type, config: dict[str, Any]) -> Any:
    """Settings dataclass ``cls`` whose fields are tables, parsed from ``config`` (other tables ignored)."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    return parse_section(cls, {name: table for name, table in config.items() if name in names}, "")


__all__ = [
    "NUMERIC_MODES",
    "ConfigError",
    "ExperimentConfig",
    "Schema",
    "apply_overrides",
    "load_config",
    "parse_section",
    "parse_tables",
    "require",
]
