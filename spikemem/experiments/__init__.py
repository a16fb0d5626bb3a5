"""Experiment runner: TOML configs -> a run directory with ``result.json``, tables and plots.

``spikemem run CONFIG --backend NAME [--seed N] [--set key.path=value ...] [--out DIR]``
loads the config, applies the overrides (typed by the kind's schema), parses
every table (:mod:`spikemem.experiments.parsing`: ``[experiment]``, the
``[backend_options.<backend>]`` tables, the kind's settings) before anything
runs, runs the experiment kind named in ``[experiment] kind`` and writes
``DIR/result.json`` atomically. Experiment kinds register in
:mod:`spikemem.experiments.registry`; they receive an
:class:`~spikemem.experiments.runner.ExperimentContext` (config, parsed
settings, backend and its options, numeric mode, seed-derived random
generators, progress bars, a resumable checkpoint).
"""

from spikemem.experiments.config import ConfigError, ExperimentConfig, apply_overrides, load_config
from spikemem.experiments.parsing import ParsedRun, parse_run
from spikemem.experiments.runner import ExperimentContext, run_experiment

__all__ = [
    "ConfigError",
    "ExperimentConfig",
    "ExperimentContext",
    "ParsedRun",
    "apply_overrides",
    "load_config",
    "parse_run",
    "run_experiment",
]
