"""NIR export: HDF5 round trip of weights and parameters, and the forward-Euler mapping against the reference."""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from spikemem.backend import UnsupportedFeatureError
from spikemem.spec import (
    LIF,
    CurrentInput,
    Hebb,
    ModulatorInput,
    Monitor,
    Network,
    PoissonInput,
    Population,
    Projection,
    SpecError,
    SpikeInput,
    ThreeFactor,
)
from spikemem.spec.nir_export import lif_parameters, to_nir, write_nir
from spikemem.stimulus import input_window

nir = pytest.importorskip("nir")

DT = 1e-3
STEPS = 150


def static_network() -> Network:
    """Spike, Poisson and current inputs; two populations; feed-forward, recurrent and float32 weights."""
    rng = np.random.default_rng(11)
    return Network(
        dt=DT,
        name="static",
        populations=[
            Population("a", 6, LIF(tau_mem=0.02, v_th=0.8, v_reset=-0.2)),
            Population("b", 4, LIF(tau_mem=0.05)),
        ],
        inputs=[
            SpikeInput("raster", rng.random((STEPS, 5)) < 0.15),
            PoissonInput("poisson", size=3, rate_hz=np.array([20.0, 40.0, 80.0]), seed=5),
            CurrentInput("bias", "a", np.full(6, 0.02)),
        ],
        projections=[
            Projection("raster", "a", rng.normal(0.3, 0.2, (6, 5))),
            Projection("poisson", "a", rng.normal(0.3, 0.2, (6, 3)).astype(np.float32)),
            Projection("a", "b", rng.normal(0.4, 0.3, (4, 6))),
            Projection("b", "b", rng.normal(0.0, 0.2, (4, 4)) * (1 - np.eye(4)), name="recurrent"),
        ],
        monitors=[Monitor("a"), Monitor("a", "v"), Monitor("b"), Monitor("b", "v")],
    )


def test_static_network_round_trips_through_hdf5(tmp_path: Path):
    network = static_network()
    path = write_nir(network, tmp_path / "net.nir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.nir"]
    graph = nir.read(path)

    assert set(graph.nodes) == {
        "raster",
        "poisson",
        "bias",
        "a",
        "b",
        "raster->a",
        "poisson->a",
        "a->b",
        "recurrent",
        "a.output",
        "b.output",
    }
    assert set(graph.edges) == {
        ("raster", "raster->a"),
        ("raster->a", "a"),
        ("poisson", "poisson->a"),
        ("poisson->a", "a"),
        ("bias", "a"),
        ("a", "a->b"),
        ("a->b", "b"),
        ("b", "recurrent"),
        ("recurrent", "b"),
        ("a", "a.output"),
        ("b", "b.output"),
    }
    for pop in network.populations:
        node = graph.nodes[pop.name]
        assert type(node) is nir.LIF
        for key, value in lif_parameters(pop.neuron, DT, pop.size).items():
            assert np.array_equal(getattr(node, key), value) and getattr(node, key).dtype == np.float64, key
        meta = node.metadata["spikemem"]
        assert meta["tau_mem"] == pop.neuron.tau_mem and meta["dt"] == DT and meta["reset"] == "value"
        assert meta["beta"] == pop.neuron.beta(DT) and "lost" not in meta
        assert np.array_equal(graph.nodes[f"{pop.name}.output"].output_type["output"], [pop.size])
    for proj in network.projections:
        node = graph.nodes[proj.name]
        assert type(node) is nir.Linear
        assert node.weight.dtype == proj.weights.dtype and np.array_equal(node.weight, proj.weights)
        assert node.metadata["spikemem"]["delay_steps"] == 1 and node.metadata["spikemem"]["pre"] == proj.pre
    for name, size in (("raster", 5), ("poisson", 3), ("bias", 6)):
        assert type(graph.nodes[name]) is nir.Input
        assert np.array_equal(graph.nodes[name].input_type["input"], [size])
    assert np.array_equal(graph.nodes["poisson"].metadata["spikemem"]["rate_hz"], [20.0, 40.0, 80.0])
    assert graph.nodes["poisson"].metadata["spikemem"]["seed"] == 5
    assert graph.nodes["bias"].metadata["spikemem"]["target"] == "a"
    meta = graph.metadata["spikemem"]
    assert meta["format"] == "spikemem.nir" and meta["discretisation"] == "forward-euler" and meta["dt"] == DT


def test_lif_parameters_follow_the_forward_euler_mapping():
    neuron = LIF(tau_mem=0.02, v_th=0.7, v_reset=-0.1)
    params = lif_parameters(neuron, DT, 3)
    beta = neuron.beta(DT)
    tau, r = params["tau"][0], params["r"][0]
    assert math.isclose(1 - DT / tau, beta, rel_tol=0, abs_tol=1e-15)
    assert math.isclose(r * DT / tau, 1.0, rel_tol=1e-15)
    assert tau > neuron.tau_mem
    assert params["v_threshold"][0] == 0.7 and params["v_reset"][0] == -0.1 and params["v_leak"][0] == 0.0


def _run_euler(graph: nir.NIRGraph, network: Network, steps: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Forward-Euler run of an exported graph at dt, spikes delivered one step later (the spec's convention)."""
    window = input_window(network, 0, steps)
    incoming: dict[str, list[str]] = defaultdict(list)
    for src, dst in graph.edges:
        incoming[dst].append(src)
    lifs = {key: node for key, node in graph.nodes.items() if isinstance(node, nir.LIF)}
    v = {key: np.zeros(node.tau.shape) for key, node in lifs.items()}
    previous = {key: np.zeros(node.tau.shape, dtype=bool) for key, node in lifs.items()}
    previous.update({name: np.zeros(spikes.shape[1], dtype=bool) for name, spikes in window.spikes.items()})
    out = {
        key: (np.zeros((steps, *node.tau.shape), bool), np.zeros((steps, *node.tau.shape)))
        for key, node in lifs.items()
    }
    for t in range(steps):
        spikes_now = {}
        for key, node in lifs.items():
            current = np.zeros(node.tau.shape)
            for src in incoming[key]:
                source = graph.nodes[src]
                if isinstance(source, nir.Linear):
                    (pre,) = incoming[src]
                    current += source.weight @ previous[pre]
                else:  # a current input: no delay
                    current += window.currents[source.metadata["spikemem"]["target"]][t]
            v[key] = v[key] + DT / node.tau * (node.v_leak - v[key] + node.r * current)
            spikes_now[key] = v[key] > node.v_threshold
            v[key] = np.where(spikes_now[key], node.v_reset, v[key])
            out[key][0][t], out[key][1][t] = spikes_now[key], v[key]
        previous.update(spikes_now)
        previous.update({name: spikes[t] for name, spikes in window.spikes.items()})
    return out


def test_forward_euler_run_of_the_exported_graph_matches_the_reference(tmp_path: Path):
    from spikemem.backends import get_backend

    network = static_network()
    graph = nir.read(write_nir(network, tmp_path / "net.nir"))
    euler = _run_euler(graph, network, STEPS)
    with get_backend("reference").compile(network) as simulation:
        recording = simulation.run(STEPS)
    for pop in ("a", "b"):
        assert recording.spikes(pop).sum() > 10, "the test network must be active"
        assert np.array_equal(euler[pop][0], recording.spikes(pop)), pop
        np.testing.assert_allclose(euler[pop][1], recording.v(pop), rtol=0, atol=1e-12)


LOSSY = {
    "refractory": (
        lambda n: n.populations.__setitem__(0, Population("a", 6, LIF(0.02, refractory_steps=2))),
        "populations['a'].neuron.refractory_steps",
        "a",
    ),
    "subtract": (
        lambda n: n.populations.__setitem__(1, Population("b", 4, LIF(0.05, reset="subtract"))),
        "populations['b'].neuron.reset",
        "b",
    ),
    "v_init": (lambda n: setattr(n.populations[1], "v_init", np.full(4, 0.1)), "populations['b'].v_init", "b"),
    "delay": (lambda n: setattr(n.projections[2], "delay", 3), "projections['a->b'].delay", "a->b"),
    "plasticity": (
        lambda n: setattr(n.projections[3], "plasticity", Hebb(eta=0.01)),
        "projections['recurrent'].plasticity",
        "recurrent",
    ),
}


@pytest.mark.parametrize("case", sorted(LOSSY))
def test_features_nir_cannot_express_are_refused_by_default(case: str):
    edit, field, _ = LOSSY[case]
    network = static_network()
    edit(network)
    network.validate()
    with pytest.raises(UnsupportedFeatureError, match=rf"^{field.replace('[', '.').replace(']', '.')}: .*lossy=True"):
        to_nir(network)


@pytest.mark.parametrize("case", sorted(LOSSY))
def test_lossy_export_records_what_was_lost(tmp_path: Path, case: str):
    edit, field, node = LOSSY[case]
    network = static_network()
    edit(network)
    graph = nir.read(write_nir(network, tmp_path / "net.nir", lossy=True))
    assert graph.nodes[node].metadata["spikemem"]["lost"] == field
    assert graph.metadata["spikemem"]["lost"] == field


def test_plastic_projection_metadata_keeps_rule_mask_and_delay(tmp_path: Path):
    network = static_network()
    mask = np.ones((4, 4), dtype=bool) & ~np.eye(4, dtype=bool)
    network.inputs.append(ModulatorInput("reward", np.ones(STEPS)))
    network.projections[3] = Projection(
        "b",
        "b",
        network.projections[3].weights,
        mask=mask,
        delay=2,
        name="recurrent",
        plasticity=ThreeFactor(eta=0.1, modulator="reward", w_max=1.0),
    )
    graph = nir.read(write_nir(network, tmp_path / "net.nir", lossy=True))
    meta = graph.nodes["recurrent"].metadata["spikemem"]
    assert meta["plasticity"] == {
        "rule": "ThreeFactor",
        "eta": 0.1,
        "modulator": "reward",
        "tau_eligibility": 0.05,
        "tau_pre": 0.02,
        "w_max": 1.0,
    }
    assert meta["mask"].dtype == bool and np.array_equal(meta["mask"], mask) and meta["delay_steps"] == 2
    assert meta["lost"] == "projections['recurrent'].delay; projections['recurrent'].plasticity"
    assert "reward" not in graph.nodes


def test_outputs_are_unread_or_monitored_populations_else_all():
    network = static_network()
    network.monitors = []
    assert {key for key in to_nir(network).nodes if key.endswith(".output")} == {"b.output"}
    network.projections.append(Projection("b", "a", np.zeros((6, 4))))  # a closed loop, nothing monitored
    assert {key for key in to_nir(network).nodes if key.endswith(".output")} == {"a.output", "b.output"}


def test_invalid_networks_and_unusable_names_are_refused():
    network = static_network()
    network.projections[0].weights = network.projections[0].weights[:, :2]
    with pytest.raises(SpecError, match=r"projections\['raster->a'\]\.weights"):
        to_nir(network)
    network = static_network()
    network.projections[3].name = "raster"
    with pytest.raises(UnsupportedFeatureError, match=r"^projections\['raster'\]\.name: 'raster' is also the name"):
        to_nir(network)
    network = static_network()
    network.projections[3].name = "b/b"
    with pytest.raises(UnsupportedFeatureError, match=r"^projections\['b/b'\]\.name: .*'/'"):
        to_nir(network)


def test_network_without_inputs_is_refused_and_unfed_population_gets_an_input():
    closed = Network(
        dt=DT,
        populations=[Population("p", 3, LIF(0.02))],
        projections=[Projection("p", "p", np.zeros((3, 3)))],
    )
    with pytest.raises(UnsupportedFeatureError, match=r"^inputs: .*entry point"):
        to_nir(closed)
    network = static_network()
    network.populations.append(Population("lonely", 2, LIF(0.02)))
    graph = to_nir(network)
    assert ("input_lonely", "lonely") in graph.edges and ("lonely", "lonely.output") in graph.edges


def test_missing_nir_names_the_extra(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "nir", None)
    with pytest.raises(ImportError, match=r"pip install spikemem\[nir\]"):
        to_nir(static_network())
