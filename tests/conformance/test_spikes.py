"""Float backends give spike trains identical to the numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from cases import SPIKING_CASES, STEPS

from spikemem.backend import Backend


def _run(backend: Backend, network, steps: int = STEPS, **kwargs):
    with backend.compile(network, **kwargs) as sim:
        return sim.run(steps)


@pytest.mark.parametrize("case", sorted(SPIKING_CASES))
def test_identical_spikes(simulator: Backend, reference: Backend, case: str) -> None:
    expected = _run(reference, SPIKING_CASES[case]())
    got = _run(simulator, SPIKING_CASES[case]())
    assert sorted(got.data) == sorted(expected.data)
    for key, want in expected.data.items():
        have = np.asarray(got.data[key])
        assert have.shape == want.shape, key
        if key.endswith(".spikes") or key.endswith(".count"):
            assert want.sum() > 10, f"case {case} is too quiet to test anything ({key})"
            mismatch = np.argwhere(have != want)
            assert mismatch.size == 0, f"{key}: first mismatches (step, neuron) {mismatch[:5].tolist()}"
        else:
            np.testing.assert_allclose(have, want, rtol=1e-9, atol=1e-9, err_msg=key)


def test_run_continues_and_resets(simulator: Backend, reference: Backend) -> None:
    """Two runs of 80 + 120 steps equal one run of 200; reset starts over."""
    network = SPIKING_CASES["delays"]()
    whole = _run(reference, network).spikes("layer")
    with simulator.compile(SPIKING_CASES["delays"]()) as sim:
        first = sim.run(80).spikes("layer")
        second = sim.run(120)
        assert second.t_start == 80
        np.testing.assert_array_equal(np.concatenate([first, second.spikes("layer")]), whole)
        sim.reset()
        np.testing.assert_array_equal(sim.run(STEPS).spikes("layer"), whole)


def test_run_batch_matches_single_runs(simulator: Backend, reference: Backend) -> None:
    network = SPIKING_CASES["time_varying_current"]()
    drive = network.input("drive").values
    batch = np.stack([drive, 0.5 * drive, drive[::-1].copy()])
    with simulator.compile(network) as sim:
        got = sim.run_batch(STEPS, {"drive": batch}).spikes("exc")
    with reference.compile(SPIKING_CASES["time_varying_current"]()) as ref:
        for b in range(len(batch)):
            ref.reset()
            np.testing.assert_array_equal(got[b], ref.run(STEPS, inputs={"drive": batch[b]}).spikes("exc"))


def test_one_trial_batch_keeps_the_trial_axis(simulator: Backend, reference: Backend) -> None:
    network = SPIKING_CASES["time_varying_current"]()
    drive = network.input("drive").values[None]
    expected = reference.compile(SPIKING_CASES["time_varying_current"]()).run_batch(STEPS, {"drive": drive})
    with simulator.compile(network) as sim:
        got = sim.run_batch(STEPS, {"drive": drive})
    assert expected.spikes("exc").shape == got.spikes("exc").shape == (1, STEPS, network.population("exc").size)
    np.testing.assert_array_equal(got.spikes("exc"), expected.spikes("exc"))
