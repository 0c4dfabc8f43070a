"""The paper's claims over several seeds of one topographic / baseline condition.

Each seed pair's findings (:func:`topoanalysis.report.findings.paper_findings`) give one paired
difference per claim; :func:`seed_level_findings` judges their mean with a t interval over seeds
by the same rules (:data:`topoanalysis.report.findings.RULES`), and :func:`seed_variation` gives the
between-seed SD that widens a one-seed pair's intervals.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from .verdicts import CONFIDENCE, INCONCLUSIVE, MAX_DROP_POINTS, NOT_TESTABLE, judge, needed_seeds, plus_minus

__all__ = ["seed_level_findings", "seed_variation"]


def seed_variation(pair_tables: list[pd.DataFrame]) -> dict[str, float]:
    """Per claim key, the SD over seed pairs of the paired difference (``effect``); needs >= 2 pairs."""
    if len(pair_tables) < 2:
        return {}
    stacked = pd.concat(pair_tables, ignore_index=True)
    spread = stacked.dropna(subset=["effect"]).groupby("key")["effect"].agg(["std", "count"])
    return {key: float(row["std"]) for key, row in spread.iterrows() if row["count"] >= 2 and np.isfinite(row["std"])}


def _over_seeds(values: np.ndarray, first_text: str) -> str:
    """``"0.447 ± 0.112 (mean ± SD over seeds)"``, or the first seed's text when the row has no number."""
    if not np.isfinite(values).all():
        return f"{first_text} (first seed)"
    return plus_minus(values.mean(), values.std(ddof=1)) + " (mean \u00b1 SD over seeds)"


def seed_level_findings(pair_tables: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per claim over n seed pairs (each a pair's findings table): the mean paired difference, its
    between-seed SE and t interval (n - 1 df), the within-model SE beside it, and the verdict by the same rules.
    """
    rows = []
    first = pair_tables[0]
    for index, template in first.iterrows():
        key = template["key"]
        per_seed = [table[table["key"] == key].iloc[0] for table in pair_tables if (table["key"] == key).any()]
        effects = np.array([row["effect"] for row in per_seed], dtype=float)
        n = len(effects)
        if template["verdict"] == NOT_TESTABLE and not np.isfinite(effects).any() or n < 2:
            rows.append({**template.to_dict(), "uncertainty": f"{n} seed pair(s)", "n_seeds": n})
            continue
        mean, sd = float(effects.mean()), float(effects.std(ddof=1))
        se = sd / math.sqrt(n)
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * se
        within_se = np.array([row["se_within"] for row in per_seed], dtype=float)
        within = float(np.sqrt(np.mean(within_se**2))) if np.isfinite(within_se).all() else math.nan
        above = [row["above_null"] for row in per_seed]
        above_null = math.nan if not np.isfinite(above).any() else float(all(a == 1.0 for a in above
                                                                              if np.isfinite(a)))
        margin = MAX_DROP_POINTS if key == "accuracy" else None
        paper_effect = float(template["paper_effect"])
        verdict = judge(mean, mean - half, mean + half, paper_effect, above_null=above_null, margin=margin)
        reason = (f"mean paired difference {mean:+.3g} over {n} seeds, {CONFIDENCE:.0%} t interval "
                  f"[{mean - half:+.3g}, {mean + half:+.3g}]")
        reason += "; no-drop margin -3" if margin else (f"; paper {paper_effect:+.3g}" if np.isfinite(paper_effect)
                                                        else "; the paper gives no size")
        if above_null == 0.0:
            reason += "; a topographic model is not above its position-shuffle null"
        if verdict == INCONCLUSIVE:
            target = (mean + MAX_DROP_POINTS) if margin else (paper_effect if np.isfinite(paper_effect) else mean)
            seeds = needed_seeds(sd, target)
            reason += f"; resolving it needs about {seeds:,} seed pairs per condition" if seeds else ""
        values = lambda column: np.array([row[column] for row in per_seed], dtype=float)  # noqa: E731
        rows.append({**template.to_dict(), "verdict": verdict, "effect": mean, "ci_low": mean - half,
                     "ci_high": mean + half, "se_within": within, "above_null": above_null,
                     "uncertainty": f"between seeds: SD {sd:.3g} over {n} seed pairs (SE {se:.3g}); within-model "
                                    f"SE {within:.3g}",
                     "topographic": _over_seeds(values("topographic_value"), template["topographic"]),
                     "baseline": _over_seeds(values("baseline_value"), template["baseline"]),
                     "topographic_value": values("topographic_value").mean(),
                     "baseline_value": values("baseline_value").mean(), "reason": reason, "n_seeds": n})
    return pd.DataFrame(rows)
