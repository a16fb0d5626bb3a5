r"""HLOP's lateral neurons of one layer: a principal subspace learned by the Oja subspace rule.

The lateral neurons of a layer with input :math:`x` (``n``-dim) have weights
:math:`H` (``k x n``). They read :math:`y = H x` and reconstruct
:math:`\hat x = H^\top y`; the spec's :class:`~spikemem.spec.OjaSubspace` rule
(:func:`spikemem.learning.oja_subspace_change`, the same code the reference
backend runs) moves :math:`H` toward an orthonormal basis of the principal
subspace of the inputs:

.. math::

    D = \mathrm{clip}\Bigl(\frac1B \sum_b y_b (x_b - H^\top y_b)^\top,\ -c, c\Bigr),\quad
    M \leftarrow \mu M + (1 - d)\, D,\quad
    H \leftarrow H + \eta\, M

with momentum :math:`\mu` and dampening :math:`d` (the HLOP reference code
uses :math:`\mu = d = 0.9`, an exponential average; :math:`d = 0` is heavy-ball
momentum, about :math:`1/(1-\mu)` times faster on the slow directions while
still stable for :math:`\eta \lambda_{max}(1-d) < 2(1+\mu)`).

Tasks: :meth:`LateralSubspace.grow` adds ``k`` neurons (random orthonormal
rows, orthogonal to the existing ones) that learn on the new task while the
old rows stay fixed; :meth:`merge` freezes them after the task. Only new rows
change, so their update is the new-row block of the full rule, with the fixed
rows' reconstruction subtracted once per batch:

.. math::

    D_{new} = \frac1B \sum_b y^{new}_b \bigl(x^{res}_b - H_{new}^\top y^{new}_b\bigr)^\top,
    \qquad x^{res} = x - H_{old}^\top H_{old}\, x, \quad y^{new} = H_{new} x

(:math:`x^{res}` is exactly the projected input :math:`x_\perp` of the weight
update, so the projection and the Hebbian step share it.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from spikemem.continual.basis import orthonormal_complement
from spikemem.continual.projection import orthogonal_part
from spikemem.learning import oja_subspace_change
from spikemem.spec import OjaSubspace


@dataclass(frozen=True)
class HebbianSettings:
    """Parameters of the lateral rule of one layer.

    Attributes
    ----------
    eta
        Learning rate :math:`\\eta` (the spec rule's ``eta``).
    momentum, dampening
        :math:`\\mu` and :math:`d` (see the module docstring).
    clip
        :math:`c`: bound of the batch update before momentum.
    """

    eta: float
    momentum: float = 0.9
    dampening: float = 0.9
    clip: float = 10.0

    @property
    def rule(self) -> OjaSubspace:
        """The spec's rule, for backends that run the lateral neurons themselves."""
        return OjaSubspace(eta=self.eta, tau_pre=0.0, tau_post=0.0)


class LateralSubspace:
    """Lateral neurons of one layer: ``weights`` ``(k, n)``, the first ``n_fixed`` rows frozen.

    Parameters
    ----------
    n_inputs
        Input dimension ``n`` of the layer.
    settings
        The lateral rule's parameters.
    device, dtype
        Where the weights live.
    """

    def __init__(
        self,
        n_inputs: int,
        settings: HebbianSettings,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.n_inputs = int(n_inputs)
        self.settings = settings
        self.weights = torch.zeros((0, n_inputs), device=device, dtype=dtype)
        self.velocity = torch.zeros_like(self.weights)
        self.n_fixed = 0

    @property
    def size(self) -> int:
        """Number of lateral neurons ``k``."""
        return int(self.weights.shape[0])

    @property
    def fixed(self) -> torch.Tensor:
        """The frozen rows (subspace of the finished tasks), ``(n_fixed, n)``."""
        return self.weights[: self.n_fixed]

    def grow(self, count: int, generator: torch.Generator) -> None:
        """Add ``count`` learning neurons with random orthonormal weights, orthogonal to the current rows."""
        count = max(0, min(int(count), self.n_inputs - self.size))
        if count == 0:
            return
        gaussian = torch.randn((self.n_inputs, count), generator=generator, dtype=torch.float64)
        span = torch.linalg.qr(self.weights.T.to(torch.float64))[0].T if self.size else None  # rows orthonormalised
        new = orthonormal_complement(gaussian.T, span).to(self.weights)
        self.weights = torch.cat([self.weights, new])
        self.velocity = torch.cat([self.velocity, torch.zeros_like(new)])

    def merge(self, orthonormalize: bool = False) -> None:
        r"""Freeze every row (after a task).

        With ``orthonormalize`` the rows learned in this task are first replaced by the orthonormal rows
        closest to them (symmetric orthonormalisation, the Oja rule's fixed point, after the rows of
        earlier tasks are removed from them):

        .. math::

            \tilde H = H_{new} - H_{new} H_{old}^\top H_{old}, \qquad
            H_{new} \leftarrow (\tilde H \tilde H^\top)^{-1/2}\, \tilde H

        The subspace stays the one learned; the projection :math:`x - H^\top H x` becomes an exact
        orthogonal projector (rows of eigenvalue :math:`\lambda \ne 1` in :math:`H H^\top`, as an
        unconverged rule leaves them, scale that direction's update by :math:`1 - \lambda` instead
        of removing it). Rows of (near) zero norm are dropped.
        """
        if orthonormalize and self.size > self.n_fixed:
            new = self.weights[self.n_fixed :].to(torch.float64)
            fixed = self.fixed.to(torch.float64)
            if self.n_fixed:
                new = new - (new @ fixed.T) @ fixed
            values, vectors = torch.linalg.eigh(new @ new.T)
            keep = values > 1e-6 * max(float(values.max()), 1e-12)
            rows = (vectors[:, keep] / values[keep].sqrt()).T @ new  # an orthonormal basis of the row space
            if int(keep.sum()) == new.shape[0]:
                rows = vectors @ rows  # (H H^T)^{-1/2} H: the closest orthonormal rows
            self.weights = torch.cat([self.fixed, rows.to(self.weights)])
            self.velocity = torch.zeros_like(self.weights)
        self.n_fixed = self.size

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        r""":math:`x - H_{old}^\top H_{old} x` for rows ``x`` ``(N, n)``."""
        return orthogonal_part(x, self.fixed) if self.n_fixed else x

    def learn(self, x: torch.Tensor, iterations: int, residual: torch.Tensor | None = None) -> None:
        """``iterations`` Oja-subspace steps of the learning rows on the batch of rows ``x`` ``(N, n)``.

        ``residual`` may pass :math:`x^{res}` when the caller has it already.
        """
        if self.size == self.n_fixed or x.shape[0] == 0:
            return
        s = self.settings
        x_res = self.residual(x) if residual is None else residual
        new = self.weights[self.n_fixed :]
        velocity = self.velocity[self.n_fixed :]
        for _ in range(iterations):
            y = x @ new.T
            delta = oja_subspace_change(1.0, new, x_res, y).clamp_(-s.clip, s.clip)
            velocity = s.momentum * velocity + (1.0 - s.dampening) * delta
            new = new + s.eta * velocity
        self.weights = torch.cat([self.fixed, new])
        self.velocity = torch.cat([self.velocity[: self.n_fixed], velocity])

    def captured_energy(self, x: torch.Tensor) -> float:
        r"""Fraction of the input energy in the learned subspace, :math:`1 - \|x - P x\|^2 / \|x\|^2`.

        :math:`P` is the orthogonal projector onto the row space of all
        weights (orthonormalised first, so the number measures the subspace,
        not how orthonormal the rows are yet).
        """
        total = float((x * x).sum())
        if self.size == 0 or total == 0.0:
            return 0.0
        q, _ = torch.linalg.qr(self.weights.T.to(torch.float64))
        x64 = x.to(torch.float64)
        rest = x64 - (x64 @ q) @ q.T
        return 1.0 - float((rest * rest).sum()) / total

    def state_dict(self) -> dict[str, Any]:
        """Weights, velocity and the number of frozen rows."""
        return {"weights": self.weights.cpu(), "velocity": self.velocity.cpu(), "n_fixed": self.n_fixed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        device, dtype = self.weights.device, self.weights.dtype
        self.weights = state["weights"].to(device=device, dtype=dtype)
        self.velocity = state["velocity"].to(device=device, dtype=dtype)
        self.n_fixed = int(state["n_fixed"])


__all__ = ["HebbianSettings", "LateralSubspace"]
