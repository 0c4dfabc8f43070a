"""Unit positions on a layer's virtual cortical sheet, and how they are stored.

Sheet sizes and neighbourhood widths are the human-scale values of TDANN's
``spacetorch/constants.py`` (retina 2.4, V1 36.75, V2 35.0, V4 22.4, IT/VTC 70.0 mm), the
numbers TDSNN quotes. TDANN's published models were probably trained on sheets 0.6/1.5/1.75/1.4/7
times smaller and only rescaled for analysis, and since the 1/(d+1) target is not scale invariant
we use this one scale for initialisation, training and analysis alike.
"""

from __future__ import annotations

import dataclasses
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataNotFoundError, InputError
from ..paths import atomic_path

__all__ = [
    "AREA_SHEET_SIZE_MM",
    "AREA_NEIGHBORHOOD_WIDTH_MM",
    "LayerPositions",
    "save_sheets",
    "load_sheets",
]

AREA_SHEET_SIZE_MM: dict[str, float] = {"retina": 2.4, "V1": 36.75, "V2": 35.0, "V4": 22.4, "IT": 70.0}
AREA_NEIGHBORHOOD_WIDTH_MM: dict[str, float] = {
    "retina": 0.0475, "V1": 1.626, "V2": 3.977, "V4": 2.545, "IT": 31.818,
}

_FIELDS = ("layer", "shape_chw", "xy_mm", "sheet_size_mm", "neighborhood_width_mm", "area")
_BOUNDS_TOL_MM = 1e-4


@dataclass(frozen=True, eq=False, repr=False)
class LayerPositions:
    """Positions (mm) of every unit of one layer on its square cortical sheet.

    Parameters
    ----------
    layer : str
        Layer name (a ``named_modules()`` path of the network).
    shape_chw : tuple of int
        ``(C, H, W)`` of the layer's feature map (without batch or time dimensions).
    xy_mm : numpy.ndarray
        ``(C*H*W, 2)`` positions; row ``i`` is unit ``i`` of ``torch.flatten(x, 1)`` for a
        feature map ``x`` of shape ``(B, C, H, W)``, i.e. ``i = c*H*W + h*W + w``. Stored as a
        read-only float32 copy; must be finite, inside ``[0, sheet_size_mm]`` and injective.
    sheet_size_mm : float
        Side of the square sheet.
    neighborhood_width_mm : float
        Side of the square neighbourhoods used by the spatial loss.
    area : str, optional
        Cortical area, e.g. ``"V1"``.

    Examples
    --------
    >>> p = LayerPositions("toy", (1, 1, 2), np.array([[0.0, 0.0], [1.0, 1.0]]), 2.0, 1.0)
    >>> p.n_units, p.col.tolist()
    (2, [0, 1])
    """

    layer: str
    shape_chw: tuple[int, int, int]
    xy_mm: np.ndarray
    sheet_size_mm: float
    neighborhood_width_mm: float
    area: str = ""

    def __post_init__(self) -> None:
        name = f"LayerPositions {self.layer!r}"
        if not isinstance(self.layer, str) or not self.layer:
            raise InputError(f"{name}: layer must be a non-empty str")
        shape = self.shape_chw
        if (not isinstance(shape, (tuple, list, np.ndarray)) or len(shape) != 3
                or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
                           for v in shape)):
            raise InputError(f"{name}: shape_chw must be 3 positive ints (C, H, W), got {shape!r}")
        shape = tuple(int(v) for v in shape)
        object.__setattr__(self, "shape_chw", shape)
        object.__setattr__(self, "area", str(self.area))
        for field in ("sheet_size_mm", "neighborhood_width_mm"):
            value = getattr(self, field)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InputError(f"{name}: {field} must be a number, got {value!r}") from None
            if not (np.isfinite(value) and value > 0):
                raise InputError(f"{name}: {field} must be finite and > 0, got {value}")
            object.__setattr__(self, field, value)

        try:
            xy = np.array(self.xy_mm, dtype=np.float32, copy=True)
        except (TypeError, ValueError) as err:
            raise InputError(f"{name}: xy_mm is not a numeric array ({err})") from None
        n_units = shape[0] * shape[1] * shape[2]
        if xy.shape != (n_units, 2):
            raise InputError(
                f"{name}: xy_mm must have shape (C*H*W, 2) = ({n_units}, 2) for shape_chw "
                f"{shape}, got {xy.shape}"
            )
        if not np.all(np.isfinite(xy)):
            bad = int(np.flatnonzero(~np.isfinite(xy).all(axis=1))[0])
            raise InputError(f"{name}: xy_mm has non-finite values (first at unit {bad})")
        size = self.sheet_size_mm
        outside = (xy < -_BOUNDS_TOL_MM) | (xy > size + _BOUNDS_TOL_MM)
        if outside.any():
            bad = int(np.flatnonzero(outside.any(axis=1))[0])
            raise InputError(
                f"{name}: xy_mm must lie within [0, {size}] mm; unit {bad} is at "
                f"{xy[bad].tolist()} ({int(outside.any(axis=1).sum())} units outside)"
            )
        unique_rows = np.unique(xy, axis=0)
        if len(unique_rows) != n_units:
            raise InputError(
                f"{name}: positions must be injective, but {n_units - len(unique_rows)} units "
                "share a position with another unit"
            )
        xy.flags.writeable = False
        object.__setattr__(self, "xy_mm", xy)

    # ------------------------------------------------------------------ indexing helpers
    @property
    def n_units(self) -> int:
        """Number of units ``C*H*W``."""
        return self.xy_mm.shape[0]

    def _chw_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        _, h, w = self.shape_chw
        flat = np.arange(self.n_units, dtype=np.int64)
        return flat // (h * w), (flat // w) % h, flat % w

    @property
    def channel(self) -> np.ndarray:
        """Channel ``c`` of every unit, in flattening order (int64, length N)."""
        return self._chw_index()[0]

    @property
    def row(self) -> np.ndarray:
        """Spatial row ``h`` of every unit, in flattening order (int64, length N)."""
        return self._chw_index()[1]

    @property
    def col(self) -> np.ndarray:
        """Spatial column ``w`` of every unit, in flattening order (int64, length N)."""
        return self._chw_index()[2]

    # ------------------------------------------------------------------ equality / repr
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LayerPositions):
            return NotImplemented
        return (self.layer == other.layer and self.shape_chw == other.shape_chw
                and self.sheet_size_mm == other.sheet_size_mm
                and self.neighborhood_width_mm == other.neighborhood_width_mm
                and self.area == other.area and np.array_equal(self.xy_mm, other.xy_mm))

    __hash__ = None  # type: ignore[assignment]  # mutable-content array field

    def __repr__(self) -> str:
        return (f"LayerPositions(layer={self.layer!r}, area={self.area!r}, "
                f"shape_chw={self.shape_chw}, n_units={self.n_units}, "
                f"sheet_size_mm={self.sheet_size_mm}, "
                f"neighborhood_width_mm={self.neighborhood_width_mm})")

    # ------------------------------------------------------------------ conversion
    def with_xy(self, new_xy_mm: np.ndarray) -> LayerPositions:
        """A validated copy with positions ``new_xy_mm`` (e.g. after swap optimisation)."""
        return dataclasses.replace(self, xy_mm=new_xy_mm)

    def to_arrays(self) -> dict[str, Any]:
        """Plain values: ``layer``/``area`` as str, sizes as float, ``shape_chw`` (int64, 3)
        and ``xy_mm`` (float32, N x 2) as writable numpy copies.

        ``torch.load(..., weights_only=True)`` (torch >= 2.6) rejects numpy arrays; to put the
        result in such a checkpoint, convert the two arrays with ``torch.from_numpy`` first.
        :meth:`from_arrays` accepts tensors as well as arrays.
        """
        return {
            "layer": self.layer,
            "shape_chw": np.asarray(self.shape_chw, dtype=np.int64),
            "xy_mm": np.array(self.xy_mm, dtype=np.float32, copy=True),
            "sheet_size_mm": float(self.sheet_size_mm),
            "neighborhood_width_mm": float(self.neighborhood_width_mm),
            "area": self.area,
        }

    @classmethod
    def from_arrays(cls, d: Mapping[str, Any], *, source: str = "arrays") -> LayerPositions:
        """Inverse of :meth:`to_arrays`; values may be numpy arrays, 0-d arrays, tensors or
        Python scalars. ``source`` names the origin in error messages."""
        missing = [k for k in _FIELDS if k not in d]
        if missing:
            raise InputError(f"{source}: missing keys {missing} (need {list(_FIELDS)})")
        return cls(
            layer=str(np.asarray(d["layer"]).item()),
            shape_chw=tuple(int(v) for v in np.asarray(d["shape_chw"]).reshape(-1)),
            xy_mm=np.asarray(d["xy_mm"]),
            sheet_size_mm=float(np.asarray(d["sheet_size_mm"]).item()),
            neighborhood_width_mm=float(np.asarray(d["neighborhood_width_mm"]).item()),
            area=str(np.asarray(d["area"]).item()),
        )

    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` file at exactly ``path`` (atomically: temp file + ``os.replace``)."""
        _atomic_savez(path, self.to_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike) -> LayerPositions:
        """Read a file written by :meth:`save`."""
        return cls.from_arrays(_read_npz(path), source=f"positions file {os.fspath(path)!r}")


def save_sheets(path: str | os.PathLike, sheets: Mapping[str, LayerPositions]) -> None:
    """Write several layers to one ``.npz`` (keys ``"<layer>/<field>"``), atomically.

    Examples
    --------
    >>> save_sheets("sheets.npz", {p.layer: p})          # doctest: +SKIP
    >>> load_sheets("sheets.npz")["toy"] == p             # doctest: +SKIP
    True
    """
    arrays: dict[str, Any] = {"__layers__": np.asarray(list(sheets), dtype=str)}
    for name, sheet in sheets.items():
        if not isinstance(sheet, LayerPositions):
            raise InputError(f"save_sheets: value for {name!r} is not a LayerPositions")
        if name != sheet.layer:
            raise InputError(f"save_sheets: key {name!r} differs from sheet.layer {sheet.layer!r}")
        for key, value in sheet.to_arrays().items():
            arrays[f"{name}/{key}"] = value
    _atomic_savez(path, arrays)


def load_sheets(path: str | os.PathLike) -> dict[str, LayerPositions]:
    """Read a file written by :func:`save_sheets`; layers come back in the saved order."""
    data = _read_npz(path)
    source = f"sheets file {os.fspath(path)!r}"
    if "__layers__" not in data:
        raise InputError(f"{source}: missing key '__layers__' (not written by save_sheets?)")
    sheets: dict[str, LayerPositions] = {}
    for name in np.atleast_1d(data["__layers__"]).tolist():
        fields = {k: data[f"{name}/{k}"] for k in _FIELDS if f"{name}/{k}" in data}
        sheets[name] = LayerPositions.from_arrays(fields, source=f"{source}, layer {name!r}")
    return sheets


def _atomic_savez(path: str | os.PathLike, arrays: Mapping[str, Any]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})


def _read_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"positions file not found: {os.fspath(path)!r}")
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise InputError("not an .npz archive")
        with npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(f"cannot read positions file {os.fspath(path)!r}: {err}") from None
