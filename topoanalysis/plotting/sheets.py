"""Values of units drawn at their positions on the cortical sheet."""

from __future__ import annotations

import numpy as np


def plot_sheet(ax, x_mm: np.ndarray, y_mm: np.ndarray, values: np.ndarray, *, cmap: str = "viridis",
               vmin: float | None = None, vmax: float | None = None, title: str = "",
               point_size: float | None = None):
    """Scatter ``values`` at ``(x_mm, y_mm)`` on ``ax`` with equal aspect; returns the mappable."""
    size = point_size if point_size is not None else max(0.5, 4000.0 / max(len(values), 1))
    mappable = ax.scatter(x_mm, y_mm, c=values, s=size, cmap=cmap, vmin=vmin, vmax=vmax,
                          linewidths=0, rasterized=True)
    ax.set_aspect("equal")
    ax.set_xlabel("x (mm)")
    ax.set_ylabel("y (mm)")
    if title:
        ax.set_title(title, fontsize=9)
    return mappable


def sheet_activity_figure(ds, layers, areas: dict[str, str] | None = None):
    """One panel per layer: each unit's mean response across stimuli on its sheet."""
    import matplotlib.pyplot as plt

    ncols = min(4, len(layers))
    nrows = int(np.ceil(len(layers) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.0 * nrows), squeeze=False)
    responses = ds["responses"]
    mean = responses.mean([d for d in responses.dims if d != "unit"]).values
    for ax, layer in zip(axes.ravel(), layers):
        mask = ds["layer"].values == layer
        area = (areas or {}).get(layer, "")
        mappable = plot_sheet(ax, ds["x_mm"].values[mask], ds["y_mm"].values[mask], mean[mask],
                              title=f"{layer} {area}".strip())
        fig.colorbar(mappable, ax=ax, shrink=0.8, label="mean rate")
    for ax in axes.ravel()[len(layers):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig
