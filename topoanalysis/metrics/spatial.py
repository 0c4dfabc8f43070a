"""How unit properties change with cortical distance (METHODS 2.6, 2.7).

* :func:`difference_over_distance` - mean ``|difference in a property|`` per distance bin
  over all pairs of units (circular for orientation);
* :func:`smoothness_index` - TDANN's ``(max(curve) - curve[0]) / max(curve)``;
* :func:`smoothness` - both over repeated random unit samples, with a chance baseline
  from shuffled positions;
* :func:`correlation_over_distance` - pairwise response correlation vs distance inside
  square windows of the sheet, with 95 % confidence bands across windows.

Pairs are handled as condensed arrays (``scipy.spatial.distance.pdist`` order, the same
as ``numpy.triu_indices(n, 1)``) and binned with ``numpy.bincount``: no Python loop over
pairs. A sample of 1,000 units is 499,500 pairs.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial.distance import pdist

from ..errors import InputError


def _check_positions(values: np.ndarray, xy_mm: np.ndarray) -> None:
    if xy_mm.ndim != 2 or xy_mm.shape[1] != 2 or len(xy_mm) != len(values):
        raise InputError(f"xy_mm must be (n_units, 2) with one row per value; got {xy_mm.shape} for "
                         f"{len(values)} values")


def pairwise_differences(values: np.ndarray, *, period: float | None = None) -> np.ndarray:
    """``|v_i - v_j|`` for every pair ``i < j`` (condensed order); circular when ``period`` is set.

    Examples
    --------
    >>> pairwise_differences(np.array([10.0, 170.0, 90.0]), period=180.0).tolist()
    [20.0, 80.0, 80.0]
    """
    values = np.asarray(values, dtype=np.float64)
    differences = pdist(values[:, None], "cityblock")
    if period is not None:
        differences = np.mod(differences, period)
        differences = np.minimum(differences, period - differences)
    return differences


def binned_pair_means(distances_mm: np.ndarray, pair_values: np.ndarray,
                      bin_edges_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``pair_values`` per distance bin and the pair counts; NaN for empty bins.

    Bins are ``[edge_k, edge_k+1)`` except the last, which includes its right edge; pairs
    beyond the last edge and pairs whose value is NaN are ignored.

    Examples
    --------
    >>> means, counts = binned_pair_means(np.array([0.5, 1.5, 1.6, 9.0]), np.array([1.0, 2.0, 4.0, 8.0]),
    ...                                   np.array([0.0, 1.0, 2.0, 3.0]))
    >>> means.tolist(), counts.tolist()
    ([1.0, 3.0, nan], [1, 2, 0])
    """
    edges = np.asarray(bin_edges_mm, dtype=np.float64)
    n_bins = len(edges) - 1
    index = np.searchsorted(edges, distances_mm, side="right") - 1
    index[distances_mm == edges[-1]] = n_bins - 1
    keep = (index >= 0) & (index < n_bins) & ~np.isnan(pair_values)
    counts = np.bincount(index[keep], minlength=n_bins)
    sums = np.bincount(index[keep], weights=pair_values[keep], minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan), counts


def difference_over_distance(values: np.ndarray, xy_mm: np.ndarray, bin_edges_mm: np.ndarray, *,
                             period: float | None = None) -> np.ndarray:
    """Mean ``|difference in value|`` per cortical-distance bin over all pairs of units.

    Parameters
    ----------
    values : numpy.ndarray
        ``(n_units,)`` property of each unit (e.g. preferred orientation in degrees).
    xy_mm : numpy.ndarray
        ``(n_units, 2)`` positions on the sheet.
    bin_edges_mm : numpy.ndarray
        Distance bin edges.
    period : float, optional
        Period of a circular property (180 for orientation): differences are folded so
        that ``|170 - 10|`` counts as 20.

    Returns
    -------
    numpy.ndarray
        One mean per bin, NaN where a bin has no pair.
    """
    values = np.asarray(values, dtype=np.float64)
    xy_mm = np.asarray(xy_mm, dtype=np.float64)
    _check_positions(values, xy_mm)
    return binned_pair_means(pdist(xy_mm), pairwise_differences(values, period=period), bin_edges_mm)[0]


def smoothness_index(curves: np.ndarray) -> np.ndarray:
    """TDANN's smoothness of a difference-vs-distance curve, nearest bin first.

    ``(max(curve) - curve[0]) / max(curve)`` on the curve up to its first NaN: 1 when
    nearby units are identical, about 0 when the curve is flat; a constant curve gives 1.
    Leading empty bins (no pair that close, e.g. units on a regular grid) are skipped,
    so ``curve[0]`` is the nearest populated bin; an all-NaN curve gives NaN. Works on one
    curve or on rows of curves.

    Examples
    --------
    >>> smoothness_index(np.array([[0.0, 5.0, 10.0], [10.0, 10.0, 10.0], [np.nan, 2.0, 4.0]])).tolist()
    [1.0, 1.0, 0.5]
    """
    curves = np.asarray(curves, dtype=np.float64)
    rows = np.atleast_2d(curves)
    n_bins = rows.shape[1]
    missing = np.isnan(rows)
    start = np.where(missing.all(axis=1), n_bins, np.argmax(~missing, axis=1))
    after_start = np.arange(n_bins)[None, :] >= start[:, None]
    gap = missing & after_start
    stop = np.where(gap.any(axis=1), np.argmax(gap, axis=1), n_bins)
    kept = after_start & (np.arange(n_bins)[None, :] < stop[:, None])
    truncated = np.where(kept, rows, np.nan)
    nearest = rows[np.arange(len(rows)), np.minimum(start, n_bins - 1)]
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        peak, trough = np.nanmax(truncated, axis=1), np.nanmin(truncated, axis=1)
        index = np.where(peak == trough, 1.0, (peak - nearest) / peak)
    index = np.where(start == n_bins, np.nan, index)
    return index.reshape(curves.shape[:-1])


@dataclass(frozen=True)
class SmoothnessResult:
    """Difference-vs-distance curves over random unit samples, with the shuffled chance curves."""

    bin_edges_mm: np.ndarray
    curves: np.ndarray
    chance_curves: np.ndarray
    n_units: int

    @property
    def distance_mm(self) -> np.ndarray:
        return (self.bin_edges_mm[:-1] + self.bin_edges_mm[1:]) / 2.0

    @property
    def indices(self) -> np.ndarray:
        return smoothness_index(self.curves)

    @property
    def chance_indices(self) -> np.ndarray:
        return smoothness_index(self.chance_curves)

    def curve_table(self, **labels):
        """One row per distance bin: mean |difference| and SEM over samples, and the same for chance.

        ``labels`` (e.g. ``metric="orientation"``) become leading constant columns.
        """
        import pandas as pd

        mean, sem = _mean_and_sem(self.curves)
        chance, chance_sem = _mean_and_sem(self.chance_curves)
        return pd.DataFrame({**labels, "distance_mm": self.distance_mm, "mean_difference": mean, "sem": sem,
                             "chance_mean_difference": chance, "chance_sem": chance_sem})

    def summary(self) -> dict[str, float]:
        """Smoothness and chance: mean and SEM over samples."""
        return {"smoothness": _nanmean(self.indices), "sem": _nansem(self.indices),
                "chance": _nanmean(self.chance_indices), "chance_sem": _nansem(self.chance_indices),
                "n_units": self.n_units, "n_samples": len(self.curves)}


def _mean_and_sem(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin mean and SEM over rows, ignoring NaN (empty) bins."""
    count = np.isfinite(curves).sum(axis=0)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(curves, axis=0), np.nanstd(curves, axis=0, ddof=1) / np.sqrt(count)


def _nanmean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _nansem(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.std(ddof=1) / np.sqrt(finite.size)) if finite.size > 1 else float("nan")


def smoothness(values: np.ndarray, xy_mm: np.ndarray, bin_edges_mm: np.ndarray, *,
               rng: np.random.Generator, n_samples: int = 20, sample_size: int = 1000,
               period: float | None = None) -> SmoothnessResult:
    """Difference-vs-distance curves over ``n_samples`` random samples of units (METHODS 2.6).

    Each sample draws ``sample_size`` units without replacement (all units if there are
    fewer) and bins ``|difference|`` over all its pairs. The chance curve of a sample
    shuffles the values across that sample's positions, which keeps the distance
    distribution and destroys any map.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform(0, 10, (400, 2))
    >>> result = smoothness(xy[:, 0] * 10, xy, np.linspace(0, 3, 10), rng=rng, n_samples=3)
    >>> bool(result.summary()["smoothness"] > 0.8 > 0.2 > result.summary()["chance"])
    True
    """
    values = np.asarray(values, dtype=np.float64)
    xy_mm = np.asarray(xy_mm, dtype=np.float64)
    _check_positions(values, xy_mm)
    if len(values) < 2:
        raise InputError(f"smoothness needs at least 2 units; got {len(values)} (check the unit mask)")
    if n_samples < 1 or sample_size < 2:
        raise InputError(f"n_samples must be >= 1 and sample_size >= 2; got {n_samples} and {sample_size}")
    curves, chance = [], []
    for _ in range(n_samples):
        chosen = rng.choice(len(values), size=min(sample_size, len(values)), replace=False)
        distances = pdist(xy_mm[chosen])
        sample = values[chosen]
        curves.append(binned_pair_means(distances, pairwise_differences(sample, period=period), bin_edges_mm)[0])
        shuffled = pairwise_differences(rng.permutation(sample), period=period)
        chance.append(binned_pair_means(distances, shuffled, bin_edges_mm)[0])
    return SmoothnessResult(np.asarray(bin_edges_mm, dtype=np.float64), np.array(curves), np.array(chance),
                            len(values))


@dataclass(frozen=True)
class CorrelationResult:
    """Per-window correlation-vs-distance curves and their chance (shuffled-position) curves."""

    bin_edges_mm: np.ndarray
    curves: np.ndarray
    chance_curves: np.ndarray
    window_width_mm: float

    @property
    def distance_mm(self) -> np.ndarray:
        return (self.bin_edges_mm[:-1] + self.bin_edges_mm[1:]) / 2.0

    def summary_table(self):
        """One row per distance bin: mean r, SEM, 95 % CI across windows, chance mean r."""
        import pandas as pd

        count = np.isfinite(self.curves).sum(axis=0)
        mean, sem = _mean_and_sem(self.curves)
        chance, _ = _mean_and_sem(self.chance_curves)
        half_width = np.where(count > 1, stats.t.ppf(0.975, np.maximum(count - 1, 1)), np.nan) * sem
        return pd.DataFrame({"distance_mm": self.distance_mm, "mean_r": mean, "sem": sem,
                             "ci_low": mean - half_width, "ci_high": mean + half_width,
                             "chance_mean_r": chance, "n_windows": count})


    def falloff_table(self):
        """The within-window fall-off: one row, ``r(near) - mean r(far)`` per window, mean and SEM over windows.

        Only bins that every window populates count (a bin reached by a few windows would carry
        their noise alone): ``near`` is the first of them, ``far`` the common bins in the farther
        half of the common range. The chance row is the same contrast on the shuffled-position
        curves (about 0 when positions carry no map).
        """
        import pandas as pd

        populated = np.isfinite(self.curves).all(axis=0) & np.isfinite(self.chance_curves).all(axis=0)
        common = np.flatnonzero(populated)
        if len(common) < 2:
            return pd.DataFrame([{"near_mm": np.nan, "far_mm": "", "contrast": np.nan, "sem": np.nan,
                                  "chance": np.nan, "chance_sem": np.nan, "n_windows": len(self.curves)}])
        near = common[0]
        far = common[(common >= (common[0] + common[-1]) / 2) & (common != near)]
        contrast = self.curves[:, near] - self.curves[:, far].mean(axis=1)
        chance = self.chance_curves[:, near] - self.chance_curves[:, far].mean(axis=1)
        return pd.DataFrame([{"near_mm": float(self.distance_mm[near]),
                              "far_mm": " ".join(f"{d:.3g}" for d in self.distance_mm[far]),
                              "contrast": _nanmean(contrast), "sem": _nansem(contrast),
                              "chance": _nanmean(chance), "chance_sem": _nansem(chance),
                              "n_windows": len(self.curves)}])


def _standardise(responses: np.ndarray) -> np.ndarray:
    centred = responses - responses.mean(axis=0)
    norm = np.sqrt((centred**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, centred / norm, np.nan)


def pairwise_correlations(responses: np.ndarray) -> np.ndarray:
    """Pearson r between the columns of ``responses`` for every pair ``i < j`` (condensed order).

    Pairs involving a unit with constant responses are NaN.

    Examples
    --------
    >>> pairwise_correlations(np.array([[1.0, 2.0, 5.0], [2.0, 4.0, 5.0], [3.0, 0.0, 5.0]])).round(3).tolist()
    [-0.5, nan, nan]
    """
    z = _standardise(np.asarray(responses, dtype=np.float64))
    return (z.T @ z)[np.triu_indices(z.shape[1], 1)]


def square_windows(xy_mm: np.ndarray, width_mm: float, *, min_units: int = 10) -> list[np.ndarray]:
    """Unit indices in each non-overlapping ``width_mm`` square tile of the sheet (tiles from 0)."""
    if width_mm <= 0:
        raise InputError(f"window width must be positive; got {width_mm} mm")
    tile = np.floor(np.asarray(xy_mm) / width_mm).astype(np.int64)
    keys = tile[:, 0] * (tile[:, 1].max() + 1) + tile[:, 1]
    order = np.argsort(keys, kind="stable")
    boundaries = np.flatnonzero(np.diff(keys[order])) + 1
    return [group for group in np.split(order, boundaries) if len(group) >= min_units]


def spaced_windows(xy_mm: np.ndarray, width_mm: float, *, min_units: int = 10) -> list[np.ndarray]:
    """Unit indices in TDANN's co-localisation windows: ``floor(extent / width_mm)`` windows per
    axis, their corners spread evenly from the sheet minimum to ``maximum - width_mm`` (so gaps
    lie between them unless the extent is a multiple of the width) [I: our reading of TDANN's
    placement]. Windows are half-open ``[corner, corner + width)``, the last one per axis
    closed so the unit at the maximum counts; only those holding at least ``min_units``
    units are returned.

    Examples
    --------
    >>> xy = np.array([[0.5, 0.5], [1.5, 0.5], [9.9, 9.9], [5.0, 5.0]])
    >>> [w.tolist() for w in spaced_windows(xy, 4.0, min_units=1)]
    [[0, 1], [2]]
    """
    if width_mm <= 0:
        raise InputError(f"window width must be positive; got {width_mm} mm")
    xy_mm = np.asarray(xy_mm, dtype=np.float64)
    inside = []  # per axis: one boolean row per window
    for axis in range(2):
        values = xy_mm[:, axis]
        low, high = values.min(), values.max()
        n = max(1, int(np.floor((high - low) / width_mm)))
        corners = np.linspace(low, max(low, high - width_mm), n)
        upper = np.where(corners + width_mm >= high, np.inf, corners + width_mm)
        inside.append((values[None, :] >= corners[:, None]) & (values[None, :] < upper[:, None]))
    windows = []
    for inside_x in inside[0]:
        for inside_y in inside[1]:
            members = np.flatnonzero(inside_x & inside_y)
            if len(members) >= min_units:
                windows.append(members)
    return windows


def correlation_over_distance(responses: np.ndarray, xy_mm: np.ndarray, window_width_mm: float, *,
                              rng: np.random.Generator, n_bins: int = 15, max_windows: int = 50,
                              max_units_per_window: int = 1000, min_units: int = 10) -> CorrelationResult:
    """Pairwise response correlation vs cortical distance inside square windows (METHODS 2.7).

    The sheet is tiled into non-overlapping ``window_width_mm`` squares; up to
    ``max_windows`` tiles with at least ``min_units`` units are drawn, and up to
    ``max_units_per_window`` units in each. Within a window, the Pearson r between every
    pair of units' responses across stimuli is averaged per distance bin. Bins are
    ``n_bins`` equal bins from 0 to the window diagonal, the same for every window (TDANN
    takes the first window's edges instead). The chance curve bins the same correlations
    against the distances of shuffled positions.

    Parameters
    ----------
    responses : numpy.ndarray
        ``(n_stimuli, n_units)`` responses.
    xy_mm : numpy.ndarray
        ``(n_units, 2)`` positions.
    window_width_mm : float
        Side of the square windows.
    """
    responses = np.asarray(responses, dtype=np.float64)
    xy_mm = np.asarray(xy_mm, dtype=np.float64)
    _check_positions(responses.T, xy_mm)
    windows = square_windows(xy_mm, window_width_mm, min_units=min_units)
    if not windows:
        raise InputError(f"no {window_width_mm:g} mm window holds {min_units} units or more; use a wider "
                         "window")
    if len(windows) > max_windows:
        windows = [windows[i] for i in np.sort(rng.choice(len(windows), max_windows, replace=False))]
    edges = np.linspace(0.0, window_width_mm * np.sqrt(2.0), n_bins + 1)
    curves, chance = [], []
    for members in windows:
        if len(members) > max_units_per_window:
            members = np.sort(rng.choice(members, max_units_per_window, replace=False))
        correlations = pairwise_correlations(responses[:, members])
        curves.append(binned_pair_means(pdist(xy_mm[members]), correlations, edges)[0])
        chance.append(binned_pair_means(pdist(xy_mm[rng.permutation(members)]), correlations, edges)[0])
    return CorrelationResult(edges, np.array(curves), np.array(chance), float(window_width_mm))
