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
