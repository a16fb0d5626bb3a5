"""Running one experiment into a result directory, resumably and atomically.

``DIR/result.json`` holds the config after overrides, the backend, the seed,
package versions, the wall time and the metrics. ``DIR/checkpoint.json``
holds finished units of work (sweep points, tasks); running again with the
same ``--out`` (same config, backend and seed) skips them. Every file is
written atomically (temporary file + rename).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np

from spikemem.experiments.config import ConfigError, load_config
from spikemem.experiments.parsing import parse_run
from spikemem.experiments.registry import get_kind
from spikemem.experiments.rundir import claimed
from spikemem.io import write_json
from spikemem.seeding import derived_rng

T = TypeVar("T")

SIMULATOR_PACKAGES = ("numpy", "brian2", "torch", "snntorch", "lava-nc", "scipy", "matplotlib")


def package_versions() -> dict[str, str]:
    """Versions of spikemem, Python and the simulators installed."""
    versions = {"python": platform.python_version()}
    for name in ("spikemem", *SIMULATOR_PACKAGES):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@dataclass
class Checkpoint:
    """Finished units of work of a run, persisted after each one.

    The identity (config, backend, seed) is stored with the units; a directory
    holding a different run is refused rather than silently mixed.
    """

    path: Path
    identity: dict[str, Any]
    units: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path, identity: dict[str, Any]) -> Checkpoint:
        identity = json.loads(json.dumps(identity))  # normalise as JSON would store it
        if not path.exists():
            return cls(path, identity)
        stored = json.loads(path.read_text())
        if stored.get("identity") != identity:
            raise ConfigError(
                f"--out {path.parent}",
                "holds a run with another config, backend or seed; choose another --out or delete it",
            )
        return cls(path, identity, stored.get("units", {}))

    def __contains__(self, key: str) -> bool:
        return key in self.units

    def get(self, key: str) -> Any:
        return self.units[key]

    def put(self, key: str, value: Any) -> None:
        """Record a finished unit (JSON data) and write the checkpoint atomically."""
        self.units[key] = json.loads(json.dumps(value, default=_plain))
        write_json(self.path, {"identity": self.identity, "units": self.units})


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")


@dataclass
class ExperimentContext:
    """What an experiment kind gets: config, backend, seed, output directory, parsed settings and helpers.

    Every random choice must come from :meth:`rng` (derived from the one seed).

    Attributes
    ----------
    settings
        The kind's settings (its tables, parsed and checked before the run
        started; None for a kind registered without a settings type).
    numeric
        ``[experiment] numeric``: ``"float"`` or ``"fixed"``.
    backend_options
        ``[backend_options.<backend>]`` of the backend that runs: keyword
        options of ``get_backend``/``compile`` (only the keys the config gives).
    batching
        ``[experiment] batching`` (memory kinds).
    """

    config: dict[str, Any]
    backend: str
    seed: int
    out: Path
    checkpoint: Checkpoint
    show_progress: bool = True
    settings: Any = None
    numeric: str = "float"
    backend_options: dict[str, Any] = field(default_factory=dict)
    batching: Literal["auto", "batched", "multiplexed"] = "auto"

    def rng(self, *stream: int | str) -> np.random.Generator:
        """An independent generator for a named stream, derived from the run's seed."""
        return derived_rng(self.seed, *stream)

    def progress(self, iterable: Iterable[T], desc: str, total: int | None = None) -> Iterator[T]:
        """A tqdm progress bar: off when disabled, and when stderr is not a terminal (logs stay free of bars)."""
        from tqdm.auto import tqdm

        yield from tqdm(iterable, desc=desc, total=total, disable=None if self.show_progress else True, leave=False)


def run_experiment(
    config_path: str | Path,
    backend: str | None = None,
    seed: int | None = None,
    overrides: list[str] | None = None,
    out: str | Path | None = None,
    show_progress: bool = True,
    force: bool = False,
) -> Path:
    """Run a config; return the path of the ``result.json`` written.

    The config (after the overrides) is parsed whole before the output
    directory is created or anything runs (:func:`parse_run`). The output
    directory is then claimed for this process alone
    (:func:`spikemem.experiments.rundir.claimed`: one writer, no user folder
    written over). A directory holding the same run resumes it (said on
    stderr); one whose run already finished is left as it is and its
    ``result.json`` returned.

    Parameters
    ----------
    config_path
        TOML file with ``[experiment] kind``.
    backend
        Backend name (default: the config's ``experiment.backend`` or "reference").
    seed
        Seed of every random choice (default: the config's ``experiment.seed`` or 0).
    overrides
        ``key.path=value`` strings.
    out
        Result directory (default ``results/<config stem>-<backend>-seed<seed>``).
    force
        Write into ``out`` even if it is a non-empty folder that is not a spikemem run directory.
    """
    run = parse_run(load_config(config_path), list(overrides or []), backend, seed)
    kind = get_kind(run.experiment.kind)
    out = Path(out or Path("results") / f"{Path(config_path).stem}-{run.backend}-seed{run.seed}")
    with claimed(out, force):
        return _run_claimed(run, kind, out, show_progress)


def _run_claimed(run: Any, kind: Any, out: Path, show_progress: bool) -> Path:
    """The body of :func:`run_experiment` once ``out`` is held by this process."""
    config, backend, seed = run.config, run.backend, run.seed
    identity = {"config": config, "backend": backend, "seed": seed}
    checkpoint = Checkpoint.open(out / "checkpoint.json", identity)
    finished = out / "result.json"
    if checkpoint.units and finished.exists():
        print(f"spikemem run: {out} already holds this finished run; nothing to do", file=sys.stderr)
        return finished
    if checkpoint.units:
        print(f"spikemem run: resuming {out} ({len(checkpoint.units)} finished unit(s) kept)", file=sys.stderr)
    ctx = ExperimentContext(
        config,
        backend,
        seed,
        out,
        checkpoint,
        show_progress,
        run.settings,
        run.experiment.numeric,
        run.backend_options,
        run.experiment.batching,
    )
    start = time.perf_counter()
    metrics = kind(ctx)
    result = {
        "experiment": run.experiment.kind,
        "config": config,
        "backend": backend,
        "seed": seed,
        "versions": package_versions(),
        "wall_time_s": time.perf_counter() - start,
        "metrics": metrics,
    }
    return write_json(out / "result.json", result)
