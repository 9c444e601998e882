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
