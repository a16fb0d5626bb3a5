"""The snnTorch backend: identical to the numpy reference, batched, differentiable.

Stated tolerances (float64, the default dtype): spike trains and counts are
identical to the reference; membrane potentials within 1e-12 (seen: <= 2e-15);
learned weights within 1e-12 (seen: <= 3e-16). float32: spikes identical on
these cases (not guaranteed in general), v within 1e-4, weights within 1e-5.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
snntorch = pytest.importorskip("snntorch")

from spikemem.backend import UnsupportedFeatureError  # noqa: E402
from spikemem.backends import get_backend  # noqa: E402
from spikemem.backends.snntorch_backend import SnnTorchBackend, resolve_device  # noqa: E402
from spikemem.backends.snntorch_layers import LIFLayer  # noqa: E402
from spikemem.dynamics import LIFParams, lif_step  # noqa: E402
from spikemem.spec import LIF, Monitor  # noqa: E402

# The conformance suite's networks, defined once for every backend's tests (same module object as there).
sys.path.insert(0, str(Path(__file__).parents[1] / "conformance"))
import cases  # noqa: E402

STEPS = cases.STEPS
V_TOL = {"float64": 1e-12, "float32": 1e-4}
W_TOL = {"float64": 1e-12, "float32": 1e-5}


def _reference(network, steps: int = STEPS):
    with get_backend("reference").compile(network) as sim:
        return sim.run(steps)


def _compare(got, want, dtype: str = "float64") -> None:
    assert sorted(got.data) == sorted(want.data)
    for key, expected in want.data.items():
        have = got.data[key]
        assert have.shape == expected.shape, key
        if key.endswith((".spikes", ".count")):
            assert have.dtype == expected.dtype, key
            mismatch = np.argwhere(have != expected)
            assert mismatch.size == 0, f"{key}: first mismatches {mismatch[:5].tolist()}"
        else:
            tol = W_TOL[dtype] if key.endswith(".weights") else V_TOL[dtype]
            np.testing.assert_allclose(have, expected, rtol=0, atol=tol, err_msg=key)


# -- identical to the reference ----------------------------------------------------------
@pytest.mark.parametrize("leaky", [True, False], ids=["leaky", "lif_step"])
@pytest.mark.parametrize("case", sorted(cases.SPIKING_CASES))
def test_identical_to_reference(case: str, leaky: bool) -> None:
    want = _reference(cases.SPIKING_CASES[case]())
    with get_backend("snntorch", leaky=leaky).compile(cases.SPIKING_CASES[case]()) as sim:
        _compare(sim.run(STEPS), want)


def test_float32_is_close() -> None:
    want = _reference(cases.time_varying_current())
    with get_backend("snntorch", dtype="float32").compile(cases.time_varying_current()) as sim:
        _compare(sim.run(STEPS), want, dtype="float32")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("rule_name", sorted(cases.RULES))
def test_rules_match_reference(rule_name: str, dtype: str) -> None:
    want = _reference(cases.plastic(cases.RULES[rule_name]))
    with get_backend("snntorch", dtype=dtype).compile(cases.plastic(cases.RULES[rule_name])) as sim:
        _compare(sim.run(STEPS), want, dtype)
        np.testing.assert_allclose(sim.weights("plastic"), want.weights("plastic"), rtol=0, atol=W_TOL[dtype])


def test_masked_plastic_recurrence_matches_reference() -> None:
    """A sparse, plastic lateral projection with delay 2: absent synapses stay zero."""

    def network():
        net = cases._layer(neuron=LIF(tau_mem=0.02), seed=8, delay_lat=2)
        lateral = net.projections[1]
        lateral.mask = lateral.weights != 0
        lateral.plasticity = cases.RULES["PairSTDP"]
        net.monitors.append(Monitor(lateral.name, "weights"))
        return net

    want = _reference(network())
    with get_backend("snntorch").compile(network()) as sim:
        got = sim.run(STEPS)
    _compare(got, want)
    lateral = network().projections[1]
    assert np.all(got.weights(lateral.name)[~lateral.mask] == 0)
    assert np.abs(got.weights(lateral.name) - lateral.weights).max() > 1e-3


def test_weight_snapshots_every_k() -> None:
    def network():
        net = cases.plastic(cases.RULES["OjaSubspace"])
        net.monitors = [Monitor("post", "count"), Monitor("plastic", "weights", every=40)]
        return net

    want = _reference(network())
    with get_backend("snntorch").compile(network()) as sim:
        got = sim.run(STEPS - 10)  # snapshots after steps 40, 80, ... of the run
        assert got.weights("plastic").shape == ((STEPS - 10) // 40, 8, 20)
        np.testing.assert_allclose(got.weights("plastic"), want.weights("plastic")[: (STEPS - 10) // 40], atol=1e-12)


def test_execution_paths() -> None:
    """snntorch.Leaky only where it is exact; the shared lif_step for the rest."""
    backend = get_backend("snntorch")
    assert backend.compile(cases.lif_layer()).paths == {"layer": "snntorch.Leaky"}
    for case in ("reset_subtract", "reset_to_value", "refractory"):
        assert backend.compile(cases.SPIKING_CASES[case]()).paths == {"layer": "lif_step"}, case
    above = cases._layer(neuron=LIF(tau_mem=0.02), v_init=1.5)  # Leaky would reset v_init > v_th first
    assert backend.compile(above).paths == {"layer": "lif_step"}
    _compare(backend.compile(cases._layer(neuron=LIF(tau_mem=0.02), v_init=1.5)).run(STEPS), _reference(above))
    assert get_backend("snntorch", leaky=False).compile(cases.lif_layer()).paths == {"layer": "lif_step"}


def test_leaky_subtract_is_not_the_spec() -> None:
    """Why reset="subtract" runs on lif_step: Leaky misses the spike of a neuron still above threshold."""
    params = LIFParams(beta=0.9, v_th=1.0, v_reset=0.0, subtract=True, refractory_steps=0)
    inputs = [2.5, 0.2, 0.0]
    f64 = torch.float64
    leaky = snntorch.Leaky(
        beta=torch.tensor(0.9, dtype=f64),
        threshold=torch.tensor(1.0, dtype=f64),
        reset_mechanism="subtract",
        reset_delay=False,
        surrogate_disable=True,
    )
    mem, v, refractory = torch.zeros(1, dtype=torch.float64), np.zeros(1), np.zeros(1, dtype=np.int64)
    leaky_spikes, spec_spikes = [], []
    for current in inputs:
        spk, mem = leaky(torch.tensor([current], dtype=torch.float64), mem)
        spikes, v, refractory = lif_step(v, refractory, np.array([current]), params)
        leaky_spikes.append(int(spk.item()))
        spec_spikes.append(int(spikes[0]))
    assert spec_spikes == [1, 1, 0]  # 2.5 -> 1.5 (spike); 0.9*1.5+0.2 = 1.55 -> 0.55 (spike)
    assert leaky_spikes == [1, 0, 0]  # Leaky computes 1.55 - 1 for the second spike and stays at 1.55


# -- state, batching ----------------------------------------------------------------------
def test_runs_continue_reset_and_restore_weights() -> None:
    whole = _reference(cases.delays()).spikes("layer")
    with get_backend("snntorch").compile(cases.delays()) as sim:
        first = sim.run(80).spikes("layer")
        second = sim.run(120)
        assert second.t_start == 80
        np.testing.assert_array_equal(np.concatenate([first, second.spikes("layer")]), whole)
        sim.reset()
        np.testing.assert_array_equal(sim.run(STEPS).spikes("layer"), whole)

    network = cases.plastic(cases.RULES["PairSTDP"])
    initial = network.projection("plastic").weights
    want = _reference(cases.plastic(cases.RULES["PairSTDP"]))
    with get_backend("snntorch").compile(network) as sim:
        parts = [sim.run(50), sim.run(150)]
        np.testing.assert_array_equal(np.concatenate([p.spikes("post") for p in parts]), want.spikes("post"))
        np.testing.assert_allclose(sim.weights("plastic"), want.weights("plastic"), rtol=0, atol=1e-12)
        sim.reset()
        assert np.abs(sim.weights("plastic") - initial).max() > 1e-3  # reset() keeps learned weights
        sim.reset(weights=True)
        np.testing.assert_array_equal(sim.weights("plastic"), initial)
        sim.set_weights("plastic", initial * 0.5)
        np.testing.assert_array_equal(sim.weights("plastic"), initial * 0.5)


@pytest.mark.parametrize("leaky", [True, False], ids=["leaky", "lif_step"])
def test_batch_equals_one_by_one(leaky: bool) -> None:
    network = cases.time_varying_current()
    network.monitors.append(Monitor("inh", "count"))
    drive = network.input("drive").values
    batch = np.stack([drive, 0.5 * drive, drive[::-1].copy(), 1.5 * drive])
    with get_backend("snntorch", leaky=leaky).compile(network) as sim:
        together = sim.run_batch(STEPS, {"drive": batch})
        for b in range(len(batch)):
            sim.reset()
            alone = sim.run(STEPS, inputs={"drive": batch[b]})
            for key, value in alone.data.items():
                if key.endswith(".v"):
                    np.testing.assert_allclose(together[key][b], value, rtol=0, atol=1e-12, err_msg=key)
                else:
                    np.testing.assert_array_equal(together[key][b], value, err_msg=key)
    with get_backend("reference").compile(cases.time_varying_current()) as ref:
        np.testing.assert_array_equal(together.spikes("exc"), ref.run_batch(STEPS, {"drive": batch}).spikes("exc"))


def test_batched_spike_input_with_delays() -> None:
    network = cases.delays()
    rasters = np.stack([network.input("in").spikes, np.roll(network.input("in").spikes, 7, axis=0)])
    with get_backend("snntorch").compile(cases.delays()) as sim:
        got = sim.run_batch(STEPS, {"in": rasters})
    with get_backend("reference").compile(network) as ref:
        want = ref.run_batch(STEPS, {"in": rasters})
    _compare(got, want)


# -- gradients ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "neuron",
    [LIF(tau_mem=0.02), LIF(tau_mem=0.02, reset="subtract"), LIF(tau_mem=0.02, v_reset=-0.2, refractory_steps=2)],
    ids=["leaky", "subtract", "refractory"],
)
@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "sigmoid", "atan"])
def test_gradients_flow_through_surrogate(neuron: LIF, surrogate: str) -> None:
    torch.manual_seed(0)
    layer = LIFLayer(neuron, 1e-3, surrogate=surrogate)
    weights = torch.nn.Parameter(0.3 * torch.randn(6, 10, dtype=torch.float64))
    inputs = (torch.rand(30, 4, 10) < 0.4).to(torch.float64)
    state = layer.initial_state(4, 6)
    total = 0
    for t in range(len(inputs)):
        spikes, state = layer(inputs[t] @ weights.T, state)
        total = total + spikes
    loss = ((total / len(inputs) - 0.2) ** 2).sum()
    loss.backward()
    assert torch.isfinite(weights.grad).all()
    assert weights.grad.abs().sum() > 0
    assert total.sum() > 0


def test_sigmoid_surrogate_is_finite_far_below_threshold() -> None:
    """snnTorch 1.0's sigmoid surrogate overflows to NaN below v_th - 3.5 in float32; ours does not."""
    from spikemem.backends.snntorch_layers import sigmoid_surrogate

    x = torch.linspace(-100, 100, 2001, requires_grad=True)
    sigmoid_surrogate()(x).sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.max() == pytest.approx(25 / 4, rel=1e-3)
    layer = LIFLayer(LIF(tau_mem=0.02, reset="subtract"), 1e-3, surrogate="sigmoid")
    weights = torch.nn.Parameter(torch.full((3, 2), -5.0))
    state = layer.initial_state(1, 3, dtype=torch.float32)
    _, state = layer(torch.ones(1, 2) @ weights.T, state)
    state.v.sum().backward()
    assert torch.isfinite(weights.grad).all()


def test_grad_and_no_grad_agree() -> None:
    """The surrogate path and the plain threshold give the same forward values."""
    for neuron in (LIF(tau_mem=0.02), LIF(tau_mem=0.02, reset="subtract", refractory_steps=1)):
        layer = LIFLayer(neuron, 1e-3)
        currents = 0.4 * torch.rand(40, 3, 5, dtype=torch.float64)
        runs = []
        for grad in (True, False):
            state, out = layer.initial_state(3, 5), []
            with torch.set_grad_enabled(grad):
                for current in currents:
                    spikes, state = layer(current.requires_grad_(grad), state)
                    out.append(torch.cat([spikes, state.v], dim=-1).detach())
            runs.append(torch.stack(out))
        assert torch.equal(runs[0], runs[1])
        assert runs[1][..., :5].sum() > 0


# -- options, devices, packaging ----------------------------------------------------------
def test_device_selection() -> None:
    assert resolve_device("auto", cuda_available=True) == "cuda"
    assert resolve_device("auto", cuda_available=False) == "cpu"
    assert resolve_device("cuda:1", cuda_available=True) == "cuda:1"
    assert resolve_device("cpu", cuda_available=True) == "cpu"
    with pytest.raises(UnsupportedFeatureError, match="CUDA is not available"):
        resolve_device("cuda", cuda_available=False)
    with pytest.raises(UnsupportedFeatureError, match=r"options\.device"):
        resolve_device("tpu", cuda_available=True)


def test_auto_device_picks_cuda_when_available(monkeypatch: pytest.MonkeyPatch) -> None:
    import spikemem.backends._snntorch_simulation as simulation

    seen = {}

    class Recorder:
        def __init__(self, network, numeric, **kwargs):
            seen.update(kwargs)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(simulation, "SnnTorchSimulation", Recorder)
    get_backend("snntorch").compile(cases.lif_layer(), count_operations=False)  # the stand-in does not count
    assert seen["device"] == "cuda" and seen["dtype"] == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_reference() -> None:
    with get_backend("snntorch", device="cuda").compile(cases.time_varying_current()) as sim:
        assert sim.device.type == "cuda"
        _compare(sim.run(STEPS), _reference(cases.time_varying_current()))


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"dtype": "float16"}, "options.dtype"),
        ({"surrogate": "nope"}, "options.surrogate"),
        ({"colour": 1}, "options"),
        ({"leaky": "yes"}, "options.leaky"),
    ],
)
def test_bad_options_refused_at_compile(options: dict, field: str) -> None:
    with pytest.raises(UnsupportedFeatureError) as info:
        get_backend("snntorch", **options).compile(cases.lif_layer())
    assert info.value.field == field


def test_capabilities_and_availability() -> None:
    backend = get_backend("snntorch")
    assert isinstance(backend, SnnTorchBackend) and backend.available()
    caps = backend.capabilities
    assert set(caps.rules) == {"Hebb", "Oja", "OjaSubspace", "PairSTDP", "ThreeFactor", "ErrorModulated"}
    assert caps.numeric == ("float",) and caps.gradient_training and caps.native_batch
    assert caps.devices == ("cpu", "cuda")
    with pytest.raises(UnsupportedFeatureError, match="numeric"):
        backend.compile(cases.lif_layer(), numeric="fixed")


def test_importing_the_backend_does_not_import_torch() -> None:
    code = "import sys, spikemem.backends.snntorch_backend; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_close_releases_snntorch_instances() -> None:
    before = len(snntorch.SpikingNeuron.instances)
    sim = get_backend("snntorch").compile(cases.lif_layer())
    assert len(snntorch.SpikingNeuron.instances) == before + 2
    sim.close()
    assert len(snntorch.SpikingNeuron.instances) == before
