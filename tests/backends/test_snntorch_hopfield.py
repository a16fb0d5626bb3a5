"""The spiking modern Hopfield layers: softmax by spikes, convergence in T, gradients, learning."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from spikemem.backends.snntorch_hopfield import (  # noqa: E402
    SpikingHopfield,
    SpikingHopfieldLayer,
    SpikingHopfieldPooling,
    hopfield_retrieval,
    spike_counts,
    spiking_hopfield_retrieval,
    spiking_softmax,
)

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine"),
    ),
]


def _patterns(generator: torch.Generator, m: int = 12, d: int = 24, queries: int = 64):
    keys = torch.sign(torch.randn(m, d, generator=generator, dtype=torch.float64))
    query = keys[torch.randint(m, (queries,), generator=generator)]
    query = query + 0.8 * torch.randn(queries, d, generator=generator, dtype=torch.float64)
    return query, keys


@pytest.mark.parametrize("device", DEVICES)
def test_one_spike_per_step_and_seeded(device):
    scores = torch.randn(5, 7, dtype=torch.float64, device=device)
    counts = spike_counts(scores, 50, torch.Generator(device=device).manual_seed(3))
    assert counts.device == scores.device
    assert torch.equal(counts.sum(-1), torch.full((5,), 50.0, dtype=torch.float64, device=device))
    assert torch.equal(counts, counts.round())
    again = spike_counts(scores, 50, torch.Generator(device=device).manual_seed(3))
    other = spike_counts(scores, 50, torch.Generator(device=device).manual_seed(4))
    assert torch.equal(counts, again)
    assert not torch.equal(counts, other)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        spike_counts(scores, 0)


def test_winner_frequencies_are_the_softmax():
    """Gumbel-max: each step's winner is distributed as softmax(h) (chi-square goodness of fit)."""
    scores = torch.tensor([2.0, 1.0, 0.0, -1.0, 0.5], dtype=torch.float64)
    steps = 20_000
    counts = spike_counts(scores, steps, torch.Generator().manual_seed(0))
    expected = steps * torch.softmax(scores, -1)
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 18.5  # 4 degrees of freedom: p = 0.001 quantile


def test_output_converges_to_the_continuous_update():
    """The error to X softmax(beta X^T xi) falls like T^(-1/2) (64x the steps: about 8x smaller)."""
    generator = torch.Generator().manual_seed(1)
    query, keys = _patterns(generator)
    beta = 0.15
    exact = hopfield_retrieval(query, keys, keys, beta=beta)
    errors = {}
    for steps in (16, 1024):
        spiking = spiking_hopfield_retrieval(
            query, keys, keys, beta=beta, steps=steps, generator=torch.Generator().manual_seed(2)
        )
        errors[steps] = float((spiking - exact).norm(dim=-1).mean() / exact.norm(dim=-1).mean())
    assert errors[1024] < errors[16] / 5
    assert errors[1024] < 0.05
    rate = math.log(errors[16] / errors[1024]) / math.log(1024 / 16)
    assert 0.35 < rate < 0.65, rate


def test_gradients_are_the_softmax_gradients():
    """Straight-through: for a loss linear in the output, query and key gradients equal the continuous layer's."""
    generator = torch.Generator().manual_seed(5)
    query, keys = _patterns(generator, queries=8)
    values = torch.randn(keys.shape[0], 6, generator=generator, dtype=torch.float64)
    weight = torch.randn(8, 6, generator=generator, dtype=torch.float64)
    grads = []
    for spiking in (True, False):
        q, k, v = (t.clone().requires_grad_(True) for t in (query, keys, values))
        if spiking:
            out = spiking_hopfield_retrieval(q, k, v, beta=0.3, steps=8, generator=torch.Generator().manual_seed(0))
        else:
            out = hopfield_retrieval(q, k, v, beta=0.3)
        (out * weight).sum().backward()
        grads.append((q.grad, k.grad, v.grad))
    (gq, gk, gv), (cq, ck, cv) = grads
    torch.testing.assert_close(gq, cq)
    torch.testing.assert_close(gk, ck)
    assert float(gq.abs().sum()) > 0 and float(gv.abs().sum()) > 0
    assert not torch.allclose(gv, cv)  # the values see the spike rates, not the softmax


def test_no_grad_gives_the_spike_rates():
    scores = torch.randn(3, 4, requires_grad=True)
    with torch.no_grad():
        rates = spiking_softmax(scores, 10, torch.Generator().manual_seed(0))
    counts = spike_counts(scores, 10, torch.Generator().manual_seed(0))
    assert torch.equal(rates, counts / 10)


@pytest.mark.parametrize("device", DEVICES)
def test_layers_shapes_device_and_seed(device):
    layer = SpikingHopfieldLayer(10, num_patterns=6, output_size=3, hidden_size=8, steps=16, seed=7).to(device)
    x = torch.randn(4, 10, device=device)
    first = layer(x)
    assert first.shape == (4, 3) and first.device.type == device
    layer.reseed()
    assert torch.equal(layer(x), first)
    assert not torch.equal(layer(x), first)  # the generator advances between calls

    hopfield = SpikingHopfield(10, hidden_size=8, output_size=5, steps=4).to(device)
    assert hopfield(torch.randn(2, 3, 10, device=device), torch.randn(2, 7, 10, device=device)).shape == (2, 3, 5)
    pooling = SpikingHopfieldPooling(10, num_queries=2, output_size=5, steps=4).to(device)
    assert pooling(torch.randn(2, 7, 10, device=device)).shape == (2, 2, 5)
    with pytest.raises(ValueError, match="beta must be a positive finite number"):
        SpikingHopfieldLayer(10, 6, beta=-1.0)


def _association_task(generator: torch.Generator, pairs: int = 10, d_in: int = 32, d_out: int = 16):
    cues = torch.sign(torch.randn(pairs, d_in, generator=generator))
    targets = torch.sign(torch.randn(pairs, d_out, generator=generator))

    def batch(size: int):
        labels = torch.randint(pairs, (size,), generator=generator)
        flips = torch.rand(size, d_in, generator=generator) < 0.2
        return cues[labels] * torch.where(flips, -1.0, 1.0), labels

    return targets, batch


def _accuracy(model, targets, cues, labels) -> float:
    with torch.no_grad():
        return float(((model(cues) @ targets.T).argmax(-1) == labels).float().mean())


def test_layer_learns_an_association_task():
    """Learned stored patterns map noisy cues (20% bits flipped) to their targets; untrained: near chance (0.1)."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    targets, batch = _association_task(generator)
    model = SpikingHopfieldLayer(32, num_patterns=16, output_size=16, beta=1.0, steps=16, seed=0)
    test_cues, test_labels = batch(500)
    before = _accuracy(model, targets, test_cues, test_labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(200):
        cues, labels = batch(64)
        loss = torch.nn.functional.mse_loss(model(cues), targets[labels])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = _accuracy(model, targets, test_cues, test_labels)
    assert after >= 0.9, (before, after)
    assert before <= 0.35, (before, after)
