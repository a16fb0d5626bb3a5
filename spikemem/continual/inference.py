r"""Inference of a trained spiking MLP on any backend, through the spec.

:func:`mlp_network` turns a :class:`~spikemem.continual.trained.TrainedMLP`
into a :class:`~spikemem.spec.Network` that every backend runs; an
:class:`InferenceSession` compiles it once and classifies batches of samples
(``run_batch``: each sample from the reset state).

Timing. The training model is layer-synchronous (layer ``l`` reads layer
``l-1``'s spikes of the same step); the spec delivers a spike one step after
its emission. Every layer starts at rest and receives nothing before its
predecessor's first spike, so spec layer ``l`` (1-based) fires the training
model's spike train delayed by :math:`o + l - 1` steps, where :math:`o = 0` for
the direct encoding (a :class:`~spikemem.spec.CurrentInput` drives layer 1
without delay for the first T steps) and :math:`o = 1` for rate spikes (a
:class:`~spikemem.spec.SpikeInput` through the layer-1 projection). Spikes a
layer fires after its T-step window reach the next layer only after that
layer's window, so each layer's spike counts within its window equal the
training model's exactly (:func:`window_counts`).

Readout. The trained heads compute :math:`z = W_h \bar s_L`; the network has a
``readout`` population of non-spiking integrators (membrane time constant
:data:`READOUT_TAU` = inf, i.e. :math:`\beta = 1`; threshold above the
largest reachable :math:`|v|`) fed by all heads'
rows. After :math:`T + L + o` steps its potential is :math:`T z`, so the
prediction for a task is the argmax of its head's slice of ``readout.v`` at the
last step.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikemem.continual.trained import DT, TrainedMLP
from spikemem.cost import OperationCounts, join_trials
from spikemem.spec import LIF, CurrentInput, Monitor, Network, Population, Projection, SpikeInput

READOUT_TAU = math.inf
"""Membrane time constant of the readout integrators: no leak."""
READOUT_MARGIN = 1.05
"""Readout threshold = margin x the largest reachable |v| (the neurons never fire)."""

Progress = Callable[[Iterable[Any], str, int], Iterable[Any]]


INPUT_MANTISSA_LIMIT = 254
"""Largest input-layer mantissa magnitude (Loihi mixed-sign weights: even values in [-256, 254])."""


@dataclass(frozen=True)
class QuantizedLayer:
    r"""8-bit weights of the input layer: :math:`W \approx u\, m`.

    Attributes
    ----------
    mantissa
        int32 even values in ``[-256, 254]``.
    unit
        Power-of-two step :math:`u`.
    """

    mantissa: np.ndarray
    unit: float

    @property
    def weights(self) -> np.ndarray:
        """The float weights the mantissas stand for."""
        return self.mantissa.astype(np.float64) * self.unit


def quantize_input_layer(weights: np.ndarray) -> QuantizedLayer:
    """Smallest power-of-two step at which every weight fits an even mantissa in ``[-256, 254]``."""
    weights = np.asarray(weights, dtype=np.float64)
    largest = float(np.abs(weights).max(initial=0.0))
    if largest == 0.0:
        return QuantizedLayer(np.zeros(weights.shape, dtype=np.int32), 1.0)
    unit = 2.0 ** math.ceil(math.log2(largest / INPUT_MANTISSA_LIMIT))
    mantissa = 2 * np.rint(weights / unit / 2)
    return QuantizedLayer(np.clip(mantissa, -256, INPUT_MANTISSA_LIMIT).astype(np.int32), unit)


def hidden_name(index: int) -> str:
    """Population name of hidden layer ``index`` (0-based)."""
    return f"hidden_{index + 1}"


def input_offset(model: TrainedMLP) -> int:
    """Steps between the encoded input and layer 1's update: 0 (current) or 1 (spikes)."""
    return 0 if model.encoding == "direct" else 1


def run_steps(model: TrainedMLP) -> int:
    """Length of one sample's run, :math:`T + L + o` (module docstring)."""
    return model.steps + len(model.layers) + input_offset(model)


def window_counts(model: TrainedMLP, layer: int, spikes: np.ndarray) -> np.ndarray:
    """Spike counts of hidden layer ``layer`` (0-based) within its window of T steps from step :math:`o + l`.

    ``spikes``: ``(B, steps, n)``. Spikes after the window are the tail of a
    sample (they reach the next layer after its own window) and do not count.
    """
    start = input_offset(model) + layer
    return np.asarray(spikes)[:, start : start + model.steps].sum(axis=1, dtype=np.int64)


def readout_threshold(model: TrainedMLP) -> float:
    r"""A threshold the readout never crosses, as small as that allows (it sets the fixed-point scale).

    Spikes are 0 or 1, so after T steps readout neuron ``i`` lies in
    :math:`[-T N_i, T P_i]` with :math:`P_i, N_i` the sums of its positive and
    of its negative weights' magnitudes. The threshold is
    :math:`1.05\, T \max_i \max(P_i, N_i / 4)` (at least 1e-3): never crossed
    from below, and Loihi's ``v`` register, which
    :func:`spikemem.fixed_point.quantize` sizes for 4 thresholds (2 headroom
    bits), holds the negative side too.
    """
    stacked = np.vstack(model.heads)
    positive = np.clip(stacked, 0.0, None).sum(axis=1)
    negative = np.clip(-stacked, 0.0, None).sum(axis=1)
    bound = model.steps * float(np.maximum(positive, negative / 4.0).max())
    return max(1e-3, READOUT_MARGIN * bound)


def mlp_network(model: TrainedMLP, layers: list[np.ndarray] | None = None) -> Network:
    """The spec network of a trained MLP (module docstring); ``layers`` overrides the hidden weights.

    Inputs (data given per run): ``drive`` (direct encoding: the current
    :math:`W_1 I` into ``hidden_1``, ``(steps, n_1)``) or ``pixels`` (rate
    encoding: spikes ``(steps, n_0)``). Monitors: ``hidden_l.spikes`` (counted
    within each layer's window by :func:`window_counts`) and
    ``readout.v``.
    """
    weights = model.layers if layers is None else layers
    neuron = model.neuron
    steps = run_steps(model)
    populations = [Population(hidden_name(i), w.shape[0], neuron) for i, w in enumerate(weights)]
    readout_neuron = LIF(tau_mem=READOUT_TAU, v_th=readout_threshold(model), reset="value")
    populations.append(Population("readout", sum(model.head_sizes), readout_neuron))
    projections = [
        Projection(hidden_name(i - 1), hidden_name(i), weights[i], name=f"layer_{i + 1}")
        for i in range(1, len(weights))
    ]
    projections.append(Projection(hidden_name(len(weights) - 1), "readout", np.vstack(model.heads), name="heads"))
    inputs: list[Any]
    if model.encoding == "direct":
        inputs = [CurrentInput("drive", hidden_name(0), np.zeros((steps, weights[0].shape[0])))]
    else:
        inputs = [SpikeInput("pixels", np.zeros((steps, model.n_inputs), dtype=bool))]
        projections.insert(0, Projection("pixels", hidden_name(0), weights[0], name="layer_1"))
    monitors = [Monitor(hidden_name(i), "spikes") for i in range(len(weights))]
    monitors.append(Monitor("readout", "v"))
    return Network(DT, populations, projections, inputs, monitors, name="spiking_mlp").validate()


@dataclass
class Inference:
    """What a batch of samples gave.

    Attributes
    ----------
    logits
        ``(B, classes of all heads)``: :math:`z` = readout potential / T.
    counts
        Spike counts of each hidden layer, ``(B, n_l)`` each.
    """

    logits: np.ndarray
    counts: list[np.ndarray]
    cost: OperationCounts | None = None
    """The operations of the batch's runs (:class:`spikemem.cost.OperationCounts`; None when not counted)."""

    def predictions(self, head_sizes: list[int], head: int) -> np.ndarray:
        """Argmax over the classes of ``head``."""
        start = sum(head_sizes[:head])
        return self.logits[:, start : start + head_sizes[head]].argmax(axis=1)

    @staticmethod
    def concatenate(parts: list[Inference]) -> Inference:
        """Join batches in order."""
        costs = [p.cost for p in parts if p.cost is not None]
        return Inference(
            np.concatenate([p.logits for p in parts]),
            [np.concatenate([p.counts[i] for p in parts]) for i in range(len(parts[0].counts))],
            functools.reduce(join_trials, costs) if len(costs) == len(parts) else None,
        )


class InferenceSession:
    """A trained MLP compiled once on a backend; classifies batches of encoded samples.

    Parameters
    ----------
    model
        The trained model.
    backend
        Backend name.
    numeric
        ``"float"`` or ``"fixed"``.
    options
        Backend options (e.g. ``{"timeout_s": 300}`` for Lava).
    first_layer
        Weights of the drive of layer 1 in the direct encoding (default
        ``model.layers[0]``; in fixed point their 8-bit version,
        :func:`quantize_input_layer`).
    batch
        Samples per ``run_batch`` call.
    network
        The network to run (default :func:`mlp_network` ``(model)``; a loaded deployment passes its own).
    """

    def __init__(
        self,
        model: TrainedMLP,
        backend: str,
        numeric: str = "float",
        options: dict[str, Any] | None = None,
        first_layer: np.ndarray | None = None,
        batch: int = 256,
        network: Network | None = None,
    ) -> None:
        from spikemem.backends import get_backend

        self.model = model
        self.network = mlp_network(model) if network is None else network
        if first_layer is None:
            fixed_drive = numeric == "fixed" and model.encoding == "direct"
            first_layer = quantize_input_layer(model.layers[0]).weights if fixed_drive else model.layers[0]
        self.first_layer = np.asarray(first_layer, dtype=np.float64)
        self.batch = int(batch)
        self.backend = backend
        self.numeric = numeric
        self.simulation = get_backend(backend).compile(self.network, numeric=numeric, **(options or {}))
        if model.encoding == "direct":  # each drive element is a row of W_1 times the sample: n_0 MACs
            self.simulation.graded_fan_in = {hidden_name(0): model.n_inputs}
        self.readout_scale = 1.0  # fixed point records v in internal units: the backend's own scale
        if numeric == "fixed":
            fixed = self.simulation.fixed_point
            if fixed is None:
                self.simulation.close()
                raise ValueError(f"backend {backend!r} compiled no fixed-point model (Simulation.fixed_point is None)")
            self.readout_scale = fixed.populations["readout"].scale

    def __enter__(self) -> InferenceSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the simulator (Lava: stop its runtime)."""
        self.simulation.close()

    def input_arrays(self, encoded: np.ndarray) -> dict[str, np.ndarray]:
        """Per-trial input data of a batch of encoded samples (``TrainedMLP.encode``)."""
        steps, length = run_steps(self.model), self.model.steps
        batch = encoded.shape[0]
        if self.model.encoding == "direct":
            drive = np.zeros((batch, steps, self.first_layer.shape[0]))
            drive[:, :length] = (encoded @ self.first_layer.T)[:, None, :]
            return {"drive": drive}
        pixels = np.zeros((batch, steps, self.model.n_inputs), dtype=bool)
        pixels[:, :length] = encoded
        return {"pixels": pixels}

    def run(self, encoded: np.ndarray, progress: Progress | None = None) -> Inference:
        """Classify encoded samples (``(B, n)`` currents or ``(B, T, n)`` spikes) in batches."""
        starts: Iterable[int] = range(0, encoded.shape[0], self.batch)
        if progress is not None:
            starts = progress(starts, f"inference ({self.backend}, {self.numeric})", -(-encoded.shape[0] // self.batch))
        parts = []
        for start in starts:
            chunk = encoded[start : start + self.batch]
            record = self.simulation.run_batch(run_steps(self.model), self.input_arrays(chunk))
            counts = [
                window_counts(self.model, i, record[f"{hidden_name(i)}.spikes"]) for i in range(len(self.model.layers))
            ]
            logits = np.asarray(record["readout.v"])[:, -1, :] / (self.model.steps * self.readout_scale)
            parts.append(Inference(logits, counts, record.cost))
        return Inference.concatenate(parts)


__all__ = [
    "INPUT_MANTISSA_LIMIT",
    "Inference",
    "InferenceSession",
    "QuantizedLayer",
    "hidden_name",
    "input_offset",
    "mlp_network",
    "quantize_input_layer",
    "readout_threshold",
    "run_steps",
    "window_counts",
]
