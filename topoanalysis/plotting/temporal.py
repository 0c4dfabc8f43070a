"""Figure of the temporal analyses: entropy (shift), accuracy vs T, Fisher information, firing rates."""

from __future__ import annotations

import pandas as pd

from .common import model_names


def temporal_figure(stats: pd.DataFrame, accuracy: pd.DataFrame, fisher: pd.DataFrame,
                    shift: pd.DataFrame | None = None):
    """Four panels: entropy shift (or entropy) per layer for each T, accuracy vs T per model,
    Fisher information per timestep (:func:`_fisher_panel`), window firing rate per layer."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6), layout="constrained")
    window = stats[stats["timestep"] == -1]
    layers = list(dict.fromkeys(window["layer"]))
    ax = axes[0]
    if shift is not None and len(shift):
        for steps, rows in shift.groupby("timesteps"):
            ax.plot(rows["layer"], rows["entropy_shift_bits"], marker="o", label=f"T = {steps}")
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set_ylabel(r"$\Delta H$ = H$_{topo}$ - H$_{base}$ (bits)")
        ax.set_title("entropy shift per layer", fontsize=9)
    else:
        for steps, rows in window.groupby("timesteps"):
            ax.plot(rows["layer"], rows["entropy_bits"], marker="o", label=f"T = {steps}")
        ax.set_ylabel("entropy (bits)")
        ax.set_title("spike-train entropy per layer", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    for i, model in enumerate(model_names(accuracy)):
        rows = accuracy[accuracy["model"] == model]
        axes[1].plot(rows["timesteps"], rows["accuracy"], marker="o", color=f"C{i}", label=model)
    axes[1].set_xlabel("inference timesteps T")
    axes[1].set_ylabel("top-1 accuracy (%)")
    axes[1].set_title("accuracy vs T", fontsize=9)
    axes[1].legend(fontsize=7, frameon=False)
    _fisher_panel(axes[2], fisher)
    for i, model in enumerate(model_names(window)):
        rows = window[(window["model"] == model) & (window["timesteps"] == window["timesteps"].max())]
        axes[3].plot(rows["layer"], rows["firing_rate"], marker="o", color=f"C{i}", label=model)
    axes[3].set_ylabel("firing probability per step")
    axes[3].set_title(f"firing rate (T = {window['timesteps'].max()})", fontsize=9)
    axes[3].legend(fontsize=7, frameon=False)
    for ax in (axes[0], axes[3]):
        ax.set_xticks(range(len(layers)), layers, rotation=60, fontsize=7)
    return fig


def _fisher_panel(ax, fisher: pd.DataFrame) -> None:
    """Fisher information per timestep: for a family with inter-area connections (``V2->V4``, the CORnet), each
    connection for every model (solid: the first, dashed: the second), else every parameter group of the first."""
    models = model_names(fisher) if len(fisher) else []
    inter_area = fisher[fisher["group"].str.contains("->", regex=False)] if len(fisher) else fisher
    if len(inter_area):
        for j, (group, rows) in enumerate(inter_area.groupby("group", sort=False)):
            for k, model in enumerate(models[:2]):
                own = rows[rows["model"] == model]
                ax.plot(own["timestep"], own["fisher"], marker="o", markersize=3, color=f"C{j}",
                        linestyle="-" if k == 0 else "--", label=f"{group}" if k == 0 else None)
        title = "Fisher per connection: " + " (solid) vs ".join(models[:2]) + (" (dashed)" if len(models) > 1 else "")
    else:
        first = models[0] if models else None
        for group, rows in fisher[fisher["model"] == first].groupby("group", sort=False):
            ax.plot(rows["timestep"], rows["fisher"], marker="o", label=group)
        title = f"Fisher information: {first}"
    ax.set_yscale("log")
    ax.set_xlabel("timestep t")
    ax.set_ylabel("Fisher information (trace)")
    ax.set_title(title, fontsize=8, wrap=True)
    ax.legend(fontsize=6, frameon=False, ncol=2)
