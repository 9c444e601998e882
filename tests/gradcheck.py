"""Test oracle shared by the renderer's gradient tests: directional finite differences.

Why not ``torch.autograd.gradcheck``: the renderer is piecewise smooth (coverage
clamps, the pair search), so an element-wise Jacobian check trips on kinks a random
direction almost never meets; a few seeded random directions with a central
difference check what the optimiser uses, the gradient's dot product with a step.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch


def check_gradient(
    loss: Callable[..., torch.Tensor],
    params: dict[str, torch.Tensor],
    which: str,
    *,
    directions: int = 4,
    h: float = 1e-4,
    tolerance: float = 2e-2,
) -> torch.Tensor:
    """Assert ``d loss / d params[which]`` matches central differences along random directions.

    ``loss(**params)`` is a scalar; float64 parameters are expected. Returns the gradient
    (finite, not all zero) for further checks.
    """
    x = params[which].clone().requires_grad_(True)
    args = {**params, which: x}
    loss(**args).backward()
    grad = x.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    gen = torch.Generator().manual_seed(1)
    for _ in range(directions):
        v = torch.randn(x.shape, generator=gen, dtype=x.dtype)
        with torch.no_grad():
            plus, minus = loss(**{**args, which: x + h * v}), loss(**{**args, which: x - h * v})
        numeric = ((plus - minus) / (2 * h)).item()
        assert (grad * v).sum().item() == pytest.approx(numeric, rel=tolerance, abs=tolerance)
    return grad


def weighted_render_loss(drawing, dtype: torch.dtype = torch.float64):
    """``(loss, params)``: the drawing rendered (fills included) times fixed random weights, summed.

    ``params`` are the packed ``points``, ``half_widths``, ``colors`` and ``fill`` at ``dtype``;
    the weights are seeded, so the loss is the same function in every run.
    """
    from clipdraw_core.render import pack_drawing, render

    w, h = drawing.width, drawing.height
    pts, hw, col, fills, layout = pack_drawing(drawing, with_fills=True)
    pts, hw, col, fills = (t.to(dtype) for t in (pts, hw, col, fills))
    weights = torch.rand(3, h, w, generator=torch.Generator().manual_seed(0)).to(dtype)

    def loss(points, half_widths, colors, fill):
        return (render(points, half_widths, colors, layout, w, h, fills=fill) * weights).sum()

    return loss, {"points": pts, "half_widths": hw, "colors": col, "fill": fills}
