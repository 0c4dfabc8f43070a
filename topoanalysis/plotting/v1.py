"""V1 topography figures: preference maps, smoothness, distance curves, Ringach 2002 comparison.

``plot_*`` draw on given axes and return what they drew; ``*_figure`` create and return a Figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .common import plot_curves, sem_band
from .common import plot_smoothness_bars as plot_grouped_smoothness
from .sheets import plot_sheet

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import PathCollection
    from matplotlib.colors import Colormap
    from matplotlib.figure import Figure

ORIENTATION_TICKS = (0, 45, 90, 135, 180)
METRIC_ORDER = ("orientation", "sf", "color")
METRIC_LABELS = {"orientation": "orientation", "sf": "spatial frequency", "color": "colour"}
CV_BINS = np.linspace(0.0, 1.0, 11)
BANDWIDTH_BINS = np.array([0, 5, 10, 15, 20, 30, 40, 60, 90, 180], dtype=float)
RINGACH_LABEL = "Ringach et al. 2002"
_MASKED_COLOR = "0.85"


def color_preference_cmap() -> Colormap:
    """Two-colour map for ``color_pref``: grey for black/white (0), red for red/cyan (1)."""
    from matplotlib.colors import ListedColormap

    return ListedColormap(["0.55", "red"], name="bw_redcyan")


def plot_preference_map(ax: Axes, tuning: pd.DataFrame, column: str, mask_column: str, *,
                        cmap: str | Colormap = "viridis", vmin: float | None = None,
                        vmax: float | None = None, title: str = "") -> PathCollection:
    """Draw ``tuning[column]`` of the units selected by ``mask_column`` on the cortical sheet.

    Parameters
    ----------
    ax : Axes
        Axes to draw on.
    tuning : DataFrame
        One row per unit with ``x_mm``, ``y_mm``, ``column`` and the boolean ``mask_column``.
    column, mask_column : str
        Value to colour by, and the units to show; the others are drawn small in light grey
        underneath (a missing mask entry counts as masked out).
    cmap, vmin, vmax, title : optional
        Colour map, its limits, and the panel title.

    Returns
    -------
    PathCollection
        The scatter of the shown units (the mappable for a colorbar).
    """
    x = tuning["x_mm"].to_numpy(dtype=float)
    y = tuning["y_mm"].to_numpy(dtype=float)
    values = tuning[column].to_numpy(dtype=float)
    mask = tuning[mask_column].eq(True).to_numpy()
    size = max(0.5, 4000.0 / max(len(tuning), 1))
    if (~mask).any():
        ax.scatter(x[~mask], y[~mask], s=0.4 * size, c=_MASKED_COLOR, linewidths=0,
                   rasterized=True, zorder=0.5, label="_masked")
    return plot_sheet(ax, x[mask], y[mask], values[mask], cmap=cmap, vmin=vmin, vmax=vmax,
                      title=title, point_size=size)


def plot_pinwheels(ax: Axes, pinwheels: pd.DataFrame | None) -> list[PathCollection]:
    """Mark pinwheel centres: white for ``sign`` +1, black for -1 (labels ``"pinwheel +1/-1"``)."""
    drawn: list[PathCollection] = []
    if pinwheels is None or len(pinwheels) == 0:
        return drawn
    x = pinwheels["x_mm"].to_numpy(dtype=float)
    y = pinwheels["y_mm"].to_numpy(dtype=float)
    sign = pinwheels["sign"].to_numpy(dtype=float)
    for sel, face, edge, label in ((sign > 0, "white", "black", "pinwheel +1"),
                                   (sign < 0, "black", "white", "pinwheel -1")):
        if sel.any():
            drawn.append(ax.scatter(x[sel], y[sel], s=30, marker="o", facecolors=face,
                                    edgecolors=edge, linewidths=0.8, zorder=3, label=label))
    return drawn


def plot_orientation_map(ax: Axes, tuning: pd.DataFrame, *, pinwheels: pd.DataFrame | None = None,
                         title: str = "") -> PathCollection:
    """Orientation preference map (cyclic ``hsv`` over 0-180 deg) with optional pinwheels.

    Returns the mappable; give it a colorbar with ``ticks=ORIENTATION_TICKS``.
    """
    mappable = plot_preference_map(ax, tuning, "orientation_pref_deg", "orientation_mask",
                                   cmap="hsv", vmin=0.0, vmax=180.0, title=title)
    plot_pinwheels(ax, pinwheels)
    return mappable


def _sf_levels(tuning: pd.DataFrame) -> tuple[int, list[str]]:
    """Number of SF levels and a cpd label for each index (the median ``sf_pref_cpd``)."""
    index = tuning["sf_pref_index"].to_numpy(dtype=float)
    n_sf = int(np.nanmax(index)) + 1 if np.isfinite(index).any() else 1
    cpd = tuning.groupby("sf_pref_index")["sf_pref_cpd"].median()
    labels = [f"{cpd[i]:.2g}" if i in cpd.index and np.isfinite(cpd[i]) else str(i)
              for i in range(n_sf)]
    return n_sf, labels


def v1_maps_figure(tunings: dict[str, pd.DataFrame],
                   pinwheels: dict[str, pd.DataFrame | None] | None = None, *,
                   layer: str = "") -> Figure:
    """One row per model (dict order) of orientation, SF and colour preference maps.

    Each map has its own colorbar; models whose tuning is ``None`` are skipped and a model
    missing from ``pinwheels`` is drawn without pinwheels.
    """
    import matplotlib.pyplot as plt

    names = [name for name, tuning in tunings.items() if tuning is not None]
    if not names:
        raise InputError("v1_maps_figure needs at least one model's tuning")
    fig, axes = plt.subplots(len(names), 3, figsize=(11.0, 3.3 * len(names)), squeeze=False,
                             layout="constrained")
    color_cmap = color_preference_cmap()
    for row, name in zip(axes, names):
        tuning = tunings[name]
        mappable = plot_orientation_map(row[0], tuning, pinwheels=(pinwheels or {}).get(name),
                                        title=f"{name}: orientation")
        fig.colorbar(mappable, ax=row[0], ticks=ORIENTATION_TICKS, shrink=0.8,
                     label="preferred orientation (deg)")
        n_sf, sf_labels = _sf_levels(tuning)
        mappable = plot_preference_map(row[1], tuning, "sf_pref_index", "sf_mask", cmap="viridis",
                                       vmin=-0.5, vmax=n_sf - 0.5,
                                       title=f"{name}: spatial frequency")
        bar = fig.colorbar(mappable, ax=row[1], shrink=0.8, label="preferred SF (cpd)")
        bar.set_ticks(range(n_sf), labels=sf_labels)
        mappable = plot_preference_map(row[2], tuning, "color_pref", "color_mask", cmap=color_cmap,
                                       vmin=-0.5, vmax=1.5, title=f"{name}: colour")
        bar = fig.colorbar(mappable, ax=row[2], shrink=0.8, label="preferred colour")
        bar.set_ticks([0, 1], labels=["black/white", "red/cyan"])
    fig.suptitle(f"V1 preference maps: {layer}" if layer else "V1 preference maps")
    return fig


def plot_smoothness_bars(ax: Axes, smoothness: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Grouped bars of the smoothness index per map metric and model, with SEM and chance.

    Returns ``{model: {"bars", "chance", "chance_err"}}`` (see :func:`.common.plot_smoothness_bars`).
    """
    return plot_grouped_smoothness(ax, smoothness, "metric", METRIC_ORDER, METRIC_LABELS)


def plot_difference_over_distance(ax: Axes, difference_curves: pd.DataFrame,
                                  metric: str) -> dict[str, dict[str, Any]]:
    """Mean |difference in preference| vs cortical distance for ``metric``: one line per model
    with a +/- SEM band and a dashed chance line. Returns ``{model: {"line", "band", "chance"}}``.
    """
    df = difference_curves[difference_curves["metric"] == metric]
    drawn = plot_curves(ax, df, "mean_difference", "chance_mean_difference", sem_band)
    name = METRIC_LABELS.get(metric, metric)
    ax.set_ylabel(f"|difference in {name}|" + (" (deg)" if metric == "orientation" else ""))
    ax.set_title(f"{name} difference vs distance", fontsize=9)
    return drawn


def plot_correlation_vs_distance(ax: Axes, correlation_curves: pd.DataFrame
                                 ) -> dict[str, dict[str, Any]]:
    """Pairwise response correlation vs cortical distance: one line per model with its shaded
    95 % CI band (``ci_low``..``ci_high``) and a dashed chance line.
    Returns ``{model: {"line", "band", "chance"}}``.
    """
    def ci_band(sub: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return sub["ci_low"].to_numpy(dtype=float), sub["ci_high"].to_numpy(dtype=float)

    drawn = plot_curves(ax, correlation_curves, "mean_r", "chance_mean_r", ci_band)
    ax.set_ylabel("response correlation (r)")
    ax.set_title("response correlation vs distance", fontsize=9)
    return drawn


def _score_title(label: str, scores: pd.DataFrame | None, prop: str, models: list[str]) -> str:
    """Panel title with the ``1 - KS`` similarity of each model (prefixed by name if several)."""
    if scores is None or len(scores) == 0:
        return label
    rows = scores[scores["property"] == prop]
    lines = []
    if "model" in rows.columns and rows["model"].isin(models).any():
        for model in models:
            value = rows.loc[rows["model"] == model, "similarity"]
            if len(value):
                prefix = f"{model}: " if len(models) > 1 else ""
                lines.append(f"{prefix}1 - KS = {float(value.iloc[0]):.2f}")
    elif len(rows):
        lines.append(f"1 - KS = {float(rows['similarity'].iloc[0]):.2f}")
    return "\n".join([label, *lines])


def plot_ringach_comparison(axes: Sequence[Axes], model_cv: np.ndarray | Mapping[str, np.ndarray],
                            model_bandwidth_deg: np.ndarray | Mapping[str, np.ndarray],
                            ringach_cv: np.ndarray, ringach_bandwidth_deg: np.ndarray,
                            scores: pd.DataFrame | None = None) -> dict[str, dict[str, Any]]:
    """Density histograms of circular variance and orientation bandwidth: models vs macaque V1.

    Parameters
    ----------
    axes : sequence of 2 Axes
        Circular-variance panel, then bandwidth panel.
    model_cv, model_bandwidth_deg : array or dict of model name to array
        Model values; a dict draws one step histogram per model (``None`` entries are skipped).
    ringach_cv, ringach_bandwidth_deg : array
        Ringach et al. (2002) values, drawn as a filled grey histogram.
    scores : DataFrame, optional
        ``property`` ("circular_variance", "bandwidth_deg"), ``similarity`` (1 - KS) and
        optionally ``model``; shown in the panel titles.

    Returns
    -------
    dict
        ``{property: {name: patches}}``. Non-finite values are dropped and values outside the
        bins (CV ``linspace(0, 1, 11)``, bandwidth 0..180 deg) are clipped into the end bins.
    """
    panels = (("circular_variance", "circular variance", CV_BINS, model_cv, ringach_cv),
              ("bandwidth_deg", "orientation bandwidth (deg)", BANDWIDTH_BINS,
               model_bandwidth_deg, ringach_bandwidth_deg))
    drawn: dict[str, dict[str, Any]] = {}
    for ax, (prop, label, bins, model_values, reference) in zip(axes, panels):
        models = dict(model_values) if isinstance(model_values, Mapping) else {"model": model_values}
        models = {name: values for name, values in models.items() if values is not None}
        out: dict[str, Any] = {}
        for i, name in enumerate([RINGACH_LABEL, *models]):
            values = np.asarray(reference if i == 0 else models[name], dtype=float).ravel()
            values = np.clip(values[np.isfinite(values)], bins[0], bins[-1])
            if values.size == 0:
                continue
            style = ({"histtype": "stepfilled", "color": "0.75"} if i == 0 else
                     {"histtype": "step", "color": f"C{i - 1}", "linewidth": 1.5})
            out[name] = ax.hist(values, bins=bins, density=True, label=name, **style)[2]
        ax.set_xlim(bins[0], bins[-1])
        ax.set_xlabel(label)
        ax.set_ylabel("density")
        ax.set_title(_score_title(label, scores, prop, list(models)), fontsize=8)
        if out:
            ax.legend(fontsize=7, frameon=False)
        drawn[prop] = out
    return drawn


def v1_summary_figure(smoothness: pd.DataFrame, difference_curves: pd.DataFrame,
                      correlation_curves: pd.DataFrame, ringach: Mapping[str, Any] | None = None,
                      *, layer: str = "") -> Figure:
    """Smoothness bars, orientation difference and response correlation vs distance, and (if
    ``ringach`` is given) the two Ringach 2002 panels on a second row.

    ``ringach`` has keys ``model_cv`` and ``model_bandwidth_deg`` (dict model -> array),
    ``ringach_cv``, ``ringach_bandwidth_deg`` and optionally ``scores`` (with a ``model`` column).
    """
    import matplotlib.pyplot as plt

    mosaic = [["smoothness", "difference", "correlation"]]
    if ringach is not None:
        mosaic.append(["cv", "bandwidth", "."])
    fig = plt.figure(figsize=(12.0, 3.8 * len(mosaic)), layout="constrained")
    axd = fig.subplot_mosaic(mosaic)
    plot_smoothness_bars(axd["smoothness"], smoothness)
    axd["smoothness"].set_title("topographic smoothness", fontsize=9)
    plot_difference_over_distance(axd["difference"], difference_curves, "orientation")
    plot_correlation_vs_distance(axd["correlation"], correlation_curves)
    if ringach is not None:
        plot_ringach_comparison([axd["cv"], axd["bandwidth"]], ringach["model_cv"],
                                ringach["model_bandwidth_deg"], ringach["ringach_cv"],
                                ringach["ringach_bandwidth_deg"], ringach.get("scores"))
    fig.suptitle(f"V1 topography summary: {layer}" if layer else "V1 topography summary")
    return fig
