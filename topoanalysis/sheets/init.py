"""Retinotopic initial positions (TDANN ``place_conv`` + ``jitter_positions``, METHODS 2.2)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import InputError
from .positions import AREA_NEIGHBORHOOD_WIDTH_MM, AREA_SHEET_SIZE_MM, LayerPositions

__all__ = ["rf_overlap", "retinotopic_positions", "default_sheets", "scaled_neighborhood_width_mm"]


def rf_overlap(width_px: int) -> float:
    """Receptive-field overlap of neighbouring taps, ``min(0.1 * 56 / width_px, 1)``.

    Examples
    --------
    >>> rf_overlap(56), rf_overlap(28), rf_overlap(7)
    (0.1, 0.2, 0.8)
    """
    if isinstance(width_px, bool) or not isinstance(width_px, (int, np.integer)) or width_px < 1:
        raise InputError(f"rf_overlap: width_px must be a positive int, got {width_px!r}")
    return min(0.1 * 56 / int(width_px), 1.0)


def retinotopic_positions(
    layer: str,
    shape_chw: tuple[int, int, int],
    sheet_size_mm: float,
    neighborhood_width_mm: float,
    *,
    rng: np.random.Generator,
    area: str = "",
    jitter_mm: float = 0.3,
    overlap: float | None = None,
) -> LayerPositions:
    """Retinotopic, channel-scattered positions for a ``(C, H, W)`` layer.

    The spatial tap ``(h, w)`` gets the anchor ``(x, y) = (centre_x[w], centre_y[h])`` with
    ``rf_width = size / (W - W*overlap + overlap)``, ``rf_radius = rf_width / 2`` and
    ``centre_x = linspace(rf_radius, size - rf_radius, W)`` (``centre_y`` the same with ``H``
    points). Each of the ``C`` channels at a tap gets its own uniform offset in
    ``[-rf_radius, rf_radius]^2``; units are flattened channel-major (``c*H*W + h*W + w``, the
    order of ``torch.flatten(x, 1)``). Then ``N(0, jitter_mm)`` noise is added to every
    coordinate and each axis is linearly re-squashed to its pre-jitter ``[min, max]``
    (skipped when ``jitter_mm == 0``). Positions are finally clipped to ``[0, size]``; this only
    guards against float rounding, since anchors +- ``rf_radius`` already lie in the sheet.

    Parameters
    ----------
    layer, area : str
        Names stored in the result.
    shape_chw : tuple of int
        ``(C, H, W)``.
    sheet_size_mm, neighborhood_width_mm : float
        Sheet side and spatial-loss neighbourhood width.
    rng : numpy.random.Generator
        Source of all randomness (offsets first, then jitter).
    jitter_mm : float
        Standard deviation of the jitter; 0 disables it.
    overlap : float, optional
        RF overlap in ``[0, 1]``; defaults to :func:`rf_overlap` of ``W``.

    Returns
    -------
    LayerPositions

    Examples
    --------
    >>> p = retinotopic_positions("V1", (128, 28, 28), 36.75, 1.626,
    ...                           rng=np.random.default_rng(0), area="V1")
    >>> p.xy_mm.shape
    (100352, 2)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"retinotopic_positions: rng must be a numpy.random.Generator, got {rng!r}")
    if len(shape_chw) != 3:
        raise InputError(f"layer {layer!r}: shape_chw must be (C, H, W), got {shape_chw!r}")
    n_chan, height, width = (int(v) for v in shape_chw)
    if min(n_chan, height, width) < 1:
        raise InputError(f"layer {layer!r}: shape_chw must be positive, got {shape_chw!r}")
    size = float(sheet_size_mm)
    if not (np.isfinite(size) and size > 0):
        raise InputError(f"layer {layer!r}: sheet_size_mm must be > 0, got {sheet_size_mm}")
    if not (np.isfinite(jitter_mm) and jitter_mm >= 0):
        raise InputError(f"layer {layer!r}: jitter_mm must be >= 0, got {jitter_mm}")
    overlap = rf_overlap(width) if overlap is None else float(overlap)
    if not 0.0 <= overlap <= 1.0:
        raise InputError(f"layer {layer!r}: overlap must be in [0, 1], got {overlap}")

    rf_radius = size / (width - width * overlap + overlap) / 2.0
    centre_x = np.linspace(rf_radius, size - rf_radius, width)
    centre_y = np.linspace(rf_radius, size - rf_radius, height)
    anchors = np.empty((n_chan, height, width, 2), dtype=np.float64)
    anchors[..., 0] = centre_x[None, None, :]
    anchors[..., 1] = centre_y[None, :, None]
    offsets = rng.uniform(-rf_radius, rf_radius, size=anchors.shape)
    xy = (anchors + offsets).reshape(-1, 2)  # C-order reshape == channel-major flattening

    if jitter_mm > 0:
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        jittered = xy + rng.normal(0.0, jitter_mm, size=xy.shape)
        jlo, jhi = jittered.min(axis=0), jittered.max(axis=0)
        span = jhi - jlo
        ok = span > 0  # a single unit (or a degenerate axis) keeps its pre-jitter coordinate
        scale = np.where(ok, (hi - lo) / np.where(ok, span, 1.0), 0.0)
        xy = np.where(ok, (jittered - jlo) * scale + lo, xy)
    xy = np.clip(xy, 0.0, size)

    return LayerPositions(
        layer=layer,
        shape_chw=(n_chan, height, width),
        xy_mm=xy.astype(np.float32),
        sheet_size_mm=size,
        neighborhood_width_mm=neighborhood_width_mm,
        area=area,
    )


AREA_REFERENCE_UNITS = {"retina": 64 * 56 * 56, "V1": 128 * 28 * 28, "V2": 256 * 14 * 14,
                        "V4": 256 * 14 * 14, "IT": 512 * 7 * 7}
"""Units per layer of the 224-px ResNet-18 for which TDANN's neighbourhood widths were set."""


def scaled_neighborhood_width_mm(area: str, n_units: int, sheet_size_mm: float) -> float:
    """TDANN's neighbourhood width for ``area``, widened for layers with fewer units.

    The width grows as ``sqrt(reference_units / n_units)`` so that a window holds as many
    units as in TDANN's 224-px ResNet-18 (a CIFAR-stem or narrower network has far fewer
    units per mm^2); it never exceeds the sheet. Layers with as many units or more keep
    TDANN's width.

    Examples
    --------
    >>> scaled_neighborhood_width_mm("V1", 128 * 28 * 28, 36.75)
    1.626
    >>> round(scaled_neighborhood_width_mm("V1", 32 * 16 * 16, 36.75), 3)
    5.691
    """
    factor = max(1.0, np.sqrt(AREA_REFERENCE_UNITS[area] / n_units))
    return float(min(AREA_NEIGHBORHOOD_WIDTH_MM[area] * factor, sheet_size_mm))


def default_sheets(
    layer_shapes: Mapping[str, tuple[int, int, int]],
    layer_areas: Mapping[str, str],
    *,
    rng: np.random.Generator,
    scale_neighborhoods: bool = True,
) -> dict[str, LayerPositions]:
    """Retinotopic sheets for every layer, sized by its area (``AREA_*`` tables).

    Layers are initialised in the iteration order of ``layer_shapes``, all drawing from the
    one ``rng``; the same order and seed give the same sheets. With
    ``scale_neighborhoods`` the neighbourhood width follows
    :func:`scaled_neighborhood_width_mm`; otherwise it is TDANN's width for the area.

    Examples
    --------
    >>> sheets = default_sheets({"IT": (512, 7, 7)}, {"IT": "IT"},
    ...                         rng=np.random.default_rng(424))
    >>> sheets["IT"].sheet_size_mm
    70.0
    """
    sheets: dict[str, LayerPositions] = {}
    for layer, shape in layer_shapes.items():
        if layer not in layer_areas:
            raise InputError(f"default_sheets: layer {layer!r} has no entry in layer_areas")
        area = layer_areas[layer]
        if area not in AREA_SHEET_SIZE_MM:
            raise InputError(
                f"default_sheets: unknown area {area!r} for layer {layer!r}; "
                f"valid areas: {list(AREA_SHEET_SIZE_MM)}"
            )
        size_mm = AREA_SHEET_SIZE_MM[area]
        n_units = int(np.prod(shape))
        width_mm = (scaled_neighborhood_width_mm(area, n_units, size_mm) if scale_neighborhoods
                    else AREA_NEIGHBORHOOD_WIDTH_MM[area])
        sheets[layer] = retinotopic_positions(layer, shape, size_mm, width_mm, rng=rng, area=area)
    return sheets
