r"""Orthonormal rows orthogonal to a subspace, on numpy arrays and torch tensors alike.

HLOP's new lateral neurons start as random orthonormal rows orthogonal to the
rows kept from earlier tasks, both in the BPTT pipeline (torch,
:meth:`spikemem.continual.subspace.LateralSubspace.grow`) and in the local
learner (numpy, :func:`spikemem.continual.local.learner.orthonormal_complement_rows`):

.. math::

    \tilde D = D - (D B^\top) B, \qquad \tilde D^\top = Q R, \qquad \text{rows} = Q^\top

for random draws :math:`D` (``(count, n)``) and a basis :math:`B` (``(k, n)``,
orthonormal rows; :func:`spikemem.spec.project_out` removes it). The caller
draws :math:`D` from its own generator, so each pipeline keeps its random stream.
"""

from __future__ import annotations

from typing import Any

from spikemem._arrays import namespace
from spikemem.spec import project_out


def orthonormal_complement(draw: Any, basis: Any | None) -> Any:
    """Orthonormal rows (``(count, n)``) spanning the part of ``draw``'s rows orthogonal to ``basis``'s rows.

    Parameters
    ----------
    draw
        ``(count, n)`` random rows, ``count <= n - k``; numpy or torch.
    basis
        ``(k, n)`` orthonormal rows in the same library, or None.
    """
    xp = namespace(draw)
    q, _ = xp.linalg.qr(project_out(draw, basis).T)
    return q.T


__all__ = ["orthonormal_complement"]
