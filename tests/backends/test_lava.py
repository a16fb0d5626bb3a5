"""The Lava backend: identical to the reference in float, bit-exact in fixed point, robust when Lava fails.

Every Lava run starts a worker process (about 1-2 s); the networks are small
so that the whole file stays well under a minute on two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spikemem.backend import UnsupportedFeatureError
from spikemem.backends import get_backend
from spikemem.fixed_point import FixedPointArithmetic, quantize
from spikemem.learning import initial_state, rule_step
from spikemem.spec import (
    LIF,
    CurrentInput,
    ErrorModulated,
    Hebb,
    ModulatorInput,
    Monitor,
    Network,
    Oja,
    OjaSubspace,
    PairSTDP,
    PoissonInput,
    Population,
    Projection,
    SpecError,
    SpikeInput,
    ThreeFactor,
)

# The conformance suite's helpers, defined once for every backend's tests (as in test_brian2).
sys.path.insert(0, str(Path(__file__).parents[1] / "conformance"))
from cases import orthonormal_basis

lava_backend = pytest.importorskip("spikemem.backends.lava_backend")
if not get_backend("lava").available():
    pytest.skip(f"Lava unavailable: {get_backend('lava').available().reason}", allow_module_level=True)

from spikemem.backends.lava_backend import LavaRunError  # noqa: E402
from spikemem.backends.lava_backend._client import group_members  # noqa: E402
from spikemem.backends.lava_backend._plan import build_plan, validate_plan  # noqa: E402

DT = 1e-3
STEPS = 150
PLASTIC_TOLERANCE = 1e-12
"""Float learning on Lava's engine vs the numpy reference: max |dW| after 200 steps (measured ~1e-15)."""
FIXED_STDP_TOLERANCE = 0.15
"""Fixed-point PairSTDP vs the float rule on the same spike trains: ||dW_lava - dW_exact|| / ||dW_exact||
(measured 0.07-0.08 over 200-500 steps; 7-bit stochastic traces and stochastic weight rounding)."""


def two_layers(variant: str) -> Network:
    """Spike raster, Poisson noise and currents onto a layer with lateral weights, feeding a readout.

    ``"value"``: reset to -0.2, 2 refractory steps, input delay 3, lateral delay 2.
    ``"subtract"``: reset by subtraction, no refractoriness, delays 1 and a delay-2 feedback.
    """
    rng = np.random.default_rng(0 if variant == "value" else 1)
    n_in, n, n_out = 20, 30, 10
    if variant == "value":
        layer = LIF(tau_mem=0.02, v_th=0.9, v_reset=-0.2, refractory_steps=2)
        delay_in, delay_lat = 3, 2
    else:
        layer = LIF(tau_mem=0.03, reset="subtract")
        delay_in, delay_lat = 1, 1
    t = np.arange(STEPS)[:, None]
    drive = 0.1 + 0.1 * np.sin(2 * np.pi * t / 40 + rng.uniform(0, 2 * np.pi, n_out))
    return Network(
        dt=DT,
        populations=[
            Population("layer", n, layer, v_init=rng.uniform(-0.2, 0.6, n)),
            Population("readout", n_out, LIF(tau_mem=0.01, reset="subtract")),
        ],
        inputs=[
            SpikeInput("in", rng.random((STEPS, n_in)) < 0.1),
            PoissonInput("noise", 15, rate_hz=rng.uniform(20, 100, 15), seed=3),
            CurrentInput("bias", "layer", np.full(n, 0.02)),
            CurrentInput("drive", "readout", drive),
        ],
        projections=[
            Projection("in", "layer", rng.normal(0.15, 0.1, (n, n_in)), delay=delay_in),
            Projection("noise", "layer", rng.uniform(0.0, 0.2, (n, 15))),
            Projection("layer", "layer", rng.normal(0, 0.15, (n, n)) * (rng.random((n, n)) < 0.3), delay=delay_lat),
            Projection("layer", "readout", rng.uniform(0, 0.2, (n_out, n))),
            Projection("readout", "layer", -rng.uniform(0, 0.2, (n, n_out)), delay=2),
        ],
        monitors=[
            Monitor("layer", "spikes"),
            Monitor("layer", "v"),
            Monitor("readout", "spikes"),
            Monitor("readout", "count"),
            Monitor("in", "spikes"),
            Monitor("noise", "count"),
        ],
    )


def _run(backend_name: str, network: Network, numeric: str = "float", steps: int = STEPS, **options):
    with get_backend(backend_name, **options).compile(network, numeric=numeric) as sim:
        return sim.run(steps)


def _assert_same(got, want, exact_v: bool) -> None:
    assert sorted(got.data) == sorted(want.data)
    for key, expected in want.data.items():
        have = got.data[key]
        assert have.shape == expected.shape and have.dtype == expected.dtype, key
        if key.endswith(".v") and not exact_v:
            np.testing.assert_allclose(have, expected, rtol=0, atol=1e-12, err_msg=key)
        else:
            mismatch = np.argwhere(have != expected)
            assert mismatch.size == 0, f"{key}: first mismatches {mismatch[:5].tolist()}"


@pytest.mark.parametrize("variant", ["value", "subtract"])
def test_float_spikes_identical_to_reference(variant: str) -> None:
    want = _run("reference", two_layers(variant))
    assert want.spikes("layer").sum() > 50 and want.spikes("readout").sum() > 10
    _assert_same(_run("lava", two_layers(variant)), want, exact_v=False)


@pytest.mark.parametrize("variant", ["value", "subtract"])
def test_fixed_point_bit_exact_to_reference(variant: str) -> None:
    want = _run("reference", two_layers(variant), numeric="fixed")
    assert want.spikes("layer").sum() > 50 and want.spikes("readout").sum() > 10
    _assert_same(_run("lava", two_layers(variant), numeric="fixed"), want, exact_v=True)


LAVA_OWN_LIF = r"""
import json, sys
import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense
from lava.proc.io.source import RingBuffer
from lava.proc.lif.process import LIF
from lava.proc.monitor.process import Monitor
from lava.utils.weightutils import SignMode
spec = json.loads(sys.argv[1])
src = RingBuffer(data=np.array(spec["spikes"], dtype=np.int32).T)
dense = Dense(weights=np.array(spec["mantissa"]), weight_exp=spec["exponent"], num_weight_bits=8,
              sign_mode=SignMode.MIXED)
lif = LIF(shape=(spec["n"],), du=4095, dv=spec["dv"], vth=spec["vth"], bias_mant=spec["bias_mant"],
          bias_exp=spec["bias_exp"])
src.s_out.connect(dense.s_in)
dense.a_out.connect(lif.a_in)
mv, ms = Monitor(), Monitor()
mv.probe(lif.v, spec["steps"])
ms.probe(lif.s_out, spec["steps"])
try:
    lif.run(condition=RunSteps(num_steps=spec["steps"]), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    v = mv.get_data()[lif.name]["v"]
    s = ms.get_data()[lif.name]["s_out"]
finally:
    lif.stop()
print(json.dumps({"v": np.asarray(v).astype(int).tolist(), "s": np.asarray(s).astype(int).tolist()}))
"""


def test_fixed_point_step_matches_lavas_own_lif_bit_for_bit() -> None:
    """On what Lava's built-in PyLifModelBitAcc can express (reset to 0, no refractoriness, bias), it equals ours."""
    rng = np.random.default_rng(4)
    n, n_in, steps = 8, 12, 60
    spikes = rng.random((steps, n_in)) < 0.3
    net = Network(
        dt=DT,
        populations=[Population("lif", n, LIF(tau_mem=0.015, v_th=0.7))],
        inputs=[SpikeInput("in", spikes), CurrentInput("bias", "lif", np.zeros(n))],
        projections=[Projection("in", "lif", rng.normal(0.1, 0.2, (n, n_in)))],
    )
    arith = FixedPointArithmetic(net)
    neuron, weights = arith.model.populations["lif"], arith.model.projections["in->lif"]
    bias_mant, bias_exp = 37, 5
    current = np.full(n, (bias_mant << bias_exp) / neuron.scale)  # exactly bias_mant << bias_exp internal units
    spec = {
        "spikes": spikes.astype(int).tolist(),
        "mantissa": weights.mantissa.tolist(),
        "exponent": weights.exponent,
        "n": n,
        "dv": neuron.dv,
        "vth": neuron.vth,
        "bias_mant": bias_mant,
        "bias_exp": bias_exp,
        "steps": steps,
    }
    done = subprocess.run(
        [sys.executable, "-c", LAVA_OWN_LIF, json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lava = json.loads(done.stdout.strip().splitlines()[-1])
    v, refractory = arith.initial_v("lif"), np.zeros(n, dtype=np.int64)
    w, ext = arith.weights("in->lif"), arith.external("lif", current)
    previous = np.zeros(n_in, dtype=bool)
    trace_v, trace_s = [], []
    for t in range(steps):  # Dense delivers the spikes of step t - 1
        s, v, refractory = arith.neuron_step("lif", v, refractory, w @ previous + ext)
        previous = spikes[t]
        trace_v.append(v.copy())
        trace_s.append(s)
    assert np.sum(trace_s) > 5
    np.testing.assert_array_equal(np.array(lava["v"]), np.array(trace_v))
    np.testing.assert_array_equal(np.array(lava["s"]).astype(bool), np.array(trace_s))


def test_runs_continue_reset_and_weights_round_trip() -> None:
    network = two_layers("value")
    whole = _run("reference", two_layers("value")).spikes("layer")
    with get_backend("lava").compile(network) as sim:
        first = sim.run(60).spikes("layer")
        second = sim.run(90)
        assert second.t_start == 60
        np.testing.assert_array_equal(np.concatenate([first, second.spikes("layer")]), whole)
        sim.reset()
        np.testing.assert_array_equal(sim.run(STEPS).spikes("layer"), whole)
        sim.set_weights("layer->layer", np.zeros((30, 30)))
        np.testing.assert_array_equal(sim.weights("layer->layer"), 0)
        sim.reset()
        changed = sim.run(STEPS).spikes("layer")
        assert not np.array_equal(changed, whole)
        sim.reset(weights=True)
        np.testing.assert_array_equal(sim.run(STEPS).spikes("layer"), whole)


def _group_running(pgid: int) -> list[int]:
    """Processes of a process group still running (zombies waiting for an init that does not reap do not count)."""
    return [pid for pid, _ in group_members(pgid) or []]


def _lava_processes(pgid: int) -> list[int]:
    """The worker and its Lava processes, without Lava's resource tracker (alive as long as the worker)."""
    return [pid for pid, command in group_members(pgid) or [] if "resource_tracker" not in command]


def test_a_closed_simulations_worker_serves_the_next_compile() -> None:
    """close() keeps the worker (runtimes stopped, files removed) for the next compile in this process; a
    simulation on it gives the records of one on a fresh worker; a second closed one is not kept."""
    network = two_layers("value")
    whole = _run("reference", two_layers("value")).spikes("layer")
    first = get_backend("lava").compile(network)
    pgid = first.worker_pid
    np.testing.assert_array_equal(first.run(STEPS).spikes("layer"), whole)
    first.close()
    assert _lava_processes(pgid) == [pgid]  # every Lava process of the runtime has stopped
    assert sorted(os.listdir(first._worker.directory)) == ["owners", "worker.log"]
    second, third = get_backend("lava").compile(network), get_backend("lava").compile(network)
    try:
        assert second.worker_pid == pgid and third.worker_pid != pgid  # one kept worker, taken once
        np.testing.assert_array_equal(second.run(STEPS).spikes("layer"), whole)
        profile = second.profile()
        assert profile["compile_s"] > 0 and profile["start_s"] > 0
    finally:
        second.close()
        third.close()
    assert group_members(third.worker_pid) == []  # kept: the first one released, not a second one


def _self_exciting(n: int = 200) -> Network:
    """No inputs at all (so a long run costs nothing to set up): a recurrent layer started above threshold."""
    rng = np.random.default_rng(0)
    return Network(
        dt=DT,
        populations=[Population("p", n, LIF(tau_mem=0.02), v_init=1.5)],
        projections=[Projection("p", "p", rng.normal(0.02, 0.1, (n, n)))],
        monitors=[Monitor("p", "count")],
    )


def test_timeout_raises_quickly_and_stops_every_lava_process() -> None:
    sim = get_backend("lava", timeout_s=1.0).compile(_self_exciting())
    pgid = sim.worker_pid
    assert _lava_processes(pgid) == [pgid]  # the runtime starts lazily: the worker alone
    sim.run(5)  # starts it (under timeout_s + build_timeout_s)
    assert len(_group_running(pgid)) >= 3  # the worker and its Lava processes
    start = time.monotonic()
    with pytest.raises(LavaRunError, match="timeout_s=1"):
        sim.run(10_000_000)
    assert time.monotonic() - start < 10
    assert _group_running(pgid) == []
    assert not os.path.exists(sim._worker.directory)
    with pytest.raises(LavaRunError, match="compile the network again"):
        sim.run(5)
    sim.close()


def test_a_batch_runs_in_one_runtime_under_the_request_timeout() -> None:
    network = _self_exciting()
    size, steps, trials = network.populations[0].size, 30, 10
    network.inputs.append(CurrentInput("kick", "p", np.zeros(size)))
    levels = np.linspace(0.0, 0.08, trials)[:, None] * np.linspace(0.0, 1.0, size)[None, :]
    currents = np.repeat(levels[:, None, :], steps, axis=1)  # (trials, steps, size): one current per trial
    with get_backend("lava", batch_trials=4).compile(network) as sim:
        pid = sim.worker_pid
        batch = sim.run_batch(steps, {"kick": currents})  # 3 requests of <= 4 trials
        assert sim.worker_pid == pid  # one worker, one runtime for every trial
        singles = []
        for trial in range(trials):
            sim.reset()
            singles.append(sim.run(steps, {"kick": currents[trial]}).count("p"))
    np.testing.assert_array_equal(batch.count("p"), np.stack(singles))
    assert len({int(c.sum()) for c in singles}) > 1, "the trials must differ"
    with pytest.raises(SpecError, match=r"options\.batch_trials"):
        get_backend("lava", batch_trials=0).compile(network)
    slow = get_backend("lava", timeout_s=1.0, batch_trials=2).compile(network)
    slow.run_batch(2, {"kick": np.zeros((2, 2, size))})  # starts the batched runtime (B = 2)
    start = time.monotonic()
    with pytest.raises(LavaRunError, match="timeout_s=1"):
        slow.run_batch(50_000, {"kick": np.zeros((2, 50_000, size))})  # >= 0.1 ms a step: > 5 s
    assert time.monotonic() - start < 30
    assert _group_running(slow.worker_pid) == []
    slow.close()


def test_a_failing_lava_process_raises_its_error_at_once() -> None:
    sim = get_backend("lava", timeout_s=60).compile(two_layers("subtract"))
    os.remove(os.path.join(sim._worker.directory, "cur.readout.npy"))  # the readout model will not find its input
    start = time.monotonic()
    with pytest.raises(LavaRunError, match="FileNotFoundError"):
        sim.run(20)
    assert time.monotonic() - start < 10
    assert _group_running(sim.worker_pid) == []
    sim.close()


def test_bad_fixed_point_setup_is_refused_before_lava_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_worker(*args, **kwargs):
        raise AssertionError("a Lava worker was started")

    monkeypatch.setattr(lava_backend, "acquire_worker", no_worker)  # neither a new worker nor a kept one
    network = two_layers("value")
    network.projections[1].weights = network.projections[1].weights * 1e-6  # below one mantissa step
    with pytest.raises(UnsupportedFeatureError, match=r"projections\['noise->layer'\].weights.*rounds to 0"):
        get_backend("lava").compile(network, numeric="fixed")
    slow = two_layers("value")
    slow.populations[0].neuron = LIF(tau_mem=20.0)  # 1 - beta < 1/8192: no 12-bit leak
    with pytest.raises(UnsupportedFeatureError, match="12-bit decay"):
        get_backend("lava").compile(slow, numeric="fixed")
    # float weights handed to a fixed_pt plan (a child-process failure in Lava) are caught by validation
    fine = two_layers("value")
    plan = build_plan(fine, "fixed", quantize(fine), None, 2**20)
    plan.connections[0].weights = plan.connections[0].weights * 0.5
    with pytest.raises(UnsupportedFeatureError, match="integer weight mantissas"):
        validate_plan(plan)


def plastic(rule, n_in: int = 20, n: int = 8, steps: int = 200) -> Network:
    rng = np.random.default_rng(2)
    inputs: list = [PoissonInput("in", n_in, rate_hz=rng.uniform(40, 160, n_in), seed=21)]
    if isinstance(rule, (ThreeFactor, ErrorModulated)):
        inputs.append(ModulatorInput("reward", np.sin(np.arange(steps)[:, None] / 15.0 + np.arange(n))))
    return Network(
        dt=DT,
        populations=[Population("post", n, LIF(tau_mem=0.02, v_th=0.6))],
        inputs=inputs,
        projections=[Projection("in", "post", rng.uniform(0.05, 0.35, (n, n_in)), plasticity=rule, name="w")],
        monitors=[Monitor("post", "spikes"), Monitor("w", "weights", every=50)],
    )


RULES = {
    "ErrorModulated+basis+bounds": ErrorModulated(
        eta=5e-3, modulator="reward", tau_pre=0.02, basis=orthonormal_basis(5, 20), w_min=0.0, w_max=0.4
    ),
    "OjaSubspace+bounds": OjaSubspace(eta=3e-3, tau_pre=0.02, tau_post=0.01, w_min=0.0, w_max=0.3),
    "OjaSubspace+graded+basis+bounds": OjaSubspace(
        eta=3e-4, tau_pre=0.02, activity="graded", basis=orthonormal_basis(3, 20), w_min=-0.1, w_max=0.3
    ),
    "Hebb": Hebb(eta=5e-4, tau_pre=0.01, tau_post=0.0, pre_offset=0.05, post_offset=0.1, w_min=-1.0, w_max=1.0),
    "Oja": Oja(eta=5e-3, tau_pre=0.02, tau_post=0.02),
    "PairSTDP": PairSTDP(a_plus=0.01, a_minus=0.012, tau_pre=0.02, tau_post=0.02, w_min=0.0, w_max=0.3),
    "ThreeFactor": ThreeFactor(eta=1e-3, modulator="reward", tau_eligibility=0.05, tau_pre=0.02, w_max=0.5),
}


@pytest.mark.parametrize("name", sorted(RULES))
def test_plasticity_on_lavas_learning_engine_matches_reference(name: str) -> None:
    with get_backend("reference").compile(plastic(RULES[name])) as ref:
        want = ref.run(200)
        want_final = ref.weights("w")
    with get_backend("lava").compile(plastic(RULES[name])) as sim:
        got = sim.run(200)
        got_final = sim.weights("w")
    initial = plastic(RULES[name]).projection("w").weights
    assert np.abs(want_final - initial).max() > 1e-2, "the rule must change the weights"
    np.testing.assert_array_equal(got.spikes("post"), want.spikes("post"))
    assert got.weights("w").shape == (4, 8, 20)
    np.testing.assert_allclose(got.weights("w"), want.weights("w"), rtol=0, atol=PLASTIC_TOLERANCE)
    np.testing.assert_allclose(got_final, want_final, rtol=0, atol=PLASTIC_TOLERANCE)


@pytest.mark.parametrize("name", ["ErrorModulated+basis+bounds", "OjaSubspace+graded+basis+bounds"])
def test_circuit_rules_restart_from_a_reset(name: str) -> None:
    """The circuits' traces are cleared with the network: run, reset (weights kept), run again, as the reference."""
    network = plastic(RULES[name], steps=120)
    results = []
    for backend in ("reference", "lava"):
        with get_backend(backend).compile(network) as sim:
            sim.run(120)
            sim.reset()
            results.append((sim.run(120).spikes("post"), sim.weights("w")))
    (want_spikes, want_w), (got_spikes, got_w) = results
    np.testing.assert_array_equal(got_spikes, want_spikes)
    np.testing.assert_allclose(got_w, want_w, rtol=0, atol=PLASTIC_TOLERANCE)


def test_fixed_point_pair_stdp_within_stated_tolerance() -> None:
    network = plastic(RULES["PairSTDP"], steps=300)
    network.monitors.append(Monitor("in", "spikes"))
    with get_backend("lava").compile(network, numeric="fixed") as sim:
        start = sim.weights("w")
        got = sim.run(300)
        learned = sim.weights("w")
        sim.reset(weights=True)
        np.testing.assert_array_equal(sim.weights("w"), start)
        np.testing.assert_array_equal(sim.run(300).weights("w")[-1], got.weights("w")[-1])  # reset is reproducible
        unit = sim.fixed_point.projections["w"].unit
    np.testing.assert_allclose(learned / unit, np.round(learned / unit), atol=1e-9)  # whole mantissa steps
    exact, state = start.copy(), initial_state(RULES["PairSTDP"], start)
    for t in range(300):  # the float rule on Lava's own spike trains
        exact = rule_step(RULES["PairSTDP"], exact, state, got.spikes("in")[t], got.spikes("post")[t], DT)
    assert np.abs(exact - start).max() > 0.1
    error = np.linalg.norm((learned - start) - (exact - start)) / np.linalg.norm(exact - start)
    assert error < FIXED_STDP_TOLERANCE


SIGNED_BASIS = orthonormal_basis(6, 40, 3)
FIXED_SIGNED_RULES = {
    "ErrorModulated+basis": ErrorModulated(eta=5e-4, modulator="m", tau_pre=0.0, basis=SIGNED_BASIS),
    "OjaSubspace+graded+basis": OjaSubspace(eta=2e-3, tau_pre=0.0, activity="graded", basis=SIGNED_BASIS),
}
FIXED_SIGNED_BOUNDS = {"ErrorModulated+basis": (0.9, 1.1, 0.35), "OjaSubspace+graded+basis": (0.9, 1.3, 0.6)}
"""Fixed point, 6 seeds: (gain low, gain high, tolerance) of the mean dW against the float rule from the same 8-bit
start; tolerance on ||mean dW - exact dW|| / ||exact dW||. ErrorModulated (no feedback): gain 0.99-1.03, error
0.22-0.24, one run alone 0.6-0.8 (a change of ~0.5 weight steps per synapse is mostly rounding noise, unbiased).
OjaSubspace feeds its rounding noise back through y = W x~ and runs ahead of the float trajectory: gain 1.04-1.18,
error 0.22-0.48 (the float run is one trajectory among the noisy ones, not their mean)."""


def signed_rule_network(rule, weights: np.ndarray, steps: int = 300) -> Network:
    """Random pre spikes into non-spiking integrators; a random signed modulator, zero on the last step."""
    rng = np.random.default_rng(0)
    modulator = rng.uniform(-1, 1, (steps, weights.shape[0]))
    modulator[-1] = 0.0
    integrators = LIF(tau_mem=float("inf"), v_th=1e30, reset="value")
    return Network(
        dt=DT,
        populations=[Population("post", weights.shape[0], integrators)],
        inputs=[SpikeInput("in", rng.random((steps, weights.shape[1])) < 0.2), ModulatorInput("m", modulator)],
        projections=[Projection("in", "post", weights, plasticity=rule, name="w")],
    ).validate()


@pytest.mark.parametrize("name", sorted(FIXED_SIGNED_RULES))
def test_fixed_point_signed_rules_learn_the_float_change_without_bias(name: str) -> None:
    """7-bit codes and stochastic rounding: each run is noisy, the mean over seeds converges to the float rule."""
    rule = FIXED_SIGNED_RULES[name]
    network = signed_rule_network(rule, np.random.default_rng(1).normal(0, 0.1, (5, 40)))
    changes = []
    for seed in range(6):
        with get_backend("lava").compile(network, numeric="fixed", weight_ranges={"w": 0.25}, seed=seed) as sim:
            start = sim.weights("w")
            sim.run(300)
            changes.append(sim.weights("w") - start)
            unit = sim.fixed_point.projections["w"].unit
    np.testing.assert_allclose(np.array(changes) / unit, np.round(np.array(changes) / unit), atol=1e-9)
    with get_backend("reference").compile(signed_rule_network(rule, start)) as ref:  # the same 8-bit start
        ref.run(300)
        exact = ref.weights("w") - start
    mean = np.mean(changes, axis=0)
    gain = float((mean * exact).sum() / (exact * exact).sum())

    def error(change: np.ndarray) -> float:
        return float(np.linalg.norm(change - exact) / np.linalg.norm(exact))

    low, high, tolerance = FIXED_SIGNED_BOUNDS[name]
    assert low < gain < high, f"learning rate off: gain {gain:.3f}"
    assert error(mean) < tolerance, f"mean of 6 seeds: {error(mean):.3f} (one run: {error(changes[0]):.3f})"
    assert error(mean) < error(changes[0]), "averaging seeds must help: the rounding is noise, not bias"
    if isinstance(rule, ErrorModulated):  # what the basis removes stays out, up to rounding noise
        assert np.abs(exact @ SIGNED_BASIS.T).max() < 1e-12
        assert np.linalg.norm(mean @ SIGNED_BASIS.T) < 0.25 * np.linalg.norm(mean)


def test_fixed_point_rounding_restarts_only_with_the_weights() -> None:
    network = signed_rule_network(FIXED_SIGNED_RULES["ErrorModulated+basis"], np.zeros((5, 40)))
    with get_backend("lava").compile(network, numeric="fixed", weight_ranges={"w": 0.25}) as sim:
        sim.run(300)
        first = sim.weights("w")
        sim.reset(weights=True)
        sim.run(300)
        np.testing.assert_array_equal(sim.weights("w"), first)  # a full restart repeats every rounding
        sim.reset()
        sim.set_weights("w", np.zeros((5, 40)))
        sim.run(300)
        assert np.any(sim.weights("w") != first)  # a plain reset draws fresh rounding
        modulator = np.ones((300, 5))
        with pytest.warns(UserWarning, match="nonzero on the run's last step"):
            sim.run(300, {"m": modulator})


def test_fixed_point_codes_are_unbiased_and_rates_exact() -> None:
    from spikemem.backends.lava_backend._plan import (
        PRE_RANGE,
        THIRD_FACTOR_DECAY,
        encode_pre,
        encode_signed,
        fit_third_scale,
        fixed_rule,
    )

    rng = np.random.default_rng(0)
    signal = np.full(40_000, 0.37)
    codes = encode_pre(signal, PRE_RANGE, rng)
    assert codes.min() >= 0 and codes.max() <= 127 and np.all(codes == np.round(codes))
    assert abs(codes.mean() * THIRD_FACTOR_DECAY - (64 + 63 * 0.37 / PRE_RANGE)) < 0.02
    positive, negative = encode_signed(np.array([0.3, -0.8] * 20_000), 100.0, rng)
    assert np.all(positive % 2 == 0) and np.all(negative % 2 == 0)
    assert abs(positive[0::2].mean() * THIRD_FACTOR_DECAY - 30) < 0.1 and not positive[1::2].any()
    assert abs(negative[1::2].mean() * THIRD_FACTOR_DECAY - 80) < 0.1 and not negative[0::2].any()
    m, e, scale = fit_third_scale(0.7, 1.5, 2.0, "f")
    assert m * 2.0**e / 8 == pytest.approx(0.7 * 1.5 / (63 * scale), rel=1e-12)  # exact learning rate
    assert 2.0 * scale <= 127
    field = "projections['w'].plasticity"
    with pytest.raises(UnsupportedFeatureError, match=r"projections\['w'\].plasticity.*too large"):
        fixed_rule(ErrorModulated(eta=1e3, modulator="m"), DT, 1e-3, field, 40)
    with pytest.raises(UnsupportedFeatureError, match=r"below what 8-bit weights resolve.*numeric=.float."):
        fixed_rule(OjaSubspace(eta=1e-7, activity="graded"), DT, 1e-2, field, 40)


def test_refusals_name_the_field_and_the_reason() -> None:
    lava = get_backend("lava")
    for name in ("Oja", "Hebb", "ThreeFactor"):
        rule = RULES[name]
        with pytest.raises(UnsupportedFeatureError, match=f"{rule.name} is not offered in fixed point"):
            lava.compile(plastic(rule), numeric="fixed")
    delayed = plastic(RULES["Oja"])
    delayed.projections[0].delay = 2
    with pytest.raises(UnsupportedFeatureError, match="LearningDense has no delays"):
        lava.compile(delayed)
    far = two_layers("value")
    far.projections[0].delay = 65
    with pytest.raises(UnsupportedFeatureError, match=r"delay.*1\.\.64"):
        lava.compile(far)
    with pytest.raises(UnsupportedFeatureError, match="unknown Lava option"):
        get_backend("lava", timeout=3).compile(two_layers("value"))


def test_unavailable_reason_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    assert lava_backend.probe_lava((3, 10)).ok
    monkeypatch.setattr(lava_backend, "_PROBE", "import lava.no_such_module")
    failed = lava_backend.probe_lava((3, 11))
    assert not failed.ok
    assert "cannot be imported" in failed.reason and "no_such_module" in failed.reason
    assert "Python 3.10" in failed.reason and "3.11" in failed.reason


def _delay_one(network: Network) -> Network:
    """``network`` without its delayed projections: what the batched network runs (``_batched.batch_refusal``)."""
    import dataclasses

    return dataclasses.replace(network, projections=[p for p in network.projections if p.delay == 1])


@pytest.mark.parametrize("numeric", ["float", "fixed"])
def test_native_batch_advances_many_samples_per_step_with_the_records_of_single_runs(numeric: str) -> None:
    """B trials per Lava step (fused input synapses, a rebuilt larger B, padded rows, weights set in between)
    give every record of one trial at a time: fixed point bit for bit, float spikes exactly."""
    network = _delay_one(two_layers("subtract"))
    rng = np.random.default_rng(5)
    trials = 5
    spikes = rng.random((trials, STEPS, 20)) < 0.12
    drive = rng.uniform(0.0, 0.25, (trials, STEPS, 10))
    readout = next(p for p in network.projections if p.post == "readout")
    new_weights = np.asarray(readout.weights) * 1.5
    with get_backend("lava", batch_trials=3).compile(network, numeric=numeric) as sim:
        first = sim.run_batch(STEPS, {"in": spikes[:2], "drive": drive[:2]})  # builds B = 2
        sim.set_weights(readout.name, new_weights)
        batch = sim.run_batch(STEPS, {"in": spikes, "drive": drive})  # B = 3: requests of 3 and 2 (one padded row)
        profile = sim.profile()
        singles = []
        for trial in range(trials):
            sim.reset()
            singles.append(sim.run(STEPS, {"in": spikes[trial], "drive": drive[trial]}).data)
        sim.reset(weights=True)
        again = sim.run_batch(STEPS, {"in": spikes[:2], "drive": drive[:2]})
        shared = sim.run_batch(STEPS, {"in": spikes[:2], "drive": np.stack([drive[0], drive[0]])})  # sent once
    assert profile["trials"] == 7 and profile["batch_build_s"] > 0
    assert "start_s" not in profile and "lava_processes" not in profile  # the unbatched runtime never started
    assert profile["lava_steps"] == 3 * STEPS  # three batched runs of STEPS steps, no step per trial
    assert sum(int(s["readout.count"].sum()) for s in singles) > 10
    for key, value in batch.data.items():
        _same(numeric, key, value, np.stack([s[key] for s in singles]))
    for key, value in first.data.items():  # the spec's weights again after reset(weights=True)
        _same(numeric, key, again.data[key], value)
        _same(numeric, key, shared.data[key][0], value[0])  # a current equal in every trial: broadcast


def _same(numeric: str, key: str, have: np.ndarray, want: np.ndarray) -> None:
    """Fixed point, spikes and counts: equal; float potentials: within 1e-12 (Lava's Dense sums the spiking
    columns, the batched synapses multiply matrices: the last bits differ)."""
    if numeric == "fixed" or want.dtype == bool or key.endswith(".count"):
        np.testing.assert_array_equal(have, want, err_msg=key)
    else:
        np.testing.assert_allclose(have, want, rtol=0, atol=1e-12, err_msg=key)
