"""Report figures that combine several analyses, or show what the network was shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..stats import binomial_se

if TYPE_CHECKING:
    from ..models.checkpoints import CheckpointSpec


def grating_examples_figure(spec: CheckpointSpec, n_orientations: int = 4):
    """A few sine gratings at the checkpoint's input size: orientations x (low, high SF) x colours."""
    import matplotlib.pyplot as plt

    from ..stimuli import make_sine_gratings

    gratings = make_sine_gratings(spec.input_size_px, spec.visual_degrees)
    labels = gratings.labels
    orientations = sorted(labels["orientation_deg"].unique())[:: max(1, 8 // n_orientations)]
    sf_indices = [int(labels["sf_index"].min()), int(labels["sf_index"].max())]
    rows = [(sf, color) for sf in sf_indices for color in (0, 1)]
    fig, axes = plt.subplots(len(rows), len(orientations), figsize=(1.4 * len(orientations), 1.5 * len(rows)),
                             squeeze=False, layout="constrained")
    for (sf, color), row in zip(rows, axes):
        for orientation, ax in zip(orientations, row):
            match = labels[(labels["orientation_deg"] == orientation) & (labels["sf_index"] == sf)
                           & (labels["color_index"] == color) & (labels["phase_rad"] == labels["phase_rad"].min())]
            index = int(match.index[0])
            ax.imshow(gratings.images[index], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{orientation:g} deg, {labels['sf_cpd'][index]:.2f} cpd", fontsize=6)
    fig.suptitle(f"gratings at {spec.input_size_px} px, {spec.visual_degrees:g} deg", fontsize=9)
    return fig


def accuracy_vs_smoothness_figure(smoothness: pd.DataFrame, accuracy: dict[str, tuple[float, int, str]]):
    """Top-1 accuracy (with binomial SE) vs orientation smoothness (with SEM), one point per model.

    ``smoothness`` is the V1 analysis's table stacked over models; ``accuracy`` maps model
    names to ``(accuracy, n images, where it comes from)``.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3.6, 3.2), layout="constrained")
    sources = set()
    orientation = smoothness[smoothness["metric"] == "orientation"]
    for i, model in enumerate(dict.fromkeys(orientation["model"])):
        row = orientation[orientation["model"] == model].iloc[0]
        acc, n, source = accuracy.get(model, (np.nan, 0, ""))
        se = binomial_se(acc, n)
        sources.add(f"{source}, n = {n:,}")
        ax.errorbar([row["smoothness"]], [100 * acc], xerr=[row["sem"]], yerr=[100 * se], fmt="o", color=f"C{i}",
                    ms=6, capsize=3, label=model)
    ax.set_xlabel("V1 orientation smoothness (\u00b1 SEM)")
    ax.set_ylabel("top-1 accuracy (%, \u00b1 SE)")
    ax.legend(fontsize=6, frameon=False)
    ax.set_title("accuracy vs smoothness (" + "; ".join(sorted(sources)) + ")", fontsize=7)
    return fig
