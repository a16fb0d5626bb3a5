"""Golden values: the reference backend against the spec's equations computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikemem.backends import get_backend
from spikemem.spec import LIF, CurrentInput, Monitor, Network, Population, Projection, SpikeInput

DT = 1e-3


def _single_neuron(neuron: LIF, current: float, steps: int = 30) -> Network:
    return Network(
        dt=DT,
        populations=[Population("n", 1, neuron)],
        inputs=[CurrentInput("i", "n", np.array([current]))],
        monitors=[Monitor("n", "spikes"), Monitor("n", "v")],
    )


def _by_hand(beta: float, current: float, v_th: float, steps: int, reset: str, v_reset: float, refractory: int):
    v, counter, vs, spikes = 0.0, 0, [], []
    for _ in range(steps):
        if counter > 0:
            counter -= 1
            spikes.append(False)
            vs.append(v)
            continue
        v = beta * v + current
        spike = v > v_th
        if spike:
            v = v - v_th if reset == "subtract" else v_reset
            counter = refractory
        spikes.append(spike)
        vs.append(v)
    return np.array(spikes), np.array(vs)


@pytest.mark.parametrize(
    ("reset", "v_reset", "refractory"), [("value", 0.0, 0), ("value", -0.2, 0), ("subtract", 0.0, 0), ("value", 0.0, 4)]
)
def test_single_neuron_matches_hand_computation(reset: str, v_reset: float, refractory: int) -> None:
    neuron = LIF(tau_mem=0.01, v_th=1.0, v_reset=v_reset, reset=reset, refractory_steps=refractory)
    rec = get_backend("reference").compile(_single_neuron(neuron, 0.35)).run(40)
    spikes, vs = _by_hand(math.exp(-0.1), 0.35, 1.0, 40, reset, v_reset, refractory)
    assert spikes.sum() >= 3
    np.testing.assert_array_equal(rec.spikes("n")[:, 0], spikes)
    np.testing.assert_allclose(rec.v("n")[:, 0], vs, rtol=0, atol=1e-15)


@pytest.mark.parametrize("delay", [1, 2, 5])
def test_spike_arrives_after_its_delay(delay: int) -> None:
    spikes = np.zeros((10, 1), dtype=bool)
    spikes[2, 0] = True
    net = Network(
        dt=DT,
        populations=[Population("n", 1, LIF(tau_mem=0.02, v_th=10.0))],
        inputs=[SpikeInput("s", spikes)],
        projections=[Projection("s", "n", np.array([[0.5]]), delay=delay)],
        monitors=[Monitor("n", "v")],
    )
    v = get_backend("reference").compile(net).run(10).v("n")[:, 0]
    arrival = 2 + delay
    assert np.all(v[:arrival] == 0)
    assert v[arrival] == 0.5
    assert v[arrival + 1] == pytest.approx(0.5 * math.exp(-DT / 0.02), abs=1e-15)


def test_refractory_neuron_discards_input() -> None:
    """A spike arriving during the refractory period leaves no trace in v."""
    spikes = np.zeros((8, 1), dtype=bool)
    spikes[1, 0] = True  # arrives at step 2, drives a spike
    spikes[2, 0] = True  # arrives at step 3, during refractoriness
    net = Network(
        dt=DT,
        populations=[Population("n", 1, LIF(tau_mem=0.02, v_th=1.0, refractory_steps=2))],
        inputs=[SpikeInput("s", spikes)],
        projections=[Projection("s", "n", np.array([[1.5]]))],
        monitors=[Monitor("n", "v"), Monitor("n", "spikes")],
    )
    rec = get_backend("reference").compile(net).run(8)
    np.testing.assert_array_equal(rec.spikes("n")[:, 0], [0, 0, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(rec.v("n")[:, 0], np.zeros(8))


def test_continuation_equals_single_run_and_state_resets() -> None:
    rng = np.random.default_rng(0)
    net = Network(
        dt=DT,
        populations=[Population("n", 20, LIF(tau_mem=0.02))],
        inputs=[SpikeInput("s", rng.random((100, 10)) < 0.2)],
        projections=[Projection("s", "n", rng.normal(0.3, 0.2, (20, 10)), delay=3)],
        monitors=[Monitor("n", "spikes")],
    )
    sim = get_backend("reference").compile(net)
    whole = sim.run(100).spikes("n")
    sim.reset()
    parts = np.concatenate([sim.run(37).spikes("n"), sim.run(63).spikes("n")])
    np.testing.assert_array_equal(parts, whole)
    assert whole.sum() > 20
