"""Tables over several models (the paper's Table 1, Fig. 1 right, Fig. 4c and Fig. 5a).

Pure functions of the analyses' results, so a multi-model report can put TDSNNs, topographic
ANNs and their baselines side by side:

* :func:`region_table` - rows = models, one column per brain region: the mean, over that
  region's offline benchmarks, of the committed layer's score (ceiled where a ceiling exists);
  regions with no offline benchmark (V2) stay NaN; plus the test accuracy.
* :func:`benchmark_ceilings` - each benchmark's ceiling and score rule, shared by every model.
* :func:`topography_cost` - per topographic / baseline pair: the accuracy change with its
  binomial standard error (Fig. 1 right: spiking vs ReLU families).
* :func:`face_body_smoothness` - Fig. 4c's table: face and body t-map smoothness per model with
  SEM and the position-shuffle chance (TSResNet18, SResNet18, TSCornet, SCornet when given).

Their figures are in :mod:`topoanalysis.plotting.comparison`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..brain.adapter import REGIONS
from ..plotting.comparison import FIG4C_DOMAINS
from ..stats import binomial_se


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
