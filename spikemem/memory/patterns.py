r"""Patterns, cues, noisy examples and the Hebbian coupling matrices built from them.

All random choices take a ``numpy.random.Generator`` (from the experiment's
seed). Couplings are returned in *integer units* (every entry an integer,
stored as float64) so that the spiking networks' fields are exact in
floating point on every backend; the conventional normalisation is
:math:`J = C / N` (Hebb) and is irrelevant for zero-temperature dynamics.
"""

from __future__ import annotations

import numpy as np


def random_patterns(rng: np.random.Generator, count: int, size: int, dilution: float = 0.0) -> np.ndarray:
    r"""``count`` patterns over ``size`` neurons, ``(count, size)`` int8.

    Entries are :math:`\pm 1` with equal probability; with ``dilution = d``
    each entry is 0 with probability :math:`d` (and :math:`\pm 1` with
    :math:`(1-d)/2` each), the diluted patterns of multitasking networks.
    """
    if not 0.0 <= dilution < 1.0:
        raise ValueError(f"dilution must be in [0, 1), got {dilution}")
    signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=(count, size))
    if dilution:
        signs = signs * (rng.random((count, size)) >= dilution)
    return signs.astype(np.int8)


def flip_fraction(rng: np.random.Generator, states: np.ndarray, fraction: float) -> np.ndarray:
    r"""Copies of :math:`\pm 1` states with exactly ``round(fraction * N)`` entries flipped in each row.

    The initial overlap of a cue with its pattern is then :math:`1 - 2 f`.
    """
    states = np.array(states, dtype=np.int8, copy=True)
    n = states.shape[-1]
    k = round(fraction * n)
    for row in states.reshape(-1, n):
        row[rng.choice(n, size=k, replace=False)] *= -1
    return states


def hebb_couplings(patterns: np.ndarray, self_coupling: float = 0.5) -> np.ndarray:
    r"""Hebb rule in integer units: :math:`C_{ij} = \sum_\mu \xi_i^\mu \xi_j^\mu` (:math:`i \ne j`).

    The diagonal is ``self_coupling`` (default 0.5): smaller than one field
    quantum, it only breaks ties :math:`h_i = 0` in favour of the current
    state (and keeps every field a half-integer, never 0).
    """
    xi = np.asarray(patterns, dtype=np.float64)
    c = xi.T @ xi
    np.fill_diagonal(c, self_coupling)
    return c


def noisy_examples(rng: np.random.Generator, archetypes: np.ndarray, count: int, quality: float) -> np.ndarray:
    r"""``count`` examples of each archetype, ``(K, count, N)``.

    :math:`\eta^{\mu a}_i = \xi^\mu_i \chi^{\mu a}_i` with :math:`\chi = +1`
    with probability :math:`(1 + r)/2`, else :math:`-1` (quality :math:`r`:
    :math:`E[\eta_i \xi_i] = r`).
    """
    if not 0.0 <= quality <= 1.0:
        raise ValueError(f"quality r must be in [0, 1], got {quality}")
    xi = np.asarray(archetypes, dtype=np.int8)
    keep = rng.random((xi.shape[0], count, xi.shape[1])) < (1.0 + quality) / 2.0
    return (xi[:, None, :] * np.where(keep, 1, -1)).astype(np.int8)


def example_couplings(examples: np.ndarray, supervised: bool, self_coupling: float = 0.5) -> np.ndarray:
    r"""Hebbian couplings learned from noisy examples ``(K, M, N)``, in integer units.

    Supervised (the examples' labels are known, Agliari et al.):
    :math:`C = \sum_\mu \bar S^\mu \bar S^{\mu\top}` with
    :math:`\bar S^\mu = \sum_a \eta^{\mu a}` (that is :math:`M^2 J`).
    Unsupervised (labels unknown): :math:`C = M \sum_\mu \sum_a \eta^{\mu a}
    \eta^{\mu a\top}` (also :math:`M^2 J`, so both use one scale). The
    diagonal is ``self_coupling`` (tie breaking, see :func:`hebb_couplings`).
    """
    eta = np.asarray(examples, dtype=np.float64)
    k, m, n = eta.shape
    if supervised:
        sums = eta.sum(axis=1)
        c = sums.T @ sums
    else:
        flat = eta.reshape(k * m, n)
        c = m * (flat.T @ flat)
    np.fill_diagonal(c, self_coupling)
    return c


def parallel_state(patterns: np.ndarray) -> np.ndarray:
    r"""The hierarchical parallel-retrieval state of diluted patterns, ``(N,)`` in :math:`\pm 1`.

    :math:`\sigma_i = \xi^1_i` where it is nonzero, else :math:`\xi^2_i`,
    and so on (:math:`+1` where every pattern is 0). Its overlaps are
    :math:`m_k = (1-d)\,d^{k-1}` on average (Agliari et al., PRL 2012).
    """
    xi = np.asarray(patterns)
    state = np.zeros(xi.shape[1], dtype=np.int8)
    for row in xi:
        state = np.where(state == 0, row, state).astype(np.int8)
    return np.where(state == 0, 1, state).astype(np.int8)
