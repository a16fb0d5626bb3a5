"""The Brian2 backend: identical spikes and matching weights against the numpy reference.

Stated tolerances (float64): spike trains and counts identical to the
reference; membrane potentials within 1e-12 (seen: <= 6e-15, numpy and
cython); learned weights within 1e-12 (seen: <= 3e-16 numpy, <= 1e-15
cython), the difference being the order in which synaptic inputs and the
OjaSubspace reconstruction are summed.

Most tests use the numpy target (no compiler). One test runs the cython
target (its first compilation in a fresh cache takes about a minute on 2
cores; later runs load the cached modules), one the C++ standalone target
(marked slow: it builds a C++ project).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from spikemem.backend import SpecError, UnsupportedFeatureError
from spikemem.backends import get_backend
from spikemem.backends.brian2_backend import AUTO_CYTHON_SYNAPSES, Brian2Backend, synapse_count
from spikemem.backends.brian2_backend import _batch as brian2_batch
from spikemem.backends.brian2_backend._device import OPENMP_PREF, standalone_program
from spikemem.backends.brian2_backend._plan import plan_network
from spikemem.spec import LIF, CurrentInput, Monitor, Network, PairSTDP, Population, Projection, SpikeInput

pytest.importorskip("brian2")


# The conformance suite's networks, defined once for every backend's tests (same module object as there).
sys.path.insert(0, str(Path(__file__).parents[1] / "conformance"))
import cases

STEPS = cases.STEPS
V_TOL = 1e-12
W_TOL = 1e-12


def _reference(network: Network, steps: int = STEPS, **inputs):
    with get_backend("reference").compile(network) as sim:
        return sim.run(steps, inputs=inputs or None)


def _brian2(network: Network, steps: int = STEPS, target: str = "numpy", **options):
    with get_backend("brian2", target=target, **options).compile(network) as sim:
        return sim.run(steps)


def _compare(got, want) -> None:
    assert sorted(got.data) == sorted(want.data)
    for key, expected in want.data.items():
        have = got.data[key]
        assert have.shape == expected.shape, key
        assert have.dtype == expected.dtype, key
        if key.endswith((".spikes", ".count")):
            mismatch = np.argwhere(have != expected)
            assert mismatch.size == 0, f"{key}: first mismatches {mismatch[:5].tolist()}"
        else:
            np.testing.assert_allclose(have, expected, rtol=0, atol=V_TOL if key.endswith(".v") else W_TOL, err_msg=key)


@pytest.mark.parametrize("case", sorted(cases.SPIKING_CASES))
def test_spikes_identical_to_reference(case: str) -> None:
    """Input + lateral weights, both resets, refractoriness, delays 2-3, Poisson input, time-varying current."""
    network = cases.SPIKING_CASES[case]
    _compare(_brian2(network()), _reference(network()))


@pytest.mark.parametrize("rule_name", sorted(cases.RULES))
def test_rule_weights_match_reference(rule_name: str) -> None:
    network = cases.plastic(cases.RULES[rule_name])
    want = _reference(cases.plastic(cases.RULES[rule_name]))
    assert np.abs(want.weights("plastic") - network.projection("plastic").weights).max() > 1e-2
    _compare(_brian2(network), want)


def test_run_continues_and_resets() -> None:
    """Runs of 37 + 80 + 83 steps equal one of 200 (delays and spikes at run ends); reset starts over."""
    whole = _reference(cases.delays())
    with get_backend("brian2", target="numpy").compile(cases.delays()) as sim:
        parts = [sim.run(steps) for steps in (37, 80, 83)]
        assert [p.t_start for p in parts] == [0, 37, 117]
        for key in ("layer.spikes", "in.spikes", "layer.v"):
            joined = np.concatenate([p.data[key] for p in parts])
            np.testing.assert_allclose(joined, whole.data[key], rtol=0, atol=V_TOL, err_msg=key)
        sim.reset()
        _compare(sim.run(STEPS), whole)


def test_plasticity_continues_and_resets_weights() -> None:
    rule = cases.RULES["PairSTDP"]
    with get_backend("reference").compile(cases.plastic(rule)) as ref:
        first = ref.run(120)
        second = ref.run(80)
        ref.reset()
        relearned = ref.run(STEPS)
    with get_backend("brian2", target="numpy").compile(cases.plastic(rule)) as sim:
        _compare(sim.run(120), first)
        _compare(sim.run(80), second)
        sim.reset()  # keeps the learned weights
        _compare(sim.run(STEPS), relearned)
        sim.reset(weights=True)
        np.testing.assert_array_equal(sim.weights("plastic"), cases.plastic(rule).projection("plastic").weights)


def test_long_runs_are_chunked_exactly() -> None:
    """A small table budget splits a run into several Brian2 runs (of 70 steps); the result does not change."""
    for network in (cases.time_varying_current, lambda: cases.plastic(cases.RULES["ThreeFactor"])):
        columns = sum(table.columns for table in plan_network(network()).tables)
        _compare(_brian2(network(), max_table_bytes=8 * columns * 70), _reference(network()))


def test_weight_snapshots_every_k_steps() -> None:
    network = cases.plastic(cases.RULES["Oja"])
    network.monitors.append(Monitor("plastic", "weights", every=30))
    network.monitors = [m for m in network.monitors if not (m.target == "plastic" and m.every is None)]
    want = _reference(network)
    got = _brian2(network)
    assert got.weights("plastic").shape == (STEPS // 30, 8, 20)
    _compare(got, want)


def test_inputs_replaced_per_run() -> None:
    """A time-varying override of a constant current and new spike data, run after run."""
    network = cases.poisson_input
    bias = np.linspace(0.0, 0.05, STEPS)[:, None] * np.ones(40)
    with get_backend("brian2", target="numpy").compile(network()) as sim:
        _compare(sim.run(STEPS, inputs={"bias": bias}), _reference(network(), bias=bias))
        sim.reset()
        _compare(sim.run(STEPS), _reference(network()))


BATCH_STEPS = 70


def _trial_inputs(network: Network, trials: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """Different data for each trial: new rasters for every spike input with data, scaled currents."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for inp in network.inputs:
        if isinstance(inp, SpikeInput):
            inputs[inp.name] = rng.random((trials, BATCH_STEPS, inp.size)) < 0.1
        elif isinstance(inp, CurrentInput):
            values = np.asarray(inp.values, dtype=float)
            values = np.broadcast_to(values, (BATCH_STEPS, len(values))) if inp.constant else values[:BATCH_STEPS]
            inputs[inp.name] = np.stack([values * (0.6 + 0.4 * b) for b in range(trials)])
    return inputs


def _one_by_one(sim, inputs: dict[str, np.ndarray]) -> list:
    trials = len(next(iter(inputs.values())))
    records = []
    for b in range(trials):
        sim.reset()
        records.append(sim.run(BATCH_STEPS, {name: values[b] for name, values in inputs.items()}))
    return records


def _assert_batch_equals(batch, singles) -> None:
    """Every record of every trial bit for bit (spikes, counts, v; weights once)."""
    assert sorted(batch.data) == sorted(singles[0].data)
    for key, values in batch.data.items():
        if key.endswith(".weights"):
            np.testing.assert_array_equal(values, singles[0].data[key], err_msg=key)
            continue
        assert values.shape == (len(singles), *singles[0].data[key].shape), key
        assert values.dtype == singles[0].data[key].dtype, key
        for b, single in enumerate(singles):
            np.testing.assert_array_equal(values[b], single.data[key], err_msg=f"{key}, trial {b}")


@pytest.mark.parametrize("case", sorted(cases.SPIKING_CASES))
def test_run_batch_is_one_run_identical_to_single_runs(case: str) -> None:
    """All trials in one Brian2 run (delays, refractoriness, resets, constant and varying currents)."""
    network = cases.SPIKING_CASES[case]()
    inputs = _trial_inputs(network)
    with get_backend("brian2", target="numpy").compile(network) as sim:
        runs = _count_brian2_runs(lambda: sim.run_batch(BATCH_STEPS, inputs))
        batch = runs.result
        singles = _one_by_one(sim, inputs)
    assert runs.count == 1
    _assert_batch_equals(batch, singles)
    reference = _reference(cases.SPIKING_CASES[case](), BATCH_STEPS, **{k: v[1] for k, v in inputs.items()})
    for key in reference.data:
        np.testing.assert_allclose(batch.data[key][1], reference.data[key], rtol=0, atol=V_TOL, err_msg=key)


class _Counted:
    def __init__(self, result, count: int) -> None:
        self.result, self.count = result, count


def _count_brian2_runs(call) -> _Counted:
    """``call()`` with the number of Brian2 ``Network.run`` calls it made."""
    from brian2.core.network import Network as BrianNetwork

    original, calls = BrianNetwork.run, []

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    BrianNetwork.run = counting
    try:
        return _Counted(call(), len(calls))
    finally:
        BrianNetwork.run = original


def test_run_batch_chunks_weights_and_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    """With 2 copies side by side (a small synapse budget) and a table budget of one period per Brian2 run,
    5 trials take 3 runs (2 + 2 + 1, the last padded); set_weights (new synapses included) reaches the batch;
    plastic networks are refused."""
    network = _sparse_static()
    monkeypatch.setattr(brian2_batch, "MAX_BATCH_SYNAPSES", 2 * synapse_count(network))
    inputs = _trial_inputs(network, trials=5, seed=1)
    period = BATCH_STEPS + 2  # the delay-2 projection adds two gap steps per trial
    columns = 2 * sum(table.columns for table in plan_network(network).tables) + 1  # 2 copies + the phase column
    with get_backend("brian2", target="numpy", max_table_bytes=8 * columns * period).compile(network) as sim:
        runs = _count_brian2_runs(lambda: sim.run_batch(BATCH_STEPS, inputs))
        assert runs.count == 3
        _assert_batch_equals(runs.result, _one_by_one(sim, inputs))
        sim.reset()
        sim.set_weights("in->out", np.full((10, 15), 0.3))  # synapses where the spec has zeros
        batch = sim.run_batch(BATCH_STEPS, inputs)
        _assert_batch_equals(batch, _one_by_one(sim, inputs))
    plastic = cases.plastic(cases.RULES["Oja"])
    with get_backend("brian2", target="numpy").compile(plastic) as sim:
        with pytest.raises(SpecError, match="static weights"):
            sim.run_batch(BATCH_STEPS, {"in": np.zeros((2, BATCH_STEPS, 20), dtype=bool)})


def _sparse_static() -> Network:
    rng = np.random.default_rng(3)
    weights = rng.uniform(0.2, 0.6, (10, 15)) * (rng.random((10, 15)) < 0.3)
    return Network(
        dt=1e-3,
        populations=[Population("out", 10, LIF(tau_mem=0.02))],
        inputs=[SpikeInput("in", rng.random((STEPS, 15)) < 0.1)],
        projections=[Projection("in", "out", weights, delay=2)],
        monitors=[Monitor("out", "spikes")],
    )


def test_set_weights_adds_synapses_where_allowed() -> None:
    """Static projections get synapses only at nonzero weights; set_weights adds new ones after a reset."""
    network = _sparse_static()
    new = np.full((10, 15), 0.3)
    assert synapse_count(network) == np.count_nonzero(network.projections[0].weights)
    with get_backend("reference").compile(_sparse_static()) as ref:
        ref.set_weights("in->out", new)
        want = ref.run(STEPS)
    with get_backend("brian2", target="numpy").compile(network) as sim:
        sim.run(10)
        with pytest.raises(UnsupportedFeatureError, match="in transit"):
            sim.set_weights("in->out", new)
        sim.reset()
        sim.set_weights("in->out", new)
        np.testing.assert_array_equal(sim.weights("in->out"), new)
        _compare(sim.run(STEPS), want)


def test_plan_puts_plastic_synapses_everywhere_and_static_ones_at_nonzeros() -> None:
    network = cases.plastic(PairSTDP(a_plus=0.01, a_minus=0.01))
    network.projections[0].weights[0, :5] = 0.0
    assert len(plan_network(network).synapses["plastic"].index.post) == 8 * 20
    network.projections[0].plasticity = None
    assert len(plan_network(network).synapses["plastic"].index.post) == 8 * 20 - 5


def test_static_synapses_are_ordered_by_source_neuron() -> None:
    """A spike's synapses are contiguous (Brian2 delivers in index order): pre-major, post ascending within."""
    index = plan_network(cases.delays()).synapses["in->layer"].index
    order = np.lexsort((index.post, index.pre))
    np.testing.assert_array_equal(order, np.arange(len(order)))
    assert len(np.unique(index.pre)) > 1


def test_standalone_program_sets_device_and_openmp_back_after_an_error(tmp_path: Path) -> None:
    from brian2 import prefs
    from brian2.devices.device import get_device

    before = get_device()
    with pytest.raises(RuntimeError, match="inside"):
        with standalone_program(str(tmp_path), run=False, openmp_threads=3) as device:
            assert get_device() is device and prefs[OPENMP_PREF] == 3
            raise RuntimeError("inside")
    assert get_device() is before and prefs[OPENMP_PREF] == 0


def test_options_are_checked() -> None:
    with pytest.raises(UnsupportedFeatureError, match="unknown brian2 option"):
        get_backend("brian2", device="cuda").compile(cases.lif_layer())
    with pytest.raises(UnsupportedFeatureError, match=r"options\.target"):
        get_backend("brian2", target="genn").compile(cases.lif_layer())
    with pytest.raises(UnsupportedFeatureError, match=r"openmp_threads"):
        get_backend("brian2", openmp_threads=-1).compile(cases.lif_layer())
    assert Brian2Backend.resolve_target("auto", cases.lif_layer()) == "numpy"
    assert synapse_count(cases.lif_layer()) < AUTO_CYTHON_SYNAPSES


def test_cython_target() -> None:
    """Compiled code: spikes in transit across runs, tables refilled between runs (no recompilation), reset."""
    whole = _reference(cases.delays())
    raster = cases.delays().input("in").spikes[::-1].copy()
    with get_backend("brian2", target="cython").compile(cases.delays()) as sim:
        assert sim.target == "cython"
        first, second = sim.run(120), sim.run(80)
        joined = np.concatenate([first.spikes("layer"), second.spikes("layer")])
        np.testing.assert_array_equal(joined, whole.spikes("layer"))
        sim.reset()
        _compare(sim.run(STEPS, inputs={"in": raster}), _reference(cases.delays(), **{"in": raster}))
        inputs = _trial_inputs(cases.delays())
        _assert_batch_equals(sim.run_batch(BATCH_STEPS, inputs), _one_by_one(sim, inputs))


def test_standalone_refuses_weight_snapshots_at_compile_time() -> None:
    network = cases.plastic(cases.RULES["Oja"])
    network.monitors.append(Monitor("plastic", "weights", every=10))
    network.monitors = [m for m in network.monitors if not (m.target == "plastic" and m.every is None)]
    with pytest.raises(UnsupportedFeatureError, match="every"):
        get_backend("brian2", target="cpp_standalone").compile(network)


@pytest.mark.slow
def test_cpp_standalone_target() -> None:
    """Built once, re-run with new inputs and learned weights; continuation is refused, not faked."""
    rule = cases.RULES["OjaSubspace"]
    with get_backend("reference").compile(cases.plastic(rule)) as ref:
        first = ref.run(STEPS)
        ref.reset()
        second = ref.run(STEPS)
    with get_backend("brian2", target="cpp_standalone").compile(cases.plastic(rule)) as sim:
        _compare(sim.run(STEPS), first)
        with pytest.raises(UnsupportedFeatureError, match="reset"):
            sim.run(10)
        sim.reset()  # learned weights go into the re-run as arguments
        _compare(sim.run(STEPS), second)


def _batch_features() -> Network:
    """Delays 3 and 2, two refractory steps, reset to a nonzero value, initial potentials and a constant bias."""
    rng = np.random.default_rng(8)
    network = cases._layer(
        neuron=LIF(tau_mem=0.02, v_th=0.9, v_reset=-0.2, refractory_steps=2),
        seed=5,
        delay_in=3,
        delay_lat=2,
        v_init=rng.uniform(-0.2, 0.6, 40),
    )
    network.inputs.append(CurrentInput("bias", "layer", np.full(40, 0.01)))
    return network


@pytest.mark.slow
def test_cpp_standalone_run_batch_is_one_program() -> None:
    """One C++ program (built once) runs every batch: trials laid out in time, a smaller batch padded, new weights as
    run arguments; spikes identical (v to rounding) to the numpy target's trials one by one, which still runs
    in the same process afterwards (Brian2's global device was set back). Built with 2 OpenMP threads (the
    option's non-default path; the single-run test above builds without)."""
    network = _batch_features()
    first, second = _trial_inputs(network, trials=4, seed=2), _trial_inputs(network, trials=3, seed=3)
    lateral = network.projections[1].weights * 1.5  # no new synapses
    with get_backend("brian2", target="cpp_standalone", openmp_threads=2).compile(_batch_features()) as sim:
        batches = [sim.run_batch(BATCH_STEPS, first)]
        program = sim._batch
        assert program is not None and program.capacity == 4
        sim.set_weights("layer->layer", lateral)
        batches.append(sim.run_batch(BATCH_STEPS, second))
        assert sim._batch is program  # the smaller batch ran in the same program, padded
        with pytest.raises(UnsupportedFeatureError, match="compiles the synapses in"):
            sim.set_weights("layer->layer", np.full((40, 40), 0.01))
    with get_backend("brian2", target="numpy").compile(_batch_features()) as numpy_sim:
        singles = [_one_by_one(numpy_sim, first)]
        numpy_sim.set_weights("layer->layer", lateral)
        singles.append(_one_by_one(numpy_sim, second))
    for batch, trials in zip(batches, singles, strict=True):
        assert sorted(batch.data) == sorted(trials[0].data)
        for key, values in batch.data.items():
            for b, single in enumerate(trials):
                if key.endswith(".v"):
                    np.testing.assert_allclose(values[b], single.data[key], rtol=0, atol=V_TOL, err_msg=key)
                else:
                    np.testing.assert_array_equal(values[b], single.data[key], err_msg=f"{key}, trial {b}")
