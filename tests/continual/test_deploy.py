"""Trained MLPs through the spec on every backend, `spikemem evaluate`, and `spikemem deploy` to Lava."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from backend_selection import BACKENDS, TEST_OPTIONS, require

pytest.importorskip("torch")
pytest.importorskip("snntorch")

import torch

from spikemem.cli import main
from spikemem.continual.deployment import deploy, load_deployment
from spikemem.continual.encoding import Encoder, EncodingConfig
from spikemem.continual.evaluate import encoded_test_set, load_run, trained_model_of_run
from spikemem.continual.inference import InferenceSession, mlp_network, quantize_input_layer
from spikemem.continual.model import ModelConfig, SpikingMLP
from spikemem.continual.trained import MODEL_FILE, TrainedMLP, from_settings
from spikemem.experiments import run_experiment

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
TINY = [
    "stream.tasks=3",
    "stream.max_train=120",
    "stream.max_test=40",
    "training.epochs=2",
    "training.batch_size=16",
    "model.hidden=[24, 16]",
    "encoding.steps=4",
    "training.threads=1",
]


def _trained(kind: str, seed: int = 3) -> tuple[SpikingMLP, TrainedMLP, np.ndarray]:
    """A random 2-hidden-layer SpikingMLP in float64 (weights scaled to spike), its TrainedMLP, and pixels."""
    from types import SimpleNamespace

    generator = torch.Generator().manual_seed(seed)
    config = ModelConfig(hidden=(20, 12))
    encoding = EncodingConfig(kind=kind, steps=5, gain=0.8 if kind == "rate" else 1.0)
    rng = np.random.default_rng(seed)
    pixels = rng.random((30, 16))
    encoder = Encoder.fit(encoding, pixels)
    net = SpikingMLP(16, [4], config, encoding.steps, generator).double()
    with torch.no_grad():
        for layer in net.layers:
            layer.mul_(3.0)
    settings = SimpleNamespace(model=config, encoding=encoding)
    model = from_settings(
        [w.detach().numpy() for w in net.layers],
        [h.detach().numpy() for h in net.heads],
        settings,
        encoder.mean,
        encoder.std,
        "snntorch",
    )
    return net, model, pixels


@pytest.mark.parametrize("kind", ["direct", "rate"])
def test_spec_network_reproduces_the_layer_synchronous_training_model(kind: str) -> None:
    """One-step delays shift each layer's spike train, but counts and logits equal the training model's."""
    net, model, pixels = _trained(kind)
    encoded = model.encode(pixels, np.random.default_rng(0))
    x = torch.as_tensor(encoded if kind == "direct" else np.moveaxis(encoded, 1, 0).astype(np.float64))
    with torch.no_grad():
        forward = net(x, record=True)
    expected_counts = forward.inputs[-1].numpy() * model.steps  # the classifier reads the mean of the last layer
    with InferenceSession(model, "reference") as session:
        result = session.run(encoded)
    assert result.counts[-1].sum() > 0, "the test model must spike"
    np.testing.assert_allclose(result.counts[-1], expected_counts, atol=1e-9)
    np.testing.assert_allclose(result.logits, forward.logits.numpy(), atol=1e-9)
    net.release()


@pytest.mark.parametrize("name", BACKENDS)
def test_every_backend_gives_the_reference_counts_and_logits(name: str) -> None:
    backend = require(name)
    _, model, pixels = _trained("direct", seed=5)
    encoded = model.encode(pixels)
    with InferenceSession(model, "reference") as session:
        expected = session.run(encoded)
    with InferenceSession(model, backend.name, options=TEST_OPTIONS.get(name), batch=7) as session:
        got = session.run(encoded)
    for layer, (have, want) in enumerate(zip(got.counts, expected.counts, strict=True)):
        np.testing.assert_array_equal(have, want, err_msg=f"hidden layer {layer + 1}")
    np.testing.assert_allclose(got.logits, expected.logits, atol=1e-9)


def test_lava_fixed_point_is_bit_exact_with_the_integer_reference() -> None:
    require("lava")
    _, model, pixels = _trained("direct", seed=7)
    encoded = model.encode(pixels)
    with InferenceSession(model, "reference", "fixed") as session:
        expected = session.run(encoded)
        np.testing.assert_array_equal(session.first_layer, quantize_input_layer(model.layers[0]).weights)
    with InferenceSession(model, "lava", "fixed", batch=16) as session:
        got = session.run(encoded)
    for have, want in zip(got.counts, expected.counts, strict=True):
        np.testing.assert_array_equal(have, want)
    np.testing.assert_array_equal(got.logits, expected.logits)


def test_a_fixed_point_session_reads_the_scale_the_backend_quantized_with() -> None:
    """Non-default Lava options change the readout's scale: the session takes it from the simulation, not defaults."""
    require("lava")
    from spikemem.fixed_point import quantize

    _, model, pixels = _trained("direct", seed=7)
    encoded = model.encode(pixels)
    with InferenceSession(model, "reference") as session:
        assert session.simulation.fixed_point is None
        exact = session.run(encoded).logits
    with InferenceSession(model, "lava", "fixed", options={"headroom_bits": 3}, batch=16) as session:
        got = session.run(encoded).logits
    default = quantize(mlp_network(model)).populations["readout"].scale
    assert session.readout_scale == default / 2, "3 headroom bits: half the default scale"
    slope = float((got * exact).sum() / (exact * exact).sum())  # 2 (or 1/2) with a re-quantized default scale
    assert 0.95 < slope < 1.05, slope
    assert np.median(np.abs(got - exact)) < 0.01 * np.abs(exact).max(), "most samples give the float logits"


def test_the_reference_fixed_point_simulation_reports_its_quantization() -> None:
    from spikemem.fixed_point import quantize

    _, model, _ = _trained("direct")
    with InferenceSession(model, "reference", "fixed") as session:
        fixed = session.simulation.fixed_point
        assert fixed is not None and session.readout_scale == fixed.populations["readout"].scale
        assert fixed.report() == quantize(session.network).report(), "the reference takes no options: defaults"


def test_readout_is_an_integrator_that_never_fires() -> None:
    _, model, _ = _trained("direct")
    readout = mlp_network(model).population("readout")
    assert readout.neuron.beta(1e-3) == 1.0
    heads = np.vstack(model.heads)
    assert readout.neuron.v_th > model.steps * np.clip(heads, 0, None).sum(axis=1).max()  # never reached
    assert 4 * readout.neuron.v_th > model.steps * np.clip(-heads, 0, None).sum(axis=1).max()  # fits Loihi's v


@pytest.mark.parametrize("scale", [1e-4, 0.03, 1.0, 7.5])
def test_input_layer_quantization_is_8_bit_with_a_minimal_power_of_two_step(scale: float) -> None:
    weights = np.random.default_rng(1).normal(0, scale, (30, 20))
    layer = quantize_input_layer(weights)
    assert np.all(layer.mantissa % 2 == 0) and layer.mantissa.min() >= -256 and layer.mantissa.max() <= 254
    assert np.log2(layer.unit) == np.round(np.log2(layer.unit))
    assert np.abs(layer.weights - weights).max() <= layer.unit + 1e-15  # even steps: at most one unit off
    assert np.abs(weights).max() / (layer.unit / 2) > 254, "a smaller step would have fitted"


def test_trained_model_round_trips(tmp_path: Path) -> None:
    _, model, _ = _trained("rate")
    path = model.save(tmp_path / "m.npz")
    back = TrainedMLP.load(path)
    assert back.neuron == model.neuron and back.encoding == "rate" and back.steps == model.steps
    for a, b in zip(back.layers + back.heads, model.layers + model.heads, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture(scope="module")
def snntorch_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "pdigits_finetune"
    run_experiment(
        EXPERIMENTS / "pdigits_finetune.toml", backend="snntorch", seed=2, overrides=TINY, out=out, show_progress=False
    )
    return out


def test_a_run_writes_its_trained_model_and_evaluates_to_its_own_accuracy(snntorch_run: Path, tmp_path: Path) -> None:
    run = load_run(snntorch_run)
    assert (snntorch_run / MODEL_FILE).exists() and run.model.source_backend == "snntorch"
    report_path = tmp_path / "eval.json"
    argv = ["evaluate", str(snntorch_run), "--backend", "reference", "--out", str(report_path)]
    assert main(argv) == 0
    report = json.loads(report_path.read_text())
    np.testing.assert_allclose(report["evaluation"]["accuracy"], report["trained_accuracy"], atol=1.5 / 40)
    assert report["agreement"]["prediction_agreement"] >= 0.97


def test_old_run_directories_load_from_the_torch_state(snntorch_run: Path, tmp_path: Path) -> None:
    import shutil

    old = tmp_path / "old"
    shutil.copytree(snntorch_run, old)
    (old / MODEL_FILE).unlink()
    rebuilt, saved = trained_model_of_run(old), trained_model_of_run(snntorch_run)
    assert (rebuilt.input_mean, rebuilt.input_std) == pytest.approx((saved.input_mean, saved.input_std))
    for a, b in zip(rebuilt.layers + rebuilt.heads, saved.layers + saved.heads, strict=True):
        np.testing.assert_array_equal(a, b)


def test_deploy_to_lava_reports_parity_and_reloads(snntorch_run: Path, tmp_path: Path) -> None:
    require("lava")
    report = deploy(snntorch_run, tmp_path / "deploy", fixed_point=True)
    lava_float, lava_fixed = report["targets"]
    assert (lava_float["numeric"], lava_fixed["numeric"]) == ("float", "fixed")
    assert lava_float["agreement"]["prediction_agreement"] == 1.0
    assert lava_float["agreement"]["count_equal_fraction"] == [1.0, 1.0]
    assert lava_float["max_abs_accuracy_delta"] == 0.0
    assert lava_fixed["max_abs_accuracy_delta"] <= 0.05  # 40 test samples per task: 2 samples
    assert lava_fixed["agreement"]["prediction_agreement"] >= 0.9
    layers = report["quantization"]["layers"]
    assert sorted(layers) == ["heads", "layer_1", "layer_2"]
    assert all(values["max_rel"] < 0.01 for values in layers.values())
    saved = json.loads((tmp_path / "deploy" / "deploy_report.json").read_text())
    assert saved["targets"][1]["accuracy"] == lava_fixed["accuracy"]

    deployment = load_deployment(tmp_path / "deploy" / "deployment")
    run = load_run(snntorch_run)
    encoded = encoded_test_set(deployment.model, run.tasks[0], 0, run.seed)
    with deployment.session("fixed") as session:
        reloaded = session.run(encoded)
    accuracy = float(np.mean(reloaded.predictions(deployment.model.head_sizes, 0) == run.tasks[0].y_test))
    assert accuracy == lava_fixed["accuracy"][0]

    import nir

    graph = nir.read(tmp_path / "deploy" / "deployment" / "network.nir")
    assert {type(node).__name__ for node in graph.nodes.values()} >= {"LIF", "Linear", "IF"}


def test_cli_errors_are_one_line(snntorch_run: Path, tmp_path: Path, capsys) -> None:
    assert main(["evaluate", str(tmp_path / "missing"), "--backend", "reference"]) == 2
    assert "missing: no such directory" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path), "--backend", "reference"]) == 2
    assert "no result.json" in capsys.readouterr().err
    assert main(["evaluate", str(snntorch_run), "--backend", "nosuch"]) == 2
    assert "nosuch" in capsys.readouterr().err
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "result.json").write_text(json.dumps({"config": {"experiment": {"kind": "memory"}}}))
    assert main(["deploy", str(tmp_path / "memory")]) == 2
    assert "not from a continual-learning config" in capsys.readouterr().err
