"""Experiment runner: TOML configs -> a run directory with ``result.json``, tables and plots.

``spikemem run CONFIG --backend NAME [--seed N] [--set key.path=value ...] [--out DIR]``
loads the config, applies the overrides (each checked against the config's
keys and types), runs the experiment kind named in ``[experiment] kind`` and
writes ``DIR/result.json`` atomically. Experiment kinds register in
:mod:`spikemem.experiments.registry`; they receive an
:class:`~spikemem.experiments.runner.ExperimentContext` (config, backend,
seed-derived random generators, progress bars, a resumable checkpoint).
"""

from spikemem.experiments.config import ConfigError, apply_overrides, load_config
from spikemem.experiments.runner import ExperimentContext, run_experiment

__all__ = ["ConfigError", "ExperimentContext", "apply_overrides", "load_config", "run_experiment"]
