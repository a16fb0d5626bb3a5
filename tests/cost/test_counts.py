"""Operation counts by hand on small networks (reference backend; the definitions of spikemem.cost.counts)."""

from __future__ import annotations

import numpy as np
import pytest

from spikemem.backends import get_backend
from spikemem.cost import count_operations, footprint, sum_counts
from spikemem.cost.counts import nonzero, nonzero_total
from spikemem.spec import LIF, CurrentInput, Hebb, Monitor, Network, PairSTDP, Population, Projection, SpikeInput

STEPS = 10


def _relay(delay: int, spike_steps: list[int], mask: np.ndarray | None = None) -> Network:
    """One input channel (spiking at ``spike_steps``) -> 4 silent neurons, 3 synapses (one weight zero)."""
    raster = np.zeros((STEPS, 2), dtype=bool)
    raster[spike_steps, 0] = True
    weights = np.array([[0.1, 0.1], [0.1, 0.0], [0.0, 0.1], [0.1, 0.1]])
    if mask is not None:
        weights = weights * mask
    return Network(
        dt=1e-3,
        populations=[Population("out", 4, LIF(tau_mem=0.02, v_th=100.0))],
        inputs=[SpikeInput("in", raster)],
        projections=[Projection("in", "out", weights, delay=delay, mask=mask)],
        monitors=[Monitor("out", "v")],
    )


def test_a_spike_times_its_fan_out() -> None:
    """Input 0 spikes twice; it reaches 3 existing synapses (one weight is zero): 6 accumulate ops."""
    rec = get_backend("reference").compile(_relay(delay=1, spike_steps=[2, 5])).run(STEPS)
    proj = rec.cost.projections[0]
    assert proj.synapses == 6  # non-zero weights
    assert proj.delivered_spikes == 2
    assert proj.accumulate_ops == 2 * 3
    assert rec.cost.multiply_accumulate_ops == 0
    assert rec.cost.dense_macs == STEPS * 4 * 2
    assert rec.cost.neuron_updates == STEPS * 4
    assert rec.cost.spikes == 0 and rec.cost.activation_sparsity == 1.0
    assert sorted(rec.data) == ["out.v"]  # the count's own monitors are not returned


def test_a_mask_removes_synapses() -> None:
    mask = np.array([[True, True], [False, True], [True, True], [False, True]])  # and weights are zero there
    rec = get_backend("reference").compile(_relay(delay=1, spike_steps=[2], mask=mask)).run(STEPS)
    assert rec.cost.projections[0].accumulate_ops == 1  # only out[0] has both a mask entry and a weight


@pytest.mark.parametrize("delay", [1, 3, 6])
def test_events_count_when_delivered(delay: int) -> None:
    """A spike at step 7 arrives at 7 + delay: inside a 10-step run only when 7 + delay < 10; else in the next run."""
    sim = get_backend("reference").compile(_relay(delay=delay, spike_steps=[7]))
    first = sim.run(STEPS)
    inside = 7 + delay < STEPS
    assert first.cost.accumulate_ops == (3 if inside else 0)
    second = sim.run(STEPS, inputs={"in": np.zeros((STEPS, 2), dtype=bool)})
    assert second.cost.accumulate_ops == (0 if inside else 3)
    assert (first.cost + second.cost).accumulate_ops == 3
    sim.reset()  # spikes in transit are lost on reset
    sim.run(STEPS)
    assert sim.run(STEPS, inputs={"in": np.zeros((STEPS, 2), dtype=bool)}).cost.accumulate_ops == (0 if inside else 3)
    sim.reset()
    assert sim.run(1, inputs={"in": np.zeros((1, 2), dtype=bool)}).cost.accumulate_ops == 0


def test_a_long_delay_over_short_runs() -> None:
    """Delay 6 over runs of 2 steps: the spike of step 7 arrives at step 13, in the run of steps 12-13."""
    sim = get_backend("reference").compile(_relay(delay=6, spike_steps=[7]))
    raster = np.zeros((20, 2), dtype=bool)
    raster[7, 0] = True
    ops = [sim.run(2, inputs={"in": raster[t : t + 2]}).cost.accumulate_ops for t in range(0, 20, 2)]
    assert ops == [0, 0, 0, 0, 0, 0, 3, 0, 0, 0]


def test_population_spikes_fan_out_and_graded_inputs() -> None:
    """A driven neuron spikes every step; its spikes reach 2 targets; its current is a graded input."""
    drive = np.zeros((STEPS, 1))
    drive[:, 0] = 2.0
    network = Network(
        dt=1e-3,
        populations=[Population("a", 1, LIF(tau_mem=0.02)), Population("b", 2, LIF(tau_mem=0.02, v_th=100.0))],
        inputs=[CurrentInput("drive", "a", drive)],
        projections=[Projection("a", "b", np.array([[0.5], [0.5]]))],
        monitors=[],
    )
    sim = get_backend("reference").compile(network)
    sim.graded_fan_in = {"a": 5}  # as if the current were a 5-wide matrix times a vector
    counts = sim.run(STEPS).cost
    assert counts.populations[0].spikes == STEPS
    assert counts.projections[0].accumulate_ops == 2 * (STEPS - 1)  # the last step's spike is still in transit
    assert counts.populations[0].graded_inputs == STEPS
    assert counts.multiply_accumulate_ops == 5 * STEPS
    assert counts.synaptic_ops == counts.accumulate_ops + counts.multiply_accumulate_ops
    assert counts.dense_macs == STEPS * 2 + STEPS * 5


def test_graded_inputs_of_broadcast_and_stacked_blocks() -> None:
    """Constant currents arrive as broadcast views; counting them without materialising gives the same number."""
    rng = np.random.default_rng(0)
    row = np.where(rng.random(7) < 0.5, rng.normal(size=7), 0.0)
    block = np.broadcast_to(row, (STEPS, 7))
    assert nonzero(block) == np.count_nonzero(np.array(block)) == STEPS * np.count_nonzero(row)
    assert nonzero(np.broadcast_to(row[:, None], (7, 3))) == 3 * np.count_nonzero(row)
    assert nonzero(np.zeros((0, 4))) == 0
    blocks = [np.where(rng.random((STEPS, 7)) < 0.3, 1.0, 0.0) for _ in range(4)] + [block, block[:2]]
    assert nonzero_total(blocks) == sum(np.count_nonzero(np.array(b)) for b in blocks)
    constant = Network(
        dt=1e-3,
        populations=[Population("a", 7, LIF(tau_mem=0.02))],
        inputs=[CurrentInput("drive", "a", row)],
        monitors=[],
    )
    counts = get_backend("reference").compile(constant).run(STEPS).cost
    assert counts.populations[0].graded_inputs == STEPS * np.count_nonzero(row)


@pytest.mark.parametrize("shape", [(4, STEPS, 3), (4, STEPS // 2, 3), (4, STEPS + 3, 3), (4, 3)])
def test_batch_graded_inputs_equal_the_trials_run_one_by_one(shape: tuple[int, ...]) -> None:
    """run_batch counts an overridden current on the stacked array, a constant one once: as trial by trial."""
    rng = np.random.default_rng(1)
    network = Network(
        dt=1e-3,
        populations=[Population("a", 3, LIF(tau_mem=0.02)), Population("b", 2, LIF(tau_mem=0.02))],
        inputs=[CurrentInput("drive", "a", np.zeros(3)), CurrentInput("bias", "b", np.array([0.0, 0.3]))],
        projections=[Projection("a", "b", np.full((2, 3), 0.4))],
        monitors=[],
    )
    drive = np.where(rng.random(shape) < 0.4, 2.0, 0.0)
    sim = get_backend("reference").compile(network)
    batch = sim.run_batch(STEPS, {"drive": drive}).cost
    one_by_one = []
    for trial in drive:
        sim.reset()
        one_by_one.append(sim.run(STEPS, {"drive": trial}).cost)
    assert [p.graded_inputs for p in batch.populations] == [
        sum(c.populations[i].graded_inputs for c in one_by_one) for i in range(2)
    ]
    assert batch.populations[1].graded_inputs == 4 * STEPS


def test_batch_counts_sum_trials() -> None:
    network = _relay(delay=1, spike_steps=[2])
    batch = np.zeros((3, STEPS, 2), dtype=bool)
    batch[0, 1, 0] = batch[1, [1, 3], 0] = batch[2, 4, 1] = True
    counts = get_backend("reference").compile(network).run_batch(STEPS, {"in": batch}).cost
    assert counts.trials == 3
    assert counts.accumulate_ops == 3 + 6 + 3
    assert counts.per_trial()["total"]["accumulate_ops"] == pytest.approx(4.0)


def test_plasticity_updates() -> None:
    """Trace rules touch every existing synapse every step; pair STDP only those whose pre or post spiked."""
    raster = np.zeros((STEPS, 2), dtype=bool)
    raster[[1, 4], 0] = True
    weights = np.array([[0.1, 0.1], [0.1, 0.0], [0.0, 0.1]])
    mask = weights != 0
    hebb = Hebb(eta=1e-3, tau_pre=0.01, tau_post=0.01)
    stdp = PairSTDP(a_plus=0.01, a_minus=0.01, tau_pre=0.02, tau_post=0.02, w_min=0.0, w_max=1.0)
    counts = {}
    for name, rule in (("hebb", hebb), ("stdp", stdp)):
        network = Network(
            dt=1e-3,
            populations=[Population("out", 3, LIF(tau_mem=0.02, v_th=100.0))],
            inputs=[SpikeInput("in", raster)],
            projections=[Projection("in", "out", weights, plasticity=rule, mask=mask)],
        )
        counts[name] = get_backend("reference").compile(network).run(STEPS).cost
    assert counts["hebb"].plasticity_updates == 4 * STEPS  # 4 synapses, every step
    assert counts["stdp"].plasticity_updates == 2 * 2  # input 0 has 2 synapses and spikes twice; out is silent


def test_set_weights_changes_the_synapses_counted() -> None:
    sim = get_backend("reference").compile(_relay(delay=1, spike_steps=[2]))
    sim.set_weights("in->out", np.array([[0.1, 0.0], [0.0, 0.0], [0.0, 0.1], [0.0, 0.1]]))
    counts = sim.run(STEPS).cost
    assert counts.projections[0].accumulate_ops == 1 and counts.projections[0].synapses == 3


def test_counting_can_be_turned_off() -> None:
    sim = get_backend("reference").compile(_relay(delay=1, spike_steps=[2]), count_operations=False)
    assert sim.run(STEPS).cost is None


def test_count_operations_needs_the_spikes() -> None:
    with pytest.raises(KeyError, match="out"):
        count_operations(_relay(delay=1, spike_steps=[2]), {}, steps=STEPS)


def test_sum_counts_refuses_other_networks() -> None:
    a = get_backend("reference").compile(_relay(1, [2])).run(STEPS).cost
    assert sum_counts([a, a]).accumulate_ops == 2 * a.accumulate_ops
    other = (
        get_backend("reference")
        .compile(Network(dt=1e-3, populations=[Population("x", 1, LIF(tau_mem=0.02))]))
        .run(2)
        .cost
    )
    with pytest.raises(ValueError, match="different networks"):
        _ = a + other


def test_footprint() -> None:
    weights = np.array([[0.1, 0.1], [0.1, 0.0]])
    network = Network(
        dt=1e-3,
        populations=[Population("out", 2, LIF(tau_mem=0.02, refractory_steps=2))],
        inputs=[SpikeInput("in", np.zeros((4, 2), dtype=bool))],
        projections=[
            Projection("in", "out", weights, name="static"),
            Projection("in", "out", weights, name="plastic", plasticity=Hebb(eta=1e-3, tau_pre=0.01, tau_post=0.01)),
        ],
    )
    flt, fix = footprint(network, "float"), footprint(network, "fixed")
    assert flt.parameters == 3 + 4 and flt.dense_parameters == 8
    assert flt.connection_sparsity == pytest.approx(1 / 8)
    assert flt.weight_bytes == 7 * 4 and fix.weight_bytes == 7
    assert flt.trace_bytes == (2 + 2) * 4 and fix.trace_bytes == 4
    assert flt.state_bytes == 2 * 4 + 2 and fix.state_bytes == 2 * 3 + 2
    with pytest.raises(ValueError, match="numeric"):
        footprint(network, "double")


@pytest.mark.parametrize(("steps", "delay"), [(12, 3), (2, 5), (5, 5)])
def test_a_count_and_a_spike_tail_give_the_raster_s_count(steps: int, delay: int) -> None:
    """Per-neuron totals + the run's last ``depth`` steps (+ spikes in transit) count what the raster counts."""
    rng = np.random.default_rng(steps * 10 + delay)
    n, depth = 6, delay + 1
    network = Network(
        dt=1e-3,
        populations=[Population("a", n, LIF(tau_mem=0.02)), Population("b", 3, LIF(tau_mem=0.02))],
        projections=[Projection("a", "b", rng.normal(size=(3, n)) * (rng.random((3, n)) < 0.6), delay=delay)],
    )
    raster = rng.random((steps, n)) < 0.4
    carried = rng.random((1, depth, n)) < 0.4
    tail = np.zeros((1, depth, n), dtype=bool)
    tail[0, depth - min(steps, depth) :] = raster[steps - min(steps, depth) :]
    common = {"steps": steps, "in_transit": {"a": carried}}
    expected = count_operations(network, {"a.spikes": raster, "b.count": np.zeros(3, int)}, **common)
    counts = {"a.count": raster.sum(axis=0), "b.count": np.zeros(3, int)}
    assert count_operations(network, counts, tails={"a": tail}, **common) == expected
    assert expected.accumulate_ops > 0
    with pytest.raises(ValueError, match="depth >= "):
        count_operations(network, counts, tails={"a": tail[:, : delay - 1]}, **common)
