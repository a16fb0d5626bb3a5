r"""Gradient projection memory (Saha et al., ICLR 2021): SVD bases with an energy threshold.

After task ``i`` the inputs of every protected layer on ``samples`` training
samples form a representation matrix :math:`R` (``n x N``, one column per
input row, see :class:`~spikemem.continual.model.SpikingMLP`). With the
stored orthonormal basis :math:`U` (empty after no task):

.. math::

    \hat R = R - U U^\top R, \qquad \hat R = \hat U \hat\Sigma \hat V^\top

and the first ``r`` columns of :math:`\hat U` join :math:`U`, ``r`` the
smallest number with

.. math::

    \|U^\top R\|_F^2 + \sum_{j \le r} \hat\sigma_j^2 \;\ge\; \epsilon_l\, \|R\|_F^2

(:math:`\epsilon_l` the layer's ``threshold``, raised by
``threshold_increment`` per task). Later weight updates are projected
orthogonally to :math:`U` (:mod:`spikemem.continual.projection`), exactly like
HLOP's, with the subspace computed by SVD instead of learned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from spikemem.continual.config import require
from spikemem.continual.methods.base import Method, per_layer
from spikemem.continual.streams import Task, TaskStream
from spikemem.continual.training import Trainer

if TYPE_CHECKING:
    from spikemem.continual.model import SpikingMLP


@dataclass(frozen=True)
class GPMConfig:
    """The ``[gpm]`` table: ``threshold`` per layer, ``threshold_increment`` per task, ``samples``."""

    threshold: tuple[float, ...] = (0.95, 0.99, 0.99)
    threshold_increment: float = 0.0
    samples: int = 300

    def check(self, table: str) -> None:
        """Raise ConfigError for values out of range."""
        require(all(0.0 < t <= 1.0 for t in self.threshold), f"{table}.threshold", "must be in (0, 1]")
        require(self.threshold_increment >= 0, f"{table}.threshold_increment", "must be >= 0")
        require(self.samples >= 1, f"{table}.samples", "must be >= 1")


def energy_rank(basis: torch.Tensor, activity: torch.Tensor, threshold: float) -> tuple[int, torch.Tensor]:
    r"""How many new directions GPM's energy criterion asks for, and the candidates.

    ``basis`` ``(k, n)`` (orthonormal rows, possibly ``k = 0``), ``activity`` rows ``(N, n)``: the smallest
    ``r`` with :math:`\|U^\top R\|_F^2 + \sum_{j \le r} \hat\sigma_j^2 \ge \epsilon \|R\|_F^2`
    (module docstring), at most ``n - k``; 0 when the basis already holds the fraction.

    Returns
    -------
    needed, directions
        ``r`` and the left singular vectors of the residual :math:`\hat R` (``(n, m)``, float64, columns in
        decreasing order of :math:`\hat\sigma`).
    """
    r = activity.T.to(torch.float64)
    total = float((r * r).sum())
    if total == 0.0:
        return 0, r.new_zeros((r.shape[0], 0))
    u = basis.T.to(torch.float64)
    residual = r - u @ (u.T @ r) if u.shape[1] else r
    captured = total - float((residual * residual).sum())
    left, sigma, _ = torch.linalg.svd(residual, full_matrices=False)
    energy = captured + torch.cumsum(sigma**2, 0)
    needed = int((energy < threshold * total).sum()) + 1 if captured < threshold * total else 0
    return min(needed, r.shape[0] - u.shape[1], left.shape[1]), left


def extend_basis(basis: torch.Tensor, activity: torch.Tensor, threshold: float) -> torch.Tensor:
    """The GPM update: ``basis`` ``(k, n)`` (orthonormal rows) extended for ``activity`` rows ``(N, n)``."""
    needed, left = energy_rank(basis, activity, threshold)
    return torch.cat([basis, left[:, :needed].T.to(basis)]) if needed else basis


class GPM(Method):
    """Projection onto the complement of SVD bases of past layer inputs (module docstring)."""

    name = "gpm"

    def __init__(self, model: SpikingMLP, stream: TaskStream, config: GPMConfig) -> None:
        super().__init__(model, stream)
        self.config = config
        layers = model.protected
        self.thresholds = per_layer(config.threshold, len(layers), "gpm.threshold")
        self.memory = [torch.zeros((0, w.shape[1]), device=w.device, dtype=w.dtype) for w in layers]

    def bases(self) -> list[torch.Tensor | None]:
        """The stored bases (None for an empty one)."""
        return [m if m.shape[0] else None for m in self.memory]

    @torch.no_grad()
    def end_task(self, index: int, task: Task, trainer: Trainer, generator: torch.Generator) -> dict[str, Any]:
        """Extend every layer's basis with this task's inputs."""
        data = trainer.data(index, task)
        chosen = torch.randperm(data.x_train.shape[0], generator=generator)[: self.config.samples].to(trainer.device)
        inputs: list[list[torch.Tensor]] = [[] for _ in self.memory]
        for batch in trainer.batches(
            data.x_train[chosen], data.y_train[chosen], data.head, trainer.config.eval_batch_size, None
        ):
            for rows, x in zip(inputs, trainer.forward(batch, generator, record=True).inputs or [], strict=True):
                rows.append(x)
        for layer, rows in enumerate(inputs):
            threshold = min(1.0, self.thresholds[layer] + index * self.config.threshold_increment)
            self.memory[layer] = extend_basis(self.memory[layer], torch.cat(rows), threshold)
        return {"basis_size": [int(m.shape[0]) for m in self.memory]}

    def state_dict(self) -> dict[str, Any]:
        """The bases."""
        return {"memory": [m.cpu() for m in self.memory]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.memory = [saved.to(m) for m, saved in zip(self.memory, state["memory"], strict=True)]


__all__ = ["GPM", "GPMConfig", "energy_rank", "extend_basis"]
