r"""Spiking modern Hopfield layers for PyTorch / snnTorch models.

The modern Hopfield update of Ramsauer et al. (2020, "Hopfield Networks is
All You Need") retrieves, in one step, a state from stored patterns
:math:`X = (x_1, \dots, x_M)`:

.. math::

    \xi^{new} = X\, \mathrm{softmax}(\beta X^\top \xi).

In the layer form of that paper (its ``hflayers`` package: ``Hopfield``,
``HopfieldLayer``, ``HopfieldPooling``) the state patterns give queries
:math:`Q`, the stored patterns keys :math:`K` and values :math:`V`:

.. math::

    Z = \mathrm{softmax}(\beta\, Q K^\top)\, V .

**The softmax by spikes.** Here one memory neuron stands for each stored
pattern, with input :math:`h_i = \beta\, q \cdot k_i`. In each of ``steps``
time steps the memory neurons race: with exponential escape noise neuron
:math:`i` would fire after a time :math:`\tau_i = E_i\, e^{-h_i}`,
:math:`E_i \sim \mathrm{Exp}(1)` i.i.d., and lateral inhibition lets only the
first one spike (a stochastic winner-take-all). The winner

.. math::

    i^*_t = \arg\min_i E_{i,t}\, e^{-h_i} = \arg\max_i \bigl(h_i + G_{i,t}\bigr),
    \qquad G_{i,t} = -\log E_{i,t} \sim \mathrm{Gumbel}(0, 1),

is an exact sample of :math:`\mathrm{softmax}(h)` (the Gumbel-max trick), so
the spike counts :math:`c_i` over :math:`T` steps are multinomial and the
time-averaged rates :math:`\hat p_i = c_i / T` are an unbiased estimate of
the softmax, with standard error :math:`\sqrt{p_i (1 - p_i) / T}`. The output
population reads the rates back through the values,

.. math::

    \hat z = \hat p\, V, \qquad \mathbb{E}[\hat z] = \mathrm{softmax}(h)\, V,
    \qquad \| \hat z - z \| = O(T^{-1/2}),

which converges to the continuous update as :math:`T` grows
(``tests/backends/test_snntorch_hopfield.py`` checks the rate).

**Gradients.** Spike counts are piecewise constant in :math:`h`; training
uses a straight-through surrogate: the forward pass uses the spike rates
:math:`\hat p`, the backward pass the Jacobian of the softmax,

.. math::

    p^{ST} = \hat p + \bigl(\mathrm{softmax}(h) - \mathrm{sg}[\mathrm{softmax}(h)]\bigr),
    \qquad \frac{\partial p^{ST}}{\partial h} = \mathrm{diag}(p) - p p^\top ,

(:math:`\mathrm{sg}` stops the gradient). Gradients to the values are exact
given the spikes (:math:`\partial \hat z / \partial V = \hat p`); for a loss
linear in :math:`\hat z` the gradients to queries and keys equal those of the
continuous layer. Under :func:`torch.no_grad` only the spikes are computed.

**Randomness.** Every draw comes from a :class:`torch.Generator` on the
device of the inputs: pass one to :func:`spiking_softmax` /
:func:`spiking_hopfield_retrieval`, or give a module a ``seed`` (each module
keeps one generator per device, seeded with it, and advances it on every
forward pass; :meth:`SpikingHopfieldCore.reseed` starts it again). The same
seed on the same device gives the same spikes; CPU and CUDA draw different
streams.

Three modules follow ``hflayers``:

- :class:`SpikingHopfield`: stored patterns are an input (``forward(query,
  keys, values)``), with optional trainable projections :math:`W_Q, W_K, W_V`.
- :class:`SpikingHopfieldLayer`: stored patterns (keys and values) are
  trainable parameters; the input is the state (query).
- :class:`SpikingHopfieldPooling`: the state (query) patterns are trainable
  parameters; the input is a set of patterns, pooled into ``num_queries``.

This module imports torch at import time; nothing below the backends layer
imports it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

_CHUNK_ELEMENTS = 1 << 22
"""Gumbel noise is drawn in chunks of steps holding at most this many numbers."""


def _check_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1 (the spiking window T); got {steps!r}")
    return steps


def spike_counts(scores: torch.Tensor, steps: int, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Spike counts of a stochastic winner-take-all over ``steps`` time steps.

    In each step exactly one memory neuron (along the last axis) spikes:
    :math:`\arg\max_i (h_i + G_{i,t})` with Gumbel noise :math:`G` from
    ``generator`` (see the module docstring), so the counts are a multinomial
    sample of ``steps`` draws from :math:`\mathrm{softmax}(h)`.

    Parameters
    ----------
    scores
        Inputs :math:`h` of the memory neurons, ``(..., M)``; no gradient is taken.
    steps
        Number of time steps :math:`T`.
    generator
        Random source on ``scores.device`` (``None``: torch's global generator).

    Returns
    -------
    torch.Tensor
        Counts, ``(..., M)``, in ``scores.dtype``; they sum to ``steps`` along the last axis.
    """
    steps = _check_steps(steps)
    h = scores.detach()
    counts = torch.zeros_like(h)
    chunk = max(1, min(steps, _CHUNK_ELEMENTS // max(1, h.numel())))
    done = 0
    while done < steps:
        n = min(chunk, steps - done)
        escape = torch.empty((n, *h.shape), dtype=h.dtype, device=h.device).exponential_(generator=generator)
        winners = torch.argmax(h - torch.log(escape), dim=-1)  # (n, ...): one spike per step
        counts.scatter_add_(-1, winners.movedim(0, -1), torch.ones_like(winners, dtype=h.dtype).movedim(0, -1))
        done += n
    return counts


def spiking_softmax(scores: torch.Tensor, steps: int, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Softmax over the last axis realised by spikes: rates :math:`c / T`, straight-through gradient.

    Forward: the time-averaged spike counts of :func:`spike_counts`. Backward
    (when autograd is on and ``scores`` requires grad): the gradient of
    :math:`\mathrm{softmax}(h)`.
    """
    rates = spike_counts(scores, steps, generator) / steps
    if not (torch.is_grad_enabled() and scores.requires_grad):
        return rates
    soft = torch.softmax(scores, dim=-1)
    return soft + (rates - soft).detach()


def spiking_hopfield_retrieval(
    query: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    *,
    beta: float,
    steps: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""One spiking modern Hopfield update: :math:`\hat z = \hat p V`, rates :math:`\hat p` of spikes over ``steps``.

    :math:`\mathbb{E}[\hat p] = \mathrm{softmax}(\beta Q K^\top)`.

    Parameters
    ----------
    query
        State patterns, ``(..., d_k)`` against shared keys ``(M, d_k)``, or
        ``(..., n_q, d_k)`` against batched keys ``(..., M, d_k)``.
    keys, values
        Stored patterns ``(..., M, d_k)`` and their projections ``(..., M, d_v)``.
        For the plain update :math:`X\,\mathrm{softmax}(\beta X^\top \xi)` pass
        the patterns as both keys and values.
    beta
        Inverse temperature.
    steps, generator
        Spiking window and random source (see :func:`spike_counts`).

    Returns
    -------
    torch.Tensor
        Retrieved states, ``query.shape[:-1] + (d_v,)``.
    """
    scores = beta * torch.matmul(query, keys.transpose(-1, -2))
    return torch.matmul(spiking_softmax(scores, steps, generator), values)


def hopfield_retrieval(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, *, beta: float) -> torch.Tensor:
    r"""The continuous update :math:`\mathrm{softmax}(\beta Q K^\top) V` (the :math:`T \to \infty` limit)."""
    return torch.matmul(torch.softmax(beta * torch.matmul(query, keys.transpose(-1, -2)), dim=-1), values)


class SpikingHopfieldCore(nn.Module):
    """Inverse temperature, spiking window and seeded generators shared by the three layers.

    Parameters
    ----------
    beta
        Inverse temperature; ``None``: :math:`1/\\sqrt{d_k}` as in ``hflayers``.
    steps
        Spiking window :math:`T` (time steps per retrieval).
    seed
        Seed of the per-device generators (see the module docstring).
    """

    def __init__(self, key_size: int, *, beta: float | None = None, steps: int = 32, seed: int = 0) -> None:
        super().__init__()
        if beta is not None and not (math.isfinite(beta) and beta > 0):
            raise ValueError(f"beta must be a positive finite number (inverse temperature); got {beta!r}")
        self.beta = float(beta) if beta is not None else 1.0 / math.sqrt(key_size)
        self.steps = _check_steps(steps)
        self.seed = int(seed)
        self._generators: dict[torch.device, torch.Generator] = {}

    def reseed(self, seed: int | None = None) -> None:
        """Start every generator again from ``seed`` (default: the module's seed)."""
        if seed is not None:
            self.seed = int(seed)
        self._generators.clear()

    def generator(self, device: torch.device) -> torch.Generator:
        """This module's generator on ``device``, created from the seed on first use."""
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[device]

    def retrieve(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        """:func:`spiking_hopfield_retrieval` with this module's beta, steps and generator."""
        return spiking_hopfield_retrieval(
            query, keys, values, beta=self.beta, steps=self.steps, generator=self.generator(query.device)
        )

    def extra_repr(self) -> str:
        return f"beta={self.beta:.4g}, steps={self.steps}, seed={self.seed}"


def _projection(in_size: int, out_size: int | None) -> nn.Module:
    return nn.Identity() if out_size is None else nn.Linear(in_size, out_size, bias=False)


class SpikingHopfield(SpikingHopfieldCore):
    r"""Spiking Hopfield association with the stored patterns as an input (``hflayers.Hopfield``).

    :math:`Z = \hat p\,(Y W_V)`, :math:`\hat p \approx \mathrm{softmax}(\beta\, (R W_Q)(Y W_K)^\top)`,
    with state patterns :math:`R` (``query``), stored patterns :math:`Y`
    (``keys``) and pattern projections (``values``, default the stored
    patterns). Each projection :math:`W` is a bias-free ``nn.Linear`` when its
    size is given, the identity otherwise.

    Parameters
    ----------
    input_size
        Dimension of state and stored patterns.
    hidden_size
        Size of the association space (``W_Q``, ``W_K``); ``None``: no projection.
    output_size
        Size of the retrieved patterns (``W_V``); ``None``: no projection.
    value_size
        Dimension of ``values`` when they differ from the stored patterns (default ``input_size``).
    beta, steps, seed
        See :class:`SpikingHopfieldCore`.
    """

    def __init__(
        self,
        input_size: int,
        *,
        hidden_size: int | None = None,
        output_size: int | None = None,
        value_size: int | None = None,
        beta: float | None = None,
        steps: int = 32,
        seed: int = 0,
    ) -> None:
        super().__init__(hidden_size or input_size, beta=beta, steps=steps, seed=seed)
        self.query_projection = _projection(input_size, hidden_size)
        self.key_projection = _projection(input_size, hidden_size)
        self.value_projection = _projection(value_size or input_size, output_size)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor | None = None) -> torch.Tensor:
        """Retrieve for ``query`` ``(..., n_q, d)`` from ``keys`` ``(..., M, d)`` (``values`` default ``keys``)."""
        values = keys if values is None else values
        return self.retrieve(self.query_projection(query), self.key_projection(keys), self.value_projection(values))


class SpikingHopfieldLayer(SpikingHopfieldCore):
    r"""Spiking Hopfield lookup with trainable stored patterns (``hflayers.HopfieldLayer``).

    :math:`z = \hat p\, V`, :math:`\hat p \approx \mathrm{softmax}(\beta\, (\xi W_Q) K^\top)`:
    ``num_patterns`` stored patterns :math:`K` (``(M, d_k)``) and their values
    :math:`V` (``(M, output_size)``) are ``nn.Parameter``; the input
    :math:`\xi` is ``(..., input_size)``.

    Parameters
    ----------
    input_size
        Dimension of the input state.
    num_patterns
        Number of stored patterns (memory neurons) :math:`M`.
    output_size
        Dimension of the values (default ``input_size``).
    hidden_size
        Key dimension with a trainable ``W_Q``; ``None``: keys live in the input space.
    beta, steps, seed
        See :class:`SpikingHopfieldCore`.
    """

    def __init__(
        self,
        input_size: int,
        num_patterns: int,
        *,
        output_size: int | None = None,
        hidden_size: int | None = None,
        beta: float | None = None,
        steps: int = 32,
        seed: int = 0,
    ) -> None:
        key_size = hidden_size or input_size
        super().__init__(key_size, beta=beta, steps=steps, seed=seed)
        self.query_projection = _projection(input_size, hidden_size)
        self.keys = nn.Parameter(torch.randn(num_patterns, key_size) / math.sqrt(key_size))
        self.values = nn.Parameter(torch.randn(num_patterns, output_size or input_size) / math.sqrt(num_patterns))

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        """Retrieve for ``state`` ``(..., input_size)``: ``(..., output_size)``."""
        return self.retrieve(self.query_projection(state), self.keys, self.values)


class SpikingHopfieldPooling(SpikingHopfieldCore):
    r"""Spiking Hopfield pooling of a set with trainable queries (``hflayers.HopfieldPooling``).

    :math:`Z = \hat p\,(Y W_V)`, :math:`\hat p \approx \mathrm{softmax}(\beta\, Q (Y W_K)^\top)`
    with ``num_queries`` trainable state patterns :math:`Q`; the input
    :math:`Y` is a set ``(..., N, input_size)``, pooled to ``(..., num_queries, d_v)``.

    Parameters
    ----------
    input_size
        Dimension of the set's elements.
    num_queries
        Number of pooled outputs (trainable queries).
    hidden_size, output_size
        Optional ``W_K`` (and query size) and ``W_V`` projections.
    beta, steps, seed
        See :class:`SpikingHopfieldCore`.
    """

    def __init__(
        self,
        input_size: int,
        num_queries: int = 1,
        *,
        hidden_size: int | None = None,
        output_size: int | None = None,
        beta: float | None = None,
        steps: int = 32,
        seed: int = 0,
    ) -> None:
        key_size = hidden_size or input_size
        super().__init__(key_size, beta=beta, steps=steps, seed=seed)
        self.queries = nn.Parameter(torch.randn(num_queries, key_size) / math.sqrt(key_size))
        self.key_projection = _projection(input_size, hidden_size)
        self.value_projection = _projection(input_size, output_size)

    def forward(self, patterns: torch.Tensor) -> torch.Tensor:
        """Pool ``patterns`` ``(..., N, input_size)`` into ``(..., num_queries, d_v)``."""
        return self.retrieve(self.queries, self.key_projection(patterns), self.value_projection(patterns))


__all__ = [
    "SpikingHopfield",
    "SpikingHopfieldCore",
    "SpikingHopfieldLayer",
    "SpikingHopfieldPooling",
    "hopfield_retrieval",
    "spike_counts",
    "spiking_hopfield_retrieval",
    "spiking_softmax",
]
