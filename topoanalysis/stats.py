"""Small statistics used across the toolkit, written once."""

from __future__ import annotations

import numpy as np


def binomial_se(accuracy, n):
    """Standard error of an accuracy (a fraction) measured on ``n`` independent images, ``sqrt(p (1 - p) / n)``;
    scalars give a float, arrays an array (NaN where ``n`` is 0).

    >>> round(binomial_se(0.5, 100), 3)
    0.05
    """
    p, n = np.asarray(accuracy, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.where(n > 0, np.sqrt(p * (1 - p) / np.where(n > 0, n, 1)), np.nan)
    return float(se) if se.ndim == 0 else se
