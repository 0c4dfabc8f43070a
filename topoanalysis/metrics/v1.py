"""The V1 analysis of one layer: tuning, maps, smoothness, correlation, pinwheels (paper Fig. 3).

:func:`grating_tuning` turns grating responses into one row per unit (preferences,
selectivity, masks); :func:`v1_analysis` adds the spatial metrics. Every parameter lives
in :class:`V1Params`, whose defaults are TDANN's values (METHODS 2.5-2.7) with the TDSNN
choice (vector-sum orientation preference) where the two differ.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import InputError
from ..responses import layer_responses
from ..sheets.init import AREA_REFERENCE_UNITS
from .activity import require_active
from .pinwheels import find_pinwheels, pinwheel_density, smoothed_orientation_map
from .ringach import RINGACH_MEDIAN_MAXDC_SPS, compare_with_ringach
from .spatial import correlation_over_distance, smoothness
from .tuning import (
    ORIENTATION_METHODS,
    argmax_preference,
    circular_variance,
    orientation_bandwidth_deg,
    orientation_preference_vector_sum,
    orientation_von_mises,
    peak_to_peak,
    ptp_percentile_mask,
    spikes_per_s_factor,
    tuning_curves,
)

MASK_RULES = ("ptp_percentile", "response_floor")
MAP_METRICS = {"orientation": ("orientation_pref_deg", 180.0), "sf": ("sf_pref_index", None),
               "color": ("color_pref", None)}
"""Map metric -> (tuning column, period of a circular property)."""
GRATING_COORDS = ("orientation_deg", "sf_index", "sf_cpd", "color_index")


@dataclass(frozen=True)
class V1Params:
    """Parameters of the V1 analysis; defaults follow METHODS 2.5-2.7.

    Widths in mm (``hypercolumn_width_mm``, ``correlation_window_mm``, pinwheel window
    and stride) are TDANN's for a 224-px ResNet-18 layer2 (100,352 units). With
    ``scale_widths`` they grow by ``sqrt(100352 / n_units)`` for layers with fewer units,
    so a window holds as many units as in TDANN (the rule the sheets' neighbourhoods use).
    """

    orientation_method: str = "vector_sum"
    tdann_interpolation: bool = False
    mask_rule: str = "ptp_percentile"
    ptp_percentile: float = 75.0
    response_floor_sps: float = 1.0
    selective_max_cv: float = 0.6
    hypercolumn_width_mm: float = 3.5
    scale_widths: bool = True
    n_samples: int = 20
    sample_size: int = 1000
    n_distance_bins: int = 9
    correlation_window_mm: float = 2.5
    correlation_bins: int = 15
    max_windows: int = 50
    max_units_per_window: int = 1000
    pinwheel_window_mm: float = 1.5
    pinwheel_stride_mm: float = 0.45

    def __post_init__(self) -> None:
        if self.orientation_method not in ORIENTATION_METHODS:
            raise InputError(f"unknown orientation_method {self.orientation_method!r}; valid: "
                             f"{', '.join(ORIENTATION_METHODS)}")
        if self.mask_rule not in MASK_RULES:
            raise InputError(f"unknown mask_rule {self.mask_rule!r}; valid: {', '.join(MASK_RULES)}")
        for name in ("hypercolumn_width_mm", "correlation_window_mm", "pinwheel_window_mm", "pinwheel_stride_mm",
                     "response_floor_sps", "selective_max_cv", "ptp_percentile"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise InputError(f"{name} must be a finite number; got {value}")
            if name.endswith("_mm") and value <= 0:
                raise InputError(f"{name} must be positive; got {value}")
        if not 0 <= self.ptp_percentile <= 100:
            raise InputError(f"ptp_percentile must be 0 to 100; got {self.ptp_percentile}")
        for name in ("n_samples", "sample_size", "n_distance_bins", "correlation_bins", "max_windows",
                     "max_units_per_window"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1; got {getattr(self, name)}")

    def width_scale(self, n_units: int) -> float:
        """Factor applied to every width for a layer of ``n_units`` units."""
        if not self.scale_widths:
            return 1.0
        return float(max(1.0, np.sqrt(AREA_REFERENCE_UNITS["V1"] / n_units)))


@dataclass(frozen=True)
class V1Result:
    """Everything :func:`v1_analysis` measured on one layer; tables are pandas DataFrames."""

    layer: str
    params: V1Params
    sheet_size_mm: float
    width_scale: float
    tuning: pd.DataFrame
    smoothness: pd.DataFrame
    difference_curves: pd.DataFrame
    correlation_curves: pd.DataFrame
    pinwheels: pd.DataFrame
    ringach: pd.DataFrame | None
    summary: dict = field(default_factory=dict)
    correlation_falloff: pd.DataFrame | None = None

    def parameters(self) -> dict:
        """The parameters used, with the widths actually applied to this layer."""
        scale = self.width_scale
        return {**asdict(self.params), "width_scale": scale,
                "applied_hypercolumn_width_mm": self.params.hypercolumn_width_mm * scale,
                "applied_correlation_window_mm": self.params.correlation_window_mm * scale,
                "applied_pinwheel_window_mm": self.params.pinwheel_window_mm * scale,
                "applied_pinwheel_stride_mm": self.params.pinwheel_stride_mm * scale}


def _grating_levels(responses: xr.DataArray) -> dict[str, np.ndarray]:
    missing = [name for name in GRATING_COORDS if name not in responses.coords]
    if missing:
        raise InputError(f"these responses lack the grating labels {', '.join(missing)}; record the "
                         "stimuli from make_sine_gratings (topoanalysis record --stimulus-set gratings)")
    return {name: responses[name].values for name in GRATING_COORDS}


def grating_tuning(responses: xr.DataArray, params: V1Params = V1Params()) -> pd.DataFrame:
    """One row per unit: preferences, selectivity and masks from grating responses.

    Parameters
    ----------
    responses : xarray.DataArray
        ``(stimulus, unit)`` responses (mean over time if a ``time`` dim is present) with
        the grating labels as stimulus coords and ``x_mm, y_mm`` unit coords.
    params : V1Params
        Orientation method and mask rule.

    Returns
    -------
    pandas.DataFrame
        Unit coords, ``orientation_pref_deg`` (by ``params.orientation_method``) plus both
        methods' values, ``circular_variance``, ``bandwidth_deg`` (from the von Mises fit),
        ``sf_pref_index``, ``sf_pref_cpd``, ``color_pref`` (0 black/white, 1 red/cyan), tuning
        depths ``ptp_*``, ``mean_response``, ``mean_response_sps`` (Ringach-scaled), and the
        masks ``responsive``, ``orientation_mask``, ``sf_mask``, ``color_mask``,
        ``orientation_selective``.
    """
    if "time" in responses.dims:
        responses = responses.mean("time")
    levels = _grating_levels(responses)
    values = responses.transpose("stimulus", "unit").values
    low = min(float(values.min()), 0.0)
    orientations, orientation_curves = tuning_curves(values, levels["orientation_deg"])
    sf_levels, sf_curves = tuning_curves(values, levels["sf_index"])
    color_levels, color_curves = tuning_curves(values, levels["color_index"])
    orientation_curves, sf_curves, color_curves = (c - low for c in (orientation_curves, sf_curves, color_curves))
    sf_cpd = pd.Series(levels["sf_cpd"]).groupby(levels["sf_index"]).first().reindex(sf_levels).to_numpy()

    vector_sum = orientation_preference_vector_sum(orientation_curves, orientations)
    von_mises, kappa = orientation_von_mises(orientation_curves, orientations,
                                             tdann_interpolation=params.tdann_interpolation)
    sf_index = argmax_preference(sf_curves)
    color_index = argmax_preference(color_curves)
    mean = orientation_curves.mean(axis=0)
    scale = spikes_per_s_factor(values.max(axis=0) - low, RINGACH_MEDIAN_MAXDC_SPS)
    table = pd.DataFrame({
        name: responses[name].values for name in ("layer", "channel", "row", "col", "x_mm", "y_mm")
        if name in responses.coords})
    table["orientation_pref_deg"] = vector_sum if params.orientation_method == "vector_sum" else von_mises
    table["orientation_pref_vector_sum_deg"] = vector_sum
    table["orientation_pref_von_mises_deg"] = von_mises
    table["von_mises_kappa"] = kappa
    table["circular_variance"] = circular_variance(orientation_curves, orientations)
    table["bandwidth_deg"] = orientation_bandwidth_deg(kappa)
    table["sf_pref_index"] = np.where(sf_index >= 0, sf_levels[np.maximum(sf_index, 0)], -1)
    table["sf_pref_cpd"] = np.where(sf_index >= 0, sf_cpd[np.maximum(sf_index, 0)], np.nan)
    table["color_pref"] = np.where(color_index >= 0, color_levels[np.maximum(color_index, 0)], -1)
    for name, curves in (("orientation", orientation_curves), ("sf", sf_curves), ("color", color_curves)):
        table[f"ptp_{name}"] = peak_to_peak(curves)
    table["mean_response"] = mean + low
    table["mean_response_sps"] = mean * scale
    table["responsive"] = table["mean_response_sps"] > params.response_floor_sps
    for name in MAP_METRICS:
        if params.mask_rule == "ptp_percentile":
            table[f"{name}_mask"] = ptp_percentile_mask(table[f"ptp_{name}"].to_numpy(), params.ptp_percentile)
        else:
            table[f"{name}_mask"] = table["responsive"] & (table[f"ptp_{name}"] > 0)
    table["orientation_selective"] = table["responsive"] & (table["circular_variance"] < params.selective_max_cv)
    return table


def _smoothness_tables(tuning: pd.DataFrame, xy_mm: np.ndarray, bin_edges_mm: np.ndarray,
                       params: V1Params, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Smoothness per map metric, and the mean difference-vs-distance curves behind it."""
    rows, curves = [], []
    for metric, (column, period) in MAP_METRICS.items():
        mask = tuning[f"{metric}_mask"].to_numpy()
        if mask.sum() < 2:
            raise InputError(f"only {int(mask.sum())} units pass the {metric} mask ({params.mask_rule}); "
                             "the layer is barely tuned to gratings - try --mask-rule response_floor or "
                             "another layer")
        result = smoothness(tuning[column].to_numpy()[mask], xy_mm[mask], bin_edges_mm, rng=rng,
                            n_samples=params.n_samples, sample_size=params.sample_size, period=period)
        rows.append({"metric": metric, **result.summary()})
        curves.append(result.curve_table(metric=metric))
    return pd.DataFrame(rows), pd.concat(curves, ignore_index=True)


def v1_analysis(ds: xr.Dataset, layer: str, params: V1Params = V1Params(), *, rng: np.random.Generator,
                sheet_size_mm: float | None = None, ringach: pd.DataFrame | None = None) -> V1Result:
    """Tuning, smoothness, correlation vs distance and pinwheels of ``layer`` (METHODS 2.5-2.7).

    Parameters
    ----------
    ds : xarray.Dataset
        A grating recording from :func:`topoanalysis.running.recording.record` with sheet positions.
    layer : str
        The recorded layer to analyse (the paper uses the network's first V1 layer).
    params : V1Params
        Analysis parameters.
    rng : numpy.random.Generator
        Drives the unit samples, shuffles and window choice.
    sheet_size_mm : float, optional
        Side of the sheet (for the pinwheel density); default: the largest coordinate.
    ringach : pandas.DataFrame, optional
        Ringach 2002 cells (``topoanalysis.datasets.ringach.load_ringach2002()``); when given, the
        responsive units' circular variance and bandwidth are compared with them.

    Raises
    ------
    SilentLayerError
        The layer never responded.
    ValueError
        Units without sheet positions, missing grating labels, or no tuned units.
    """
    require_active(ds, layer)
    responses = layer_responses(ds, layer)
    if "time" in responses.dims:
        responses = responses.mean("time")
    xy_mm = np.stack([responses["x_mm"].values, responses["y_mm"].values], axis=1).astype(np.float64)
    if np.isnan(xy_mm).any():
        raise InputError(f"layer {layer} has no sheet positions; load a checkpoint with sheets or pass sheets= "
                         "to record()")
    tuning = grating_tuning(responses, params)
    n_units = len(tuning)
    scale = params.width_scale(n_units)
    sheet_size_mm = float(sheet_size_mm if sheet_size_mm is not None else xy_mm.max())
    analysis_width_mm = params.hypercolumn_width_mm * scale * 4.0 / 3.0
    bin_edges_mm = np.linspace(0.0, np.sqrt(2.0 * analysis_width_mm**2) / 2.0, params.n_distance_bins + 1)
    smoothness_table, difference_curves = _smoothness_tables(tuning, xy_mm, bin_edges_mm, params, rng)

    correlation = correlation_over_distance(
        responses.transpose("stimulus", "unit").values, xy_mm, params.correlation_window_mm * scale, rng=rng,
        n_bins=params.correlation_bins, max_windows=params.max_windows,
        max_units_per_window=params.max_units_per_window)

    tuned = tuning["orientation_mask"].to_numpy()
    grid = smoothed_orientation_map(xy_mm[tuned, 0], xy_mm[tuned, 1],
                                    tuning["orientation_pref_deg"].to_numpy()[tuned],
                                    width_mm=params.pinwheel_window_mm * scale,
                                    stride_mm=params.pinwheel_stride_mm * scale, extent_mm=sheet_size_mm)
    pinwheels = find_pinwheels(grid)
    hypercolumn_mm = params.hypercolumn_width_mm * scale

    responsive = tuning["responsive"].to_numpy()
    ringach_table = None
    if ringach is not None and responsive.any():
        ringach_table = compare_with_ringach(tuning["circular_variance"].to_numpy()[responsive],
                                             tuning["bandwidth_deg"].to_numpy()[responsive], ringach)
    summary = {
        "layer": layer, "n_units": n_units, "n_responsive": int(responsive.sum()),
        "fraction_orientation_selective": float(tuning["orientation_selective"].sum() / max(responsive.sum(), 1)),
        "median_circular_variance": float(np.nanmedian(tuning["circular_variance"][responsive]))
        if responsive.any() else float("nan"),
        "n_pinwheels": int(len(pinwheels)),
        "pinwheel_density_per_hypercolumn2": pinwheel_density(len(pinwheels), sheet_size_mm, hypercolumn_mm),
        **{f"smoothness_{row.metric}": float(row.smoothness) for row in smoothness_table.itertuples()},
    }
    return V1Result(layer, params, sheet_size_mm, scale, tuning, smoothness_table, difference_curves,
                    correlation.summary_table(), pinwheels, ringach_table, summary, correlation.falloff_table())
