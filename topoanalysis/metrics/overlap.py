"""Overlap between category maps (METHODS 2.10, and the plain correlation TDSNN reports).

Three measures, each a symmetric domain x domain matrix:

* ``colocalization`` (TDANN): place non-overlapping windows on the sheet (7 mm, more
  than 5 units; ``placement="tdann"``: TDANN's ``floor(extent / 7)`` evenly spread windows
  per axis, ``"grid"``: adjacent tiles from 0), take each window's fraction of units with t
  above 4 for each domain, and map the Spearman rho between two domains' fractions to
  ``(1 + rho) / 2``; 1 = the same places, chance 0.5.
* ``fraction_spearman``: that rho itself; chance 0.
* ``tmap_pearson``: the Pearson correlation of the two t-maps across units; chance 0.
  TDSNN's overlap numbers (0.63 vs 0.15 faces-bodies) fit a plain correlation with chance
  near 0 better than the TDANN form (METHODS 1.4, [I]).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .spatial import spaced_windows, square_windows

OVERLAP_METHODS = ("colocalization", "fraction_spearman", "tmap_pearson")
OVERLAP_CHANCE = {"colocalization": 0.5, "fraction_spearman": 0.0, "tmap_pearson": 0.0}
WINDOW_PLACEMENTS = {"tdann": spaced_windows, "grid": square_windows}


def window_fractions(t_values: np.ndarray, xy_mm: np.ndarray, *, window_mm: float = 7.0,
                     min_units: int = 6, threshold: float = 4.0, placement: str = "tdann") -> np.ndarray:
    """``(n_windows, n_domains)`` fraction of units with t above ``threshold`` per window.

    Windows are non-overlapping ``window_mm`` squares placed as ``placement`` says (see the
    module docstring) with at least ``min_units`` units (TDANN keeps windows with more than
    5). NaN t-values (silent units) count as units that are not selective.
    """
    if placement not in WINDOW_PLACEMENTS:
        raise ValueError(f"unknown window placement {placement!r}; valid: {', '.join(WINDOW_PLACEMENTS)}")
    t_values = np.asarray(t_values, dtype=np.float64)
    windows = WINDOW_PLACEMENTS[placement](np.asarray(xy_mm, dtype=np.float64), window_mm, min_units=min_units)
    if len(windows) < 3:
        raise ValueError(f"only {len(windows)} windows of {window_mm:g} mm hold {min_units} units or more; "
                         "co-localisation needs at least 3 - use a larger window or fewer units per window")
    with np.errstate(invalid="ignore"):
        selective = t_values > threshold
    return np.stack([selective[members].mean(axis=0) for members in windows])


def _correlation_matrix(columns: np.ndarray, method: str) -> np.ndarray:
    """Pairwise correlation of columns; NaN where a column is constant."""
    values = stats.rankdata(columns, axis=0) if method == "spearman" else columns
    centred = values - values.mean(axis=0)
    norm = np.sqrt((centred**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = centred / np.where(norm > 0, norm, np.nan)
    return np.clip(z.T @ z, -1.0, 1.0)


def overlap_matrix(t_values: np.ndarray, xy_mm: np.ndarray, method: str = "colocalization", *,
                   window_mm: float = 7.0, min_units: int = 6, threshold: float = 4.0,
                   placement: str = "tdann") -> np.ndarray:
    """Domain x domain overlap of t-maps (columns of ``t_values``) by one of :data:`OVERLAP_METHODS`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform(0, 70, (3000, 2))
    >>> face = 10 * np.exp(-((xy - 20) ** 2).sum(1) / 50)
    >>> t = np.stack([face, face, rng.normal(0, 3, 3000)], axis=1)
    >>> overlap_matrix(t, xy).round(1)[0, :2].tolist()  # the same map twice; the third is noise
    [1.0, 1.0]
    """
    if method not in OVERLAP_METHODS:
        raise ValueError(f"unknown overlap method {method!r}; valid: {', '.join(OVERLAP_METHODS)}")
    t_values = np.asarray(t_values, dtype=np.float64)
    if method == "tmap_pearson":
        responsive = ~np.isnan(t_values).any(axis=1)
        return _correlation_matrix(t_values[responsive], "pearson")
    fractions = window_fractions(t_values, xy_mm, window_mm=window_mm, min_units=min_units, threshold=threshold,
                                 placement=placement)
    rho = _correlation_matrix(fractions, "spearman")
    return (1.0 + rho) / 2.0 if method == "colocalization" else rho


def overlap_table(t_values: pd.DataFrame, xy_mm: np.ndarray, domains, *, methods=OVERLAP_METHODS,
                  **window_options) -> pd.DataFrame:
    """Long table ``method, domain_a, domain_b, value, chance`` of every method's full matrix."""
    columns = np.stack([t_values[f"t_{name}"].to_numpy() for name in domains], axis=1)
    rows = []
    for method in methods:
        matrix = overlap_matrix(columns, xy_mm, method, **window_options)
        rows += [{"method": method, "domain_a": a, "domain_b": b, "value": matrix[i, j],
                  "chance": OVERLAP_CHANCE[method]}
                 for i, a in enumerate(domains) for j, b in enumerate(domains)]
    return pd.DataFrame(rows)
