"""The spiking memory networks compute exactly the textbook dynamics (numpy oracles here, reference backend).

These pin down the encoding: a spiking recall must equal the algorithm it
implements, step by step, for every structure and for both ways of running
trials (batched and time-multiplexed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikemem.backends import get_backend
from spikemem.evaluation import memory as ev
from spikemem.memory.dense import build_polynomial_memory, build_winner_take_all, overlap_lattice, race_ramp
from spikemem.memory.hopfield import Dynamics, build_hopfield, update_schedule
from spikemem.memory.patterns import flip_fraction, hebb_couplings, parallel_state, random_patterns
from spikemem.memory.recall import recall_on

REFERENCE = get_backend("reference")


def hopfield_numpy(couplings: np.ndarray, cues: np.ndarray, schedule: np.ndarray) -> np.ndarray:
    """Zero-temperature dynamics: every scheduled neuron takes sign(h) (h > 0 -> +1), the others keep."""
    s = cues.astype(float).copy()
    trajectory = [s.copy()]
    for mask in schedule:
        h = s @ couplings.T
        s = np.where(mask, np.where(h > 0, 1.0, -1.0), s)
        trajectory.append(s.copy())
    return np.stack(trajectory, axis=1)


def krotov_numpy(patterns: np.ndarray, cues: np.ndarray, power: int, updates: int) -> np.ndarray:
    """Exact synchronous Krotov-Hopfield update with leave-one-out overlaps; ties keep the state."""
    xi = patterns.astype(float)
    s = cues.astype(float).copy()
    for _ in range(updates):
        a = s @ xi.T
        new = np.empty_like(s)
        for b in range(len(s)):
            loo = a[b][:, None] - xi * s[b][None, :]
            h = ((loo + xi) ** power - (loo - xi) ** power).sum(axis=0)
            new[b] = np.where(h > 0, 1.0, np.where(h < 0, -1.0, s[b]))
        s = new
    return s


@pytest.fixture(scope="module")
def memory() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    patterns = random_patterns(rng, 18, 120)  # alpha = 0.15: above capacity, so the dynamics do something
    return patterns, flip_fraction(rng, patterns, 0.15)


@pytest.mark.parametrize("structure", ["alternating", "relay"])
@pytest.mark.parametrize("mode", ["batched", "multiplexed"])
def test_synchronous_hopfield_equals_the_algorithm(memory, structure: str, mode: str) -> None:
    patterns, cues = memory
    couplings = hebb_couplings(patterns)
    dynamics = Dynamics("sync", updates=6)
    net = build_hopfield(couplings, dynamics, structure=structure)
    result = recall_on(REFERENCE, net, cues, mode=mode, chunk=7)
    expected = hopfield_numpy(couplings, cues, update_schedule(dynamics, 120, None))
    np.testing.assert_array_equal(result.states, expected)


def test_asynchronous_hopfield_equals_the_algorithm(memory) -> None:
    patterns, cues = memory
    couplings = hebb_couplings(patterns)
    dynamics = Dynamics("async", updates=2, blocks=5)
    net = build_hopfield(couplings, dynamics, rng=np.random.default_rng(9))
    schedule = update_schedule(dynamics, 120, np.random.default_rng(9))
    expected = hopfield_numpy(couplings, cues, schedule)
    for mode in ("batched", "multiplexed"):
        np.testing.assert_array_equal(recall_on(REFERENCE, net, cues, mode=mode, chunk=5).states, expected)
    assert schedule.sum(axis=0).tolist() == [2] * 120, "each neuron updates once per sweep"


def test_structures_cost_differently_but_recall_the_same(memory) -> None:
    patterns, cues = memory
    results = {
        s: recall_on(REFERENCE, build_hopfield(hebb_couplings(patterns), Dynamics("sync", 4), structure=s), cues)
        for s in ("alternating", "relay")
    }
    np.testing.assert_array_equal(results["alternating"].final, results["relay"].final)
    assert results["relay"].synaptic_events < results["alternating"].synaptic_events / 2


def test_polynomial_memory_is_the_exact_krotov_update() -> None:
    rng = np.random.default_rng(4)
    patterns = random_patterns(rng, 30, 21)  # odd N: the lattice level nearest 0 is +1
    cues = flip_fraction(rng, patterns, 0.2)
    for power in (2, 3):
        net = build_polynomial_memory(patterns, power, updates=3)
        batched = recall_on(REFERENCE, net, cues, mode="batched")
        np.testing.assert_array_equal(batched.final, krotov_numpy(patterns, cues, power, 3))
        multiplexed = recall_on(REFERENCE, net, cues, mode="multiplexed", chunk=8)
        np.testing.assert_array_equal(multiplexed.states, batched.states)


def test_winner_take_all_returns_the_pattern_of_largest_overlap() -> None:
    rng = np.random.default_rng(5)
    patterns = random_patterns(rng, 25, 40)
    cues = flip_fraction(rng, patterns, 0.3)
    cues[0] = flip_fraction(rng, patterns[3:4], 0.45)[0]  # a weak cue: the winner may be another pattern
    ranked = np.sort(cues.astype(float) @ patterns.T, axis=1)
    keep = ranked[:, -1] > ranked[:, -2]  # a unique winner (ties give a mixture, by design)
    cues = cues[keep]
    winners = np.argmax(cues.astype(float) @ patterns.T, axis=1)
    assert len(cues) > 20 and winners[0] != 0
    net = build_winner_take_all(patterns)
    for mode in ("batched", "multiplexed"):
        result = recall_on(REFERENCE, net, cues, mode=mode, chunk=6)
        np.testing.assert_array_equal(result.final, patterns[winners])


def test_race_crosses_one_lattice_level_per_step() -> None:
    beta = np.exp(-1 / 20)
    theta, ramp = race_ramp(10, beta, 0.5)
    for a in range(-10, 11, 2):
        v, fired = 0.0, None
        for t in range(1, len(ramp)):
            v = beta * v + a + ramp[t]
            if v > 0.5:
                fired = t
                break
        expected = next((t for t in range(1, len(theta)) if a > theta[t]), None)
        assert fired == expected
    assert overlap_lattice(4)[0] == 0 and overlap_lattice(5)[0] == 1


def test_parallel_state_and_overlaps() -> None:
    xi = np.array([[1, 0, -1, 0], [0, -1, 1, 0], [1, 1, 0, 1]], dtype=np.int8)
    np.testing.assert_array_equal(parallel_state(xi), [1, -1, -1, 1])
    np.testing.assert_allclose(ev.overlaps(parallel_state(xi), xi), [0.5, 0.0, 0.25])


def test_cost_counts_fan_out(memory) -> None:
    patterns, _ = memory
    net = build_hopfield(hebb_couplings(patterns), Dynamics("sync", 2), structure="relay").network
    counts = {"state": np.ones(120, dtype=int), "relay": np.zeros(120, dtype=int)}
    figures = ev.cost(net, counts)
    assert figures["spikes"] == 120
    assert figures["synaptic_events"] == 120  # one-to-one state -> relay synapses only


def test_recall_summary_and_weight_correlation() -> None:
    summary = ev.recall_summary(np.array([1.0, 0.9, 1.0, 0.5]))
    assert summary == {"overlap_mean": 0.85, "overlap_min": 0.5, "exact_recall_fraction": 0.5, "trials": 4}
    rng = np.random.default_rng(0)
    c = hebb_couplings(random_patterns(rng, 5, 50), 0.0)
    assert ev.weight_correlation(3.0 * c + 7.0 + 100 * np.eye(50), c) == pytest.approx(1.0)


def test_theory_reproduces_the_known_numbers() -> None:
    from spikemem.memory import theory

    assert theory.ags_capacity() == pytest.approx(theory.ALPHA_C, abs=1e-3)
    assert theory.ags_overlap(theory.ags_capacity()) == pytest.approx(theory.M_C, abs=2e-3)
    assert theory.ags_overlap(0.05) > 0.9999 and theory.ags_overlap(0.2) == 0.0
    assert theory.multitask_critical_dilution(3) == pytest.approx((np.sqrt(5) - 1) / 2, abs=1e-9)
    np.testing.assert_allclose(theory.multitask_overlaps(0.4, 3), [0.6, 0.24, 0.096])
    assert theory.example_overlap(0.3, 401) == pytest.approx(theory.example_overlap_exact(0.3, 401), abs=1e-3)
    assert theory.dense_capacity(100, 3) == pytest.approx(100**2 / (2 * 3 * np.log(100)))
    assert theory.unstable_bit_fraction(1000, 101) == pytest.approx(0.5 * math.erfc(np.sqrt(10) / np.sqrt(2)))
