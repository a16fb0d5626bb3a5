"""The Lava backend's fused graph (``fuse`` option): one Lava process runs the whole graph, same results.

Each comparison runs the same learner or network twice, on the per-process graph (``fuse = "never"``) and
fused, and asks for identical weights: fixed point bit for bit (Lava's stochastic rounding included), float
bit for bit too on these graphs (no population sums several float inputs). A few seconds per Lava run.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from spikemem.backends import get_backend
from spikemem.spec import LIF, Monitor, Network, Population, Projection, SpecError, SpikeInput

pytest.importorskip("spikemem.backends.lava_backend")
if not get_backend("lava").available():
    pytest.skip(f"Lava unavailable: {get_backend('lava').available().reason}", allow_module_level=True)

from spikemem.backends.lava_backend import LavaOptions
from spikemem.continual.local.experiment import LocalSettings, prepare_learner
from spikemem.experiments import apply_overrides, load_config

CONFIG = Path(__file__).parents[2] / "experiments" / "local_pdigits_hlop.toml"
SAMPLES = 4
"""Training samples per task: one minibatch per task, two tasks (HLOP projects in the second)."""


def _learn(method: str, hidden: int, options: dict) -> tuple[list[np.ndarray], np.ndarray]:
    """Learn two tasks; the learned weights (readout, the HLOP subspaces) and the accuracy matrix."""
    overrides = [f"network.hidden={hidden}", f"local.batch_size={SAMPLES}", "local.lateral_per_task=4"]
    settings = LocalSettings.from_config(apply_overrides(load_config(CONFIG), overrides))
    state = prepare_learner(replace(settings, local=replace(settings.local, method=method)), "lava", options, 0)
    try:
        tasks = state.stream.tasks[:2]
        accuracy = np.zeros((2, 2))
        for index, task in enumerate(tasks):
            state.learner.train_task(
                task.x_train[:SAMPLES],
                task.y_train[:SAMPLES],
                partial(state.model.encode, rng=np.random.default_rng(index)),
                np.random.default_rng(index),
            )
            for seen in range(index + 1):
                encoded = state.model.encode(tasks[seen].x_test[:16], np.random.default_rng([seen, 1]))
                accuracy[index, seen] = state.learner.accuracy(encoded, tasks[seen].y_test[:16])
        learned = [state.learner.readout.copy(), state.learner.basis.copy(), state.learner.input_basis.copy()]
    finally:
        state.close()
    return learned, accuracy


@pytest.mark.parametrize(
    ("method", "hidden", "numeric"),
    [("hlop", 20, "float"), ("finetune", 20, "fixed")],
    ids=["hlop-float", "finetune-fixed"],
)
def test_fused_learner_learns_the_weights_of_the_per_process_graph(method: str, hidden: int, numeric: str) -> None:
    """A local learner (ErrorModulated readout; HLOP: OjaSubspace circuits and projected traces too) learns the
    same weights fused as on one process per population/synapse/circuit, and the same accuracy matrix."""
    options: dict = {"numeric": "fixed", "seed": 3} if numeric == "fixed" else {}
    unfused, unfused_accuracy = _learn(method, hidden, {**options, "fuse": "never"})
    fused, fused_accuracy = _learn(method, hidden, options)  # "auto": the learning network is fused
    assert np.abs(unfused[0]).max() > 0  # the readout learned something
    if method == "hlop":
        assert unfused[1].shape[0] > 0  # HLOP learned a subspace (the lateral OjaSubspace circuits ran)
    for before, after in zip(unfused, fused, strict=True):
        np.testing.assert_array_equal(after, before)
    np.testing.assert_array_equal(fused_accuracy, unfused_accuracy)


@pytest.mark.parametrize("numeric", ["float", "fixed"])
def test_fused_recurrent_network_gives_the_records_of_the_per_process_graph(numeric: str) -> None:
    """``fuse = "always"`` on a static network with recurrence, a delay-2 feedback and two inputs into one
    population: the records of the per-process graph (fixed point bit for bit; float: the same spikes, ``v``
    within round-off, since a population with several float inputs may sum them in another order)."""
    rng = np.random.default_rng(2)
    steps = 60
    network = Network(
        dt=1e-3,
        populations=[
            Population("layer", 12, LIF(tau_mem=0.02, reset="subtract")),
            Population("readout", 5, LIF(tau_mem=0.01)),
        ],
        inputs=[SpikeInput("in", rng.random((steps, 8)) < 0.25)],
        projections=[
            Projection("in", "layer", rng.uniform(0.0, 0.6, (12, 8))),
            Projection("layer", "layer", rng.normal(0.0, 0.3, (12, 12))),
            Projection("layer", "readout", rng.uniform(0.0, 0.4, (5, 12))),
            Projection("readout", "layer", -rng.uniform(0.0, 0.3, (12, 5)), delay=2),
        ],
        monitors=[Monitor("layer", "spikes"), Monitor("layer", "v"), Monitor("readout", "count")],
    )
    records, processes = {}, {}
    for fuse in ("never", "always"):
        with get_backend("lava", fuse=fuse).compile(network, numeric=numeric) as sim:
            records[fuse] = sim.run(steps).data
            processes[fuse] = sim.profile()["lava_processes"]
    assert processes == {"never": 7, "always": 1}
    assert records["never"]["layer.spikes"].sum() > 5 and records["never"]["readout.count"].sum() > 0
    for key, value in records["never"].items():
        if numeric == "float" and key.endswith(".v"):
            np.testing.assert_allclose(records["always"][key], value, rtol=0, atol=1e-12)
        else:
            np.testing.assert_array_equal(records["always"][key], value)


def test_fuse_option_is_checked() -> None:
    """A ``fuse`` value other than auto/always/never is refused, naming the option and its values."""
    with pytest.raises(SpecError, match=r"options\.fuse.*'auto', 'always', 'never'"):
        LavaOptions.parse({"fuse": "sometimes"})
