r"""A trained spiking MLP as plain numpy data, independent of the backend that trained it.

Every continual-learning run writes ``trained_model.npz`` (written atomically
after its last task): the weights of each layer and head plus, as JSON in the
same file, the neuron and encoding constants and where the model came from.
:meth:`TrainedMLP.load` reads it back (:func:`spikemem.continual.evaluate.trained_model_of_run`
also reads run directories that predate the file). Nothing here needs torch,
snnTorch or the training code: the model is data, turned into a spec
:class:`~spikemem.spec.Network` by :mod:`spikemem.continual.inference`.

Encoding: :meth:`TrainedMLP.encode` is :meth:`spikemem.continual.encoding.Encoder.encode`
(the encoding the training used): ``direct`` gives the constant current
:math:`g (x - \mu) / \sigma` of every step, ``rate`` Bernoulli spikes with
probability :math:`\min(1, g x)` per step from a seeded numpy generator (so
every backend sees the same spikes).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from spikemem.continual.encoding import Encoder, EncodingConfig, encoding_constants
from spikemem.io import atomic_write
from spikemem.spec import LIF

DT = 1e-3
"""Time step (s) of the spec network of a trained MLP; ``beta`` is the spec's ``exp(-DT / tau_mem)``."""
MODEL_FILE = "trained_model.npz"
"""Name of the trained model inside a run directory."""


@dataclass
class TrainedMLP:
    """Weights and constants of a trained spiking MLP (see the module docstring).

    Attributes
    ----------
    layers
        Hidden-layer weights, ``layers[l]`` of shape ``(n_{l+1}, n_l)`` (``n_0`` = inputs).
    heads
        Readout weights of each head, ``(classes_h, n_L)``; one head when shared by all tasks.
    neuron
        The spec neuron of every hidden layer (time step :data:`DT`).
    steps
        Time steps T per sample.
    encoding
        ``"direct"`` or ``"rate"``.
    gain
        Encoding gain g.
    input_mean, input_std
        :math:`\\mu, \\sigma` of the direct encoding.
    source_backend
        Backend that trained the weights.
    """

    layers: list[np.ndarray]
    heads: list[np.ndarray]
    neuron: LIF
    steps: int
    encoding: str = "direct"
    gain: float = 1.0
    input_mean: float = 0.0
    input_std: float = 1.0
    source_backend: str = "unknown"

    def __post_init__(self) -> None:
        self.layers = [np.asarray(w, dtype=np.float64) for w in self.layers]
        self.heads = [np.asarray(w, dtype=np.float64) for w in self.heads]
        sizes = [w.shape for w in self.layers]
        for index in range(1, len(sizes)):
            if sizes[index][1] != sizes[index - 1][0]:
                raise ValueError(
                    f"layers[{index}] has {sizes[index][1]} inputs, layer {index - 1} has {sizes[index - 1][0]} neurons"
                )
        for index, head in enumerate(self.heads):
            if head.shape[1] != sizes[-1][0]:
                raise ValueError(f"heads[{index}] reads {head.shape[1]} neurons, the last layer has {sizes[-1][0]}")

    @property
    def n_inputs(self) -> int:
        """Input dimension."""
        return int(self.layers[0].shape[1])

    @property
    def head_sizes(self) -> list[int]:
        """Classes of each head."""
        return [int(h.shape[0]) for h in self.heads]

    @property
    def encoder(self) -> Encoder:
        """The encoding with the model's constants."""
        kind: Literal["direct", "rate"] = "direct" if self.encoding == "direct" else "rate"
        config = EncodingConfig(kind=kind, steps=self.steps, gain=self.gain)
        return Encoder(config, self.input_mean, self.input_std)

    def encode(self, pixels: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        """Encode ``(B, n)`` pixels: ``(B, n)`` currents (direct) or ``(B, T, n)`` bool spikes (rate)."""
        return self.encoder.encode(pixels, rng)

    # -- files ------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model as one ``.npz`` (arrays + JSON metadata), atomically."""
        meta = {
            "neuron": asdict(self.neuron),
            "steps": self.steps,
            "encoding": self.encoding,
            "gain": self.gain,
            "input_mean": self.input_mean,
            "input_std": self.input_std,
            "source_backend": self.source_backend,
        }
        arrays = {f"layer_{i}": w for i, w in enumerate(self.layers)}
        arrays.update({f"head_{i}": w for i, w in enumerate(self.heads)})
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        target = Path(path)
        atomic_write(target, lambda handle: np.savez(handle, **arrays))
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainedMLP:
        """Read a file written by :meth:`save`."""
        with np.load(path) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            layers = [data[f"layer_{i}"] for i in range(_count(data.files, "layer_"))]
            heads = [data[f"head_{i}"] for i in range(_count(data.files, "head_"))]
        return cls(
            layers,
            heads,
            LIF(**meta["neuron"]),
            int(meta["steps"]),
            str(meta["encoding"]),
            float(meta["gain"]),
            float(meta["input_mean"]),
            float(meta["input_std"]),
            str(meta["source_backend"]),
        )


def _count(names: list[str], prefix: str) -> int:
    return sum(1 for name in names if name.startswith(prefix))


def from_settings(
    layers: list[np.ndarray], heads: list[np.ndarray], settings: Any, mean: float, std: float, backend: str
) -> TrainedMLP:
    """A model from its weights and the run's parsed tables (``continual.experiment.Settings``)."""
    return TrainedMLP(
        layers,
        heads,
        settings.model.neuron(),
        settings.encoding.steps,
        settings.encoding.kind,
        settings.encoding.gain,
        mean,
        std,
        backend,
    )


__all__ = ["DT", "MODEL_FILE", "TrainedMLP", "encoding_constants", "from_settings"]
