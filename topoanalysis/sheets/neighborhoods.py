"""Square neighbourhoods (clusters) of units on a sheet, for the spatial / STC losses.

Implements TDANN's ``precompute_neighborhoods`` + ``collapse_and_trim_neighborhoods``
(METHODS 2.2): random square windows, small ones dropped, the rest subsampled to one size.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError
from .positions import LayerPositions

__all__ = ["sample_neighborhoods", "square_cluster"]

_CHUNK_WINDOWS = 256
_MAX_CHUNK_ELEMENTS = 1 << 21  # windows x candidate units compared at once (~16 MB per float64 temp)


def _in_window(x: np.ndarray, y: np.ndarray, cx, cy, half_mm: float) -> np.ndarray:
    """Membership test shared by every code path, so all of them agree to the last bit."""
    return (np.abs(x - cx) <= half_mm) & (np.abs(y - cy) <= half_mm)


def square_cluster(
    positions: LayerPositions, center_xy_mm: tuple[float, float], width_mm: float
) -> np.ndarray:
    """Indices (sorted int64) of the units inside one square window.

    A unit is inside when ``|x - cx| <= width_mm / 2`` and ``|y - cy| <= width_mm / 2``
    (borders included, float64 arithmetic).

    Examples
    --------
    >>> p = LayerPositions("toy", (1, 1, 3), np.array([[0., 0.], [1., 1.], [3., 3.]]), 4.0, 2.0)
    >>> square_cluster(p, (0.5, 0.5), 2.0).tolist()
    [0, 1]
    """
    cx, cy = (float(v) for v in np.asarray(center_xy_mm, dtype=np.float64).reshape(2))
    width_mm = float(width_mm)
    if not (np.isfinite(width_mm) and width_mm > 0 and np.isfinite(cx) and np.isfinite(cy)):
        raise InputError(
            f"square_cluster (layer {positions.layer!r}): need a finite centre and width > 0, "
            f"got centre ({cx}, {cy}) and width {width_mm}"
        )
    xy = positions.xy_mm.astype(np.float64)
    return np.flatnonzero(_in_window(xy[:, 0], xy[:, 1], cx, cy, width_mm / 2.0)).astype(np.int64)


def _window_members(
    xy: np.ndarray,
    centres: np.ndarray,
    half_mm: float,
    cap: int,
    rng: np.random.Generator,
    max_chunk_elements: int = _MAX_CHUNK_ELEMENTS,
) -> tuple[np.ndarray, np.ndarray]:
    """Size of every window and a uniform random subset of ``min(size, cap)`` of its members.

    Units are sorted by x and windows by centre x, so a chunk of windows is only compared with
    the strip of units its x-range can reach; chunks shrink until ``windows x strip`` fits in
    ``max_chunk_elements``. Returns ``sizes`` (P,) and ``members`` (P, cap) int32 padded with -1.
    """
    n_windows = len(centres)
    order = np.argsort(xy[:, 0], kind="stable")
    xs, ys = xy[order, 0], xy[order, 1]
    worder = np.argsort(centres[:, 0], kind="stable")
    cxs, cys = centres[worder, 0], centres[worder, 1]
    # a margin so the strip surely contains every unit the exact test accepts
    margin = 1e-9 * (1.0 + float(np.abs(xs).max()) + float(np.abs(cxs).max()) + half_mm)
    starts = np.searchsorted(xs, cxs - half_mm - margin, side="left")
    ends = np.searchsorted(xs, cxs + half_mm + margin, side="right")

    sizes = np.zeros(n_windows, dtype=np.int64)
    members = np.full((n_windows, cap), -1, dtype=np.int32)
    i = 0
    while i < n_windows:
        k = min(_CHUNK_WINDOWS, n_windows - i)
        while k > 1 and k * (ends[i + k - 1] - starts[i]) > max_chunk_elements:
            k //= 2
        lo, hi = starts[i], ends[i + k - 1]
        strip = hi - lo
        rows = worder[i:i + k]
        if strip > 0:
            mask = _in_window(xs[None, lo:hi], ys[None, lo:hi],
                              cxs[i:i + k, None], cys[i:i + k, None], half_mm)
            sizes[rows] = mask.sum(axis=1)
            m = min(cap, strip)
            keys = rng.random((k, strip), dtype=np.float32)
            keys[~mask] = 2.0  # non-members sort last
            pick = np.argpartition(keys, m - 1, axis=1)[:, :m] if m < strip else \
                np.broadcast_to(np.arange(strip), (k, strip))
            units = order[lo + pick].astype(np.int32)
            units[np.take_along_axis(keys, pick, axis=1) > 1.0] = -1
            members[rows, :m] = units
        i += k
    return sizes, members


def sample_neighborhoods(
    positions: LayerPositions,
    n_neighborhoods: int,
    *,
    rng: np.random.Generator,
    width_mm: float | None = None,
    keep_fraction: float = 0.95,
    max_units: int = 500,
    min_units: int = 25,
) -> np.ndarray:
    """Random square neighbourhoods of equal size, as rows of unit indices.

    ``n_neighborhoods`` windows of side ``width_mm`` are centred uniformly in
    ``[min + w/2, max - w/2]`` of the unit positions on each axis (at the middle of an axis
    narrower than ``w``, so the window spans it). Windows smaller than the
    ``(1 - keep_fraction)`` quantile of window sizes (``method="lower"``) or than ``min_units``
    are dropped; each kept window is subsampled without replacement to
    ``Q = min(max(quantile, min_units), max_units)`` units.

    Parameters
    ----------
    positions : LayerPositions
    n_neighborhoods : int
        Windows drawn (TDANN: 20,000); about ``keep_fraction`` of them are returned.
    rng : numpy.random.Generator
    width_mm : float, optional
        Window side; defaults to ``positions.neighborhood_width_mm``.
    keep_fraction, max_units, min_units
        Trimming parameters (TDANN: 0.95, 500, 25).

    Returns
    -------
    numpy.ndarray
        int64 ``(P, Q)``, ``P <= n_neighborhoods``, each row sorted and duplicate-free.

    Examples
    --------
    >>> from topoanalysis.sheets import retinotopic_positions
    >>> rng = np.random.default_rng(0)
    >>> p = retinotopic_positions("V1", (128, 28, 28), 36.75, 1.626, rng=rng)
    >>> sample_neighborhoods(p, 100, rng=rng).shape[0] >= 95
    True
    """
    name = f"layer {positions.layer!r}"
    width = positions.neighborhood_width_mm if width_mm is None else float(width_mm)
    if not (np.isfinite(width) and width > 0):
        raise InputError(f"{name}: width_mm must be finite and > 0, got {width_mm}")
    for label, value in (("n_neighborhoods", n_neighborhoods), ("max_units", max_units),
                         ("min_units", min_units)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f"{name}: {label} must be a positive int, got {value!r}")
    if not 0.0 < keep_fraction <= 1.0:
        raise InputError(f"{name}: keep_fraction must be in (0, 1], got {keep_fraction}")

    xy = positions.xy_mm.astype(np.float64)
    half = width / 2.0
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    c_lo, c_hi = lo + half, hi - half
    narrow = c_lo > c_hi
    mid = (lo + hi) / 2.0
    c_lo, c_hi = np.where(narrow, mid, c_lo), np.where(narrow, mid, c_hi)
    centres = rng.uniform(c_lo, c_hi, size=(int(n_neighborhoods), 2))

    cap = min(int(max_units), positions.n_units)
    sizes, members = _window_members(xy, centres, half, cap, rng)

    threshold = max(int(np.quantile(sizes, 1.0 - keep_fraction, method="lower")), int(min_units))
    keep = sizes >= threshold
    if not keep.any():
        raise InputError(
            f"{name}: no neighbourhood of width {width} mm has >= {threshold} units "
            f"({positions.n_units} units on the sheet, largest window {int(sizes.max())}); "
            "use a larger width_mm or a smaller min_units"
        )
    q = min(threshold, int(max_units))
    kept_rows = np.flatnonzero(keep)
    out = np.empty((len(kept_rows), q), dtype=np.int64)
    for start in range(0, len(kept_rows), 4096):  # row chunks keep the temporaries small
        kept = members[kept_rows[start:start + 4096]]
        keys = rng.random(kept.shape, dtype=np.float32)
        keys[kept < 0] = 2.0
        pick = np.argpartition(keys, q - 1, axis=1)[:, :q] if q < cap else \
            np.argsort(keys, axis=1)
        out[start:start + len(kept)] = np.take_along_axis(kept, pick, axis=1)
    if (out < 0).any():  # cannot happen: every kept window holds >= q sampled members
        raise RuntimeError(f"{name}: internal error while trimming neighbourhoods")
    out.sort(axis=1)
    return out
