"""Sweep files: base configs x grid axes x backends x seeds, expanded into run points.

A sweep file (TOML)::

    [sweep]
    name = "pdigits"                 # optional; the default --out is results/sweeps/<name>
    seeds = [0, 1, 2]
    backends = ["reference", "brian2",
                {name = "lava", label = "lava-fixed", config = {experiment = {numeric = "fixed"}}}]
    set = ["stream.tasks=3"]         # optional: overrides applied to every point

    [[sweep.configs]]                # base configs, paths relative to the sweep file
    path = "../local_pdigits_hlop.toml"
    name = "hlop"                    # optional (default: the file's stem)
    set = []                         # optional overrides of this config only

    [[sweep.axes]]                   # optional grid axes; their values expand as a product
    key = "local.lr"
    values = [0.1, 0.5]
    name = "lr"                      # optional short name used in run ids (default: the key)

``configs`` may also be a list of paths. A backend is a name or a table with ``name`` and the
optional ``label`` (default: the name), ``set`` (overrides for this backend, e.g.
``'experiment.numeric="fixed"'``), ``config`` (a table merged into the config, for keys the base
file lacks, such as ``backend_options.lava``), and the Ray resources of its runs: ``cpus``
(default 1), ``gpus`` (default 0), ``resources`` (custom resources, e.g. ``{lava = 1}`` to bound
concurrent Lava runs). ``max_retries`` (in ``[sweep]``, default 2): how often a run whose worker
process died is started again. ``[sweep.ray] transfer``: ``"return"`` or ``"shared"`` (see
:mod:`spikemem.sweep.executors`).

Points expand in the order configs x axes (first axis slowest) x backends x seeds, so the runs
of one configuration are next to each other. Each point's id (its directory name under
``DIR/runs/``) is readable: ``<config>[-<axis><value>...]-<backend label>-seed<seed>``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spikemem.experiments.config import read_toml
from spikemem.spec import SpecError
from spikemem.sweep.tomlw import toml_value


class SweepError(SpecError):
    """A sweep file is invalid (the message names the key)."""


@dataclass(frozen=True)
class Backend:
    """One backend entry of a sweep: simulator name, label, its own overrides and run resources."""

    name: str
    label: str
    overrides: tuple[str, ...] = ()
    config: dict[str, Any] = field(default_factory=dict)
    cpus: float = 1.0
    gpus: float = 0.0
    resources: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Point:
    """One run of a sweep: ``run_experiment(config, backend, seed, overrides)`` into ``runs/<id>``.

    ``patch`` is a table merged into the config before the overrides (from a backend's ``config``).
    ``axes`` maps each axis name to this point's value; ``group`` names the configuration point
    (config and axes) that seeds are averaged over.
    """

    id: str
    config: str
    config_name: str
    group: str
    axes: dict[str, Any]
    overrides: tuple[str, ...]
    backend: str
    backend_label: str
    seed: int
    patch: dict[str, Any] = field(default_factory=dict)
    cpus: float = 1.0
    gpus: float = 0.0
    resources: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON data (``point.json`` of the run directory)."""
        data = asdict(self)
        data["overrides"] = list(self.overrides)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Point:
        """The inverse of :meth:`as_dict`."""
        return cls(**{**data, "overrides": tuple(data["overrides"])})

    def fingerprint(self) -> str:
        """Hash of what determines the run's result (not its resources): a changed point is not 'done'."""
        data = self.as_dict()
        for key in ("cpus", "gpus", "resources"):
            data.pop(key)
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class Sweep:
    """A parsed sweep file: its points and settings."""

    path: Path
    name: str
    points: list[Point]
    transfer: str = "return"
    max_retries: int = 2


def _slug(value: Any) -> str:
    text = value if isinstance(value, str) else toml_value(value)
    return re.sub(r"[^A-Za-z0-9.+_-]+", "_", text).strip("_") or "x"


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SweepError(where, f"must be a list of 'key.path=value' strings, got {value!r}")
    bad = [v for v in value if "=" not in v]
    if bad:
        raise SweepError(where, f"expected key.path=value, got {bad[0]!r}")
    return tuple(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SweepError(where, f"must be a number >= 0, got {value!r}")
    return float(value)


def _backend(entry: Any, where: str) -> Backend:
    if isinstance(entry, str):
        return Backend(entry, entry)
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise SweepError(where, f"must be a backend name or a table with name = '...', got {entry!r}")
    known = {"name", "label", "set", "config", "cpus", "gpus", "resources"}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise SweepError(f"{where}.{unknown[0]}", f"unknown key; known: {sorted(known)}")
    config = entry.get("config", {})
    resources = entry.get("resources", {})
    if not isinstance(config, dict):
        raise SweepError(f"{where}.config", f"must be a table, got {config!r}")
    if not isinstance(resources, dict):
        raise SweepError(f"{where}.resources", f"must be a table, got {resources!r}")
    return Backend(
        entry["name"],
        str(entry.get("label", entry["name"])),
        _strings(entry.get("set", []), f"{where}.set"),
        config,
        _number(entry.get("cpus", 1), f"{where}.cpus"),
        _number(entry.get("gpus", 0), f"{where}.gpus"),
        {str(k): _number(v, f"{where}.resources.{k}") for k, v in resources.items()},
    )


def _configs(section: dict[str, Any], base: Path) -> list[tuple[str, Path, tuple[str, ...]]]:
    entries = section.get("configs")
    if not isinstance(entries, list) or not entries:
        raise SweepError("sweep.configs", "missing or empty; list the base config files")
    configs = []
    for i, entry in enumerate(entries):
        where = f"sweep.configs[{i}]"
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise SweepError(where, f"must be a path or a table with path = '...', got {entry!r}")
        path = (base / entry["path"]).resolve()
        if not path.is_file():
            raise SweepError(f"{where}.path", f"no such config file: {path}")
        name = str(entry.get("name", path.stem))
        configs.append((name, path, _strings(entry.get("set", []), f"{where}.set")))
    names = [c[0] for c in configs]
    if len(set(names)) != len(names):
        raise SweepError("sweep.configs", f"names must differ (give each a name = '...'): {names}")
    return configs


def _axes(section: dict[str, Any]) -> list[tuple[str, str, list[Any]]]:
    axes = []
    for i, entry in enumerate(section.get("axes", [])):
        where = f"sweep.axes[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise SweepError(where, "must be a table with key = 'table.key' and values = [...]")
        values = entry.get("values")
        if not isinstance(values, list) or not values:
            raise SweepError(f"{where}.values", f"must be a non-empty list, got {values!r}")
        axes.append((str(entry.get("name", entry["key"])), entry["key"], values))
    return axes


def load_sweep(path: str | Path) -> Sweep:
    """Parse and expand a sweep file (every error a :class:`SweepError` naming the key)."""
    path = Path(path)
    data = read_toml(path, "sweep", SweepError)
    section = data.get("sweep")
    if not isinstance(section, dict):
        raise SweepError(f"{path}: sweep", "missing; the file needs a [sweep] table")
    seeds = section.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise SweepError("sweep.seeds", f"must be a non-empty list of integers >= 0, got {seeds!r}")
    entries = section.get("backends", ["reference"])
    if not isinstance(entries, list) or not entries:
        raise SweepError("sweep.backends", f"must be a non-empty list, got {entries!r}")
    backends = [_backend(e, f"sweep.backends[{i}]") for i, e in enumerate(entries)]
    labels = [b.label for b in backends]
    if len(set(labels)) != len(labels):
        raise SweepError("sweep.backends", f"labels must differ (give each a label = '...'): {labels}")
    common = _strings(section.get("set", []), "sweep.set")
    axes = _axes(section)
    points = []
    for (name, config, own), values in itertools.product(_configs(section, path.parent), _grid(axes)):
        axis_values = {axis[0]: v for axis, v in zip(axes, values, strict=True)}
        group = "-".join([_slug(name), *(f"{_slug(a)}{_slug(v)}" for a, v in axis_values.items())])
        grid = tuple(f"{axis[1]}={toml_value(v)}" for axis, v in zip(axes, values, strict=True))
        for backend, seed in itertools.product(backends, seeds):
            points.append(
                Point(
                    id=f"{group}-{_slug(backend.label)}-seed{seed}",
                    config=str(config),
                    config_name=name,
                    group=group,
                    axes=axis_values,
                    overrides=(*common, *own, *grid, *backend.overrides),
                    backend=backend.name,
                    backend_label=backend.label,
                    seed=int(seed),
                    patch=backend.config,
                    cpus=backend.cpus,
                    gpus=backend.gpus,
                    resources=backend.resources,
                )
            )
    ids = [p.id for p in points]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise SweepError("sweep", f"two points get the id {duplicate!r}; give configs, axes or backends other names")
    ray = section.get("ray", {})
    transfer = ray.get("transfer", "return")
    if transfer not in ("return", "shared"):
        raise SweepError("sweep.ray.transfer", f"must be 'return' or 'shared', got {transfer!r}")
    retries = section.get("max_retries", 2)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise SweepError("sweep.max_retries", f"must be an integer >= 0, got {retries!r}")
    return Sweep(path, str(section.get("name", path.stem)), points, transfer, retries)


def _grid(axes: list[tuple[str, str, list[Any]]]) -> list[tuple[Any, ...]]:
    return list(itertools.product(*(axis[2] for axis in axes)))


__all__ = ["Backend", "Point", "Sweep", "SweepError", "load_sweep"]
