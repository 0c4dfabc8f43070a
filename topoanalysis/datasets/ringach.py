"""The orientation-tuning database of macaque V1 (Ringach, Shapley & Hawken 2002).

Ringach, Shapley & Hawken (2002), J Neurosci 22(13):5639, measured 308 V1 cells with
drifting gratings. Their database, ``ringach_2002_db.mat``, is the reference behind
Brain-Score's V1 orientation benchmarks (Marques et al. 2021). It is found by the data resolver
(``ringach2002/`` in a data folder) and loaded as a table; the comparison with model
distributions is :mod:`topoanalysis.metrics.ringach`.

Conventions of the file. ``bw`` is the half-width at ``1/sqrt(2)`` of the peak, in
degrees; untuned cells are coded as 180 deg (four cells). The field ``po`` is *not* a
preferred orientation: it is the ratio of the response at the orthogonal orientation to the
response at the preferred one (Brain-Score packages it as
``orthogonal_preferred_ratio``). It lies in [0, 1), piles up near 0, and its rank
correlation with circular variance is 0.94; it is loaded as
``orthogonal_preferred_ratio``. The file holds no preferred orientations.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..datafiles import read_mat
from ..errors import InputError
from .resolver import DATA_SETS, find_data_file

RINGACH_FILENAME = f"{DATA_SETS['ringach']}/ringach_2002_db.mat"

_FIELDS = {"orivar": "circular_variance", "bw": "bandwidth_deg", "po": "orthogonal_preferred_ratio",
           "maxdc": "maxdc_sps", "mindc": "mindc_sps", "maxfirst": "maxfirst_sps", "spont": "spont_sps",
           "animal": "animal", "unit": "unit", "expt": "expt", "chan": "chan"}


def find_ringach_file(path: str | os.PathLike | None = None) -> Path:
    """Locate ``ringach_2002_db.mat``.

    Parameters
    ----------
    path
        The file itself, or a folder holding ``ringach_2002_db.mat`` or
        ``ringach2002/ringach_2002_db.mat``. When None, look under
        ``$TOPOANALYSIS_DATA`` and then under the shared data folder.

    Raises
    ------
    FileNotFoundError
        Listing every place tried.

    Examples
    --------
    >>> find_ringach_file().name  # doctest: +SKIP
    'ringach_2002_db.mat'
    """
    return find_data_file(RINGACH_FILENAME, path, what="Ringach 2002 database", flag="--ringach")


def load_ringach2002(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per cell of Ringach et al. (2002), with rates in spikes/s.

    Columns: ``circular_variance``, ``bandwidth_deg`` (180 marks untuned cells),
    ``orthogonal_preferred_ratio`` (the file's ``po``, see the module docstring),
    ``maxdc_sps``, ``mindc_sps``, ``maxfirst_sps``, ``spont_sps``, ``animal``,
    ``unit``, ``expt``, ``chan``.

    Raises
    ------
    ValueError
        If the file holds no ``db`` struct or the struct lacks a field.

    Examples
    --------
    >>> load_ringach2002().shape  # doctest: +SKIP
    (308, 11)
    """
    file = find_ringach_file(path)
    mat = read_mat(file, what="Ringach 2002 database", squeeze_me=True, struct_as_record=False)
    if "db" not in mat:
        raise InputError(f"{file} holds no 'db' struct (variables: {sorted(k for k in mat if not k.startswith('__'))})")
    db = mat["db"]
    present = set(getattr(db, "_fieldnames", None) or [])
    missing = [f for f in _FIELDS if f not in present]
    if missing:
        raise InputError(f"{file}: 'db' lacks field(s) {missing}")
    columns = {name: np.atleast_1d(getattr(db, field)) for field, name in _FIELDS.items()}
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1:
        raise InputError(f"{file}: 'db' fields differ in length ({sorted(lengths)})")
    df = pd.DataFrame(columns)
    for name in ("unit", "expt", "chan"):
        df[name] = df[name].astype(np.int64)
    df["animal"] = df["animal"].astype(str)
    float_cols = [c for c in df.columns if c not in ("animal", "unit", "expt", "chan")]
    df[float_cols] = df[float_cols].astype(np.float64)
    return df
