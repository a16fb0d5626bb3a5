r"""Spec networks of the local learner, and the sample windows they run.

The learner's model is a :class:`~spikemem.continual.trained.TrainedMLP` with
one hidden layer (fixed random weights) and one shared readout (learned),
so its spec network is :func:`~spikemem.continual.inference.mlp_network`'s
and a finished run deploys like any other. Two variants of that network:

- :func:`static_network`: fixed weights, readout potential monitored: the
  error of each sample and the test accuracies come from it;
- :func:`learning_network`: the readout projection ``heads`` learns with
  :class:`~spikemem.spec.ErrorModulated` (third factor ``error``); for HLOP
  a ``lateral`` population of new lateral neurons reads the hidden layer
  through a projection learning with graded
  :class:`~spikemem.spec.OjaSubspace`; both rules carry the consolidated
  subspace of earlier tasks as their ``basis``.

Windows. A minibatch is one run: sample ``b`` drives the network during
steps :math:`[bW, bW + T)` of its window of :math:`W = T + L + o + g` steps
(the inference timing of :mod:`~spikemem.continual.inference` plus ``g``
silent steps), so the hidden potentials decay by :math:`\beta^g` before the
next sample. The readout integrates without leak, so sample ``b``'s logits
are its potential's increase up to the inference window's last step, over
``T`` (:meth:`SampleWindows.logits`: equal to the inference session's after a
reset); the error reaches the readout's rule only on the steps whose hidden
spikes those logits count (:meth:`SampleWindows.during_counted_steps`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from spikemem.continual.inference import hidden_name, input_offset, mlp_network, run_steps
from spikemem.continual.trained import TrainedMLP
from spikemem.fixed_point import NON_SPIKING_THRESHOLD
from spikemem.spec import LIF, ErrorModulated, ModulatorInput, Monitor, Network, OjaSubspace, Population, Projection

NEVER_FIRES = NON_SPIKING_THRESHOLD
"""Threshold of the readout and lateral integrators: they report graded values and never spike (in fixed
point their scale comes from their weights, :func:`spikemem.fixed_point.quantize`)."""
GAP_DECAY = 1e-6
"""The automatic gap lets the hidden potentials decay to this fraction before the next sample."""
READOUT = "readout"
HEADS = "heads"
LATERAL = "lateral"
LATERAL_PROJECTION = "lateral_in"
ERROR = "error"


def automatic_gap(beta: float) -> int:
    r"""Silent steps after a sample: the smallest ``g`` with :math:`\beta^g \le` :data:`GAP_DECAY`."""
    if not 0.0 < beta < 1.0:
        raise ValueError(f"beta = {beta}: samples need a leaky hidden layer (0 < beta < 1) to be separated")
    return max(1, math.ceil(math.log(GAP_DECAY) / math.log(beta)))


def _integrator(name: str, size: int) -> Population:
    return Population(name, size, LIF(tau_mem=math.inf, v_th=NEVER_FIRES, reset="value"))


def _never_firing_readout(network: Network) -> list[Population]:
    """``network``'s populations with the readout replaced by a never-firing integrator of the same size."""
    return [_integrator(READOUT, p.size) if p.name == READOUT else p for p in network.populations]


def static_network(model: TrainedMLP) -> Network:
    """The model's inference network with a never-firing readout and only ``readout.v`` monitored."""
    base = mlp_network(model)
    populations = _never_firing_readout(base)
    monitors = [Monitor(READOUT, "v")]
    return dataclasses.replace(base, populations=populations, monitors=monitors, name="local_static").validate()


def learning_network(
    model: TrainedMLP,
    readout_rule: ErrorModulated,
    lateral: tuple[np.ndarray, OjaSubspace] | None = None,
) -> Network:
    """The model's network with a plastic readout and, for HLOP, plastic lateral neurons.

    Parameters
    ----------
    model
        One hidden layer, one head.
    readout_rule
        Rule of the ``heads`` projection; its modulator must be :data:`ERROR`.
    lateral
        ``(initial weights (k, n_hidden), rule)`` of the new lateral neurons, or None.
    """
    base = mlp_network(model)
    classes = sum(model.head_sizes)
    populations = _never_firing_readout(base)
    projections = [dataclasses.replace(p, plasticity=readout_rule) if p.name == HEADS else p for p in base.projections]
    if lateral is not None:
        weights, rule = lateral
        populations.append(_integrator(LATERAL, weights.shape[0]))
        projections.append(Projection(hidden_name(0), LATERAL, weights, plasticity=rule, name=LATERAL_PROJECTION))
    inputs = [*base.inputs, ModulatorInput(ERROR, np.zeros((run_steps(model), classes)))]
    return dataclasses.replace(
        base, populations=populations, projections=projections, inputs=inputs, monitors=[], name="local_learning"
    ).validate()


@dataclass(frozen=True)
class SampleWindows:
    """Samples one after another in one run (module docstring).

    Attributes
    ----------
    model
        The model (timing, encoding, input layer).
    gap
        Silent steps after each sample.
    """

    model: TrainedMLP
    gap: int

    @property
    def window(self) -> int:
        """Steps per sample."""
        return run_steps(self.model) + self.gap

    def steps(self, samples: int) -> int:
        """Steps of a run of ``samples`` samples."""
        return samples * self.window

    def inputs(self, encoded: np.ndarray) -> dict[str, np.ndarray]:
        """Run inputs of encoded samples (``TrainedMLP.encode``: ``(B, n)`` currents or ``(B, T, n)`` spikes)."""
        samples, length = encoded.shape[0], self.model.steps
        if self.model.encoding == "direct":
            drive = np.zeros((samples, self.window, self.model.layers[0].shape[0]))
            drive[:, :length] = (encoded @ self.model.layers[0].T)[:, None, :]
            return {"drive": drive.reshape(samples * self.window, -1)}
        pixels = np.zeros((samples, self.window, self.model.n_inputs), dtype=bool)
        pixels[:, :length] = encoded
        return {"pixels": pixels.reshape(samples * self.window, -1)}

    def trial_inputs(self, encoded: np.ndarray) -> dict[str, np.ndarray]:
        """Per-trial inputs ``(B, run_steps, ...)`` of encoded samples, for ``run_batch`` (no gap needed)."""
        steps = run_steps(self.model)
        return {
            name: value.reshape(encoded.shape[0], self.window, -1)[:, :steps]
            for name, value in self.inputs(encoded).items()
        }

    def during_counted_steps(self, values: np.ndarray) -> np.ndarray:
        """Per-sample rows ``(B, c)`` -> ``(B W, c)``: the row on the steps whose hidden spikes the readout counts.

        Those are the ``T`` steps from the input offset ``o`` on (the hidden
        spikes of the inference window, :func:`~spikemem.continual.inference.window_counts`);
        zero elsewhere, so a spike that fires after the window (a potential
        still above threshold when the input stops) is not learned from either.
        """
        values = np.asarray(values, dtype=np.float64)
        out = np.zeros((values.shape[0], self.window, values.shape[1]))
        first = input_offset(self.model)
        out[:, first : first + self.model.steps] = values[:, None, :]
        return out.reshape(values.shape[0] * self.window, values.shape[1])

    def logits(self, readout_v: np.ndarray) -> np.ndarray:
        """Per-sample logits ``(B, c)`` from the readout potential ``(B W, c)`` of a run started at rest.

        Sample ``b``'s potential increase from the end of window ``b - 1`` to
        step ``run_steps - 1`` of its own window, over ``T``: exactly what
        :class:`~spikemem.continual.inference.InferenceSession` reads after a reset.
        """
        v = np.asarray(readout_v, dtype=np.float64)
        last = v[run_steps(self.model) - 1 :: self.window]
        before = np.vstack([np.zeros((1, v.shape[1])), v[self.window - 1 :: self.window][: last.shape[0] - 1]])
        return (last - before) / self.model.steps


__all__ = [
    "ERROR",
    "HEADS",
    "LATERAL",
    "LATERAL_PROJECTION",
    "NEVER_FIRES",
    "READOUT",
    "SampleWindows",
    "automatic_gap",
    "learning_network",
    "static_network",
]
