"""The Loihi-style integer model (numpy only; Lava's own models are compared in tests/backends/test_lava.py)."""

from __future__ import annotations

import numpy as np
import pytest

from spikemem.fixed_point import (
    NON_SPIKING_THRESHOLD,
    V_LIMIT,
    VTH_MAX,
    FixedNeuron,
    FixedPointArithmetic,
    fixed_lif_step,
    quantize,
    truncating_decay,
)
from spikemem.spec import LIF, CurrentInput, Network, Population, Projection


def _network() -> Network:
    rng = np.random.default_rng(0)
    return Network(
        dt=1e-3,
        populations=[
            Population("a", 50, LIF(tau_mem=0.02, v_th=0.8, v_reset=-0.1), v_init=rng.uniform(0, 0.5, 50)),
            Population("b", 20, LIF(tau_mem=0.01, reset="subtract")),
        ],
        inputs=[CurrentInput("i", "a", np.full(50, 0.05))],
        projections=[
            Projection("a", "a", rng.normal(0, 0.1, (50, 50))),
            Projection("a", "b", rng.uniform(0, 0.3, (20, 50))),
            Projection("b", "a", -rng.uniform(0, 0.2, (50, 20))),
        ],
    )


def test_quantization_fits_loihi_ranges_and_reports_its_error() -> None:
    model = quantize(_network())
    ranges = {"mixed": (-256, 254), "excitatory": (0, 255), "inhibitory": (-255, 0)}
    modes = {"a->a": "mixed", "a->b": "excitatory", "b->a": "inhibitory"}
    for name, fw in model.projections.items():
        assert fw.sign_mode == modes[name]
        low, high = ranges[fw.sign_mode]
        assert low <= fw.mantissa.min() and fw.mantissa.max() <= high and 0 <= fw.exponent <= 7
        if fw.sign_mode == "mixed":
            assert np.all(fw.mantissa % 2 == 0)
        step = 2 if fw.sign_mode == "mixed" else 1
        assert model.errors[name]["max_abs"] <= step * fw.unit / 2 + 1e-15  # rounding to the nearest mantissa
        assert model.errors[name]["max_rel"] < 0.01
        # the largest weight uses the top of the mantissa range (8 significant bits)
        assert np.abs(fw.mantissa).max() > high // 2 or np.abs(fw.mantissa).max() > -low // 2
    for neuron in model.populations.values():
        assert neuron.threshold <= 2**21 and neuron.vth > 1000  # 2 headroom bits, fine threshold resolution
        assert abs(neuron.beta_quantized - neuron.beta) <= 1 / 8192
    report = model.report()
    assert set(report["projections"]["a->a"]) >= {"exponent", "sign_mode", "max_abs", "max_rel", "rms_rel"}


def test_a_non_spiking_integrator_gets_its_scale_from_the_weight_range() -> None:
    """A readout that starts at zero: ``weight_ranges`` fixes its 8-bit step; the threshold is Loihi's largest."""
    network = Network(
        dt=1e-3,
        populations=[
            Population("hidden", 30, LIF(tau_mem=0.02)),
            Population("readout", 4, LIF(tau_mem=float("inf"), v_th=NON_SPIKING_THRESHOLD, reset="value")),
        ],
        projections=[Projection("hidden", "readout", np.zeros((4, 30)), name="heads")],
    ).validate()
    for limit in (0.3, 1.0, 5.0):
        model = quantize(network, weight_ranges={"heads": limit})
        fw, readout = model.projections["heads"], model.populations["readout"]
        assert fw.exponent == 0 and readout.vth == VTH_MAX and fw.sign_mode == "mixed"  # zeros now, any sign later
        assert limit / 254 <= fw.unit <= 2 * limit / 254  # 8 significant bits of the range, no more
        assert (V_LIMIT / readout.scale) > 500 * limit  # the potential spans hundreds of full-range inputs
    with pytest.raises(ValueError, match=r"names no projection.*'nope'"):
        quantize(network, weight_ranges={"nope": 1.0})


def test_decay_truncates_toward_zero_like_lava() -> None:
    v = np.array([10_000, -10_000, 4095, -4095, 0])
    dv = 200
    product = v * (4096 - dv)
    expected = np.sign(product) * (np.abs(product) >> 12)  # PyLifModelBitAcc
    np.testing.assert_array_equal(truncating_decay(v, dv), expected)
    assert truncating_decay(np.array([-4095]), 200)[0] == -3895  # -3895.05 toward zero, not floor (-3896)


def _neuron(**changes) -> FixedNeuron:
    base = {
        "scale": 2.0**20,
        "dv": 200,
        "vth": 1000,
        "v_reset": -500,
        "subtract": False,
        "refractory_steps": 2,
        "v_init": np.zeros(1, dtype=np.int64),
        "beta": 0.95,
    }
    return FixedNeuron(**{**base, **changes})


def test_integer_step_resets_and_refractoriness() -> None:
    neuron = _neuron()
    v, ref = np.array([63_000]), np.array([0])
    spikes, v, ref = fixed_lif_step(v, ref, np.array([5_000]), neuron)
    assert spikes[0] and v[0] == -500 and ref[0] == 2
    for expected_ref in (1, 0):  # clamped: input ignored, v held
        spikes, v, ref = fixed_lif_step(v, ref, np.array([10**6]), neuron)
        assert not spikes[0] and v[0] == -500 and ref[0] == expected_ref
    sub = _neuron(subtract=True, refractory_steps=0)
    spikes, v, _ = fixed_lif_step(np.array([0]), np.array([0]), np.array([70_000]), sub)
    assert spikes[0] and v[0] == 70_000 - 64_000
    _, v, _ = fixed_lif_step(np.array([0]), np.array([0]), np.array([-(2**30)]), sub)
    assert v[0] == -V_LIMIT  # saturates like Lava's 24-bit v


def test_arithmetic_units_round_trip() -> None:
    network = _network()
    arith = FixedPointArithmetic(network)
    fw = arith.model.projections["a->a"]
    internal = arith.weights("a->a")
    np.testing.assert_array_equal(internal, fw.mantissa.astype(np.int64) << (fw.exponent + 6))
    np.testing.assert_allclose(arith.weights_to_float("a->a", internal), fw.to_float())
    np.testing.assert_array_equal(arith.weights_from_float("a->a", fw.to_float()), internal)
    scale = arith.model.populations["a"].scale
    np.testing.assert_array_equal(arith.external("a", np.full((3, 50), 0.05)), np.rint(0.05 * scale))
    np.testing.assert_array_equal(arith.initial_v("a"), np.rint(np.asarray(network.populations[0].v_init) * scale))
