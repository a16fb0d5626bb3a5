"""The numpy reference of each plasticity rule against hand computations and known results."""

from __future__ import annotations

import math

import numpy as np

from spikemem.learning import initial_state, rule_step
from spikemem.spec import Hebb, OjaSubspace, PairSTDP, ThreeFactor

DT = 1e-3


def _run(rule, w, pre, post, modulator=None):
    state = initial_state(rule, w)
    for t in range(len(pre)):
        m = None if modulator is None else np.atleast_1d(modulator[t])
        w = rule_step(rule, w, state, pre[t], post[t], DT, modulator=m)
    return w


def test_pair_stdp_potentiation_and_depression_by_hand() -> None:
    rule = PairSTDP(a_plus=0.1, a_minus=0.05, tau_pre=0.01, tau_post=0.02)
    pre = np.zeros((10, 1), dtype=bool)
    post = np.zeros((10, 1), dtype=bool)
    pre[2], post[5] = True, True  # pre 3 steps before post: potentiation a+ e^{-3 dt/tau_pre}
    w = _run(rule, np.zeros((1, 1)), pre, post)
    np.testing.assert_allclose(w[0, 0], 0.1 * math.exp(-3 * DT / 0.01), rtol=1e-14)
    pre2 = np.zeros((10, 1), dtype=bool)
    post2 = np.zeros((10, 1), dtype=bool)
    post2[2], pre2[6] = True, True  # post 4 steps before pre: depression a- e^{-4 dt/tau_post}
    w = _run(rule, np.zeros((1, 1)), pre2, post2)
    np.testing.assert_allclose(w[0, 0], -0.05 * math.exp(-4 * DT / 0.02), rtol=1e-15)


def test_hebb_with_spike_traces_is_outer_product_of_coincidences() -> None:
    rng = np.random.default_rng(0)
    pre = rng.random((50, 4)) < 0.3
    post = rng.random((50, 3)) < 0.3
    w = _run(Hebb(eta=0.01), np.zeros((3, 4)), pre, post)
    np.testing.assert_allclose(w, 0.01 * post.T.astype(float) @ pre.astype(float), rtol=1e-12)


def test_three_factor_needs_modulation_and_follows_it() -> None:
    pre = np.zeros((6, 1), dtype=bool)
    post = np.zeros((6, 1), dtype=bool)
    pre[1], post[2] = True, True
    rule = ThreeFactor(eta=1.0, modulator="m", tau_eligibility=0.01, tau_pre=0.01)
    assert _run(rule, np.zeros((1, 1)), pre, post, modulator=np.zeros(6))[0, 0] == 0
    w = _run(rule, np.zeros((1, 1)), pre, post, modulator=np.array([0, 0, 0, 1.0, 0, 0]))
    a = math.exp(-DT / 0.01)
    np.testing.assert_allclose(w[0, 0], a * a, rtol=1e-14)  # e[2] = x[2] = a; e[3] = a * e[2]


def test_oja_subspace_converges_to_principal_subspace() -> None:
    """With rate inputs (tau = 0 traces fed real values), W -> orthonormal basis of the top-k subspace."""
    rng = np.random.default_rng(1)
    n, k = 12, 3
    basis, _ = np.linalg.qr(rng.normal(size=(n, n)))
    scales = np.array([3.0, 2.5, 2.0] + [0.3] * (n - 3))
    rule = OjaSubspace(eta=2e-3, tau_pre=0.0, tau_post=0.0)
    w = rng.normal(scale=0.1, size=(k, n))
    state = initial_state(rule, w)
    for _ in range(20000):
        x = basis @ (scales * rng.normal(size=n))
        y = w @ x
        # feed rates directly: traces with tau = 0 equal this step's "spikes"
        w = rule_step(rule, w, state, x, y, DT)
    top = basis[:, :3]
    projector = w.T @ w
    np.testing.assert_allclose(w @ w.T, np.eye(k), atol=0.05)
    np.testing.assert_allclose(projector, top @ top.T, atol=0.05)
