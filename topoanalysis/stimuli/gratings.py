"""Full-field sine gratings on the TDANN parameter grid (METHODS section 2.4).

The official TDANN grating set is 8 orientations x 8 spatial frequencies x 5 phases x
2 colours = 640 images. Its images are pre-rendered files, so this module renders the
same grid from the formula instead; the parameters match the published values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from .base import StimulusSet

DEFAULT_ORIENTATIONS_DEG = np.linspace(0, 180, 9)[:-1]
DEFAULT_PHASES_RAD = np.linspace(0, 2 * np.pi, 6)[:-1]
TDANN_CYCLES_PER_IMAGE = np.linspace(5.5, 110, 9)[:-1]
"""TDANN's spatial frequencies in cycles per 224-px image (``spacetorch DEFAULT_SFS``)."""
COLORS = ("bw", "red_cyan")

_TDANN_IMAGE_SIZE_PX = 224


def default_sfs_cpd(image_size_px: int, degrees: float) -> np.ndarray:
    """TDANN's eight spatial frequencies in cycles per degree for a given image.

    TDANN renders 5.5 ... 96.94 cycles per 224-px image spanning 8 degrees, which is
    0.69 ... 12.12 cpd. For another image size the cycles per image are scaled by
    ``image_size_px / 224``, so every frequency stays at the same fraction of the
    Nyquist limit (``image_size_px / 2`` cycles per image) as in TDANN; a 32-px
    image therefore gets lower frequencies than a 224-px one at the same ``degrees``.

    Parameters
    ----------
    image_size_px : int
        Image width (and height) in pixels.
    degrees : float
        Visual degrees spanned by the image width.

    Returns
    -------
    numpy.ndarray
        Eight frequencies in cycles per degree, ascending.

    Examples
    --------
    >>> default_sfs_cpd(224, 8.0).round(2)
    array([ 0.69,  2.32,  3.95,  5.59,  7.22,  8.85, 10.48, 12.12])
    """
    return TDANN_CYCLES_PER_IMAGE * (image_size_px / _TDANN_IMAGE_SIZE_PX) / degrees


def nyquist_cpd(image_size_px: int, degrees: float) -> float:
    """Highest frequency (cycles per degree) an image of this size can represent.

    Examples
    --------
    >>> nyquist_cpd(224, 8.0)
    14.0
    """
    return image_size_px / (2.0 * degrees)


def _as_1d(values, name: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise InputError(f"{name} must be a non-empty 1-D list of numbers, got {values!r}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be finite, got {arr.tolist()}")
    if np.unique(arr).size != arr.size:
        raise InputError(f"{name} contains duplicate values: {arr.tolist()}; pass each value once")
    return arr


def _pixel_centres_deg(image_size_px: int, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """x (to the right) and y (up) of the pixel centres, in degrees, as (1, W) and (H, 1)."""
    pitch_deg = degrees / image_size_px
    centres = (np.arange(image_size_px) + 0.5 - image_size_px / 2.0) * pitch_deg
    return centres[None, :], -centres[:, None]  # row 0 is the top of the image


def make_sine_gratings(
    image_size_px: int = 224,
    degrees: float = 8.0,
    *,
    orientations_deg: Sequence[float] = DEFAULT_ORIENTATIONS_DEG,
    sfs_cpd: Sequence[float] | None = None,
    phases_rad: Sequence[float] = DEFAULT_PHASES_RAD,
    colors: Sequence[str] = COLORS,
    contrast: float = 1.0,
) -> StimulusSet:
    """Render full-field sine gratings on an orientation x SF x phase x colour grid.

    Pixel centres sit at ``x, y`` in degrees on ``[-degrees/2, degrees/2]`` with x to
    the right and y up (pixel pitch ``degrees / image_size_px``). Each image is
    ``g = 0.5 + 0.5 * contrast * sin(2*pi*f*(x*cos(theta) + y*sin(theta)) + phase)``:
    orientation 0 deg has its wave vector along +x (vertical stripes) and larger
    orientations turn the wave vector counter-clockwise as seen in the image.
    ``"bw"`` images are ``(g, g, g)``; ``"red_cyan"`` images are ``(g, 1-g, 1-g)``.

    Parameters
    ----------
    image_size_px : int, default 224
        Width and height in pixels (at least 8).
    degrees : float, default 8.0
        Visual degrees spanned by the image width.
    orientations_deg : sequence of float, default 0, 22.5, ..., 157.5
        Wave-vector directions in degrees.
    sfs_cpd : sequence of float, optional
        Spatial frequencies in cycles per degree, each below :func:`nyquist_cpd`.
        Default :func:`default_sfs_cpd` (0.69 ... 12.12 cpd at 224 px and 8 deg).
    phases_rad : sequence of float, default 0, 2*pi/5, ..., 8*pi/5
        Phase offsets in radians.
    colors : sequence of str, default ("bw", "red_cyan")
        Colour schemes, a subset of :data:`COLORS`.
    contrast : float, default 1.0
        Michelson contrast in ``(0, 1]``.

    Returns
    -------
    StimulusSet
        Named ``"sine_gratings"``; image order is orientation (outermost), SF, phase,
        colour. Labels: ``stimulus_id``, ``orientation_deg``, ``sf_cpd``, ``sf_index``,
        ``phase_rad``, ``color`` and ``color_index`` (0 for ``"bw"``, 1 for colour).

    Raises
    ------
    ValueError
        For an SF at or above the Nyquist limit, a non-positive SF, an empty grid,
        a contrast outside ``(0, 1]``, an unknown colour or ``image_size_px < 8``.

    Examples
    --------
    >>> s = make_sine_gratings(32, 8.0, orientations_deg=[0, 90], phases_rad=[0])
    >>> len(s), s.images.shape[1:]
    (32, (32, 32, 3))
    >>> s.labels.stimulus_id[0]
    'grating_o000.0_sf0.10_p0.00_bw'
    """
    if isinstance(image_size_px, (bool, np.bool_)) or int(image_size_px) != image_size_px:
        raise InputError(f"image_size_px must be an integer, got {image_size_px!r}")
    image_size_px = int(image_size_px)
    if image_size_px < 8:
        raise InputError(f"image_size_px must be at least 8, got {image_size_px}; pass a larger image")
    if not (np.isfinite(degrees) and degrees > 0):
        raise InputError(f"degrees must be a positive number, got {degrees!r}")
    if not (0.0 < contrast <= 1.0):
        raise InputError(f"contrast must be in (0, 1], got {contrast!r}; pass e.g. contrast=1.0")

    orientations = _as_1d(orientations_deg, "orientations_deg")
    phases = _as_1d(phases_rad, "phases_rad")
    sfs = default_sfs_cpd(image_size_px, degrees) if sfs_cpd is None else _as_1d(sfs_cpd, "sfs_cpd")
    if np.any(sfs <= 0):
        raise InputError(
            f"sfs_cpd must all be > 0 cycles per degree, got {sfs.tolist()}; pass positive frequencies"
        )
    limit_cpd = nyquist_cpd(image_size_px, degrees)
    too_high = sfs[sfs >= limit_cpd]
    if too_high.size:
        raise InputError(
            f"sfs_cpd {too_high.round(3).tolist()} are at or above the Nyquist limit of "
            f"{limit_cpd:.3f} cpd for a {image_size_px}-px image spanning {degrees} degrees; "
            "pass a larger image_size_px, fewer degrees, or lower frequencies"
        )
    if isinstance(colors, str):
        colors = (colors,)
    colors = tuple(colors)
    if not colors:
        raise InputError(f"colors must be a non-empty list drawn from {COLORS}")
    unknown = [c for c in colors if c not in COLORS]
    if unknown:
        raise InputError(f"unknown colors {unknown}; valid colors are {list(COLORS)}")
    if len(set(colors)) != len(colors):
        raise InputError(f"colors contains duplicates: {list(colors)}; pass each colour once")

    n_ori, n_sf, n_ph, n_col = len(orientations), len(sfs), len(phases), len(colors)
    per_ori = n_sf * n_ph * n_col
    images = np.empty((n_ori * per_ori, image_size_px, image_size_px, 3), dtype=np.uint8)
    x_deg, y_deg = _pixel_centres_deg(image_size_px, degrees)
    color_is_red_cyan = np.array([c == "red_cyan" for c in colors])
    for i, theta_rad in enumerate(np.deg2rad(orientations)):
        along_deg = x_deg * np.cos(theta_rad) + y_deg * np.sin(theta_rad)  # (H, W)
        # (sf, phase, H, W): the argument in float64 for accuracy, the rest in float32
        arg = 2 * np.pi * sfs[:, None, None, None] * along_deg + phases[None, :, None, None]
        g = np.sin(arg.astype(np.float32))
        g *= np.float32(0.5 * contrast * 255.0)
        g += np.float32(0.5 * 255.0)
        grey = np.rint(np.clip(g, 0.0, 255.0)).astype(np.uint8)  # (sf, phase, H, W)
        inverse = 255 - grey
        chunk = np.empty((n_sf, n_ph, n_col, image_size_px, image_size_px, 3), dtype=np.uint8)
        chunk[..., 0] = grey[:, :, None]
        chunk[..., 1] = np.where(color_is_red_cyan[:, None, None], inverse[:, :, None], grey[:, :, None])
        chunk[..., 2] = chunk[..., 1]
        images[i * per_ori : (i + 1) * per_ori] = chunk.reshape(per_ori, *chunk.shape[3:])

    o_idx, s_idx, p_idx, c_idx = (a.ravel() for a in np.indices((n_ori, n_sf, n_ph, n_col)))
    labels = pd.DataFrame(
        {
            "orientation_deg": orientations[o_idx],
            "sf_cpd": sfs[s_idx],
            "sf_index": s_idx.astype(np.int64),
            "phase_rad": phases[p_idx],
            "color": [colors[c] for c in c_idx],
            "color_index": np.array([COLORS.index(colors[c]) for c in c_idx], dtype=np.int64),
        }
    )
    ids = [
        f"grating_o{o:05.1f}_sf{f:.2f}_p{p:.2f}_{c}"
        for o, f, p, c in zip(labels.orientation_deg, labels.sf_cpd, labels.phase_rad, labels.color)
    ]
    if len(set(ids)) != len(ids):  # values closer than the printed precision
        ids = [f"{s}_{k:05d}" for k, s in enumerate(ids)]
    labels.insert(0, "stimulus_id", ids)
    return StimulusSet("sine_gratings", images, labels, float(degrees))
