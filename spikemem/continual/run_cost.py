r"""The ``cost`` section of a continual-learning run's ``result.json``: per test inference and per training sample.

Per test inference (counted): the trained model's spec network
(:func:`spikemem.continual.inference.mlp_network`) classifies
``samples_per_task`` test samples of every task on the run's backend and in
its numeric mode (:class:`~spikemem.continual.inference.InferenceSession`;
float backends give identical counts, Lava fixed point its own). The counts
are per layer (populations ``hidden_l`` and ``readout``; projections
``layer_l`` and ``heads``) and in total, with the Loihi and dense-MAC energy
ESTIMATES (:mod:`spikemem.cost.energy`) and the footprint.

Per training sample:

- local rules (``continual_local``: the learning runs inside the simulator)
  count every training run, so ``per_task[i].cost`` holds the counted cost
  per training sample of task ``i`` (plasticity updates included), written
  by the learner;
- BPTT (``continual``: snnTorch's autograd, outside the spec) is an ESTIMATE
  here: the forward pass is counted as an inference of the spec network on
  ``samples_per_task`` training samples of every task, and the backward pass
  adds :math:`2\times` the forward's dense MACs (the gradients with respect
  to the activations and to the weights, every step; the surrogate and the
  HLOP projections and lateral Hebbian updates are not counted).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spikemem.continual.inference import InferenceSession
from spikemem.continual.trained import TrainedMLP
from spikemem.cost import OperationCounts, cost_section, join_trials
from spikemem.seeding import derived_rng

SAMPLES_PER_TASK = 8
"""Test (and training) samples of every task whose operations are counted."""

BACKWARD_DENSE_FACTOR = 2
"""BPTT backward pass as a multiple of the forward's dense MACs (module docstring)."""


def _counted(session: InferenceSession, encoded: list[np.ndarray]) -> OperationCounts | None:
    """The operations of classifying each array of encoded samples, joined."""
    total: OperationCounts | None = None
    for batch in encoded:
        if not len(batch):
            continue
        counted = session.run(batch).cost
        if counted is None:
            return None
        total = counted if total is None else join_trials(total, counted)
    return total


def run_cost(
    model: TrainedMLP,
    tasks: list[Any],
    seed: int,
    backend: str,
    numeric: str = "float",
    options: dict[str, Any] | None = None,
    bptt: bool = False,
    samples_per_task: int = SAMPLES_PER_TASK,
) -> dict[str, Any]:
    """The ``cost`` section (module docstring); empty when the backend does not count."""
    with InferenceSession(model, backend, numeric, options) as session:
        tests = [
            model.encode(task.x_test[:samples_per_task], derived_rng(seed, "cost", "test", j))
            for j, task in enumerate(tasks)
        ]
        inference = _counted(session, tests)
        training = None
        if bptt:
            trains = [
                model.encode(task.x_train[:samples_per_task], derived_rng(seed, "cost", "train", j))
                for j, task in enumerate(tasks)
            ]
            training = _counted(session, trains)
        network = session.network
    if inference is None:
        return {}
    section: dict[str, Any] = {
        "samples_counted_per_task": samples_per_task,
        "per_test_inference": cost_section(inference, network, unit="test inference"),
    }
    if training is not None:
        forward = cost_section(training, unit="training sample")
        backward = BACKWARD_DENSE_FACTOR * forward["counts"]["total"]["dense_macs"]
        section["per_training_sample"] = {
            "method": "BPTT estimate: forward counted on the spec network, backward = 2 x forward dense MACs",
            "forward": forward,
            "backward_dense_macs": backward,
            "total_dense_macs": forward["counts"]["total"]["dense_macs"] + backward,
        }
    else:
        section["per_training_sample"] = {"method": "counted in the simulator: see per_task[i].cost"}
    return section
