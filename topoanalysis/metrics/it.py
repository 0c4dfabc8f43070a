"""The IT analysis of one layer: fLoc selectivity maps, patches, overlap, smoothness (paper Fig. 4).

:func:`it_analysis` takes a recording of the fLoc images (and optionally of the 92-image
set) and returns an :class:`ITResult`. Every parameter lives in :class:`ITParams`; the
defaults are TDANN's (METHODS 2.6, 2.8-2.10) unless noted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import InputError
from ..responses import layer_responses
from ..stimuli.floc import FLOC_DOMAINS
from .activity import require_active
from .overlap import OVERLAP_METHODS, colocalization_contrast, overlap_table, tmap_correlation_contrast
from .patches import PatchParams, find_patches
from .selectivity import domain_t_values, welch_t
from .spatial import smoothness

DOMAINS = tuple(FLOC_DOMAINS)
GENERALIZATION_DOMAINS = {"faces": "face", "bodies": "body"}
"""fLoc domain -> the 92-image set's label column for the same category."""


@dataclass(frozen=True)
class ITParams:
    """Parameters of the IT analysis.

    ``min_mean_response`` replaces TDANN's "mean response > 0.5" unit filter for the
    smoothness samples: that threshold is on ReLU activations, while spike rates are in
    [0, 1] per step, so the default keeps every unit that responds at all [I].

    ``overlap_window_mm`` is TDANN's 7 mm; with ``widen_sparse_windows`` a layer too sparse
    for it gets the smallest window whose average holds ``2 * overlap_min_units`` units
    (a 224-px ResNet-18's last block and the bundled 2,048-unit layer keep 7 mm).
    ``overlap_window_placement``: "tdann" (TDANN's evenly spread windows) or "grid" (tiles
    from 0), see :mod:`topoanalysis.metrics.overlap`.

    The overlap claim (faces-bodies minus characters-places) gets intervals and nulls:
    ``overlap_bootstrap`` resamples of the co-localisation windows and ``overlap_shuffles``
    position shuffles (:func:`~topoanalysis.metrics.overlap.colocalization_contrast`);
    ``tmap_bootstrap`` image resamples and ``tmap_shuffles`` label shuffles for the non-spatial
    t-map correlation (:func:`~topoanalysis.metrics.overlap.tmap_correlation_contrast`).
    """

    patch: PatchParams = field(default_factory=PatchParams)
    t_ddof: int = 0
    selective_t: float = 4.0
    overlap_window_mm: float = 7.0
    overlap_window_placement: str = "tdann"
    overlap_min_units: int = 6
    widen_sparse_windows: bool = True
    min_mean_response: float = 0.0
    min_responsive_units: int = 10
    n_samples: int = 25
    sample_size: int = 500
    distance_cutoff_mm: float = 60.0
    n_distance_bins: int = 9
    overlap_bootstrap: int = 1000
    overlap_shuffles: int = 200
    tmap_bootstrap: int = 100
    tmap_shuffles: int = 100

    def overlap_window_for(self, n_units: int, sheet_area_mm2: float) -> float:
        """The co-localisation window applied to a layer of ``n_units`` on ``sheet_area_mm2``."""
        if not self.widen_sparse_windows:
            return self.overlap_window_mm
        return float(max(self.overlap_window_mm, np.sqrt(2 * self.overlap_min_units * sheet_area_mm2 / n_units)))

    def __post_init__(self) -> None:
        if self.t_ddof not in (0, 1):
            raise InputError(f"t_ddof must be 0 (TDANN) or 1; got {self.t_ddof}")
        if self.overlap_window_placement not in ("tdann", "grid"):
            raise InputError(f"overlap_window_placement must be 'tdann' or 'grid'; got "
                             f"{self.overlap_window_placement!r}")
        if not (self.distance_cutoff_mm > 0 and self.overlap_window_mm > 0):
            raise InputError("distance_cutoff_mm and overlap_window_mm must be positive")
        for name in ("overlap_bootstrap", "overlap_shuffles", "tmap_bootstrap", "tmap_shuffles"):
            if getattr(self, name) < 2:
                raise InputError(f"{name} must be >= 2 (an interval needs replicates), got {getattr(self, name)}")


@dataclass(frozen=True)
class ITResult:
    """Everything :func:`it_analysis` measured on one layer."""

    layer: str
    params: ITParams
    tvalues: pd.DataFrame
    patches: pd.DataFrame
    outlines: list
    smoothness: pd.DataFrame
    selectivity_curves: pd.DataFrame
    overlap: pd.DataFrame
    generalization: pd.DataFrame | None
    summary: dict
    overlap_contrast: pd.DataFrame | None = None

    def parameters(self) -> dict:
        return asdict(self.params)


def _unit_table(responses: xr.DataArray) -> pd.DataFrame:
    return pd.DataFrame({name: responses[name].values for name in ("layer", "channel", "row", "col", "x_mm", "y_mm")
                         if name in responses.coords})


def floc_selectivity(responses: xr.DataArray, params: ITParams = ITParams()) -> pd.DataFrame:
    """One row per unit: position, ``t_<domain>`` for the five fLoc domains, ``silent``, mean response."""
    if "time" in responses.dims:
        responses = responses.mean("time")
    if "domain" not in responses.coords:
        raise InputError("these responses have no 'domain' stimulus labels; record the fLoc images "
                         "(topoanalysis record --stimulus-set floc)")
    values = responses.transpose("stimulus", "unit").values
    domains = responses["domain"].values.astype(str)
    keep = domains != "scrambled"  # TDANN drops the scrambled baseline
    table = _unit_table(responses)
    t_values = domain_t_values(values[keep], domains[keep], contrasts=DOMAINS, ddof=params.t_ddof)
    table = pd.concat([table, t_values], axis=1)
    table["mean_response"] = values[keep].mean(axis=0)
    return table


def _smoothness_tables(tvalues: pd.DataFrame, params: ITParams, rng: np.random.Generator):
    """Smoothness of every domain's t-map and the |difference in t| vs distance curves."""
    usable = (~tvalues["silent"] & (tvalues["mean_response"] > params.min_mean_response)).to_numpy()
    if usable.sum() < 2:
        raise InputError(f"only {int(usable.sum())} units respond above min_mean_response="
                         f"{params.min_mean_response}; lower it or pick another layer")
    xy_mm = tvalues[["x_mm", "y_mm"]].to_numpy()[usable]
    edges = np.linspace(0.0, params.distance_cutoff_mm, params.n_distance_bins + 1)
    rows, curves = [], []
    for domain in DOMAINS:
        result = smoothness(tvalues[f"t_{domain}"].to_numpy()[usable], xy_mm, edges, rng=rng,
                            n_samples=params.n_samples, sample_size=params.sample_size)
        rows.append({"domain": domain, **result.summary()})
        curves.append(result.curve_table(domain=domain))
    return pd.DataFrame(rows), pd.concat(curves, ignore_index=True)


def _patch_tables(tvalues: pd.DataFrame, params: ITParams) -> tuple[pd.DataFrame, list, dict]:
    tables, outlines, members = [], [], {}
    x, y = tvalues["x_mm"].to_numpy(), tvalues["y_mm"].to_numpy()
    for domain in DOMAINS:
        found = find_patches(x, y, tvalues[f"t_{domain}"].to_numpy(), params.patch)
        tables.append(found.table.assign(domain=domain))
        outlines += list(found.outlines)
        members[domain] = found.members
    table = pd.concat(tables, ignore_index=True)
    table["patch"] = np.arange(len(table))
    return table[["patch", "domain"] + [c for c in table.columns if c not in ("patch", "domain")]], outlines, members


def _spread(values: np.ndarray) -> dict:
    """Mean, SD and 95 % percentile interval of the finite values (NaN when fewer than two)."""
    finite = values[np.isfinite(values)]
    if finite.size < 2:
        return {"mean": np.nan, "sd": np.nan, "low": np.nan, "high": np.nan}
    return {"mean": float(finite.mean()), "sd": float(finite.std(ddof=1)),
            "low": float(np.percentile(finite, 2.5)), "high": float(np.percentile(finite, 97.5))}


def _interval_row(method: str, value: float, bootstrap: np.ndarray, null: np.ndarray, null_kind: str,
                  position_free: bool, resampled: str, n_resampled: int, undefined_because: str = "") -> dict:
    boot, shuffled = _spread(bootstrap), _spread(null)
    return {"method": method, "statistic": "faces-bodies minus characters-places", "value": value,
            "se": boot["sd"], "ci_low": boot["low"], "ci_high": boot["high"], "n_bootstrap": len(bootstrap),
            "resampled": resampled, "n_resampled": n_resampled, "null_kind": null_kind,
            "null_mean": shuffled["mean"], "null_sd": shuffled["sd"], "n_null": len(null),
            "position_shuffle_mean": value if position_free else shuffled["mean"],
            "uses_positions": not position_free, "undefined_because": undefined_because}


def _overlap_contrast(responses: xr.DataArray, tvalues: pd.DataFrame, params: ITParams, window_mm: float,
                      rng: np.random.Generator) -> pd.DataFrame:
    """The overlap claim's statistic by the spatial measure (co-localisation: window bootstrap, position-shuffle
    null) and by its non-spatial companion (t-map correlation: image bootstrap, label-shuffle null)."""
    columns = np.stack([tvalues[f"t_{d}"].to_numpy() for d in DOMAINS], axis=1)
    coloc = colocalization_contrast(columns, tvalues[["x_mm", "y_mm"]].to_numpy(), DOMAINS, rng=rng,
                                    n_bootstrap=params.overlap_bootstrap, n_shuffles=params.overlap_shuffles,
                                    window_mm=window_mm, min_units=params.overlap_min_units,
                                    threshold=params.selective_t, placement=params.overlap_window_placement)
    if "time" in responses.dims:
        responses = responses.mean("time")
    domains = responses["domain"].values.astype(str)
    keep = domains != "scrambled"
    tmap = tmap_correlation_contrast(responses.transpose("stimulus", "unit").values[keep], domains[keep], DOMAINS,
                                     rng=rng, n_bootstrap=params.tmap_bootstrap, n_shuffles=params.tmap_shuffles,
                                     ddof=params.t_ddof)
    return pd.DataFrame([
        _interval_row("colocalization", coloc["value"], coloc["bootstrap"], coloc["shuffle"], "position shuffle",
                      False, "windows", coloc["n_windows"], "; ".join(coloc["mapless"])),
        _interval_row("tmap_pearson", tmap["value"], tmap["bootstrap"], tmap["label_shuffle"], "label shuffle",
                      True, "images within each domain", int(keep.sum()))])


def rsa92_generalization(tvalues: pd.DataFrame, rsa92: xr.DataArray, members: dict, params: ITParams) -> pd.DataFrame:
    """Do fLoc face/body-selective units also prefer the 92-image set's faces/bodies?

    For each domain: the Pearson correlation, across responsive units, of the fLoc t-map
    with the 92-set t-map (the category against the other 92-set images), and the mean
    92-set t inside the fLoc patches of that domain vs outside them.
    """
    if "time" in rsa92.dims:
        rsa92 = rsa92.mean("time")
    values = rsa92.transpose("stimulus", "unit").values
    rows = []
    for domain, label in GENERALIZATION_DOMAINS.items():
        if label not in rsa92.coords:
            raise InputError(f"the 92-image recording lacks the {label!r} label; record load_rsa92() images")
        t92 = welch_t(values, rsa92[label].values.astype(bool), ddof=params.t_ddof)
        t_floc = tvalues[f"t_{domain}"].to_numpy()
        usable = ~tvalues["silent"].to_numpy() & ~np.all(values == 0, axis=0)
        in_patch = np.zeros(len(tvalues), bool)
        for indices in members.get(domain, []):
            in_patch[indices] = True
        correlation = (float(np.corrcoef(t_floc[usable], t92[usable])[0, 1])
                       if usable.sum() > 2 and t92[usable].std() > 0 and t_floc[usable].std() > 0 else np.nan)
        rows.append({"domain": domain, "correlation": correlation, "n_units": int(usable.sum()),
                     "mean_t92_in_patches": float(t92[in_patch & usable].mean()) if (in_patch & usable).any()
                     else np.nan,
                     "mean_t92_outside": float(t92[~in_patch & usable].mean()) if (~in_patch & usable).any()
                     else np.nan})
    return pd.DataFrame(rows)


def it_analysis(ds: xr.Dataset, layer: str, params: ITParams = ITParams(), *, rng: np.random.Generator,
                rsa92: xr.Dataset | None = None) -> ITResult:
    """Selectivity maps, patches, overlap and smoothness of ``layer`` (METHODS 2.6 IT, 2.8-2.10).

    Parameters
    ----------
    ds : xarray.Dataset
        A recording of the fLoc images (``record`` of ``load_floc()``) with sheet positions.
    layer : str
        The recorded layer (the paper's VTC layer is the network's last IT layer).
    rng : numpy.random.Generator
        Drives the smoothness samples and shuffles.
    rsa92 : xarray.Dataset, optional
        A recording of the 92-image set for the generalisation check.
    """
    require_active(ds, layer)
    responses = layer_responses(ds, layer)
    if np.isnan(responses["x_mm"].values).any():
        raise InputError(f"layer {layer} has no sheet positions; load a checkpoint with sheets")
    tvalues = floc_selectivity(responses, params)
    responsive = int((~tvalues["silent"]).sum())
    if responsive < params.min_responsive_units:
        raise InputError(f"layer {layer}: only {responsive} of {len(tvalues)} units respond to the fLoc images, "
                         f"fewer than min_responsive_units={params.min_responsive_units}; its maps would be "
                         "meaningless - check the checkpoint's input normalisation or pick another layer")
    patches, outlines, members = _patch_tables(tvalues, params)
    smoothness_table, curves = _smoothness_tables(tvalues, params, rng)
    xy_mm = tvalues[["x_mm", "y_mm"]].to_numpy()
    sheet_area_mm2 = float(np.ptp(xy_mm[:, 0]) * np.ptp(xy_mm[:, 1]))
    window_mm = params.overlap_window_for(len(tvalues), sheet_area_mm2)
    overlap = overlap_table(tvalues, xy_mm, DOMAINS, methods=OVERLAP_METHODS, window_mm=window_mm,
                            min_units=params.overlap_min_units, threshold=params.selective_t,
                            placement=params.overlap_window_placement)
    contrast = _overlap_contrast(responses, tvalues, params, window_mm, rng)
    generalization = None
    if rsa92 is not None:
        generalization = rsa92_generalization(tvalues, layer_responses(rsa92, layer), members, params)
    silent = tvalues["silent"].to_numpy()
    summary = {"layer": layer, "n_units": len(tvalues), "n_silent": int(silent.sum()),
               "overlap_window_mm": window_mm,
               **{f"n_patches_{d}": int((patches["domain"] == d).sum()) for d in DOMAINS},
               **{f"fraction_selective_{d}": float((tvalues[f"t_{d}"] > params.selective_t).mean()) for d in DOMAINS},
               **{f"smoothness_{row.domain}": float(row.smoothness) for row in smoothness_table.itertuples()}}
    return ITResult(layer, params, tvalues, patches, outlines, smoothness_table, curves, overlap,
                    generalization, summary, contrast)
