"""Figures over several models: Fig. 1 right (the accuracy cost of topography), Fig. 4c (face and body t-map
smoothness) and Fig. 5a (accuracy against smoothness), drawn from :mod:`topoanalysis.report.comparison`'s tables."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

FIG4C_DOMAINS = ("faces", "bodies")
"""The domains of Fig. 4c."""

LABEL_WIDTH_CHARS = 18
"""Longest line of a wrapped model name under a bar (checkpoint stems run to 35 characters)."""


def wrap_name(name: str, width: int = LABEL_WIDTH_CHARS) -> str:
    """``name`` over several lines, broken after underscores so that no line is longer than ``width``
    where the name allows it (a part longer than ``width`` keeps a line of its own)."""
    parts = [part + "_" for part in name.split("_")]
    parts[-1] = parts[-1][:-1]
    lines = [""]
    for part in parts:
        if lines[-1] and len(lines[-1]) + len(part) > width:
            lines.append("")
        lines[-1] += part
    return "\n".join(lines)


def accuracy_vs_smoothness_models_figure(points: pd.DataFrame):
    """Two panels (V1 orientation, IT faces): accuracy against smoothness, one point per model.

    ``points`` has ``model, family, accuracy, accuracy_se`` (fractions) and ``v1_smoothness,
    v1_sem, it_smoothness, it_sem``; families get their own marker and colour.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.6), layout="constrained")
    families = list(dict.fromkeys(points["family"]))
    markers = "osD^v"
    number = {model: i + 1 for i, model in enumerate(points["model"])}  # points are numbered; the key names them
    offsets = ((3, 3), (3, -8), (-9, 3), (-9, -8))  # alternated so that numbers of nearby points fall apart
    for ax, (column, label) in zip(axes, (("v1", "V1 orientation smoothness"), ("it", "IT face smoothness"))):
        for i, family in enumerate(families):
            part = points[points["family"] == family]
            ax.errorbar(part[f"{column}_smoothness"], 100 * part["accuracy"], xerr=part[f"{column}_sem"],
                        yerr=100 * part["accuracy_se"], fmt=markers[i % len(markers)], color=f"C{i}", capsize=3,
                        label=family)
            for row in part.itertuples():
                ax.annotate(str(number[row.model]), (getattr(row, f"{column}_smoothness"), 100 * row.accuracy),
                            fontsize=6, xytext=offsets[(number[row.model] - 1) % len(offsets)],
                            textcoords="offset points")
        ax.set_xlabel(f"{label} (\u00b1 SEM)")
        ax.set_ylabel("top-1 accuracy (%, \u00b1 SE)")
    axes[0].legend(fontsize=6, frameon=False)
    key = textwrap.fill("   ".join(f"{i}\u00a0{model}" for model, i in number.items()), 150)  # no break inside
    missing = points.loc[~np.isfinite(points["accuracy"].astype(float)), "model"].tolist()
    if missing:
        key += f"\nnot drawn (no accuracy recorded): {', '.join(missing)}"
    fig.supxlabel(key, fontsize=5)
    fig.suptitle("accuracy vs smoothness by model family (Fig. 5a)", fontsize=9)
    return fig


def topography_cost_figure(cost: pd.DataFrame):
    """Fig. 1 right: the accuracy change from baseline to topographic model, one bar per pair, by family.

    ``cost`` is :func:`topography_cost`'s table; error bars are one binomial standard error of
    the difference; pairs without accuracies are listed as such instead of drawn.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(cost) + 1.5), 3.2), layout="constrained")
    families = list(dict.fromkeys(cost["family"]))
    labels = []
    for i, row in enumerate(cost.itertuples()):
        labels.append(f"{row.family}\n{wrap_name(row.topographic)}\nvs\n{wrap_name(row.baseline)}")
        if np.isfinite(row.accuracy_change_points):
            ax.bar(i, row.accuracy_change_points, yerr=row.se_points, capsize=4,
                   color=f"C{families.index(row.family)}")
        else:
            ax.text(i, 0, "no accuracy\nrecorded", ha="center", va="bottom", fontsize=6)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xlim(-0.6, len(cost) - 0.4)
    if not np.isfinite(cost["accuracy_change_points"]).any():
        ax.set_ylim(-1, 1)
    ax.set_xticks(range(len(cost)), labels, fontsize=6)
    ax.set_ylabel("accuracy change, topo - baseline\n(points, \u00b1 SE)")
    ax.set_title("what topography costs in accuracy\n(Fig. 1 right)", fontsize=9)
    return fig


def face_body_smoothness_figure(table: pd.DataFrame):
    """Fig. 4c: face and body t-map smoothness, one group of bars per model (± SEM), chance as a tick."""
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(table["model"]))
    fig, ax = plt.subplots(figsize=(max(4.0, 1.0 * len(models) + 1.5), 3.2), layout="constrained")
    width = 0.38
    for j, domain in enumerate(FIG4C_DOMAINS):
        part = table[table["domain"] == domain].set_index("model").reindex(models)
        x = np.arange(len(models)) + (j - 0.5) * width
        ax.bar(x, part["smoothness"], width, yerr=part["sem"], capsize=3, color=f"C{j}", label=domain)
        ax.errorbar(x, part["chance"], yerr=part["chance_sem"], fmt="_", color="k", markersize=12,
                    label="position-shuffle chance" if j == 0 else None)
    families = table.drop_duplicates("model").set_index("model")["family"].reindex(models)
    ax.set_xticks(range(len(models)), [f"{wrap_name(m)}\n({f})" for m, f in families.items()], fontsize=6)
    ax.set_ylabel("t-map smoothness (± SEM)")
    ax.set_title("face and body t-map smoothness (Fig. 4c)", fontsize=9)
    ax.legend(fontsize=6, frameon=False)
    return fig
