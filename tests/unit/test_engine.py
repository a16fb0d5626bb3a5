"""The array backends' shared engine: topology built once, one step loop, one recorder (spikemem.engine)."""

from __future__ import annotations

import numpy as np
import pytest

from spikemem.backends import get_backend
from spikemem.engine import Incoming, Topology
from spikemem.engine import simulation as engine_simulation
from spikemem.spec import LIF, Hebb, Monitor, Network, Population, Projection, SpikeInput

STEPS = 12


def _network() -> Network:
    """A spike input that feeds ``a`` twice (delays 1 and 3), ``a -> b`` plastic, two static projections on one array.

    ``in`` spikes at steps 0 and 5 only; every weight from it is above threshold, so ``a`` spikes exactly
    when a delayed copy arrives.
    """
    raster = np.zeros((STEPS, 2), dtype=bool)
    raster[[0, 5]] = True
    strong = np.full((3, 2), 2.0)
    neuron = LIF(tau_mem=0.02, v_th=1.0)
    return Network(
        dt=1e-3,
        populations=[Population("a", 3, neuron), Population("b", 3, neuron), Population("c", 3, neuron)],
        inputs=[SpikeInput("in", raster)],
        projections=[
            Projection("in", "a", strong, delay=1, name="fast"),
            Projection("in", "a", strong, delay=3, name="slow"),
            Projection("a", "b", np.eye(3) * 2.0, plasticity=Hebb(eta=0.01, tau_pre=0.01), name="learned"),
            Projection("b", "c", np.eye(3) * 0.5, delay=2, name="b->c"),
        ],
        monitors=[
            Monitor("a", "spikes"),
            Monitor("a", "count"),
            Monitor("b", "count"),
            Monitor("c", "v"),
            Monitor("in", "spikes"),
            Monitor("in", "count"),
            Monitor("learned", "weights", every=4),
            Monitor("fast", "weights"),
        ],
    )


def test_topology_of_a_network() -> None:
    topology = Topology.from_network(_network())
    assert topology.populations == {"a": 3, "b": 3, "c": 3}
    assert topology.sizes == {"a": 3, "b": 3, "c": 3, "in": 2}
    assert topology.incoming["a"] == (Incoming("fast", "in", 1), Incoming("slow", "in", 3))
    assert topology.incoming["c"] == (Incoming("b->c", "b", 2),)
    assert topology.depth == {"in": 3, "a": 1, "b": 2}  # c feeds nothing: no ring
    assert topology.used_sources == {"in", "a", "b"}
    assert topology.static == {"fast", "slow", "b->c"}
    assert [proj.name for proj in topology.plastic] == ["learned"]
    assert topology.shares_with == {"fast": "fast", "slow": "fast", "b->c": "b->c"}  # one spec array held once
    assert topology.masks == {"fast": None, "slow": None, "learned": None, "b->c": None}


@pytest.mark.parametrize("name", ["reference", "snntorch"])
def test_the_topology_is_built_once_per_compile(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if name == "snntorch":
        pytest.importorskip("snntorch")
    built = []
    original = Topology.from_network.__func__

    def counting(cls, network):
        built.append(network)
        return original(cls, network)

    monkeypatch.setattr(Topology, "from_network", classmethod(counting))
    network = _network()
    network.projections[2] = Projection("a", "b", np.eye(3) * 2.0, name="learned")  # run_batch needs static weights
    with get_backend(name).compile(network) as sim:
        sim.run(STEPS)
        sim.reset(weights=True)
        sim.run_batch(STEPS, {"in": np.zeros((2, STEPS, 2), dtype=bool)})
        sim.run(STEPS)
    assert len(built) == 1


@pytest.mark.parametrize("name", ["reference", "snntorch"])
def test_one_loop_and_recorder_give_the_delays_counts_and_snapshots(name: str) -> None:
    if name == "snntorch":
        pytest.importorskip("snntorch")
    with get_backend(name).compile(_network()) as sim:
        assert isinstance(sim, engine_simulation.EngineSimulation)
        data = sim.run(STEPS).data
    fired = np.flatnonzero(data["a.spikes"].any(axis=1)).tolist()
    assert fired == [1, 3, 6, 8]  # input at steps 0 and 5, delays 1 and 3
    np.testing.assert_array_equal(data["a.count"], data["a.spikes"].sum(axis=0))  # summed from the raster
    np.testing.assert_array_equal(data["b.count"], [4, 4, 4])  # one step after each spike of a
    assert data["in.spikes"].dtype == bool and data["in.spikes"].sum() == 4
    np.testing.assert_array_equal(data["in.count"], [2, 2])
    assert data["learned.weights"].shape == (STEPS // 4, 3, 3)
    assert np.all(np.diff(np.diagonal(data["learned.weights"], axis1=1, axis2=2), axis=0) >= 0)  # Hebb grows
    assert data["learned.weights"][-1, 0, 0] > 2.0
    np.testing.assert_array_equal(data["fast.weights"], np.full((3, 2), 2.0))
    # c receives b's spikes two steps later: 0.5 per spike, decaying in between
    assert data["c.v"].dtype == np.float64 and data["c.v"][:4].max() == 0.0 and data["c.v"][4].max() == 0.5


@pytest.mark.parametrize(("name", "attribute"), [("reference", "_projection_input"), ("snntorch", "_synaptic_input")])
def test_a_replaced_synaptic_input_is_the_one_the_loop_calls(name: str, attribute: str) -> None:
    """The activity-dispatch tests swap the synaptic input per instance; the loop must call the swapped one."""
    if name == "snntorch":
        pytest.importorskip("snntorch")
    with get_backend(name).compile(_network()) as sim:
        setattr(sim, attribute, lambda *args, **kwargs: None)  # nothing ever arrives
        data = sim.run(STEPS).data
    assert data["a.count"].sum() == 0 and data["in.count"].sum() == 4
