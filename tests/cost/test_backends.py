"""Identical operation counts on every float backend; Lava fixed point counts its own spikes.

The counts come from one function (:func:`spikemem.cost.count_operations`) over
each backend's recorded spikes, so identical spikes must give identical counts;
these tests check that the protocol records what the count needs on every
backend (also where the spec monitors nothing, and over two runs with spikes in
transit between them).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from backend_selection import SIMULATORS, TEST_OPTIONS, require
from conformance.cases import RULES, SPIKING_CASES, STEPS, plastic

from spikemem.backends import get_backend
from spikemem.cost import OperationCounts
from spikemem.spec import LIF, Network, PairSTDP, Population, Projection

LAVA_CASES = ("delays", "time_varying_current")
"""Lava starts processes per compile: two cases cover delays, two populations and a current input."""


def _counts(name: str, network: Network, **compile_options: Any) -> OperationCounts:
    backend = require(name, **TEST_OPTIONS.get(name, {})) if name != "reference" else get_backend(name)
    with backend.compile(network, **compile_options) as sim:
        first = sim.run(STEPS // 2 + 7)
        second = sim.run(STEPS // 2 - 7)
    assert first.cost is not None and second.cost is not None
    return first.cost + second.cost


def _without_backend(counts: OperationCounts) -> dict[str, Any]:
    record = counts.as_dict()
    record.pop("backend")
    return record


def _cases(simulator: str) -> list[str]:
    return sorted(LAVA_CASES if simulator == "lava" else SPIKING_CASES)


@pytest.mark.parametrize(
    ("simulator", "case"), [(sim, case) for sim in SIMULATORS for case in _cases(sim)], ids=lambda v: str(v)
)
def test_identical_counts(simulator: str, case: str) -> None:
    expected = _counts("reference", SPIKING_CASES[case]())
    assert expected.accumulate_ops > 100, f"case {case} is too quiet to test anything"
    assert _without_backend(_counts(simulator, SPIKING_CASES[case]())) == _without_backend(expected)


def test_identical_counts_without_monitors() -> None:
    """A spec that monitors nothing is still counted (the protocol adds the monitors it needs)."""

    def unmonitored() -> Network:
        network = SPIKING_CASES["delays"]()
        network.monitors = []
        return network

    expected = _counts("reference", unmonitored())
    assert _without_backend(_counts("brian2", unmonitored())) == _without_backend(expected)


@pytest.mark.parametrize("simulator", ["snntorch", "brian2"])
def test_identical_plasticity_counts(simulator: str) -> None:
    for rule in ("Hebb", "PairSTDP"):
        expected = _counts("reference", plastic(RULES[rule]))
        assert expected.plasticity_updates > 0
        assert _without_backend(_counts(simulator, plastic(RULES[rule]))) == _without_backend(expected)


def test_lava_fixed_point_counts_its_own_spikes() -> None:
    """Fixed point spikes differ a little from float; the counts are of the fixed-point spikes, reported beside."""
    network = SPIKING_CASES["lif_layer"]
    fixed = _counts("lava", network(), numeric="fixed")
    flt = _counts("reference", network())
    assert fixed.numeric == "fixed" and flt.numeric == "float"
    assert fixed.dense_macs == flt.dense_macs and fixed.neuron_updates == flt.neuron_updates
    assert fixed.accumulate_ops > 0
    assert abs(fixed.accumulate_ops - flt.accumulate_ops) <= 0.2 * flt.accumulate_ops
    assert np.isclose(fixed.activation_sparsity, flt.activation_sparsity, atol=0.05)


def _counts_only(lateral_delay: int) -> Network:
    """The delays case (input delay 3) monitoring nothing, its lateral projection delayed ``lateral_delay`` steps."""
    network = SPIKING_CASES["delays"]()
    network.monitors = []
    network.projections = [
        replace(proj, delay=lateral_delay) if proj.pre == proj.post else proj for proj in network.projections
    ]
    return network


RUNS = (57, 1, 2, 3, 4, "reset", 1, 90, "reset", 3, 48)
"""Runs (steps) of a simulation, shorter and longer than the delays, with resets between some."""


def _run_counts(name: str, network: Network) -> list[dict[str, Any]]:
    backend = require(name, **TEST_OPTIONS.get(name, {})) if name != "reference" else get_backend(name)
    counts = []
    with backend.compile(network) as sim:
        for steps in RUNS:
            if steps == "reset":
                sim.reset()
                continue
            recording = sim.run(int(steps))
            assert recording.cost is not None and not recording.data  # the count's monitors are dropped
            counts.append(_without_backend(recording.cost))
    return counts


@pytest.mark.parametrize("lateral_delay", [1, 2, 5])
def test_brian2_counts_of_counts_only_sources(lateral_delay: int) -> None:
    """Brian2 counts a source it records by count only (from its spike tail) exactly as the reference, run by run.

    Runs shorter than the delay, consecutive runs (spikes in transit between
    them) and resets between runs.
    """
    expected = _run_counts("reference", _counts_only(lateral_delay))
    assert sum(c["total"]["accumulate_ops"] for c in expected) > 100
    assert _run_counts("brian2", _counts_only(lateral_delay)) == expected


def test_brian2_batch_counts_of_counts_only_sources() -> None:
    """run_batch of a counts-only network: Brian2's batch model reads the rasters it records, same counts."""
    network = _counts_only(4)
    source = next(inp for inp in network.inputs if inp.name == "in")
    trials = np.stack([np.roll(np.asarray(source.spikes), shift, axis=0)[:30] for shift in (0, 11, 23)])
    counts = {}
    for name in ("reference", "brian2"):
        backend = require(name, **TEST_OPTIONS.get(name, {})) if name != "reference" else get_backend(name)
        with backend.compile(_counts_only(4)) as sim:
            recording = sim.run_batch(30, {"in": trials})
        assert recording.cost is not None and not recording.data
        counts[name] = _without_backend(recording.cost)
    assert counts["brian2"] == counts["reference"]
    assert counts["reference"]["total"]["accumulate_ops"] > 0


def test_brian2_counting_records_no_raster_of_counts_only_sources() -> None:
    """The saving of issue 17: a source recorded for the count only gets no SpikeMonitor (its total comes from a
    counter in its reset code, its spike tail from its last spike steps); a PairSTDP population keeps its raster."""
    backend = require("brian2", target="numpy")
    with backend.compile(_counts_only(3)) as sim:
        sim.run(10)
        monitors = sim._model.spike_monitors  # type: ignore[attr-defined]
        assert "layer" not in monitors
    network = _counts_only(3)
    stdp = PairSTDP(a_plus=0.01, a_minus=0.01)
    network.projections = [
        replace(proj, plasticity=stdp) if proj.pre == proj.post else proj for proj in network.projections
    ]
    with backend.compile(network) as sim:
        sim.run(10)
        assert sim._model.spike_monitors["layer"].record is True  # type: ignore[attr-defined]


def _with_sink() -> Network:
    """The counts-only delays case plus a population that feeds no projection (its spikes: a count only)."""
    network = _counts_only(2)
    n = network.population("layer").size
    weights = np.random.default_rng(8).uniform(0.2, 0.9, (6, n))
    network.populations = [*network.populations, Population("sink", 6, LIF(tau_mem=0.02, v_th=0.5))]
    network.projections = [*network.projections, Projection("layer", "sink", weights, name="to_sink")]
    return network


def test_brian2_counts_a_sink_population_without_a_monitor() -> None:
    """A population the count alone reads, that feeds no projection, is counted by a counter in its reset code:
    no SpikeMonitor (one Python call per step fewer, plain and batch runs); counts equal the reference's."""
    network = _with_sink()
    plain = {name: _run_counts(name, network) for name in ("reference", "brian2")}
    assert plain["brian2"] == plain["reference"]
    assert sum(run["populations"]["sink"]["spikes"] for run in plain["reference"]) > 0
    source = next(inp for inp in network.inputs if inp.name == "in")
    trials = np.stack([np.roll(np.asarray(source.spikes), shift, axis=0)[:30] for shift in (0, 11, 23)])
    batch = {}
    for name in ("reference", "brian2"):
        backend = require(name, **TEST_OPTIONS.get(name, {})) if name != "reference" else get_backend(name)
        with backend.compile(_with_sink()) as sim:
            recording = sim.run_batch(30, {"in": trials})
            if name == "brian2":
                assert "sink" not in sim._batch.model.spike_monitors  # type: ignore[attr-defined]
                sim.run(5)
                assert "sink" not in sim._model.spike_monitors  # type: ignore[attr-defined]
        assert recording.cost is not None and not recording.data
        batch[name] = _without_backend(recording.cost)
    assert batch["brian2"] == batch["reference"]
    assert batch["reference"]["populations"]["sink"]["spikes"] > 0
