r"""Orthogonal projection of weight updates (shared by HLOP and GPM).

A layer :math:`I = x W^\top` whose past inputs lie (mostly) in the row space
of a basis :math:`H` (``(k, n)``) keeps its old responses when its updates
see only the part of the input orthogonal to that subspace:

.. math::

    x_\perp = x - H^\top H x, \qquad
    \Delta W \propto \sum_{b,t} \delta_{b,t}\, x_{\perp,b,t}^\top
             = G\,(I - H^\top H)

where :math:`G = \sum \delta x^\top` is the ordinary gradient. Both sides of
the identity are implemented, and :func:`projected_linear` picks the cheaper
one per call (the results agree to rounding; the tests check it):

- *input side* (:class:`InputProjectedLinear`): compute :math:`x_\perp` in
  the forward pass and use it for the weight gradient, as the HLOP reference
  code does; costs :math:`2 N n k` for ``N`` input rows;
- *gradient side* (:class:`GradientProjected`): the weight enters the product
  through an identity whose backward pass returns :math:`G - (G H^\top) H`;
  costs :math:`2 m n k` for ``m`` output units, independent of the batch.

For an orthonormal :math:`H` (GPM's bases; HLOP's lateral weights converge to
one) every update then satisfies :math:`\Delta W\, H^\top = 0`: old inputs
in the subspace produce unchanged currents.
"""

from __future__ import annotations

import torch

from spikemem.spec import project_out

orthogonal_part = project_out
r""":math:`x - (x H^\top) H` for rows ``x`` (``(..., n)``) and ``basis`` ``H`` (``(k, n)``): the spec's
:func:`~spikemem.spec.project_out`, under the name this module's docs use."""


class InputProjectedLinear(torch.autograd.Function):
    r"""``x @ W.T`` whose weight gradient uses ``x_perp`` in place of ``x``.

    Backward: :math:`\partial x = g W`, :math:`\partial W = g^\top x_\perp`
    (leading axes flattened); ``x_perp`` gets no gradient.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, x_perp: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x_perp, weight)
        return x @ weight.T

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x_perp, weight = ctx.saved_tensors
        grad_x = grad @ weight if ctx.needs_input_grad[0] else None
        grad_w = None
        if ctx.needs_input_grad[2]:
            grad_w = grad.reshape(-1, grad.shape[-1]).T @ x_perp.reshape(-1, x_perp.shape[-1])
        return grad_x, None, grad_w


class GradientProjected(torch.autograd.Function):
    r"""Identity on ``W`` whose backward pass projects the gradient: :math:`G - (G H^\top) H`."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(basis)
        return weight.view_as(weight)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (basis,) = ctx.saved_tensors
        return orthogonal_part(grad, basis), None


def projected_linear(
    x: torch.Tensor, weight: torch.Tensor, basis: torch.Tensor | None, mode: str = "auto"
) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""``x @ W.T`` with the weight update restricted to the complement of ``basis``'s row space.

    Parameters
    ----------
    x
        Inputs ``(..., n)``.
    weight
        ``W``, ``(m, n)``.
    basis
        ``H``, ``(k, n)``, or None (plain product).
    mode
        ``"input"``, ``"gradient"`` or ``"auto"`` (input side when the
        inputs have no more rows than ``W`` has output units).

    Returns
    -------
    current, x_perp
        The product, and :math:`x_\perp` when the input side computed it (else None).
    """
    if basis is None or basis.shape[0] == 0:
        return x @ weight.T, None
    rows = x.numel() // x.shape[-1]
    if mode == "input" or (mode == "auto" and rows <= weight.shape[0]):
        x_perp = orthogonal_part(x.detach(), basis)
        return InputProjectedLinear.apply(x, x_perp, weight), x_perp
    return x @ GradientProjected.apply(weight, basis).T, None


def project_gradient_(weight: torch.Tensor, basis: torch.Tensor | None) -> None:
    r"""In place: ``weight.grad`` :math:`\leftarrow G - (G H^\top) H` (after ``backward``)."""
    if basis is not None and basis.shape[0] and weight.grad is not None:
        weight.grad.copy_(orthogonal_part(weight.grad, basis))


__all__ = ["GradientProjected", "InputProjectedLinear", "orthogonal_part", "project_gradient_", "projected_linear"]
