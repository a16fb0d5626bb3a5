"""Orthogonal projection: weight updates avoid the stored subspace; both implementations agree."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from spikemem.continual.model import ModelConfig, SpikingMLP  # noqa: E402
from spikemem.continual.projection import (  # noqa: E402
    orthogonal_part,
    project_gradient_,
    projected_linear,
)

TOL = 1e-10


def _orthonormal(k: int, n: int, seed: int) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(n, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q.T.contiguous()


@pytest.mark.parametrize("mode", ["input", "gradient"])
def test_update_is_orthogonal_to_the_subspace(mode: str) -> None:
    gen = torch.Generator().manual_seed(0)
    basis = _orthonormal(5, 12, seed=1)
    weight = torch.randn(7, 12, generator=gen, dtype=torch.float64, requires_grad=True)
    x = torch.randn(3, 4, 12, generator=gen, dtype=torch.float64)  # (T, B, n) rows
    current, _ = projected_linear(x, weight, basis, mode=mode)
    (current.sin().sum()).backward()
    update = weight.grad
    assert update.abs().max() > 1e-3
    assert (update @ basis.T).abs().max() < TOL, "dW H^T = 0: inputs in the subspace see no change"
    old_inputs = torch.randn(9, 5, generator=gen, dtype=torch.float64) @ basis
    assert (old_inputs @ update.T).abs().max() < TOL


def test_both_sides_equal_the_projected_gradient() -> None:
    gen = torch.Generator().manual_seed(2)
    basis = _orthonormal(4, 10, seed=3)
    x = torch.randn(6, 10, generator=gen, dtype=torch.float64, requires_grad=True)
    target = torch.randn(6, 8, generator=gen, dtype=torch.float64)
    grads = {}
    for mode in ("plain", "input", "gradient"):
        weight = torch.ones(8, 10, dtype=torch.float64).mul(0.1).requires_grad_()
        x.grad = None
        current, x_perp = projected_linear(x, weight, None if mode == "plain" else basis, mode=mode)
        ((current - target) ** 2).sum().backward()
        grads[mode] = (weight.grad.clone(), x.grad.clone())
        if mode == "input":
            assert torch.allclose(x_perp, orthogonal_part(x.detach(), basis))
    plain_w, plain_x = grads["plain"]
    expected = plain_w - plain_w @ basis.T @ basis  # G (I - H^T H)
    for mode in ("input", "gradient"):
        assert torch.allclose(grads[mode][0], expected, atol=1e-12)
        assert torch.allclose(grads[mode][1], plain_x, atol=1e-12), "the input gradient is not projected"
    manual = torch.ones(8, 10, dtype=torch.float64).mul(0.1).requires_grad_()
    ((x.detach() @ manual.T - target) ** 2).sum().backward()
    project_gradient_(manual, basis)
    assert torch.allclose(manual.grad, expected, atol=1e-12)


def test_training_step_keeps_old_currents_of_every_protected_layer() -> None:
    """One SGD step of the spiking MLP with bases of 'old' inputs: their currents stay put."""
    gen = torch.Generator().manual_seed(4)
    model = SpikingMLP(20, [5], ModelConfig(hidden=(16, 12)), steps=4, generator=gen).double()
    old = torch.rand(30, 20, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        inputs = model(old, record=True).inputs
    bases = []
    for rows in inputs:
        u, s, _ = torch.linalg.svd(rows.T, full_matrices=False)
        bases.append(u[:, s > 1e-9 * s[0]].T.contiguous())  # the whole span of the old inputs
    before = [w.detach().clone() for w in model.protected]
    new = torch.rand(8, 20, generator=gen, dtype=torch.float64) * 2.0
    out = model(new, bases=bases)
    torch.nn.functional.cross_entropy(out.logits, torch.arange(8) % 5).backward()
    with torch.no_grad():
        for w in model.protected:
            w -= 0.5 * w.grad
    changed = False
    for w, w0, rows in zip(model.protected, before, inputs, strict=True):
        changed |= bool((w - w0).abs().max() > 1e-6)
        assert (rows @ (w - w0).T).abs().max() < 1e-9
    assert changed
    with torch.no_grad():
        assert np.array_equal(model(old).logits.argmax(1).numpy(), model(old).logits.argmax(1).numpy())


@pytest.mark.parametrize("reset", ["subtract", "value"])
def test_detached_reset_changes_gradients_not_values(reset: str) -> None:
    """``detach_reset``: same spikes and logits as the plain step; the reset carries no gradient."""
    x = torch.randn(6, 20, generator=torch.Generator().manual_seed(5), dtype=torch.float64) * 3.0
    results = []
    for detach in (False, True):
        config = ModelConfig(hidden=(16, 12), reset=reset, detach_reset=detach)
        model = SpikingMLP(20, [5], config, steps=5, generator=torch.Generator().manual_seed(6)).double()
        logits = model(x).logits
        logits.sum().backward()
        results.append((logits.detach(), model.layers[0].grad.clone()))
        with torch.no_grad():
            assert torch.equal(model(x).logits, logits.detach())  # no-grad path: the shared LIF step
    (plain, grad_plain), (detached, grad_detached) = results
    assert torch.equal(plain, detached)
    assert not torch.allclose(grad_plain, grad_detached)
