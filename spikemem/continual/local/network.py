r"""Spec networks of the local learner, and the sample windows they run.

The learner's model is a :class:`~spikemem.continual.trained.TrainedMLP` with
one hidden layer (fixed random weights), optionally a second one that learns
(``layer_2``), and one shared readout (learned),
so its spec network is :func:`~spikemem.continual.inference.mlp_network`'s
and a finished run deploys like any other. Two variants of that network:

- :func:`static_network`: fixed weights, readout potential monitored: the
  error of each sample and the test accuracies come from it;
- :func:`learning_network`: the readout projection ``heads`` learns with
  :class:`~spikemem.spec.ErrorModulated` (third factor ``error``); for HLOP
  a ``lateral`` population of new lateral neurons reads the hidden layer
  through a projection learning with graded
  :class:`~spikemem.spec.OjaSubspace`; both rules carry the consolidated
  subspace of earlier tasks as their ``basis``; a learned layer's ``layer_2``
  learns with ErrorModulated too (third factor ``hidden_error``, one value per
  neuron) and, for HLOP, a second lateral population (:class:`Lateral`)
  learns the subspace of its input.

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

from spikemem.continual.inference import input_offset, mlp_network, run_steps
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
HIDDEN_ERROR = "hidden_error"
LEARNED_PROJECTION = "layer_2"
"""The learned hidden layer's input projection (fixed layer -> learned layer) in :func:`mlp_network`'s names."""
INPUT_LATERAL = "input_lateral"
INPUT_LATERAL_PROJECTION = "input_lateral_in"


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


@dataclass(frozen=True)
class Lateral:
    """New HLOP lateral neurons: an integrator population reading ``source`` through a plastic projection.

    Attributes
    ----------
    source
        Population whose spikes they read.
    weights
        Initial weights ``(k, n_source)``.
    rule
        Their graded :class:`~spikemem.spec.OjaSubspace`.
    population, projection
        Names of the population and of its input projection.
    """

    source: str
    weights: np.ndarray
    rule: OjaSubspace
    population: str = LATERAL
    projection: str = LATERAL_PROJECTION


def learning_network(
    model: TrainedMLP,
    readout_rule: ErrorModulated,
    hidden_rule: ErrorModulated | None = None,
    laterals: tuple[Lateral, ...] = (),
) -> Network:
    """The model's network with a plastic readout and, for HLOP, plastic lateral neurons.

    Parameters
    ----------
    model
        One hidden layer, or a fixed one and a learned one; one head.
    readout_rule
        Rule of the ``heads`` projection; its modulator must be :data:`ERROR`.
    hidden_rule
        Rule of the learned layer's projection ``layer_2`` (modulator
        :data:`HIDDEN_ERROR`, one value per neuron of the layer), or None.
    laterals
        HLOP's new lateral populations (:class:`Lateral`): on the readout's
        input (the last hidden layer) and, with a learned layer, on its input.
    """
    base = mlp_network(model)
    classes = sum(model.head_sizes)
    populations = _never_firing_readout(base)
    rules: dict[str, ErrorModulated] = {HEADS: readout_rule}
    if hidden_rule is not None:
        rules[LEARNED_PROJECTION] = hidden_rule
    projections = [dataclasses.replace(p, plasticity=rules[p.name]) if p.name in rules else p for p in base.projections]
    for item in laterals:
        populations.append(_integrator(item.population, item.weights.shape[0]))
        projections.append(
            Projection(item.source, item.population, item.weights, plasticity=item.rule, name=item.projection)
        )
    steps = run_steps(model)
    inputs = [*base.inputs, ModulatorInput(ERROR, np.zeros((steps, classes)))]
    if hidden_rule is not None:
        inputs.append(ModulatorInput(HIDDEN_ERROR, np.zeros((steps, model.layers[-1].shape[0]))))
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

    def during_counted_steps(self, values: np.ndarray, layer: int | None = None) -> np.ndarray:
        """Per-sample rows ``(B, c)`` -> ``(B W, c)``: the row on the steps whose spikes of hidden ``layer`` count.

        ``layer`` (0-based; default the last, the readout's input): the ``T``
        steps from :math:`o + l` on (the spikes of the inference window,
        :func:`~spikemem.continual.inference.window_counts`);
        zero elsewhere, so a spike that fires after the window (a potential
        still above threshold when the input stops) is not learned from either.
        """
        values = np.asarray(values, dtype=np.float64)
        out = np.zeros((values.shape[0], self.window, values.shape[1]))
        first = input_offset(self.model) + (len(self.model.layers) - 1 if layer is None else layer)
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
    "HIDDEN_ERROR",
    "INPUT_LATERAL",
    "INPUT_LATERAL_PROJECTION",
    "LATERAL",
    "LATERAL_PROJECTION",
    "LEARNED_PROJECTION",
    "NEVER_FIRES",
    "READOUT",
    "Lateral",
    "SampleWindows",
    "automatic_gap",
    "learning_network",
    "static_network",
]
