"""Test oracle shared by the import tests: points along a chain of cubic Béziers.

Written independently of the engine's evaluators on purpose, so tests check the
importers' geometry against plain Bernstein arithmetic.
"""

from __future__ import annotations

import numpy as np


def sample(ctrl: np.ndarray, n: int = 50) -> np.ndarray:
    """``n`` points per cubic segment of a ``[3k+1, 2]`` control-point chain."""
    ctrl = np.asarray(ctrl, dtype=np.float64)
    u = np.linspace(0, 1, n)[:, None]
    v = 1 - u
    return np.concatenate(
        [
            v**3 * c[0] + 3 * v * v * u * c[1] + 3 * v * u * u * c[2] + u**3 * c[3]
            for c in (ctrl[3 * k : 3 * k + 4] for k in range((len(ctrl) - 1) // 3))
        ]
    )
