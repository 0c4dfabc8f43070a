"""Recorded responses on disk and by layer, without torch: what the metrics read.

A recording is the ``xarray.Dataset`` that :func:`topoanalysis.running.recording.record` returns
(``responses`` over stimulus x unit, each unit's layer and sheet position as coords).
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import numpy as np
import xarray as xr

from .errors import DataNotFoundError, InputError
from .paths import atomic_path


def layer_responses(ds: xr.Dataset, layer: str) -> xr.DataArray:
    """The ``responses`` of one layer, with a clear error listing the recorded layers."""
    recorded = list(dict.fromkeys(ds["layer"].values.tolist()))
    if layer not in recorded:
        raise InputError(f"layer {layer!r} was not recorded; recorded layers: {', '.join(recorded)}")
    return ds["responses"].isel(unit=np.flatnonzero(ds["layer"].values == layer))


def save_responses(ds: xr.Dataset, path) -> None:
    """Write a recording to NetCDF atomically, zlib-compressed (spike rates compress well)."""
    encoding = {name: {"zlib": True, "complevel": 4, "shuffle": True} for name in ds.data_vars}
    try:
        with atomic_path(path) as tmp:  # removes the part written when writing fails
            ds.to_netcdf(tmp, encoding=encoding)
    except (OSError, RuntimeError) as exc:  # netCDF4 reports a full disk as RuntimeError("NetCDF: HDF error")
        if isinstance(exc, RuntimeError) and "NetCDF" not in str(exc):
            raise
        free = shutil.disk_usage(Path(path).absolute().parent).free
        full = getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or free < ds.nbytes
        if not full:
            raise
        raise OSError(f"cannot write {path}: the disk is full ({free / 2**20:.0f} MiB free; "
                      f"{type(exc).__name__}: {str(exc)[:100]}); nothing was kept. Free some space or pass --out on "
                      "another disk") from None


def load_responses(path) -> xr.Dataset:
    """Read a recording written by :func:`save_responses` (fully into memory)."""
    if not Path(path).is_file():
        raise DataNotFoundError(f"recording not found: {path}; create one with `topoanalysis record`")
    with xr.open_dataset(path) as ds:
        return ds.load()
