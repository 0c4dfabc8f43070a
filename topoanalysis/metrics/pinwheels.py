"""Orientation pinwheels on a cortical sheet (TDANN's detector, re-derived): windowed circular
mean of preferred orientations, winding numbers, islands of half-integer winding, density."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

from ..errors import InputError

__all__ = ["OrientationGrid", "smoothed_orientation_map", "winding_numbers", "find_pinwheels",
           "pinwheel_density"]


@dataclass(frozen=True)
class OrientationGrid:
    """Orientation map smoothed in square windows centred on a regular grid.

    Arrays are indexed ``[iy, ix]``: row ``iy`` is the window centred at ``y_centers_mm[iy]``, column
    ``ix`` the one centred at ``x_centers_mm[ix]``. Windows without units (or with zero total weight)
    hold NaN in ``angle_deg``, ``resultant_length`` and ``circular_std_rad``.
    """

    x_centers_mm: np.ndarray
    y_centers_mm: np.ndarray
    angle_deg: np.ndarray
    resultant_length: np.ndarray
    circular_std_rad: np.ndarray
    n_units: np.ndarray
    width_mm: float
    stride_mm: float


def _window_centers(extent_mm: float, width_mm: float, stride_mm: float) -> np.ndarray:
    """Centres ``width/2 + k*stride`` not beyond ``extent - width/2``; ``[extent/2]`` if none fit."""
    if extent_mm < width_mm:
        return np.array([extent_mm / 2.0])
    n = int(np.floor((extent_mm - width_mm) / stride_mm + 1e-9)) + 1
    return width_mm / 2.0 + stride_mm * np.arange(n)


def _index_range(centers: np.ndarray, v: np.ndarray, half: float) -> tuple[np.ndarray, np.ndarray]:
    """Per value, ``[lo, hi)`` indices of the sorted ``centers`` with ``abs(v - c) <= half``.

    ``searchsorted`` gives the range up to rounding; one fix-up step each side makes it agree
    exactly with the predicate evaluated in floating point (which is monotone in ``c``).
    """
    n = centers.size

    def inside(idx: np.ndarray) -> np.ndarray:
        return (idx >= 0) & (idx < n) & (np.abs(v - centers[np.clip(idx, 0, n - 1)]) <= half)

    lo = np.searchsorted(centers, v - half, side="left")
    lo = np.where(inside(lo - 1), lo - 1, lo)
    lo = np.where(~inside(lo) & (lo < n) & (centers[np.clip(lo, 0, n - 1)] < v), lo + 1, lo)
    hi = np.searchsorted(centers, v + half, side="right")
    hi = np.where(inside(hi), hi + 1, hi)
    hi = np.where(~inside(hi - 1) & (hi > 0) & (centers[np.clip(hi - 1, 0, n - 1)] > v), hi - 1, hi)
    return lo, np.maximum(hi, lo)


def _as_1d(name: str, a: np.ndarray, n: int | None) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    if a.ndim != 1:
        raise InputError(f"{name} must be 1-D (one value per unit), got shape {a.shape}; flatten it")
    if n is not None and a.size != n:
        raise InputError(f"{name} has {a.size} values but x_mm has {n}; pass one value per unit")
    if not np.all(np.isfinite(a)):
        raise InputError(f"{name} contains NaN or inf; drop those units before building the map")
    return a


def smoothed_orientation_map(x_mm: np.ndarray, y_mm: np.ndarray, pref_deg: np.ndarray, *,
                             width_mm: float = 1.5, stride_mm: float = 0.45,
                             extent_mm: float | None = None,
                             weights: np.ndarray | None = None) -> OrientationGrid:
    """Circular mean of preferred orientations in square sliding windows.

    Window centres are ``width_mm/2 + k*stride_mm`` for ``k = 0, 1, ...`` while the centre is at
    most ``extent_mm - width_mm/2`` (the same in x and y), so windows lie inside
    ``[0, extent_mm]``; if ``extent_mm < width_mm`` there is one centre, at ``extent_mm/2``.
    A unit belongs to the window centred at ``(cx, cy)`` iff ``|x - cx| <= width_mm/2`` and
    ``|y - cy| <= width_mm/2`` (boundaries inclusive, so a unit may count in several windows).

    With ``S = sum w * exp(2i * theta)`` over the window, the mean orientation is
    ``arg(S) / 2`` in degrees in ``[0, 180)``, the resultant length ``R = |S| / sum w`` and the
    circular standard deviation ``sqrt(-2 ln R) / 2`` in radians of orientation (the usual circular
    std of the doubled angles, halved; 0 for identical orientations, inf for ``R = 0``).

    Parameters
    ----------
    x_mm, y_mm : array of shape (n,)
        Unit positions on the sheet in mm.
    pref_deg : array of shape (n,)
        Preferred orientations in degrees (any real value; period 180).
    width_mm, stride_mm : float
        Window side and spacing of window centres, both > 0.
    extent_mm : float, optional
        Sheet side; default ``ceil(max(x_mm.max(), y_mm.max()))``, i.e. the largest coordinate
        rounded up to a whole mm.
    weights : array of shape (n,), optional
        Non-negative weight per unit (e.g. orientation selectivity); default 1.

    Returns
    -------
    OrientationGrid

    Examples
    --------
    >>> g = smoothed_orientation_map([0.5, 1.0, 2.5], [0.5, 1.0, 2.5], [10.0, 170.0, 45.0],
    ...                              width_mm=1.5, stride_mm=1.0, extent_mm=3.0)
    >>> g.x_centers_mm.tolist(), g.n_units.tolist()
    ([0.75, 1.75], [[2, 1], [1, 2]])
    >>> round(float(g.angle_deg[0, 0]), 6)
    0.0
    """
    x = _as_1d("x_mm", x_mm, None)
    if x.size == 0:
        raise InputError("x_mm is empty; pass at least one unit position")
    y = _as_1d("y_mm", y_mm, x.size)
    theta = np.deg2rad(_as_1d("pref_deg", pref_deg, x.size))
    w = np.ones_like(x) if weights is None else _as_1d("weights", weights, x.size)
    if np.any(w < 0):
        raise InputError("weights must be non-negative; clip or shift them (e.g. use selectivity)")
    if not width_mm > 0:
        raise InputError(f"width_mm must be > 0 (window side in mm), got {width_mm}")
    if not stride_mm > 0:
        raise InputError(f"stride_mm must be > 0 (spacing of window centres in mm), got {stride_mm}")
    if extent_mm is None:
        extent_mm = float(np.ceil(max(x.max(), y.max())))
    if not extent_mm > 0:
        raise InputError(f"extent_mm must be > 0 (sheet side in mm), got {extent_mm}; pass it "
                         "explicitly when all units sit at non-positive coordinates")
    centers = _window_centers(float(extent_mm), float(width_mm), float(stride_mm))
    half = width_mm / 2.0
    n = centers.size
    xlo, xhi = _index_range(centers, x, half)
    ylo, yhi = _index_range(centers, y, half)

    # Each unit adds its values to a rectangle of windows: 2-D difference array, then cumsums.
    values = np.stack([w * np.cos(2 * theta), w * np.sin(2 * theta), w, np.ones_like(w)])
    keep = (xlo < xhi) & (ylo < yhi)
    values, xlo, xhi, ylo, yhi = values[:, keep], xlo[keep], xhi[keep], ylo[keep], yhi[keep]
    corners = np.concatenate([ylo * (n + 1) + xlo, ylo * (n + 1) + xhi, yhi * (n + 1) + xlo,
                              yhi * (n + 1) + xhi])
    signed = np.tile(values, 4) * np.repeat([1.0, -1.0, -1.0, 1.0], values.shape[1])
    diff = np.stack([np.bincount(corners, weights=v, minlength=(n + 1) ** 2) for v in signed])
    sums = diff.reshape(-1, n + 1, n + 1).cumsum(axis=1).cumsum(axis=2)[:, :n, :n]
    c, s, wsum = sums[0], sums[1], sums[2]
    count = np.rint(sums[3]).astype(np.int64)

    valid = (count > 0) & (wsum > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        angle = np.where(valid, np.rad2deg(np.arctan2(s, c)) / 2.0 % 180.0, np.nan)
        r = np.where(valid, np.clip(np.hypot(c, s) / np.where(valid, wsum, 1.0), 0.0, 1.0), np.nan)
        std = np.sqrt(-2.0 * np.log(r)) / 2.0
    return OrientationGrid(centers.copy(), centers.copy(), angle, r, std, count,
                           float(width_mm), float(stride_mm))


# Ring of 8 neighbours (d_iy, d_ix), counter-clockwise in (x, y) starting east of the pixel.
_RING = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))


def winding_numbers(angle_deg: np.ndarray) -> np.ndarray:
    """Winding number of an orientation map around each pixel's ring of 8 neighbours.

    The ring is walked counter-clockwise in ``(x, y)`` (columns = x, rows = y, both increasing);
    each step's orientation difference is wrapped into ``[-90, 90)`` degrees, and the sum is divided
    by 360, then rounded to the nearest multiple of 0.5 (the exact sum is always a multiple of 180
    degrees; rounding only removes floating-point noise). A pinwheel whose orientation turns with
    the polar angle scores +0.5, the reverse handedness -0.5, a smooth region 0. Border pixels, and
    pixels whose ring holds a NaN, are NaN; the centre pixel's own value is not used.

    ``angle_deg`` is a (ny, nx) map in degrees (e.g. ``OrientationGrid.angle_deg``); so is the result.

    Examples
    --------
    >>> yy, xx = np.mgrid[-2:3, -2:3].astype(float)
    >>> wn = winding_numbers(np.degrees(np.arctan2(yy, xx)) / 2 % 180)
    >>> float(wn[2, 2]), float(wn[1, 1]), bool(np.isnan(wn[0, 0]))
    (0.5, 0.0, True)
    """
    a = np.asarray(angle_deg, dtype=float)
    if a.ndim != 2:
        raise InputError(f"angle_deg must be a 2-D (ny, nx) map, got shape {a.shape}")
    ny, nx = a.shape
    out = np.full(a.shape, np.nan)
    if ny < 3 or nx < 3:
        return out

    def shifted(dy: int, dx: int) -> np.ndarray:
        return a[1 + dy:ny - 1 + dy, 1 + dx:nx - 1 + dx]

    total = np.zeros((ny - 2, nx - 2))
    for (dy0, dx0), (dy1, dx1) in zip(_RING, _RING[1:] + _RING[:1]):
        total += (shifted(dy1, dx1) - shifted(dy0, dx0) + 90.0) % 180.0 - 90.0
    out[1:-1, 1:-1] = np.round(total / 180.0) / 2.0
    return out


def find_pinwheels(grid: OrientationGrid, *, min_abs_winding: float = 0.3, min_island_px: int = 2,
                   max_circular_std_rad: float | None = None) -> pd.DataFrame:
    """Pinwheels as 8-connected islands of pixels with ``|winding number| > min_abs_winding``.

    Positive and negative pixels are labelled separately (``scipy.ndimage.label`` with
    8-connectivity); each island with at least ``min_island_px`` pixels is one pinwheel at the
    centroid of its pixel centres. TDANN additionally requires a low circular-std map, on an
    undocumented scale; ``max_circular_std_rad`` (off by default) restricts counted pixels to those
    with ``grid.circular_std_rad < max_circular_std_rad`` (NaN pixels never count). The default
    ``min_abs_winding = 0.3`` keeps the +-0.5 pixels.

    Returns
    -------
    pandas.DataFrame
        Columns ``x_mm, y_mm, sign, n_px`` (one row per pinwheel, possibly none).

    Examples
    --------
    >>> yy, xx = np.mgrid[0:100, 0:100] * 0.2 + 0.1
    >>> pref = np.degrees(np.arctan2(yy - 10, xx - 10)) / 2 % 180
    >>> g = smoothed_orientation_map(xx.ravel(), yy.ravel(), pref.ravel(), extent_mm=20)
    >>> find_pinwheels(g)[["sign", "n_px"]].values.tolist()
    [[1, 4]]
    """
    wn = winding_numbers(grid.angle_deg)
    allowed = np.ones(wn.shape, dtype=bool)
    if max_circular_std_rad is not None:
        allowed = np.asarray(grid.circular_std_rad) < max_circular_std_rad
    yy, xx = np.meshgrid(grid.y_centers_mm, grid.x_centers_mm, indexing="ij")
    rows = []
    for sign in (1, -1):
        mask = (sign * wn > min_abs_winding) & allowed  # NaN compares False
        labels, n_islands = ndimage.label(mask, structure=np.ones((3, 3), dtype=int))
        idx = np.arange(1, n_islands + 1)
        n_px = np.atleast_1d(ndimage.sum_labels(mask, labels, idx))
        cx, cy = (np.atleast_1d(ndimage.mean(v, labels, idx)) for v in (xx, yy))
        rows += [(cx[i], cy[i], sign, n_px[i]) for i in np.flatnonzero(n_px >= min_island_px)]
    table = pd.DataFrame(rows, columns=["x_mm", "y_mm", "sign", "n_px"])
    return table.astype({"x_mm": float, "y_mm": float, "sign": int, "n_px": int})


def pinwheel_density(n_pinwheels: int, sheet_size_mm: float, hypercolumn_width_mm: float) -> float:
    """Pinwheels per hypercolumn area: ``n / (sheet_size_mm / hypercolumn_width_mm) ** 2``.

    TDANN uses ``hypercolumn_width_mm = 3.5``. In macaque (and cat, tree shrew, galago) V1 the
    density is about pi (~3.14) pinwheels per hypercolumn^2 area (Kaschube et al. 2010, Science).

    Examples
    --------
    >>> pinwheel_density(32, sheet_size_mm=14.0, hypercolumn_width_mm=3.5)
    2.0
    """
    if n_pinwheels < 0:
        raise InputError(f"n_pinwheels must be >= 0, got {n_pinwheels}")
    if not sheet_size_mm > 0:
        raise InputError(f"sheet_size_mm must be > 0 (side of the sheet in mm), got {sheet_size_mm}")
    if not hypercolumn_width_mm > 0:
        raise InputError("hypercolumn_width_mm must be > 0 (TDANN uses 3.5 mm), got "
                         f"{hypercolumn_width_mm}")
    return float(n_pinwheels / (sheet_size_mm / hypercolumn_width_mm) ** 2)
