"""A config parsed whole, before anything runs: ``[experiment]``, the backend's options, the kind's tables.

:func:`parse_run` applies the ``--set`` overrides (typed by the kind's
schema), then checks, in this order: the ``[experiment]`` keys the kind
accepts, every table's name (a kind with a settings type lists them all),
the backend and its ``numeric`` mode, every ``[backend_options.<backend>]``
table, and the kind's settings. Any problem is a
:class:`~spikemem.config.ConfigError` naming ``table.key``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spikemem.config import ConfigError, parse_section, require
from spikemem.experiments.backend_options import BACKEND_OPTIONS, options_type
from spikemem.experiments.backend_options import backend_options as parse_backend_options
from spikemem.experiments.config import ExperimentConfig, Schema, apply_overrides
from spikemem.experiments.registry import experiment_keys, kind_tables, parse_settings


@dataclass(frozen=True)
class ParsedRun:
    """A config parsed whole: the config after overrides (backend and seed filled in) and its parts."""

    config: dict[str, Any]
    experiment: ExperimentConfig
    backend: str
    seed: int
    backend_options: dict[str, Any]
    settings: Any


def run_schema(kind: str) -> tuple[Schema, bool]:
    """The tables a config of ``kind`` may hold, and whether that list is complete (the kind declares settings)."""
    tables = kind_tables(kind)
    schema: Schema = {
        "experiment": ExperimentConfig,
        "backend_options": {name: options_type(name) for name in BACKEND_OPTIONS},
        **(tables or {}),
    }
    return schema, tables is not None


def parse_run(config: dict[str, Any], overrides: list[str], backend: str | None, seed: int | None) -> ParsedRun:
    """Apply ``overrides`` and parse every table of ``config``; raise ConfigError naming the first bad key.

    ``backend`` and ``seed`` (the command line's, when given) replace the
    config's; the backend must run the config's ``numeric`` mode.
    """
    from spikemem.backends import get_backend

    kind = config["experiment"]["kind"]
    schema, complete = run_schema(kind)
    config = apply_overrides(config, overrides, schema, strict=complete)
    section = config["experiment"]
    if section.get("kind") != kind:
        raise ConfigError("--set experiment.kind", "the kind cannot be overridden; copy the config and edit it")
    allowed = {"kind", "seed", "backend", "numeric", *experiment_keys(kind)}
    for key in section:
        if key not in allowed:
            raise ConfigError(f"experiment.{key}", f"unknown key for kind {kind!r}; known keys: {sorted(allowed)}")
    experiment = parse_section(ExperimentConfig, section, "experiment")
    if complete:
        for table in config:
            if table not in schema:
                raise ConfigError(table, f"unknown table for kind {kind!r}; known tables: {sorted(schema)}")
    backend = backend or experiment.backend or "reference"
    seed = experiment.seed if seed is None else int(seed)
    require(seed >= 0, "--seed", f"must be an integer >= 0, got {seed}")
    try:
        capabilities = get_backend(backend).capabilities
    except KeyError as exc:
        raise ConfigError("--backend", str(exc.args[0])) from None
    if experiment.numeric not in capabilities.numeric:
        raise ConfigError(
            "experiment.numeric", f"backend {backend!r} runs {list(capabilities.numeric)}, not {experiment.numeric!r}"
        )
    options = parse_backend_options(config.get("backend_options"), backend)
    settings = parse_settings(kind, config)
    section["backend"], section["seed"] = backend, seed
    return ParsedRun(config, experiment, backend, seed, options, settings)


__all__ = ["ParsedRun", "parse_run", "run_schema"]
