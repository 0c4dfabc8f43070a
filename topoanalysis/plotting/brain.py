"""Figure of the brain benchmarks: each benchmark's score over the swept layers."""

from __future__ import annotations

import pandas as pd


def layer_sweep_figure(scores: pd.DataFrame):
    """One panel per benchmark: score per layer for each model; stars mark the region's committed layer."""
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(scores["benchmark"]))
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.2), squeeze=False, layout="constrained")
    for ax, name in zip(axes[0], names):
        part = scores[scores["benchmark"] == name]
        for i, (model, rows) in enumerate(part.groupby("model", sort=False)):
            ax.plot(rows["layer"], rows["score"].astype(float), marker="o", color=f"C{i}", label=model)
            committed = rows[rows["committed"]]
            ax.plot(committed["layer"], committed["score"].astype(float), marker="*", markersize=12,
                    color=f"C{i}", linestyle="none")
        ax.set_title(f"{name} ({part['region'].iloc[0]})", fontsize=8)
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax.set_ylabel("score")
    axes[0][0].legend(fontsize=6, frameon=False)
    fig.suptitle("layer sweep (star: the region's committed layer)")
    return fig
