"""HLOP's lateral neurons: the Oja subspace rule finds the principal subspace of known data."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from spikemem.continual.subspace import HebbianSettings, LateralSubspace  # noqa: E402
from spikemem.learning import RuleState, oja_subspace_change, weight_change  # noqa: E402
from spikemem.spec import OjaSubspace  # noqa: E402

N, K = 24, 4
SPECTRUM = torch.tensor([9.0, 7.0, 5.0, 4.0] + [0.2] * (N - 4), dtype=torch.float64)


def _data(seed: int, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian rows with covariance Q diag(SPECTRUM) Q^T; returns the data and Q."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(N, N, generator=gen, dtype=torch.float64))
    z = torch.randn(rows, N, generator=gen, dtype=torch.float64) * SPECTRUM.sqrt()
    return z @ q.T, q


def _projector(rows: torch.Tensor) -> torch.Tensor:
    q, _ = torch.linalg.qr(rows.T)
    return q @ q.T


def _learn(subspace: LateralSubspace, x: torch.Tensor, epochs: int, batch: int = 32) -> None:
    for _ in range(epochs):
        for start in range(0, x.shape[0], batch):
            subspace.learn(x[start : start + batch], iterations=1)


@pytest.mark.parametrize(("eta", "dampening"), [(0.02, 0.9), (0.002, 0.0)], ids=["ema-momentum", "heavy-ball"])
def test_oja_rule_converges_to_the_principal_subspace(eta: float, dampening: float) -> None:
    # heavy-ball momentum 0.9 scales the step by 1 / (1 - 0.9): eta 0.002 there is eta 0.02 with dampening 0.9
    x, q = _data(0, 4000)
    subspace = LateralSubspace(N, HebbianSettings(eta=eta, momentum=0.9, dampening=dampening), dtype=torch.float64)
    subspace.grow(K, torch.Generator().manual_seed(1))
    _learn(subspace, x, epochs=8)
    h = subspace.weights
    assert torch.allclose(h @ h.T, torch.eye(K, dtype=torch.float64), atol=0.05), "rows become orthonormal"
    error = torch.linalg.matrix_norm(_projector(h) - q[:, :K] @ q[:, :K].T, ord=2)
    assert error < 0.1, f"principal-subspace error {error:.3f}"
    optimum = float(SPECTRUM[:K].sum() / SPECTRUM.sum())
    assert subspace.captured_energy(x) == pytest.approx(optimum, abs=0.01)


def test_new_neurons_learn_the_next_components_while_old_rows_stay_fixed() -> None:
    x, q = _data(2, 4000)
    subspace = LateralSubspace(N, HebbianSettings(eta=0.02), dtype=torch.float64)
    subspace.grow(2, torch.Generator().manual_seed(3))
    _learn(subspace, x, epochs=8)
    subspace.merge()
    old = subspace.fixed.clone()
    subspace.grow(2, torch.Generator().manual_seed(4))
    assert subspace.size == 4 and subspace.n_fixed == 2
    assert (subspace.weights[2:] @ old.T).abs().max() < 1e-10, "new rows start orthogonal to the old ones"
    _learn(subspace, x, epochs=8)
    assert torch.equal(subspace.fixed, old)
    error = torch.linalg.matrix_norm(_projector(subspace.weights) - q[:, :K] @ q[:, :K].T, ord=2)
    assert error < 0.1
    state = subspace.state_dict()
    copy = LateralSubspace(N, subspace.settings, dtype=torch.float64)
    copy.load_state_dict(state)
    assert torch.equal(copy.weights, subspace.weights) and copy.n_fixed == 2


def test_batch_update_is_the_spec_rule_averaged() -> None:
    """The batched update equals the mean of the spec's per-sample OjaSubspace weight change."""
    rng = np.random.default_rng(5)
    w, x = rng.normal(size=(3, 6)), rng.normal(size=(8, 6))
    y = x @ w.T
    rule = OjaSubspace(eta=0.01, tau_pre=0.0, tau_post=0.0)
    per_sample = [weight_change(rule, w, RuleState(xi, yi), xi > 0, yi > 0) for xi, yi in zip(x, y, strict=True)]
    assert np.allclose(oja_subspace_change(0.01, w, x, y), np.mean(per_sample, axis=0), atol=1e-14)
    settings = HebbianSettings(eta=0.01)
    assert settings.rule == rule


def test_new_lateral_rows_come_from_the_one_orthonormal_complement() -> None:
    """numpy (local learner) and torch (BPTT HLOP) grow lateral rows with the same helper and agree."""
    from spikemem.continual.basis import orthonormal_complement
    from spikemem.continual.local.learner import orthonormal_complement_rows

    rng = np.random.default_rng(0)
    basis = orthonormal_complement(rng.normal(size=(4, 12)), None)
    draw = rng.normal(size=(3, 12))
    rows = orthonormal_complement(draw, basis)
    np.testing.assert_allclose(rows @ rows.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(rows @ basis.T, 0.0, atol=1e-12)
    torch_rows = orthonormal_complement(torch.as_tensor(draw), torch.as_tensor(basis))
    np.testing.assert_allclose(torch_rows.numpy(), rows, atol=1e-12)
    again = orthonormal_complement_rows(3, basis, np.random.default_rng(5))
    np.testing.assert_array_equal(again, orthonormal_complement(np.random.default_rng(5).normal(size=(3, 12)), basis))
