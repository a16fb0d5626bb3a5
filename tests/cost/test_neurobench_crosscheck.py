"""NeuroBench's metrics against spikemem's counts, on the snnTorch model of a small trained continual run.

NeuroBench (2.3.0) runs on :func:`spikemem.continual.neurobench.snntorch_mlp`, the
layer-synchronous training model (T steps); spikemem counts the spec network
of the same trained MLP on the snnTorch backend (:mod:`spikemem.continual.inference`,
S = T + L + o steps). Every figure is checked against its definition on both
sides, for the same samples (NeuroBench's sources: ``neurobench/metrics/static/footprint.py``,
``static/connection_sparsity.py``, ``static/parameter_count.py``,
``workload/activation_sparsity.py``, ``workload/synaptic_operations.py`` with
``utils/layers/macs.py``, ``workload/membrane_updates.py``):

- spikes: the same in each layer's window (NeuroBench's T steps), spikemem adds
  the spikes a layer fires after its window;
- activation sparsity: NeuroBench pools the LIF layers over T steps, spikemem
  every population (the never-firing readout too) over S steps;
- synaptic operations: both count spikes x non-zero fan-out as accumulate
  operations; spikemem's also include the after-window spikes that arrive
  within S. The input layer differs: with the direct encoding NeuroBench
  counts T x non-zero inputs x non-zero fan-out MACs, spikemem non-zero
  drive elements x n_0 MACs; with rate spikes both count input ACs alike;
- dense operations: NeuroBench T x sum n_in n_out, spikemem S x the same;
- parameters, connection sparsity and footprint: NeuroBench counts every
  weight (zeros, and the direct encoding's layer 1, which the spec holds as a
  current, not a projection), rounds the sparsity to 4 decimals and adds
  snnTorch's buffers; spikemem counts the existing synapses of the spec's
  projections in float32 plus the neurons' states.

The trained weights are pruned (a quarter set to 0, from a fixed seed) so that
fan-outs and sparsities are not trivial.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="the NeuroBench cross-check runs on torch (extra 'snntorch')")
pytest.importorskip("snntorch", reason="the NeuroBench cross-check runs on snnTorch (extra 'snntorch')")
pytest.importorskip(
    "neurobench", reason="NeuroBench is the optional extra 'neurobench': pip install -e '.[neurobench]'"
)

from spikemem.cli import main
from spikemem.continual.evaluate import load_run
from spikemem.continual.inference import Inference, InferenceSession, hidden_name, run_steps
from spikemem.continual.neurobench import RELATIONS, neurobench_figures, side_by_side, spikemem_figures
from spikemem.continual.trained import TrainedMLP
from spikemem.cost import Footprint, OperationCounts
from spikemem.experiments import run_experiment
from spikemem.seeding import derived_rng

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
TINY = [
    "stream.tasks=2",
    "stream.max_train=100",
    "stream.max_test=30",
    "training.epochs=2",
    "training.batch_size=16",
    "model.hidden=[24, 16]",
    "encoding.steps=5",
    "training.threads=1",
]
SAMPLES = 30
BUFFER_BYTES = 4 + 4 + 8 + 8
"""NeuroBench's footprint adds per LIF layer snnTorch's buffers: threshold and graded_spikes_factor (float32),
reset_mechanism_val (int64) and beta (float64); ``mem`` is empty before the run."""


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "pdigits_finetune"
    run_experiment(
        EXPERIMENTS / "pdigits_finetune.toml", backend="snntorch", seed=4, overrides=TINY, out=out, show_progress=False
    )
    return out


def _pruned(model: TrainedMLP, encoding: str) -> TrainedMLP:
    """The trained weights with a quarter of them set to 0.

    ``encoding="rate"`` feeds spikes to the same hidden weights scaled by 3 (they were trained on standardised
    currents; unscaled, the second layer stays silent on pixel-rate spikes).
    """
    rng = np.random.default_rng(11)

    def prune(w: np.ndarray) -> np.ndarray:
        return np.where(rng.random(w.shape) < 0.25, 0.0, w)

    layers, heads = [prune(w) for w in model.layers], [prune(h) for h in model.heads]
    if encoding == "direct":
        return dataclasses.replace(model, layers=layers, heads=heads)
    layers = [3.0 * w for w in layers]
    return dataclasses.replace(
        model, layers=layers, heads=heads, encoding="rate", gain=1.0, input_mean=0.0, input_std=1.0
    )


@dataclasses.dataclass
class Measured:
    """Both sides for the same samples."""

    model: TrainedMLP
    encoded: np.ndarray
    nb: dict
    inference: Inference  # spikemem's run; its .cost is what `spikemem evaluate` reports
    footprint: Footprint
    rasters: list[np.ndarray]  # (B, S, n_l) spikes of each hidden layer in spikemem's run

    @property
    def cost(self) -> OperationCounts:
        assert self.inference.cost is not None
        return self.inference.cost


@pytest.fixture(scope="module", params=["direct", "rate"])
def measured(request: pytest.FixtureRequest, trained_run: Path) -> Measured:
    run = load_run(trained_run)
    model = _pruned(run.model, request.param)
    task = run.tasks[0]
    encoded = model.encode(task.x_test[:SAMPLES], derived_rng(run.seed, "neurobench test"))
    nb = neurobench_figures(model, encoded, task.y_test[:SAMPLES], batch_size=8)  # 4 batches: pooled figures
    inference, fp = spikemem_figures(model, encoded, "snntorch")
    with InferenceSession(model, "snntorch") as session:  # the same run again, for its per-step spikes
        record = session.simulation.run_batch(run_steps(model), session.input_arrays(encoded))
    assert record.cost == inference.cost
    rasters = [np.asarray(record[f"{hidden_name(i)}.spikes"], dtype=bool) for i in range(len(model.layers))]
    return Measured(model, encoded, nb, inference, fp, rasters)


def _fanout(weights: np.ndarray) -> np.ndarray:
    return (np.asarray(weights) != 0).sum(axis=0).astype(np.int64)


def test_the_same_spikes_and_outputs_in_each_layers_window(measured: Measured) -> None:
    model, nb, spec = measured.model, measured.nb, measured
    assert len(nb["spike_counts"]) == len(model.layers)
    for layer, (ours, theirs) in enumerate(zip(spec.inference.counts, nb["spike_counts"], strict=True)):
        assert theirs.sum() > 0, f"layer {layer} is silent: the comparison would say nothing"
        np.testing.assert_array_equal(theirs, ours)
    np.testing.assert_allclose(nb["logits"], spec.inference.logits, rtol=0, atol=1e-12)
    populations = {p.name: p for p in spec.cost.populations}
    for layer, raster in enumerate(spec.rasters):  # spikemem: the whole run, i.e. the window and what follows it
        assert populations[hidden_name(layer)].spikes == raster.sum() >= nb["spike_counts"][layer].sum()
    assert populations["readout"].spikes == 0


def test_activation_sparsity_over_lif_layers_and_t_steps_vs_every_population_and_s_steps(measured: Measured) -> None:
    model, nb, spec = measured.model, measured.nb, measured
    samples, steps, total_steps = SAMPLES, model.steps, run_steps(model)
    neurons = sum(w.shape[0] for w in model.layers)
    window_spikes = sum(int(c.sum()) for c in nb["spike_counts"])
    run_spikes = sum(int(r.sum()) for r in spec.rasters)
    assert nb["workload"]["activation_sparsity"] == pytest.approx(
        1 - window_spikes / (samples * steps * neurons), abs=1e-12
    )
    readout = sum(model.head_sizes)
    expected = 1 - run_spikes / (samples * total_steps * (neurons + readout))
    assert spec.cost.activation_sparsity == pytest.approx(expected, abs=1e-12)


def test_synaptic_operations_spikes_times_fanout_with_spikemems_after_window_events(measured: Measured) -> None:
    model, encoded, nb, spec = measured.model, measured.encoded, measured.nb, measured
    synops = nb["workload"]["synaptic_operations"]
    total_steps = run_steps(model)
    targets = [*model.layers[1:], np.vstack(model.heads)]  # the layer each hidden layer feeds
    names = [f"layer_{i + 2}" for i in range(len(model.layers) - 1)] + ["heads"]
    projections = {p.name: p for p in spec.cost.projections}
    nb_hidden = spikemem_hidden = after_window = 0
    for layer, (weights, name) in enumerate(zip(targets, names, strict=True)):
        fanout = _fanout(weights)
        window = nb["spike_counts"][layer].sum(axis=0)
        delivered = spec.rasters[layer][:, : total_steps - 1].sum(axis=(0, 1))  # the last step's spikes arrive after S
        assert projections[name].accumulate_ops == int(delivered @ fanout)
        nb_hidden += int(window @ fanout)
        spikemem_hidden += int(delivered @ fanout)
        after_window += int((delivered - window) @ fanout)
    assert after_window >= 0 and spikemem_hidden - nb_hidden == after_window
    fanout_1 = _fanout(model.layers[0])
    if model.encoding == "rate":  # input spikes x fan-out: accumulate operations on both sides, the same number
        input_acs = int(encoded.sum(axis=(0, 1)) @ fanout_1)
        assert projections["layer_1"].accumulate_ops == input_acs
        assert synops["effective_acs"] * SAMPLES == pytest.approx(nb_hidden + input_acs, abs=1e-6)
        assert synops["effective_macs"] == 0 and spec.cost.multiply_accumulate_ops == 0
        assert spec.cost.accumulate_ops == spikemem_hidden + input_acs
    else:  # the graded input layer: NeuroBench per step and non-zero input; spikemem per non-zero drive element
        assert synops["effective_acs"] * SAMPLES == pytest.approx(nb_hidden, abs=1e-6)
        nonzero_inputs = (encoded != 0).astype(np.int64)
        nb_macs = model.steps * int((nonzero_inputs @ fanout_1).sum())
        assert synops["effective_macs"] * SAMPLES == pytest.approx(nb_macs, abs=1e-6)
        drive = encoded @ model.layers[0].T
        spikemem_macs = model.steps * int(np.count_nonzero(drive)) * model.n_inputs
        assert spec.cost.multiply_accumulate_ops == spikemem_macs
        assert spec.cost.accumulate_ops == spikemem_hidden
    # dense: every weight every step, T steps against S
    dense_per_step = sum(w.size for w in [*model.layers, *model.heads])
    assert synops["dense"] == pytest.approx(model.steps * dense_per_step, abs=1e-9)
    assert spec.cost.dense_macs == SAMPLES * total_steps * dense_per_step


def test_membrane_and_neuron_updates(measured: Measured) -> None:
    model, nb, spec = measured.model, measured.nb, measured
    neurons = sum(w.shape[0] for w in model.layers)
    # NeuroBench: every neuron at the first step, then those whose potential changed
    assert neurons <= nb["workload"]["membrane_updates"] <= model.steps * neurons
    assert spec.cost.neuron_updates == SAMPLES * run_steps(model) * (neurons + sum(model.head_sizes))


def test_parameters_connection_sparsity_and_footprint(measured: Measured) -> None:
    model, nb, spec = measured.model, measured.nb, measured
    static, fp = nb["static"], spec.footprint
    weights = [*model.layers, *model.heads]
    every = sum(w.size for w in weights)
    zeros = sum(int((w == 0).sum()) for w in weights)
    assert static["parameter_count"] == every
    assert static["connection_sparsity"] == round(zeros / every, 4)
    in_spec = weights if model.encoding == "rate" else weights[1:]  # the direct encoding's layer 1 is a current
    assert fp.dense_parameters == sum(w.size for w in in_spec)
    assert fp.parameters == sum(int(np.count_nonzero(w)) for w in in_spec)
    assert fp.connection_sparsity == pytest.approx(1 - fp.parameters / fp.dense_parameters, abs=1e-12)
    assert 0 < fp.connection_sparsity < 1
    assert static["footprint_parameters"] == 8 * every  # float64
    assert static["footprint_buffers"] == BUFFER_BYTES * len(model.layers)
    assert static["footprint"] == static["footprint_parameters"] + static["footprint_buffers"]
    neurons = sum(w.shape[0] for w in model.layers) + sum(model.head_sizes)
    assert fp.total_bytes == 4 * fp.parameters + 4 * neurons  # float32 weights and potentials, no traces


def test_side_by_side_rows_carry_both_figures(measured: Measured) -> None:
    nb, spec = measured.nb, measured
    rows = {row[0]: row[1:] for row in side_by_side(nb, spec.cost.per_trial(), spec.footprint.as_dict())}
    assert rows["parameters"] == [f"{nb['static']['parameter_count']:,}", f"{spec.footprint.parameters:,}"]
    assert rows["dense"][1] == f"{spec.cost.dense_macs // SAMPLES:,}"
    assert float(rows["spikes"][0].replace(",", "")) == pytest.approx(
        sum(int(c.sum()) for c in nb["spike_counts"]) / SAMPLES, rel=1e-5
    )


def test_evaluate_neurobench_prints_both_columns_and_writes_them(
    trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "evaluation.json"
    argv = ["evaluate", str(trained_run), "--backend", "reference", "--against", "none", "--max-test", "6"]
    assert main([*argv, "--neurobench", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "NeuroBench 2.3.0" in printed and "how the figures differ" in printed
    table_rows = {line.split()[0] for line in printed.splitlines() if line.split() and line.split()[0] in RELATIONS}
    assert table_rows == set(RELATIONS)  # one row per figure
    report = json.loads(out.read_text())
    figures = report["neurobench"]
    assert figures["neurobench"]["samples"] == 12
    dense = figures["spikemem"]["counts"]["total"]["dense_macs"]
    assert figures["neurobench"]["workload"]["synaptic_operations"]["dense"] * 7 == pytest.approx(dense * 5)  # S=7, T=5
    assert report["evaluation"]["backend"] == "reference"  # the evaluation itself is unchanged
