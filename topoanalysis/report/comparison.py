"""Tables and figures over several models (the paper's Table 1, Fig. 1 right and Fig. 5a).

Pure functions of the analyses' results, so a multi-model report can put TDSNNs, topographic
ANNs and their baselines side by side:

* :func:`region_table` - rows = models, one column per brain region: the mean, over that
  region's offline benchmarks, of the committed layer's score (ceiled where a ceiling exists);
  regions with no offline benchmark (V2) stay NaN; plus the test accuracy.
* :func:`benchmark_ceilings` - each benchmark's ceiling and score rule, shared by every model.
* :func:`topography_cost` - per topographic / baseline pair: the accuracy change with its
  binomial standard error (Fig. 1 right: spiking vs ReLU families).
* :func:`topography_cost_figure` - that change as bars, coloured by family (Fig. 1 right).
* :func:`accuracy_vs_smoothness_models_figure` - accuracy against V1 and IT smoothness, one
  point per model, marker by family (Fig. 5a).
* :func:`face_body_smoothness` / :func:`face_body_smoothness_figure` - Fig. 4c: face and body
  t-map smoothness per model with SEM and the position-shuffle chance (TSResNet18, SResNet18,
  TSCornet, SCornet when given).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..brain.adapter import REGIONS
from ..stats import binomial_se

FIG4C_DOMAINS = ("faces", "bodies")


def region_table(region_scores: pd.DataFrame, accuracy: dict[str, tuple[float, int] | None]) -> pd.DataFrame:
    """Rows = models (in ``region_scores`` order), columns ``V1 V2 V4 IT`` and ``accuracy %``.

    ``region_scores`` is the brain analysis's per-benchmark table stacked over models
    (``model, benchmark, region, committed_score``); ``accuracy`` maps models to
    ``(top-1 accuracy, test images)`` or None.
    """
    rows = []
    for model in dict.fromkeys(region_scores["model"]):
        part = region_scores[region_scores["model"] == model]
        row = {"model": model}
        for region in REGIONS:
            scores = part.loc[part["region"] == region, "committed_score"].astype(float).dropna()
            row[region] = float(scores.mean()) if len(scores) else np.nan
            row[f"{region} benchmarks"] = int(len(scores))
        card = accuracy.get(model)
        row["accuracy %"] = np.nan if card is None else 100 * card[0]
        rows.append(row)
    return pd.DataFrame(rows)


def benchmark_ceilings(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per benchmark (per distinct ceiling, should models see different ones): region, ceiling, score rule.

    ``scores`` is the brain analysis's per-layer table stacked over models; only committed
    layers are read. The ceilings come from the neural data, so every model shares them.
    """
    committed = scores[scores["committed"].astype(bool)]
    columns = ["benchmark", "region", "ceiling", "ceiling_lower", "ceiling_upper", "score_rule"]
    return committed[columns].drop_duplicates(subset=["benchmark", "ceiling"]).reset_index(drop=True)


def topography_cost(pairs: list[tuple[str, str, str]], accuracy: dict[str, tuple[float, int] | None]) -> pd.DataFrame:
    """One row per ``(family, topographic, baseline)``: accuracy change in points and its standard error.

    Examples
    --------
    >>> row = topography_cost([("spiking", "t", "b")], {"t": (0.70, 10_000), "b": (0.75, 10_000)}).iloc[0]
    >>> round(float(row["accuracy_change_points"]), 2), round(float(row["se_points"]), 2)
    (-5.0, 0.63)
    """
    rows = []
    for family, topo, base in pairs:
        t, b = accuracy.get(topo), accuracy.get(base)
        if t is None or b is None:
            change, se = np.nan, np.nan
        else:
            change = 100 * (t[0] - b[0])
            se = 100 * math.hypot(binomial_se(*t), binomial_se(*b))
        rows.append({"family": family, "topographic": topo, "baseline": base, "accuracy_change_points": change,
                     "se_points": se})
    return pd.DataFrame(rows)


def accuracy_vs_smoothness_models_figure(points: pd.DataFrame):
    """Two panels (V1 orientation, IT faces): accuracy against smoothness, one point per model.

    ``points`` has ``model, family, accuracy, accuracy_se`` (fractions) and ``v1_smoothness,
    v1_sem, it_smoothness, it_sem``; families get their own marker and colour.
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.2), layout="constrained")
    families = list(dict.fromkeys(points["family"]))
    markers = "osD^v"
    for ax, (column, label) in zip(axes, (("v1", "V1 orientation smoothness"), ("it", "IT face smoothness"))):
        for i, family in enumerate(families):
            part = points[points["family"] == family]
            ax.errorbar(part[f"{column}_smoothness"], 100 * part["accuracy"], xerr=part[f"{column}_sem"],
                        yerr=100 * part["accuracy_se"], fmt=markers[i % len(markers)], color=f"C{i}", capsize=3,
                        label=family)
            for row in part.itertuples():
                ax.annotate(row.model, (getattr(row, f"{column}_smoothness"), 100 * row.accuracy), fontsize=5,
                            xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel(f"{label} (\u00b1 SEM)")
        ax.set_ylabel("top-1 accuracy (%, \u00b1 SE)")
    axes[0].legend(fontsize=6, frameon=False)
    missing = points.loc[~np.isfinite(points["accuracy"].astype(float)), "model"].tolist()
    if missing:
        fig.text(0.5, 0.01, f"not drawn (no accuracy recorded): {', '.join(missing)}", ha="center", fontsize=6)
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
        labels.append(f"{row.family}\n{row.topographic}\nvs {row.baseline}")
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


def face_body_smoothness(it_tables: dict[str, pd.DataFrame], families: dict[str, str]) -> pd.DataFrame:
    """Fig. 4c's table: per model (``it_tables``: model -> the IT analysis's smoothness table holding its rows) and
    domain (faces, bodies), ``smoothness``, ``sem``, ``chance`` and ``chance_sem`` (position shuffle), ``family``."""
    rows = []
    for model, table in it_tables.items():
        own = table[(table["model"] == model) & table["domain"].isin(FIG4C_DOMAINS)]
        for row in own.to_dict("records"):
            rows.append({"model": model, "family": families[model], "domain": row["domain"],
                         "smoothness": row["smoothness"], "sem": row["sem"], "chance": row["chance"],
                         "chance_sem": row["chance_sem"]})
    return pd.DataFrame(rows)


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
    ax.set_xticks(range(len(models)), [f"{m}\n({f})" for m, f in families.items()], fontsize=6)
    ax.set_ylabel("t-map smoothness (± SEM)")
    ax.set_title("face and body t-map smoothness (Fig. 4c)", fontsize=9)
    ax.legend(fontsize=6, frameon=False)
    return fig
