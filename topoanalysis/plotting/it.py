"""IT topography figures: category t-maps with patch outlines, domain overlap matrices,
smoothness, selectivity vs cortical distance and fLoc / 92-image generalisation.

``plot_*`` draw on given axes and return what they drew; ``*_figure`` create and return a Figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..metrics.it import DOMAINS
from ..metrics.overlap import OVERLAP_CHANCE
from .common import grouped_bars, model_names, plot_curves, plot_smoothness_bars, sem_band
from .v1 import plot_preference_map

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.collections import PathCollection
    from matplotlib.figure import Figure
    from matplotlib.image import AxesImage

T_CMAP = "RdBu_r"
T_LABEL = "t (domain vs rest)"
#: Colour range ``(vmin, vmax)`` of each overlap method; its chance level is the middle.
METHOD_RANGES = {method: (0.0, 1.0) if chance == 0.5 else (-1.0, 1.0) for method, chance in OVERLAP_CHANCE.items()}


def plot_tmap(ax: Axes, tvalues: pd.DataFrame, domain: str, *, vlim: float = 15.0,
              patches: pd.DataFrame | None = None, outlines: list[np.ndarray] | None = None,
              title: str = "") -> PathCollection:
    """Draw the ``t_<domain>`` map on the sheet with the outlines of that domain's patches.

    Parameters
    ----------
    ax : Axes
        Axes to draw on.
    tvalues : DataFrame
        One row per unit with ``x_mm``, ``y_mm``, ``t_<domain>`` and ``silent``.
    domain : str
        One of :data:`DOMAINS`.
    vlim : float
        The colour range is ``[-vlim, vlim]`` of ``RdBu_r``.
    patches, outlines : optional
        Patch table (``domain`` column) and one ``(n_edges, 2, 2)`` segment array per row;
        the segments of the rows of ``domain`` are drawn as one black ``LineCollection``.
    title : str
        Panel title.

    Returns
    -------
    PathCollection
        Scatter of the non-silent units with a finite t (the mappable); silent units and units
        with a NaN t are drawn small in light grey underneath.
    """
    from matplotlib.collections import LineCollection

    column = f"t_{domain}"
    values = tvalues[column].to_numpy(dtype=float)
    silent = tvalues["silent"].eq(True).to_numpy()
    shown = pd.DataFrame({"x_mm": tvalues["x_mm"].to_numpy(dtype=float),
                          "y_mm": tvalues["y_mm"].to_numpy(dtype=float), column: values,
                          "_shown": ~silent & np.isfinite(values)})
    mappable = plot_preference_map(ax, shown, column, "_shown", cmap=T_CMAP, vmin=-vlim,
                                   vmax=vlim, title=title)
    if patches is not None and outlines is not None and len(patches):
        if len(outlines) != len(patches):
            raise InputError(f"{len(outlines)} outlines for {len(patches)} patches")
        rows = np.flatnonzero(patches["domain"].to_numpy() == domain)
        segments = [np.asarray(outlines[i], dtype=float).reshape(-1, 2, 2) for i in rows]
        segments = np.concatenate(segments) if segments else np.empty((0, 2, 2))
        if len(segments):
            ax.add_collection(LineCollection(segments, colors="black", linewidths=0.8,
                                             zorder=2, label=f"{domain} patches"))
    return mappable


def tmaps_figure(tvalues_by_model: dict[str, pd.DataFrame | None],
                 patches_by_model: dict[str, tuple[pd.DataFrame, list[np.ndarray]]] | None = None,
                 *, layer: str = "", vlim: float = 15.0) -> Figure:
    """One row per model (dict order, ``None`` skipped) and one column per domain of t-maps.

    All maps share the range ``[-vlim, vlim]`` and one colorbar labelled :data:`T_LABEL`;
    a model missing from ``patches_by_model`` is drawn without outlines.
    """
    import matplotlib.pyplot as plt

    names = [name for name, tv in tvalues_by_model.items() if tv is not None]
    if not names:
        raise InputError("tmaps_figure needs at least one model's t-values")
    fig, axes = plt.subplots(len(names), len(DOMAINS), figsize=(2.6 * len(DOMAINS) + 1.0,
                             2.6 * len(names)), squeeze=False, layout="constrained")
    mappable = None
    for row, name in zip(axes, names):
        patches, outlines = (patches_by_model or {}).get(name) or (None, None)
        for ax, domain in zip(row, DOMAINS):
            mappable = plot_tmap(ax, tvalues_by_model[name], domain, vlim=vlim, patches=patches,
                                 outlines=outlines, title=f"{name}: {domain}")
    fig.colorbar(mappable, ax=axes, shrink=0.8, label=T_LABEL)
    fig.suptitle(f"IT category t-maps: {layer}" if layer else "IT category t-maps")
    return fig


def overlap_range(method: str, values: Any = None) -> tuple[float, float]:
    """Colour range of an overlap method: ``(0, 1)`` (chance 0.5) or ``(-1, 1)`` (chance 0).

    Known methods use :data:`METHOD_RANGES`; for others ``(0, 1)`` is chosen only when all
    finite ``values`` lie in ``[0, 1]``.
    """
    if method in METHOD_RANGES:
        return METHOD_RANGES[method]
    finite = np.asarray(values if values is not None else [], dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size and finite.min() >= 0.0 and finite.max() <= 1.0:
        return 0.0, 1.0
    return -1.0, 1.0


def overlap_matrix(overlap: pd.DataFrame, model: str, method: str) -> pd.DataFrame:
    """The 5 x 5 ``domain_a`` x ``domain_b`` matrix of one model and method in DOMAINS order."""
    rows = overlap[(overlap["model"] == model) & (overlap["method"] == method)]
    matrix = rows.pivot_table(index="domain_a", columns="domain_b", values="value",
                              aggfunc="mean", dropna=False)
    return matrix.reindex(index=list(DOMAINS), columns=list(DOMAINS)).astype(float)


def plot_overlap_matrix(ax: Axes, overlap: pd.DataFrame, model: str, method: str) -> AxesImage:
    """Heatmap (``RdBu_r``) of one model's domain overlap with the value written in each cell.

    The colour range comes from :func:`overlap_range` (on all values of ``method``, so every
    model shares it) and chance sits at the centre colour. Rows are ``domain_a``, columns
    ``domain_b``; missing cells are blank and labelled "n/a".
    """
    matrix = overlap_matrix(overlap, model, method).to_numpy()
    vmin, vmax = overlap_range(method, overlap.loc[overlap["method"] == method, "value"])
    image = ax.imshow(matrix, cmap=T_CMAP, vmin=vmin, vmax=vmax)
    centre, half = (vmin + vmax) / 2.0, (vmax - vmin) / 2.0
    for (i, j), value in np.ndenumerate(matrix):
        finite = np.isfinite(value)
        dark = finite and abs(value - centre) > 0.6 * half
        ax.text(j, i, f"{value:.2f}" if finite else "n/a", ha="center", va="center",
                fontsize=7, color="white" if dark else "black")
    ax.set_xticks(range(len(DOMAINS)), DOMAINS, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(DOMAINS)), DOMAINS, fontsize=7)
    ax.set_title(f"{model}: {method}", fontsize=9)
    return image


def overlap_figure(overlap: pd.DataFrame) -> Figure:
    """Grid of overlap matrices, rows = methods and columns = models (order of appearance),
    with one colorbar per method row."""
    import matplotlib.pyplot as plt

    methods = list(dict.fromkeys(overlap["method"]))
    models = model_names(overlap)
    if not methods:
        raise InputError("overlap_figure needs a non-empty overlap table")
    fig, axes = plt.subplots(len(methods), len(models), figsize=(3.4 * len(models) + 1.0,
                             3.2 * len(methods)), squeeze=False, layout="constrained")
    for row, method in zip(axes, methods):
        image = None
        for ax, model in zip(row, models):
            image = plot_overlap_matrix(ax, overlap, model, method)
        chance = sum(overlap_range(method, overlap.loc[overlap["method"] == method, "value"])) / 2
        fig.colorbar(image, ax=row, shrink=0.8, label=f"{method} (chance {chance:g})")
    fig.suptitle("overlap of category-selective regions")
    return fig


def plot_domain_smoothness_bars(ax: Axes, smoothness: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Smoothness of each domain's t-map per model, with SEM and the shuffled-position chance.

    Returns ``{model: {"bars", "chance", "chance_err"}}`` (see :func:`.common.plot_smoothness_bars`).
    """
    return plot_smoothness_bars(ax, smoothness, "domain", DOMAINS)


def plot_selectivity_vs_distance(ax: Axes, selectivity_curves: pd.DataFrame,
                                 domain: str) -> dict[str, dict[str, Any]]:
    """Mean ``|t_i - t_j|`` of ``domain`` vs cortical distance: one line per model with a
    +/- SEM band and a dashed chance line in the same colour (NaN leaves gaps).

    Returns ``{model: {"line", "band", "chance"}}``.
    """
    df = selectivity_curves[selectivity_curves["domain"] == domain]
    drawn = plot_curves(ax, df, "mean_difference", "chance_mean_difference", sem_band)
    ax.set_ylabel(r"mean $|t_i - t_j|$")
    ax.set_title(f"{domain} selectivity vs distance", fontsize=9)
    return drawn


def plot_generalization_bars(ax: Axes, generalization: pd.DataFrame) -> dict[str, Any]:
    """Correlation between fLoc and 92-image t-maps per domain (groups) and model (bars).

    Returns ``{model: BarContainer}``.
    """
    bars = grouped_bars(ax, generalization, "domain", DOMAINS, "correlation")
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_ylabel("t-map correlation (r)")
    ax.set_title("fLoc vs 92-image t-maps", fontsize=9)
    if bars:
        ax.legend(fontsize=7, frameon=False)
    return {model: container for model, (container, _, _) in bars.items()}


def it_summary_figure(smoothness: pd.DataFrame, selectivity_curves: pd.DataFrame,
                      generalization: pd.DataFrame | None = None, *, layer: str = "",
                      domains: tuple[str, ...] = ("faces", "bodies")) -> Figure:
    """One row of panels: smoothness bars per domain, selectivity vs distance for each of
    ``domains``, and (if ``generalization`` is given and non-empty) the generalisation bars.

    The mosaic keys are ``"smoothness"``, ``"distance_<domain>"`` and ``"generalization"``.
    """
    import matplotlib.pyplot as plt

    keys = ["smoothness", *(f"distance_{d}" for d in domains)]
    with_generalization = generalization is not None and len(generalization) > 0
    if with_generalization:
        keys.append("generalization")
    fig = plt.figure(figsize=(3.8 * len(keys), 3.6), layout="constrained")
    axd = fig.subplot_mosaic([keys])
    plot_domain_smoothness_bars(axd["smoothness"], smoothness)
    for domain in domains:
        plot_selectivity_vs_distance(axd[f"distance_{domain}"], selectivity_curves, domain)
    if with_generalization:
        plot_generalization_bars(axd["generalization"], generalization)
    fig.suptitle(f"IT topography summary: {layer}" if layer else "IT topography summary")
    return fig
