"""The reference and snnTorch backends dispatch a static projection's product on its source's activity.

A silent source adds nothing, a fully active one (the wipe of a clocked
population) reuses the product computed at compile time, anything else is
the plain product. The answers must be those of the plain product: the same
spikes and, in the reference, the same potentials bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from spikemem.backends import get_backend
from spikemem.spec import LIF, CurrentInput, Monitor, Network, Population, Projection

STEPS = 40
N_SRC, N_DST = 30, 12


def _network(seed: int = 3) -> Network:
    """``src`` fires all together, not at all, or in part, by turns; two static projections share one array."""
    rng = np.random.default_rng(seed)
    drive = rng.uniform(0.0, 1.0, (STEPS, N_SRC))  # about half of them fire
    drive[0::3] = -10.0  # none fires
    drive[1::3] = 10.0  # every neuron fires (and resets to 0 for the next, partial step)
    weights = rng.normal(0.0, 0.3, (N_DST, N_SRC))  # not integers: the summation order would show
    neuron = LIF(tau_mem=0.02, v_th=0.5)
    clocked = LIF(tau_mem=1.001e-3, v_th=0.5)
    return Network(
        dt=1e-3,
        populations=[
            Population("src", N_SRC, clocked),
            Population("a", N_DST, neuron),
            Population("b", N_DST, neuron),
        ],
        projections=[
            Projection("src", "a", weights, delay=1, name="src->a"),
            Projection("src", "b", weights, delay=2, name="src->b"),
        ],
        inputs=[CurrentInput("drive", "src", drive)],
        monitors=[Monitor(p, var) for p in ("src", "a", "b") for var in ("spikes", "v", "count")],
    )


def _plain(sim) -> None:
    """Turn the dispatch off: every step takes the plain product."""
    from spikemem.backends import reference

    if sim.backend_name == "reference":
        sim._projection_input = lambda name, spikes, single: reference._synaptic_input(sim._weights[name], spikes)
    else:
        import torch.nn.functional as F

        sim._synaptic_input = lambda spikes, name: F.linear(spikes.to(sim.dtype), sim._weights[name])


def _run(name: str, plain: bool, options: dict | None = None, batch: bool = False, weights=None):
    with get_backend(name, **(options or {})).compile(_network()) as sim:
        if plain:
            _plain(sim)
        if weights is not None:
            sim.set_weights("src->a", weights)
        if batch:
            drive = _network().input("drive").values[None]
            return {k: v[0] for k, v in sim.run_batch(STEPS, {"drive": drive}).data.items()}
        return sim.run(STEPS).data


CONFIGS = [("reference", {}), ("snntorch", {"leaky": False}), ("snntorch", {})]


@pytest.mark.parametrize("batch", [False, True], ids=["run", "run_batch"])
@pytest.mark.parametrize(("name", "options"), CONFIGS, ids=["reference", "snntorch-lif_step", "snntorch-leaky"])
def test_dispatch_gives_the_plain_product(name: str, options: dict, batch: bool) -> None:
    if name == "snntorch":
        pytest.importorskip("snntorch")
    got, want = _run(name, False, options, batch), _run(name, True, options, batch)
    active = set(want["src.spikes"].sum(axis=-1).tolist())
    assert {0, N_SRC} < active and len(active) > 3  # all, none and some fired
    for key, value in want.items():
        if name == "reference":
            assert np.array_equal(got[key], value), key  # bit for bit
        elif key.endswith((".spikes", ".count")):
            assert np.array_equal(got[key], value), key
        else:
            np.testing.assert_allclose(got[key], value, rtol=0, atol=1e-12, err_msg=key)
    reference = _run("reference", True, batch=batch)
    for key, value in reference.items():
        if key.endswith((".spikes", ".count")):
            assert np.array_equal(got[key], value), key


@pytest.mark.parametrize(("name", "options"), CONFIGS[:2], ids=["reference", "snntorch-lif_step"])
def test_set_weights_refreshes_the_all_active_product(name: str, options: dict) -> None:
    """After ``set_weights`` on one of two projections sharing a spec array, each uses its own weights."""
    if name == "snntorch":
        pytest.importorskip("snntorch")
    new = np.random.default_rng(9).normal(0.0, 0.3, (N_DST, N_SRC))
    got = _run(name, False, options, weights=new)
    want = _run(name, True, options, weights=new)
    for key in ("a.v", "b.v", "a.spikes", "b.spikes"):
        np.testing.assert_allclose(got[key], want[key], rtol=0, atol=1e-12, err_msg=key)
    unchanged = _run(name, True, options)
    np.testing.assert_array_equal(got["b.spikes"], unchanged["b.spikes"])
    assert not np.array_equal(got["a.v"], unchanged["a.v"])
