"""``prepare_learner``: the one preparation of a local learner, shared by the ``continual_local`` run and benchmarks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spikemem.continual.config import ConfigError
from spikemem.continual.local.experiment import LocalSettings, prepare_learner
from spikemem.continual.trained import MODEL_FILE, TrainedMLP
from spikemem.experiments import apply_overrides, load_config, run_experiment

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
TINY = [
    "stream.tasks=2",
    "stream.max_train=32",
    "stream.max_test=20",
    "network.hidden=40",
    "network.learned_hidden=20",
    "local.input_lateral_per_task=8",
    "local.lateral_per_task=8",
    "local.gap=8",
]
"""A learned hidden layer too, so that the feedback matrix is drawn."""


def _settings(extra: list[str] | None = None) -> LocalSettings:
    config = apply_overrides(load_config(EXPERIMENTS / "local_pdigits_hlop.toml"), [*TINY, *(extra or [])])
    return LocalSettings.from_config(config)


def test_learning_every_task_gives_the_weights_of_a_run_with_the_same_seed(tmp_path: Path) -> None:
    """Same seed, same draws (stream, initial weights, feedback, each task's minibatches): the run's model."""
    prepared = prepare_learner(_settings(), "reference", {"numeric": "float"}, 3)
    seconds, samples = prepared.learn(2)
    prepared.close()
    assert seconds > 0.0 and samples == 2 * len(prepared.stream.tasks[0].x_train)
    run_experiment(EXPERIMENTS / "local_pdigits_hlop.toml", "reference", 3, TINY, tmp_path / "run", False)
    saved = TrainedMLP.load(tmp_path / "run" / MODEL_FILE)
    learned, expected = [*prepared.model.layers, *prepared.model.heads], [*saved.layers, *saved.heads]
    assert len(learned) == len(expected) == 3  # two hidden layers and the readout
    for got, want in zip(learned, expected, strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_stream_with_one_readout_per_task_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"stream\.kind"):
        prepare_learner(_settings(['stream.kind="split"']), "reference", {}, 0)
