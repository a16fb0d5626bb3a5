r"""Theory of the memory models: what a correct simulation must give.

- :func:`ags_overlap`: the Amit-Gutfreund-Sompolinsky replica-symmetric
  retrieval overlap of the Hopfield model at zero temperature. With
  :math:`y = m / \sqrt{2\alpha r}` the saddle-point equations reduce to

  .. math::

      y\,\Bigl(\sqrt{2\alpha} + \tfrac{2}{\sqrt\pi} e^{-y^2}\Bigr) = \operatorname{erf}(y),
      \qquad m = \operatorname{erf}(y),

  whose nonzero solution exists for :math:`\alpha < \alpha_c \approx 0.138`
  (where :math:`m_c \approx 0.967`); above it the retrieval state is gone
  (:math:`m = 0` in the thermodynamic limit).
- :func:`unstable_bit_fraction`: signal-to-noise estimate of the bits that
  flip in one step at a stored pattern, :math:`\Phi(-\sqrt{N/(P-1)})`.
- :func:`dense_capacity`: error-free capacity of the dense associative
  memory with :math:`F(x) = x^n` (Krotov & Hopfield 2016),
  :math:`K_{max} \approx N^{n-1} / (2 (2n-3)!! \ln N)`.
- :func:`multitask_overlaps`: parallel retrieval with diluted patterns
  (Agliari et al., PRL 2012), :math:`m_k = (1-d)\,d^{k-1}`.
- :func:`example_overlap`: recall of an archetype from :math:`M` examples
  of quality :math:`r` at low load and zero temperature,
  :math:`m = \operatorname{erf}(1/\sqrt{2\rho})`,
  :math:`\rho = (1 - r^2)/(M r^2)` (dense Hebbian learning, Agliari,
  Alemanno, Barra, Fachechi et al.), and :func:`example_overlap_exact`, the
  same fixed point :math:`\sigma_i = \operatorname{sign}(\sum_a \eta_i^a)`
  with the exact binomial law instead of the central limit.
- :func:`modern_hopfield_update`: the continuous modern Hopfield update
  :math:`\xi \leftarrow X \operatorname{softmax}(\beta X^\top \xi)`
  (Ramsauer et al. 2020), the oracle of :mod:`spikemem.memory.modern`;
  :func:`modern_fixed_point` iterates it; :func:`separation` and
  :func:`modern_retrieval_bound` are the separation :math:`\Delta_i` and the
  one-update error bound of their Theorem 5; :func:`tie_probability_bound`
  bounds the spiking race's ties; :func:`modern_regime` names the kind of
  fixed point (global average, metastable cluster average, single pattern).
"""

from __future__ import annotations

import math

import numpy as np

ALPHA_C = 0.138
"""Hopfield capacity (AGS, zero temperature)."""

M_C = 0.967
"""Retrieval overlap at the capacity edge."""


def _ags_residual(y: float, alpha: float) -> float:
    return math.erf(y) - y * (math.sqrt(2.0 * alpha) + 2.0 / math.sqrt(math.pi) * math.exp(-y * y))


def ags_overlap(alpha: float) -> float:
    """Retrieval overlap of the Hopfield model at load ``alpha`` (0 above the capacity)."""
    if alpha <= 0:
        return 1.0
    # the retrieval solution is the largest root; f < 0 beyond y = 1/sqrt(2 alpha), so scan down from there
    top = 1.0 / math.sqrt(2.0 * alpha) + 1.0
    grid = np.linspace(top, 1e-3, 8000)
    values = [_ags_residual(float(y), alpha) for y in grid]
    for k in range(1, len(grid)):
        if (values[k - 1] < 0) != (values[k] < 0):
            lo, hi = float(grid[k]), float(grid[k - 1])
            for _ in range(80):
                mid = 0.5 * (lo + hi)
                if (_ags_residual(mid, alpha) < 0) == (_ags_residual(lo, alpha) < 0):
                    lo = mid
                else:
                    hi = mid
            y = 0.5 * (lo + hi)
            return 0.0 if y < 0.05 else math.erf(y)  # only the trivial branch near y = 0 is left
    return 0.0


def ags_curve(alphas: np.ndarray) -> np.ndarray:
    """:func:`ags_overlap` for each load."""
    return np.array([ags_overlap(float(a)) for a in np.asarray(alphas, dtype=float)])


def ags_capacity(tol: float = 1e-5) -> float:
    """The load where the retrieval solution disappears (about 0.138), by bisection."""
    lo, hi = 0.05, 0.2
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if ags_overlap(mid) > 0:
            lo = mid
        else:
            hi = mid
    return lo


def unstable_bit_fraction(n: int, p: int) -> float:
    r"""Fraction of bits unstable at a stored pattern, :math:`\Phi(-\sqrt{N/(P-1)})`."""
    if p <= 1:
        return 0.0
    z = math.sqrt(n / (p - 1))
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def double_factorial(k: int) -> int:
    """:math:`k!!` (1 for ``k <= 0``)."""
    out = 1
    while k > 1:
        out *= k
        k -= 2
    return out


def dense_capacity(n_features: int, power: int) -> float:
    r"""Error-free capacity :math:`N^{n-1} / (2 (2n-3)!! \ln N)` of :math:`F(x) = x^n`."""
    return n_features ** (power - 1) / (2.0 * double_factorial(2 * power - 3) * math.log(n_features))


def multitask_overlaps(dilution: float, patterns: int) -> np.ndarray:
    r""":math:`m_k = (1-d)\,d^{k-1}`, ``k = 1 .. patterns``."""
    k = np.arange(patterns)
    return (1.0 - dilution) * dilution**k


def multitask_critical_dilution(patterns: int) -> float:
    r"""Largest :math:`d` with :math:`m_1 > \sum_{k>1} m_k` (the first pattern still dominates its sites)."""
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        m = multitask_overlaps(mid, patterns)
        if m[0] > m[1:].sum():
            lo = mid
        else:
            hi = mid
    return lo


def example_rho(quality: float, examples: int) -> float:
    r"""Dataset entropy :math:`\rho = (1 - r^2) / (M r^2)`."""
    return (1.0 - quality**2) / (examples * quality**2)


def example_overlap(quality: float, examples: int) -> float:
    r""":math:`\operatorname{erf}(1/\sqrt{2\rho})` (central limit)."""
    rho = example_rho(quality, examples)
    return math.erf(1.0 / math.sqrt(2.0 * rho))


def example_overlap_exact(quality: float, examples: int) -> float:
    r""":math:`P(\sum_a \chi_a > 0) - P(\sum_a \chi_a < 0)` for :math:`M` examples (binomial law)."""
    p = (1.0 + quality) / 2.0
    total = 0.0
    for k in range(examples + 1):
        weight = math.comb(examples, k) * p**k * (1.0 - p) ** (examples - k)
        s = 2 * k - examples
        total += weight * (1 if s > 0 else -1 if s < 0 else 0)
    return total


# -- modern Hopfield (Ramsauer et al. 2020) ----------------------------------------------------
def softmax_weights(patterns: np.ndarray, states: np.ndarray, beta: float) -> np.ndarray:
    r""":math:`p = \operatorname{softmax}(\beta X^\top \xi)` for each state: ``(B, N)`` states -> ``(B, K)``."""
    fields = beta * np.asarray(states, dtype=np.float64) @ np.asarray(patterns, dtype=np.float64).T
    fields -= fields.max(axis=-1, keepdims=True)
    weights = np.exp(fields)
    return weights / weights.sum(axis=-1, keepdims=True)


def modern_hopfield_update(patterns: np.ndarray, states: np.ndarray, beta: float) -> np.ndarray:
    r"""One update :math:`\xi^{new} = X\,\operatorname{softmax}(\beta X^\top \xi)` of states ``(B, N)``.

    Patterns ``(K, N)``; returns ``(B, N)``.
    """
    return softmax_weights(patterns, states, beta) @ np.asarray(patterns, dtype=np.float64)


def modern_fixed_point(patterns: np.ndarray, states: np.ndarray, beta: float, updates: int = 100) -> np.ndarray:
    """The state after ``updates`` updates (the update converges to a fixed point, Ramsauer et al. Theorem 2)."""
    xi = np.asarray(states, dtype=np.float64)
    for _ in range(updates):
        xi = modern_hopfield_update(patterns, xi, beta)
    return xi


def separation(patterns: np.ndarray) -> np.ndarray:
    r"""Separation :math:`\Delta_i = \min_{j \ne i} (x_i^\top x_i - x_i^\top x_j)` of each pattern, ``(K,)``."""
    xi = np.asarray(patterns, dtype=np.float64)
    gram = xi @ xi.T
    others = np.where(np.eye(len(xi), dtype=bool), np.inf, -gram)
    return np.diag(gram) + others.min(axis=1)


def modern_retrieval_bound(patterns: np.ndarray, beta: float) -> np.ndarray:
    r"""Theorem 5 of Ramsauer et al. at the query :math:`\xi = x_i`: :math:`\|f(x_i) - x_i\| \le 2 \epsilon M`.

    With :math:`M = \max_j \|x_j\|` and :math:`\epsilon = (K - 1)\, e^{-\beta \Delta_i}`
    (the theorem's :math:`\epsilon` with :math:`\|\xi - x_i\| = 0`). It
    follows from :math:`1 - p_i \le \sum_{j \ne i} e^{-\beta(a_i - a_j)}
    \le (K-1) e^{-\beta\Delta_i}` and :math:`\|x_j - x_i\| \le 2M`, so it
    holds for every :math:`\beta`. Returns the bound per pattern, ``(K,)``.
    """
    xi = np.asarray(patterns, dtype=np.float64)
    big_m = float(np.sqrt((xi**2).sum(axis=1)).max())
    return 2.0 * (len(xi) - 1) * np.exp(-beta * separation(xi)) * big_m


def tie_probability_bound(resolution: float) -> float:
    r"""Largest chance that the top two Gumbel-perturbed fields lie within :math:`\delta`: :math:`1 - e^{-\delta}`.

    For logits :math:`l` and Gumbel noise, unit :math:`\mu` wins by more
    than :math:`\delta` with probability
    :math:`e^{l_\mu-\delta}/(e^{l_\mu-\delta} + \sum_{\nu\ne\mu} e^{l_\nu}) \ge e^{-\delta} p_\mu`;
    summing over :math:`\mu`, a gap below :math:`\delta` has probability
    at most :math:`1 - e^{-\delta}` (reached when the top logits are equal).
    """
    return 1.0 - math.exp(-resolution)


REGIMES = ("global average", "metastable", "single pattern")
"""The three kinds of fixed point of the modern Hopfield update (Ramsauer et al., Section 2)."""


def modern_regime(state: np.ndarray, patterns: np.ndarray, cluster: np.ndarray, target: int) -> str:
    """Which kind of fixed point ``state`` ``(N,)`` is nearest to (Euclidean distance).

    ``cluster`` ``(K,)`` bool marks the target's cluster; the candidates are
    the mean of every pattern, the mean of the cluster, and pattern ``target``.
    """
    xi = np.asarray(patterns, dtype=np.float64)
    candidates = [xi.mean(axis=0), xi[np.asarray(cluster, dtype=bool)].mean(axis=0), xi[target]]
    distances = [float(np.linalg.norm(np.asarray(state, dtype=np.float64) - c)) for c in candidates]
    return REGIMES[int(np.argmin(distances))]
