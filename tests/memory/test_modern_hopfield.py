"""The spiking modern Hopfield memory (:mod:`spikemem.memory.modern`) against its oracles and the paper's theorems.

- every backend's spikes equal the numpy Gumbel-max race (same seed, same
  spikes; checked inside the regimes test), Lava and the reference in fixed
  point too;
- the race samples the softmax (ties bounded by :math:`1 - e^{-\\delta}`);
- the time average converges to the continuous update
  :math:`X\\,\\mathrm{softmax}(\\beta X^\\top\\xi)` at rate :math:`T^{-1/2}`;
- retrieval error against :math:`\\beta` and the separation
  :math:`\\Delta_i` as Theorem 5 of Ramsauer et al. (2020) bounds it;
- exponential capacity: :math:`K = 2^{N/6}` patterns at N = 16 .. 48 retrieved
  in one update, where the classical and polynomial memories fail;
- the three kinds of fixed point on clustered patterns as :math:`\\beta` sweeps.

Sizes are small (N <= 48, K <= 256). The statistical tests run on the
reference backend: the first test proves every backend gives the same spikes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from memory_backends import require

from spikemem.backend import Backend
from spikemem.backends import get_backend
from spikemem.cli import EXIT_CHECK_FAILED, main
from spikemem.memory import theory
from spikemem.memory.dense import build_polynomial_memory
from spikemem.memory.hopfield import Dynamics, build_hopfield
from spikemem.memory.modern import (
    build_modern_hopfield,
    clustered_patterns,
    gumbel_noise,
    race_resolution,
    race_samples,
    race_winners,
    run_samples,
    sample_on,
)
from spikemem.memory.patterns import flip_fraction, hebb_couplings, random_patterns
from spikemem.memory.recall import recall_on

REFERENCE = get_backend("reference")
CAPACITY_BASE = 2.0 ** (1.0 / 6.0)
"""K = round(c^N) patterns at dimension N in the capacity tests."""


@pytest.fixture(scope="module")
def small() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    patterns = random_patterns(rng, 8, 16)
    return patterns, flip_fraction(rng, patterns[:3], 0.2)


@pytest.mark.parametrize("name", ["reference", "lava"])
def test_fixed_point_race_is_exact(name: str, small) -> None:
    """Every current is a multiple of 1/2 and the memory does not leak: fixed point gives the numpy race's spikes."""
    patterns, cues = small
    net = build_modern_hopfield(patterns, 0.25, race_steps=24, record_memory=True)
    result = sample_on(require(name), net, cues, 12, np.random.default_rng(5), numeric="fixed")
    winners = race_winners(patterns, np.repeat(cues, 12, axis=0), result.noise.reshape(-1, 8), 0.25, 24)
    assert result.winners is not None
    np.testing.assert_array_equal(result.winners.reshape(-1, 8), winners)
    np.testing.assert_array_equal(result.samples.reshape(-1, 16), race_samples(patterns, winners))
    assert len(np.unique(winners.argmax(axis=1))) > 2, "the samples vary"


def test_race_samples_the_softmax() -> None:
    """Winner frequencies of the numpy race match softmax(beta a) within the tie bound (Gumbel-max)."""
    rng = np.random.default_rng(2)
    patterns = random_patterns(rng, 6, 16)
    cue = flip_fraction(rng, patterns[:1], 0.3)
    samples = 8_000
    for beta, race_steps in ((0.05, 40), (0.3, 100)):
        noise = gumbel_noise(rng, (samples, 6))
        winners = race_winners(patterns, np.repeat(cue, samples, axis=0), noise, beta, race_steps)
        ties = float((winners.sum(axis=1) > 1).mean())
        bound = theory.tie_probability_bound(race_resolution(16, beta, race_steps))
        assert ties <= bound + 3.0 * np.sqrt(bound / samples)
        single = winners[winners.sum(axis=1) == 1]
        frequencies = single.mean(axis=0)
        p = theory.softmax_weights(patterns, cue, beta)[0]
        sigma = np.sqrt(p * (1.0 - p) / len(single)).sum()  # of the summed |frequency - p|
        assert 0.5 * np.abs(frequencies - p).sum() <= ties + 2.0 * sigma


def test_time_average_converges_to_the_continuous_update() -> None:
    """RMS error against X softmax(beta X^T xi) falls as T^-1/2 (fitted exponent printed)."""
    rng = np.random.default_rng(0)
    patterns = random_patterns(rng, 8, 16)
    cues = flip_fraction(rng, patterns[:4], 0.25)
    beta = 0.2
    net = build_modern_hopfield(patterns, beta, race_steps=64)
    result = sample_on(REFERENCE, net, cues, 1024, np.random.default_rng(1))
    target = theory.modern_hopfield_update(patterns, cues, beta)
    windows = np.array([16, 64, 256, 1024])
    errors = np.array([np.sqrt(((result.mean(int(t)) - target) ** 2).mean()) for t in windows])
    rate = float(np.polyfit(np.log(windows), np.log(errors), 1)[0])
    print(f"RMS error vs T {dict(zip(windows.tolist(), errors.round(4).tolist(), strict=True))}, rate T^{rate:.3f}")
    assert -0.65 <= rate <= -0.35
    assert errors[-1] < 0.05


def test_retrieval_error_against_beta_and_separation() -> None:
    """Theorem 5 (Ramsauer et al.): ||f(x_i) - x_i|| <= 2 (K-1) exp(-beta Delta_i) M, for the update and the spikes.

    The oracle's error decays as exp(-beta Delta_i) (fitted slope -Delta_i);
    the spiking memory's time average stays within the bound plus its
    sampling error, and the better separated pattern retrieves better.
    """
    rng = np.random.default_rng(4)
    patterns = random_patterns(rng, 8, 24)
    delta = theory.separation(patterns)
    betas = np.array([0.05, 0.1, 0.2, 0.4, 0.8, 1.6])
    errors = np.array(
        [np.linalg.norm(theory.modern_hopfield_update(patterns, patterns, b) - patterns, axis=1) for b in betas]
    )
    bounds = np.array([theory.modern_retrieval_bound(patterns, b) for b in betas])
    assert (errors <= bounds + 1e-12).all()
    best, worst = int(np.argmax(delta)), int(np.argmin(delta))
    assert delta[best] > delta[worst]
    large = betas >= 0.4
    slope = np.polyfit(betas[large], np.log(errors[large, worst]), 1)[0]
    assert slope == pytest.approx(-delta[worst], rel=0.15)
    retrieving = betas >= 0.2  # below, every state is pulled to the global average (no retrieval to compare)
    assert (errors[retrieving, best] < errors[retrieving, worst]).all()

    net = build_modern_hopfield(patterns, betas[0], race_steps=96)
    cues = patterns[[best, worst]]
    samples = 128
    spiking = []
    for beta in betas:
        result = sample_on(REFERENCE, net.at_beta(float(beta)), cues, samples, np.random.default_rng(7))
        spiking.append(np.linalg.norm(result.mean() - cues, axis=1))
    spiking_errors = np.array(spiking)  # (betas, 2)
    slack = 2.0 * np.sqrt(24) * 3.0 / np.sqrt(samples)  # 3 sigma of the sampling error, |x_j - x_i| <= 2 sqrt(N)
    assert (spiking_errors <= bounds[:, [best, worst]] + slack).all()
    assert spiking_errors[-1].max() == 0.0, "exponentially small error: every sample is the pattern"
    assert spiking_errors[retrieving, 0].sum() < spiking_errors[retrieving, 1].sum()


def _capacity_point(n: int) -> tuple[np.ndarray, np.ndarray]:
    k = round(CAPACITY_BASE**n)
    rng = np.random.default_rng(n)
    patterns = random_patterns(rng, k, n)
    return patterns, flip_fraction(rng, patterns[:16], 0.1)


def _modern_retrieved(backend: Backend, patterns: np.ndarray, cues: np.ndarray) -> float:
    net = build_modern_hopfield(patterns, 1.0, race_steps=96)
    result = sample_on(backend, net, cues, 1, np.random.default_rng(3))
    return float((result.samples[:, 0] == patterns[: len(cues)]).all(axis=1).mean())


def test_exponential_capacity_where_classical_and_polynomial_fail(backend: Backend) -> None:
    """N = 48, K = 2^(48/6) = 256 from 10%-noise cues: one update retrieves every cue; Hebb and x^3 do not."""
    patterns, cues = _capacity_point(48)
    assert _modern_retrieved(backend, patterns, cues) == 1.0
    if backend.name == "reference":
        classical = build_hopfield(hebb_couplings(patterns), Dynamics("sync", 10))
        polynomial = build_polynomial_memory(patterns, 3, updates=4)
        for net in (classical, polynomial):
            final = recall_on(backend, net, cues).final
            assert (final == patterns[: len(cues)]).all(axis=1).mean() < 0.5


def test_capacity_grows_exponentially_with_the_dimension() -> None:
    """K = round(2^(N/6)) at N = 16 .. 48 (K = 6 .. 256): every cue retrieved in one update (reference)."""
    for n in (16, 24, 32, 40):
        patterns, cues = _capacity_point(n)
        assert _modern_retrieved(REFERENCE, patterns, cues) == 1.0, f"N={n}"


def test_three_kinds_of_fixed_point_with_the_race_spikes(backend: Backend) -> None:
    """Same seed, same spikes (every winner is the numpy race's), and the three regimes as beta sweeps.

    One network for every beta (beta enters only the drive): small beta gives
    the global average, the middle a metastable cluster average, large beta
    the single pattern; the time average of 48 samples lands in the oracle's
    regime (over 300 seeds of this setup: 1 misses the metastable regime; RMS error <= 0.33).
    """
    patterns, clusters = clustered_patterns(np.random.default_rng(0), 4, 4, 16, 0.05)
    cue = patterns[:1]
    cluster = clusters == 0
    race_steps, samples = 40, 48
    net = build_modern_hopfield(patterns, 2.0, race_steps=race_steps, record_memory=True)
    expected = {0.01: "global average", 0.3: "metastable", 2.0: "single pattern"}
    with backend.compile(net.network) as sim:
        for beta, regime in expected.items():
            oracle = theory.modern_hopfield_update(patterns, cue, beta)[0]
            assert theory.modern_regime(oracle, patterns, cluster, 0) == regime
            noise = gumbel_noise(np.random.default_rng(9), (1, samples, len(patterns)))
            result = run_samples(sim, net.at_beta(beta), cue, noise, native_batch=backend.capabilities.native_batch)
            winners = race_winners(patterns, np.repeat(cue, samples, axis=0), noise[0], beta, race_steps)
            assert result.winners is not None
            np.testing.assert_array_equal(result.winners[0], winners)
            np.testing.assert_array_equal(result.samples[0], race_samples(patterns, winners))
            estimate = result.mean()[0]
            assert theory.modern_regime(estimate, patterns, cluster, 0) == regime, beta
            assert np.sqrt(((estimate - oracle) ** 2).mean()) < 0.35


EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
SMALL = [
    "beta_sweep.betas=[0.01,0.3,2.0]",
    "beta_sweep.samples=24",
    "beta_sweep.race_steps=32",
    "capacity.features=[16,24]",
    "capacity.cues=4",
]


def test_config_runs_from_the_cli(tmp_path: Path, capsys) -> None:
    """experiments/modern_hopfield.toml at a small size: exit code, tables, both plots, the checks in result.json."""
    out = tmp_path / "run"
    argv = ["run", str(EXPERIMENTS / "modern_hopfield.toml"), "--backend", "reference", "--out", str(out)]
    for item in SMALL:
        argv += ["--set", item]
    code = main(argv)
    checks = json.loads((out / "result.json").read_text())["metrics"]["checks"]
    assert code == (EXIT_CHECK_FAILED if any(not c["holds"] for c in checks) else 0)
    printed = capsys.readouterr().out
    assert "regime (spikes)" in printed and "polynomial_n3" in printed
    assert (out / "modern_beta.png").stat().st_size > 0 and (out / "modern_capacity.png").stat().st_size > 0
    names = {c["name"] for c in checks}
    assert "regimes in order (global, metastable, single)" in names


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("beta_sweep.nope=1", "beta_sweep.nope"),
        ("beta_sweep.betas=[0.1,-1.0]", "beta_sweep.betas"),
        ("capacity.base=0.9", "capacity.base"),
        ('capacity.models=["hopfieldish"]', "capacity.models"),
        ("beta_sweep.race_steps=2", "beta_sweep.race_steps"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, capsys, setting: str, fragment: str) -> None:
    code = main(["run", str(EXPERIMENTS / "modern_hopfield.toml"), "--out", str(tmp_path / "o"), "--set", setting])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and fragment in err, err


def test_builder_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="patterns"):
        build_modern_hopfield(np.array([[1, 0, -1]]), 1.0)
    with pytest.raises(ValueError, match="beta"):
        build_modern_hopfield(np.ones((2, 4)), 0.0)
    with pytest.raises(ValueError, match="race_steps"):
        build_modern_hopfield(np.ones((2, 4)), 1.0, race_steps=2)
