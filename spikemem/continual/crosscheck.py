r"""spikemem's cost figures of a trained MLP's inference, for the samples NeuroBench measures.

:func:`spec_cost` runs encoded samples through the spec network of
:mod:`spikemem.continual.inference` on a backend (each sample from rest,
:math:`S = T + L + o` steps) and counts its operations with
:func:`spikemem.cost.count_operations` and its static cost with
:func:`spikemem.cost.footprint` (float), the figures that
:func:`spikemem.cost.neurobench.side_by_side` puts beside NeuroBench's
(:func:`spikemem.cost.neurobench.neurobench_figures`).

The direct encoding's input layer is not a projection of the spec network:
layer 1 receives the current :math:`W_1 x` as a :class:`~spikemem.spec.CurrentInput`
during the first T steps. Its elements are counted as graded inputs of
``hidden_1`` costing :math:`n_0` MACs each (``graded_fan_in``: the pixels
behind each element), so the input layer's multiplications are in
``multiply_accumulate_ops``. Rate spikes go through the projection
``layer_1`` and are accumulate operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from spikemem.continual.inference import (
    Inference,
    InferenceSession,
    hidden_name,
    mlp_network,
    run_steps,
    window_counts,
)
from spikemem.continual.trained import TrainedMLP
from spikemem.cost import Footprint, OperationCounts, count_operations, footprint, with_cost_monitors


@dataclass
class SpecCost:
    """spikemem's figures of one set of samples.

    Attributes
    ----------
    counts
        Operation counts summed over the samples (``trials`` = samples, ``steps`` = S).
    footprint
        Static cost of the spec network in float.
    inference
        Logits and window spike counts of every sample (as ``InferenceSession.run`` gives them).
    rasters
        Per hidden layer, the ``(B, S, n_l)`` spikes of the whole run (the window's and those after it).
    """

    counts: OperationCounts
    footprint: Footprint
    inference: Inference
    rasters: list[np.ndarray]

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures per sample (no per-sample arrays)."""
        return {"counts": self.counts.per_trial(), "footprint": self.footprint.as_dict()}


def spec_cost(
    model: TrainedMLP,
    encoded: np.ndarray,
    backend: str = "snntorch",
    numeric: str = "float",
    options: dict[str, Any] | None = None,
    batch: int = 256,
) -> SpecCost:
    """Run ``encoded`` samples (``TrainedMLP.encode``) through the spec network on ``backend`` and count (docstring).

    ``numeric``, ``options`` and ``batch`` are those of :class:`~spikemem.continual.inference.InferenceSession`.
    """
    network, _ = with_cost_monitors(mlp_network(model))
    steps, length = run_steps(model), model.steps
    records: list[dict[str, np.ndarray]] = []
    stimuli: list[dict[str, np.ndarray]] = []
    with InferenceSession(model, backend, numeric, options, network=network, batch=batch) as session:
        scale = session.readout_scale
        for start in range(0, len(encoded), batch):
            stimuli.append(session.input_arrays(encoded[start : start + batch]))
            records.append(session.simulation.run_batch(steps, stimuli[-1]).data)
    data = {key: np.concatenate([r[key] for r in records]) for key in records[0]}
    given = {key: np.concatenate([s[key] for s in stimuli]) for key in stimuli[0]}
    direct = model.encoding == "direct"
    counts = count_operations(
        network,
        data,
        steps=steps,
        trials=len(encoded),
        batched=True,
        inputs={} if direct else {"pixels": given["pixels"]},
        currents={hidden_name(0): given["drive"]} if direct else {},
        graded_fan_in={hidden_name(0): model.n_inputs} if direct else {},
        numeric=numeric,
        backend=backend,
    )
    spikes = [data[f"{hidden_name(i)}.spikes"] for i in range(len(model.layers))]
    inference = Inference(
        np.asarray(data["readout.v"])[:, -1, :] / (length * scale),
        [window_counts(model, i, s) for i, s in enumerate(spikes)],
    )
    return SpecCost(counts, footprint(network, "float"), inference, [np.asarray(s, dtype=bool) for s in spikes])


__all__ = ["SpecCost", "spec_cost"]
