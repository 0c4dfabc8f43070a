"""Category-selective patches on a cortical sheet (TDANN's detector, re-derived): Gaussian smoothing
of selectivity t-values onto a grid, thresholding, 8-connected components, member units and the
area of their alpha shape (concave hull)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.spatial import Delaunay, QhullError, cKDTree

from ..errors import InputError, SilentLayerError

__all__ = ["SmoothedMap", "smooth_on_grid", "alpha_shape", "PatchParams", "Patches", "find_patches"]

_TABLE_COLUMNS = {"patch": int, "area_mm2": float, "centroid_x_mm": float, "centroid_y_mm": float,
                  "n_units": int, "n_pixels": int}
_CHUNK_UNITS = 8192  # units per block of the separable sums: 3 blocks of n_grid x 8192 floats


@dataclass(frozen=True)
class SmoothedMap:
    """Gaussian-smoothed values on a regular grid of anchors.

    ``values`` is indexed ``[iy, ix]``: the anchor at ``(x_centers_mm[ix], y_centers_mm[iy])``.
    Anchors whose total Gaussian weight underflows to 0 hold NaN.
    """

    x_centers_mm: np.ndarray
    y_centers_mm: np.ndarray
    values: np.ndarray
    sigma_mm: float


def _check_units(x_mm: np.ndarray, y_mm: np.ndarray, values: np.ndarray,
                 name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate unit positions and values; return float arrays."""
    arrays = []
    for label, a in (("x_mm", x_mm), ("y_mm", y_mm), (name, values)):
        a = np.asarray(a, dtype=float)
        if a.ndim != 1:
            raise InputError(f"{label} must be 1-D (one value per unit), got shape {a.shape}; flatten it")
        arrays.append(a)
    x, y, v = arrays
    if x.size == 0:
        raise InputError("x_mm is empty: pass at least one unit")
    for label, a in (("y_mm", y), (name, v)):
        if a.size != x.size:
            raise InputError(f"{label} has {a.size} values but x_mm has {x.size}; pass one value per unit")
    for label, a in (("x_mm", x), ("y_mm", y)):
        if not np.all(np.isfinite(a)):
            raise InputError(f"{label} contains NaN or inf; every unit needs a position on the sheet")
    if np.any(np.isinf(v)):
        raise InputError(f"{name} contains inf; mark units without a value with NaN instead")
    if np.all(np.isnan(v)):
        raise SilentLayerError(f"{name} is all NaN: no responsive unit: the layer is silent for these "
                               "stimuli; pick another layer or check the recording")
    return x, y, v


def smooth_on_grid(x_mm: np.ndarray, y_mm: np.ndarray, values: np.ndarray, *, sigma_mm: float = 2.4,
                   n_grid: int = 100) -> SmoothedMap:
    """Gaussian-weighted average of unit values at ``n_grid x n_grid`` anchors.

    Anchors span ``[min, max]`` of the unit positions in each axis. At each anchor the value is
    ``sum(w * v) / sum(w)`` with ``w = exp(-d^2 / (2 sigma^2))`` for the distance ``d`` to each unit;
    NaN values get weight 0. The Gaussian is separable, so both sums are products of
    ``(n_grid, n_units)`` factors, accumulated over blocks of units (no anchors x units matrix).

    Examples
    --------
    >>> m = smooth_on_grid(np.array([0.0, 1.0, 2.0]), np.array([0.0, 2.0, 1.0]),
    ...                    np.array([5.0, 5.0, np.nan]), n_grid=3)
    >>> m.values.shape, bool(np.allclose(m.values, 5.0))
    ((3, 3), True)
    """
    x, y, v = _check_units(x_mm, y_mm, values, "values")
    if not (np.isfinite(sigma_mm) and sigma_mm > 0):
        raise InputError(f"sigma_mm must be a positive number of mm, got {sigma_mm}")
    if isinstance(n_grid, bool) or not isinstance(n_grid, (int, np.integer)) or n_grid < 1:
        raise InputError(f"n_grid must be a positive integer, got {n_grid!r}")
    xc = np.linspace(x.min(), x.max(), int(n_grid))
    yc = np.linspace(y.min(), y.max(), int(n_grid))
    ok = ~np.isnan(v)
    x, y, v = x[ok], y[ok], v[ok]
    num = np.zeros((yc.size, xc.size))
    den = np.zeros((yc.size, xc.size))
    for s in range(0, v.size, _CHUNK_UNITS):
        sl = slice(s, s + _CHUNK_UNITS)
        gx = np.exp(-((xc[:, None] - x[None, sl]) ** 2) / (2.0 * sigma_mm ** 2))
        gy = np.exp(-((yc[:, None] - y[None, sl]) ** 2) / (2.0 * sigma_mm ** 2))
        num += (gy * v[None, sl]) @ gx.T
        den += gy @ gx.T
    with np.errstate(invalid="ignore", divide="ignore"):
        smoothed = np.where(den > 0, num / den, np.nan)
    return SmoothedMap(x_centers_mm=xc, y_centers_mm=yc, values=smoothed, sigma_mm=float(sigma_mm))


def alpha_shape(points_xy: np.ndarray, alpha: float = 0.1) -> tuple[float, np.ndarray]:
    """Area and outline of the alpha shape (concave hull) of 2-D points.

    The points are Delaunay-triangulated; triangles with circumradius ``< 1 / alpha`` are kept.
    The area is the sum of the kept triangles' areas; the outline is the set of edges that belong
    to exactly one kept triangle. Fewer than 3 points, or collinear ones, give ``(0.0, empty)``.

    Parameters
    ----------
    points_xy : (n, 2) array of positions (mm).
    alpha : inverse of the largest circumradius kept (1/mm).

    Returns
    -------
    area : float, in mm^2.
    outline : (n_edges, 2, 2) array of segments ``[[x0, y0], [x1, y1]]`` in mm.

    Examples
    --------
    >>> area, outline = alpha_shape(np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]]))
    >>> round(area, 6), outline.shape
    (2.0, (4, 2, 2))
    """
    pts = np.asarray(points_xy, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise InputError(f"points_xy must have shape (n, 2), got {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise InputError("points_xy contains NaN or inf; drop those points")
    if not (np.isfinite(alpha) and alpha > 0):
        raise InputError(f"alpha must be a positive number (1/mm), got {alpha}")
    empty = (0.0, np.empty((0, 2, 2)))
    if pts.shape[0] < 3:
        return empty
    try:
        tri = Delaunay(pts).simplices
    except QhullError:  # collinear or otherwise flat input
        return empty
    a, b, c = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    cross = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    area = 0.5 * np.abs(cross)
    sides = (np.linalg.norm(b - a, axis=1) * np.linalg.norm(c - b, axis=1)
             * np.linalg.norm(a - c, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        radius = np.where(area > 0, sides / (4.0 * area), np.inf)
    keep = radius < 1.0 / alpha
    if not keep.any():
        return empty
    kept = tri[keep]
    edges = np.sort(np.concatenate([kept[:, [0, 1]], kept[:, [1, 2]], kept[:, [2, 0]]]), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    return float(area[keep].sum()), pts[unique[counts == 1]]


@dataclass(frozen=True)
class PatchParams:
    """Parameters of :func:`find_patches` (defaults: TDANN's face-patch detector).

    Examples
    --------
    >>> PatchParams(threshold=3.0).min_area_mm2
    100.0
    """

    sigma_mm: float = 2.4
    n_grid: int = 100
    threshold: float = 2.0
    unit_radius_mm: float = 1.0
    alpha: float = 0.1
    min_area_mm2: float = 100.0
    max_area_mm2: float = 4500.0
    min_units: int = 10
    min_component_units: int = 3

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("int", int):
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise InputError(f"{f.name} must be an integer, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or np.isnan(value):
                raise InputError(f"{f.name} must be a number, got {value!r}")
        for name in ("sigma_mm", "unit_radius_mm", "alpha"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise InputError(f"{name} must be positive and finite, got {getattr(self, name)}")
        if self.n_grid < 2:
            raise InputError(f"n_grid must be at least 2 anchors per axis, got {self.n_grid}")
        if not np.isfinite(self.threshold):
            raise InputError(f"threshold must be finite, got {self.threshold}")
        if self.min_area_mm2 < 0:
            raise InputError(f"min_area_mm2 must be >= 0, got {self.min_area_mm2}")
        if self.max_area_mm2 < self.min_area_mm2:
            raise InputError(f"max_area_mm2 ({self.max_area_mm2}) must be >= min_area_mm2 "
                             f"({self.min_area_mm2}); raise max_area_mm2 or lower min_area_mm2")
        for name in ("min_units", "min_component_units"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)}")


@dataclass(frozen=True)
class Patches:
    """Patches found by :func:`find_patches`.

    ``table`` has one row per kept patch with columns ``patch`` (0, 1, ...), ``area_mm2``,
    ``centroid_x_mm``, ``centroid_y_mm`` (mean position of the member units), ``n_units`` and
    ``n_pixels`` (grid anchors of the connected component). ``outlines[i]`` holds the
    ``(n_edges, 2, 2)`` boundary segments and ``members[i]`` the sorted indices (into the input
    arrays) of the member units of patch ``i``.
    """

    table: pd.DataFrame
    outlines: list[np.ndarray]
    members: list[np.ndarray]
    smoothed: SmoothedMap


def find_patches(x_mm: np.ndarray, y_mm: np.ndarray, t: np.ndarray,
                 params: PatchParams = PatchParams()) -> Patches:
    """Category patches: connected regions where smoothed selectivity reaches the threshold.

    1. ``t`` is smoothed with :func:`smooth_on_grid` (NaN units ignored).
    2. Anchors with smoothed value ``>= threshold`` are on; on-anchors are grouped into
       8-connected components. Only positive selectivity counts.
    3. A component's members are the units with finite ``t`` within ``unit_radius_mm``
       (inclusive) of any of its anchors; silent (NaN-``t``) units are never members.
       Components with fewer than ``min_component_units`` members are skipped.
    4. The patch area and outline are those of the members' :func:`alpha_shape`.
    5. A patch is kept if ``min_area_mm2 <= area <= max_area_mm2`` and it has at least
       ``min_units`` members. Patches are numbered in the scan order of their components
       (by row ``iy``, then column ``ix`` of their first anchor).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.uniform(0, 70, (2, 6000))
    >>> t = 12 * np.exp(-((x - 35) ** 2 + (y - 35) ** 2) / (2 * 4.0 ** 2))
    >>> p = find_patches(x, y, t)
    >>> len(p.table), bool(abs(p.table.centroid_x_mm[0] - 35) < 1)
    (1, True)
    """
    x, y, t = _check_units(x_mm, y_mm, t, "t")
    smoothed = smooth_on_grid(x, y, t, sigma_mm=params.sigma_mm, n_grid=params.n_grid)
    on = smoothed.values >= params.threshold  # NaN anchors are off
    labels, _ = ndimage.label(on, structure=np.ones((3, 3), dtype=int))
    candidates = np.flatnonzero(~np.isnan(t))
    cx, cy = x[candidates], y[candidates]
    reach = np.nextafter(params.unit_radius_mm, np.inf)  # cKDTree's bound is strict
    rows, outlines, members = [], [], []
    for label, box in enumerate(ndimage.find_objects(labels), start=1):
        iy, ix = np.nonzero(labels[box] == label)
        iy, ix = iy + box[0].start, ix + box[1].start
        anchors = np.column_stack([smoothed.x_centers_mm[ix], smoothed.y_centers_mm[iy]])
        lo, hi = anchors.min(axis=0) - reach, anchors.max(axis=0) + reach
        near = np.flatnonzero((cx >= lo[0]) & (cx <= hi[0]) & (cy >= lo[1]) & (cy <= hi[1]))
        if near.size:
            dist, _ = cKDTree(anchors).query(np.column_stack([cx[near], cy[near]]),
                                             distance_upper_bound=reach)
            near = near[np.isfinite(dist)]
        if near.size < params.min_component_units:
            continue
        idx = np.sort(candidates[near])
        area, outline = alpha_shape(np.column_stack([x[idx], y[idx]]), params.alpha)
        if not (params.min_area_mm2 <= area <= params.max_area_mm2) or idx.size < params.min_units:
            continue
        rows.append({"patch": len(rows), "area_mm2": area, "centroid_x_mm": float(x[idx].mean()),
                     "centroid_y_mm": float(y[idx].mean()), "n_units": int(idx.size),
                     "n_pixels": int(iy.size)})
        outlines.append(outline)
        members.append(idx)
    table = pd.DataFrame(rows, columns=list(_TABLE_COLUMNS)).astype(_TABLE_COLUMNS)
    return Patches(table=table, outlines=outlines, members=members, smoothed=smoothed)
