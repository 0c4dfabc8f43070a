"""The paper's claims, checked on one topographic / baseline pair, or on several seeds of one.

:func:`paper_findings` turns the analyses' results into one row per claim of the TDSNN paper
(V1 maps smoother, nearby V1 units more correlated, IT maps smoother, face-body maps overlapping
more than character-place maps, no accuracy cost, an entropy shift, more robustness, a higher IT
brain score). Each row holds the effect (topographic minus baseline, or the topographic model's
contrast) with its interval, the paper's effect, the position-shuffle null of a topographic
measure, and a verdict by rules fixed in advance and the same for every row (:data:`RULES`):

* ``reproduced``: the 95 % interval lies on the paper's side of "no effect" and, for a
  topographic claim, the topographic model's measure is above its own position-shuffle null
  (by more than :data:`Z` combined standard errors);
* ``contradicted``: the interval lies on the other side (the opposite effect, resolved), or it
  holds no effect but excludes the paper's effect size (the data rule that effect out);
* ``inconclusive``: the interval holds both no effect and the paper's effect (or the paper gives
  no size); the row says how many seed pairs per condition would resolve the paper's effect (or,
  without one, the measured effect) with 80 % power at the 5 % level, from the measured variance;
* ``not testable``: the model cannot express the claim (a ReLU network has no spike trains; a
  measure that does not move when positions are shuffled says nothing about topography).

Uncertainty is at the level of models where seeds exist (:mod:`topoanalysis.report.seed_findings`: the
between-seed spread of the paired differences, t interval); with one seed per condition a row
says so, and its interval adds the between-seed standard deviation of the same difference measured
on seed-replicated pairs (the report's own, else :data:`DEFAULT_SEED_SD`), so a one-seed
difference smaller than what a second seed could plausibly move is never ``reproduced``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..metrics.it import DOMAINS as IT_DOMAINS
from ..stats import binomial_se

__all__ = ["Finding", "paper_findings", "findings_table", "plus_minus", "judge", "needed_seeds",
           "REPRODUCED", "CONTRADICTED", "INCONCLUSIVE", "NOT_TESTABLE", "VERDICTS", "Z", "CONFIDENCE", "POWER",
           "MAX_DROP_POINTS", "RULES", "DEFAULT_SEED_SD"]

REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE = "reproduced", "contradicted", "inconclusive", "not testable"
VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE)
CONFIDENCE = 0.95
"""Two-sided level of every interval."""
POWER = 0.80
"""Power at which an inconclusive row states the sample that would resolve the effect."""
Z = float(stats.norm.ppf(0.5 + CONFIDENCE / 2))
"""1.96: the half-width of a normal 95 % interval in standard errors (also the bar for "above its null")."""
MAX_DROP_POINTS = 3.0
"""Largest accuracy drop (percentage points, topographic below baseline) read as "no drop"."""

RULES = (
    f"Every interval is {CONFIDENCE:.0%} two-sided: normal (effect +- {Z:.2f} SE) within one model, t with n - 1 "
    "degrees of freedom over n seed pairs.",
    "reproduced: the interval excludes no effect on the paper's side; a topographic measure must also put the "
    f"topographic model above its position-shuffle null by > {Z:.2f} combined SE.",
    "contradicted: the interval excludes no effect on the other side, or holds no effect and excludes the "
    "paper's effect size.",
    f"inconclusive: otherwise; the seed pairs per condition that resolve the paper's effect (else the measured "
    f"one) at {POWER:.0%} power, from the measured variance, are stated.",
    "not testable: the model cannot express the claim, or the measure does not move under position shuffling.",
    "One seed per condition: the interval adds the between-seed SD of the same paired difference, measured on "
    "seed-replicated pairs (the report's own, else the bundled ReLU seeds').",
    f"No accuracy drop: the drop must be below {MAX_DROP_POINTS:g} points (a non-inferiority margin) for the "
    "whole interval.",
)

DEFAULT_SEED_SD: dict[str, float] = {
    "v1_orientation_smoothness": 0.0751, "v1_sf_smoothness": 0.2961, "v1_correlation_falloff": 0.0474,
    "it_smoothness": 0.0248, "overlap_colocalization": 0.0595, "overlap_tmap_correlation": 0.1314,
    "accuracy": 0.5387, "robustness": 0.8780, "it_brain": 0.0403}
"""Between-seed SD of each claim's paired difference, measured on the bundled ReLU pair's three seeds
(``benchmarks/seed_variation.py``, 2026-12-07); used by a one-seed report that has no seed-replicated pair of
its own. Borrowed across families, it is an assumption about the spiking family's seed variation, and says so."""


@dataclass(frozen=True)
class Finding:
    """One claim of the paper and what this pair (or these seeds) show."""

    key: str
    claim: str
    verdict: str
    effect: float
    ci_low: float
    ci_high: float
    paper_effect: float
    uncertainty: str
    topographic: str
    baseline: str
    chance: str
    reason: str
    measure: str
    paper: str
    se_within: float = math.nan
    topographic_value: float = math.nan
    baseline_value: float = math.nan
    above_null: float = math.nan
    """1.0 when the topographic measure is above its position-shuffle null, 0.0 when not, NaN: no null."""


def plus_minus(value: float, sem: float | None, digits: int = 3) -> str:
    """``"0.623 ± 0.005"``; ``"n/a"`` for a missing value, the value alone without an uncertainty."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if sem is None or not np.isfinite(sem):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} \u00b1 {sem:.{digits}f}"


def judge(effect: float, low: float, high: float, paper_effect: float, *, above_null: float = math.nan,
          margin: float | None = None) -> str:
    """The verdict of :data:`RULES` for an effect whose interval is ``[low, high]``.

    ``paper_effect`` gives the claim's direction (its sign; positive where the paper gives no
    size, NaN) and size; ``above_null`` 0.0 fails a topographic measure that is not above its
    shuffle null. ``margin`` turns the claim into non-inferiority: the effect stays above
    ``-margin``.

    >>> judge(0.3, 0.2, 0.4, 0.19), judge(-0.3, -0.4, -0.2, 0.19), judge(0.0, -0.1, 0.3, 0.19)
    ('reproduced', 'contradicted', 'inconclusive')
    >>> judge(0.0, -0.05, 0.05, 0.19), judge(0.3, 0.2, 0.4, 0.19, above_null=0.0)
    ('contradicted', 'inconclusive')
    """
    if not (np.isfinite(low) and np.isfinite(high)):
        return INCONCLUSIVE
    if margin is not None:
        return REPRODUCED if low > -margin else CONTRADICTED if high < -margin else INCONCLUSIVE
    sign = -1.0 if np.isfinite(paper_effect) and paper_effect < 0 else 1.0
    low, high = sorted((sign * low, sign * high))
    if low > 0:
        return REPRODUCED if above_null != 0.0 else INCONCLUSIVE
    if high < 0:
        return CONTRADICTED
    if np.isfinite(paper_effect) and high < abs(paper_effect):
        return CONTRADICTED
    return INCONCLUSIVE


class _SeedSD(dict):
    """Claim key -> between-seed SD of its paired difference, and where those numbers come from."""

    def __init__(self, values: dict[str, float], source: str) -> None:
        super().__init__(values)
        self.source = source


@dataclass(frozen=True)
class _Effect:
    """An effect with its standard error, as one pair measures it."""

    value: float
    se: float
    n: int
    unit: str


def _interval(effect: _Effect, seed_sd: float | None, source: str) -> tuple[float, float, float, str]:
    """``(low, high, se, uncertainty text)`` for a one-seed effect, widened by the seed SD where known."""
    if seed_sd is None or not np.isfinite(seed_sd):
        se = effect.se
        text = f"one seed: within-model uncertainty only ({effect.n} {effect.unit}); no seed-level SD known"
    else:
        se = math.hypot(effect.se, seed_sd)
        text = (f"one seed: within-model SE {effect.se:.3g} ({effect.n} {effect.unit}) and a between-seed SD "
                f"{seed_sd:.3g} of this difference, from {source}")
    return effect.value - Z * se, effect.value + Z * se, se, text


def _row(key: str, claim: str, paper: str, paper_effect: float, measure: str, effect: _Effect,
         topographic: str, baseline: str, chance: str, seed_sd: dict[str, float], *,
         above_null: float = math.nan, margin: float | None = None, values: tuple[float, float] = (math.nan,
                                                                                                   math.nan),
         detail: str = "") -> Finding:
    sd = seed_sd.get(key)
    low, high, se, uncertainty = _interval(effect, sd, getattr(seed_sd, "source", "seed-replicated pairs"))
    verdict = judge(effect.value, low, high, paper_effect, above_null=above_null, margin=margin)
    if sd is None and verdict in (REPRODUCED, CONTRADICTED):
        verdict = INCONCLUSIVE  # one seed with no seed-level variance: what a second seed moves is unknown
    reason = _reason(verdict, effect, low, high, paper_effect, above_null, margin, sd) + detail
    return Finding(key, claim, verdict, effect.value, low, high, paper_effect, uncertainty, topographic, baseline,
                   chance, reason, measure, paper, effect.se, values[0], values[1], above_null)


def needed_seeds(sd: float, effect: float, limit: int = 100_000) -> int | None:
    """Seed pairs per condition at which a paired difference of ``effect`` is resolved with :data:`POWER`,
    when one pair's difference varies with SD ``sd``: the smallest k >= 2 with
    ``(t_{1-a/2, k-1} + t_{power, k-1}) * sd / sqrt(k) <= |effect|`` (None beyond ``limit``).

    >>> needed_seeds(0.1, 0.1)
    10
    """
    if not (np.isfinite(sd) and np.isfinite(effect)) or effect == 0:
        return None

    def enough(k: int) -> bool:
        quantiles = stats.t.ppf(0.5 + CONFIDENCE / 2, k - 1) + stats.t.ppf(POWER, k - 1)
        return quantiles * sd / math.sqrt(k) <= abs(effect)

    high = 2
    while not enough(high):
        if high > limit:
            return None
        high *= 2
    low = max(2, high // 2)
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle + 1, high)
    return high


def _reason(verdict: str, effect: _Effect, low: float, high: float, paper_effect: float,
            above_null: float, margin: float | None, seed_sd: float | None) -> str:
    text = f"effect {effect.value:+.3g}, {CONFIDENCE:.0%} interval [{low:+.3g}, {high:+.3g}]"
    if margin is not None:
        target = -margin
        text += f"; no-drop margin {-margin:+g}"
    else:
        target = paper_effect if np.isfinite(paper_effect) else effect.value
        text += f"; paper {paper_effect:+.3g}" if np.isfinite(paper_effect) else "; the paper gives no size"
    if above_null == 0.0:
        text += "; the topographic model is not above its position-shuffle null"
    if verdict != INCONCLUSIVE:
        return text
    if seed_sd is None:
        return text + "; one seed and no seed-level SD: needs >= 2 seeds per condition"
    gap = effect.value - target if margin is not None else target
    what = "the no-drop margin" if margin is not None else (
        "the paper's effect" if np.isfinite(paper_effect) else "the measured effect")
    seeds = needed_seeds(math.hypot(seed_sd, effect.se), gap)
    text += (f"; resolving {what} needs about {seeds:,} seed pairs per condition" if seeds
             else "; no effect size to plan a sample for")
    if seeds and effect.se > seed_sd:
        text += f" (or fewer with more {effect.unit} per model than {effect.n:,}: the within-model error dominates)"
    return text


def _smoothness_rows(table: pd.DataFrame, model: str, key: str) -> dict[str, dict]:
    """``{metric or domain: row}`` of one model's rows of a stacked smoothness table."""
    return {row[key]: row for row in table[table["model"] == model].to_dict(orient="records")}


def _above(value: float, se: float, null: float, null_se: float) -> float:
    """1.0 when ``value`` exceeds ``null`` by more than Z combined SE, else 0.0 (NaN when either is missing)."""
    if not (np.isfinite(value) and np.isfinite(null)):
        return math.nan
    return float(value - null > Z * math.hypot(se if np.isfinite(se) else 0.0, null_se if np.isfinite(null_se)
                                                  else 0.0))


def _not_testable(key: str, claim: str, paper: str, measure: str, why: str) -> Finding:
    return Finding(key, claim, NOT_TESTABLE, math.nan, math.nan, math.nan, math.nan, "-", "n/a", "n/a", "-",
                   why, measure, paper)


def _v1_smoothness(table: pd.DataFrame, layer: str, topo: str, base: str, metric: str, label: str,
                   paper_effect: float, paper: str, seed_sd: dict) -> Finding:
    t = _smoothness_rows(table, topo, "metric")[metric]
    b = _smoothness_rows(table, base, "metric")[metric]
    key, claim = f"v1_{metric}_smoothness", f"V1 {label} maps are smoother in the topographic model"
    measure = f"{label} smoothness, {layer}: topographic - baseline, SEM over unit samples"
    effect = _Effect(t["smoothness"] - b["smoothness"], math.hypot(t["sem"], b["sem"]), int(t.get("n_samples", 0)
                                                                                           or 0), "unit samples")
    return _row(key, claim, paper, paper_effect, measure, effect,
                plus_minus(t["smoothness"], t["sem"]), plus_minus(b["smoothness"], b["sem"]),
                f"{plus_minus(t['chance'], t['chance_sem'])} / {plus_minus(b['chance'], b['chance_sem'])}", seed_sd,
                above_null=_above(t["smoothness"], t["sem"], t["chance"], t["chance_sem"]),
                values=(t["smoothness"], b["smoothness"]))


def _v1_correlation(falloff: pd.DataFrame, layer: str, topo: str, base: str, seed_sd: dict) -> Finding:
    t = falloff[falloff["model"] == topo].iloc[0]
    b = falloff[falloff["model"] == base].iloc[0]
    effect = _Effect(t["contrast"] - b["contrast"], math.hypot(t["sem"], b["sem"]), int(t["n_windows"]), "windows")
    return _row("v1_correlation_falloff", "Nearby V1 units respond more alike: correlation falls off with distance",
                "Fig. 3d (no numbers)", math.nan,
                f"within-window fall-off r(nearest common bin, {t['near_mm']:.3g} mm) - mean r(far common bins, "
                f"{t['far_mm']} mm), {layer}: topographic - baseline, SEM over windows",
                effect, plus_minus(t["contrast"], t["sem"]), plus_minus(b["contrast"], b["sem"]),
                f"{plus_minus(t['chance'], t['chance_sem'])} / {plus_minus(b['chance'], b['chance_sem'])}", seed_sd,
                above_null=_above(t["contrast"], t["sem"], t["chance"], t["chance_sem"]),
                values=(t["contrast"], b["contrast"]))


def _domain_mean(rows: dict, column: str, sem_column: str) -> tuple[float, float]:
    values = np.array([rows[d][column] for d in IT_DOMAINS], dtype=float)
    sems = np.array([rows[d][sem_column] for d in IT_DOMAINS], dtype=float)
    return float(values.mean()), float(np.sqrt((sems**2).sum()) / len(values))


def _it_smoothness(table: pd.DataFrame, layer: str, topo: str, base: str, seed_sd: dict) -> Finding:
    t = _smoothness_rows(table, topo, "domain")
    b = _smoothness_rows(table, base, "domain")
    (tv, ts), (bv, bs) = _domain_mean(t, "smoothness", "sem"), _domain_mean(b, "smoothness", "sem")
    (tc, tcs), (bc, bcs) = _domain_mean(t, "chance", "chance_sem"), _domain_mean(b, "chance", "chance_sem")
    per_domain = "; ".join(f"{d} {t[d]['smoothness'] - b[d]['smoothness']:+.3f}" for d in IT_DOMAINS)
    n = int(t[IT_DOMAINS[0]].get("n_samples", 0) or 0)
    return _row("it_smoothness", "IT category t-maps are smoother in the topographic model", "Fig. 4c (no numbers)",
                math.nan, f"t-map smoothness, mean over {'/'.join(IT_DOMAINS)}, {layer}: topographic - baseline, "
                "SEM over unit samples (domains combined as independent)",
                _Effect(tv - bv, math.hypot(ts, bs), n, "unit samples"), plus_minus(tv, ts), plus_minus(bv, bs),
                f"{plus_minus(tc, tcs)} / {plus_minus(bc, bcs)}", seed_sd, above_null=_above(tv, ts, tc, tcs),
                values=(tv, bv), detail=f". Per domain: {per_domain}")


def _overlap(contrast: pd.DataFrame, layer: str, topo: str, base: str, seed_sd: dict) -> Finding:
    rows = contrast[contrast["method"] == "colocalization"]
    t, b = rows[rows["model"] == topo].iloc[0], rows[rows["model"] == base].iloc[0]
    key, claim = "overlap_colocalization", "Face and body maps overlap more than character and place maps"
    paper = "Fig. 4: 0.63 vs 0.16 (TSResnet18) on a measure the paper does not define"
    measure = (f"TDANN co-localisation (1 + rho) / 2, faces-bodies minus characters-places, {layer}, in the "
               f"topographic model; SE from a bootstrap over {t['resampled']}")
    if not t["uses_positions"] or np.isclose(t["value"], t["position_shuffle_mean"], rtol=0, atol=1e-12):
        return _not_testable(key, claim, paper, measure, "the measure does not move under position shuffling")
    diff, diff_se = t["value"] - b["value"], math.hypot(t["se"], b["se"])
    return _row(key, claim, paper, math.nan, measure, _Effect(t["value"], t["se"], int(t["n_resampled"]), "windows"),
                plus_minus(t["value"], t["se"]), plus_minus(b["value"], b["se"]),
                f"{plus_minus(t['null_mean'], t['null_sd'])} / {plus_minus(b['null_mean'], b['null_sd'])} "
                "(position shuffle, mean \u00b1 SD)", seed_sd,
                above_null=_above(t["value"], 0.0, t["null_mean"], t["null_sd"]), values=(t["value"], b["value"]),
                detail=f". Baseline comparison: topographic - baseline {diff:+.3f} \u00b1 {diff_se:.3f}")


def _overlap_companion(contrast: pd.DataFrame, layer: str, topo: str, base: str, seed_sd: dict) -> Finding:
    rows = contrast[contrast["method"] == "tmap_pearson"]
    t, b = rows[rows["model"] == topo].iloc[0], rows[rows["model"] == base].iloc[0]
    return _row("overlap_tmap_correlation",
                "(non-spatial companion) Face and body selectivity go together across units more than character "
                "and place selectivity", "Fig. 4: 0.63 vs 0.16 (TSResnet18) [I: probably this measure]", 0.47,
                f"Pearson r of the two t-maps across units (positions unused), faces-bodies minus "
                f"characters-places, {layer}, topographic model; SE from a bootstrap over {t['resampled']}",
                _Effect(t["value"], t["se"], int(t["n_resampled"]), "images"),
                plus_minus(t["value"], t["se"]), plus_minus(b["value"], b["se"]),
                f"{plus_minus(t['null_mean'], t['null_sd'])} / {plus_minus(b['null_mean'], b['null_sd'])} "
                "(label shuffle, mean \u00b1 SD; not a topographic null)", seed_sd,
                above_null=_above(t["value"], 0.0, t["null_mean"], t["null_sd"]), values=(t["value"], b["value"]))


def _accuracy(accuracy: dict[str, tuple[float, int] | None], topo: str, base: str, seed_sd: dict) -> Finding:
    paper = "Fig. 5; CIFAR-100 73.01 % -> 73.97 % at alpha = beta = 0.5"
    measure = "top-1 accuracy on the full test set from the model cards: topographic - baseline (points)"
    if accuracy.get(topo) is None or accuracy.get(base) is None:
        return _not_testable("accuracy", "Topography costs no accuracy", paper, measure,
                                "a model card records no test accuracy (e.g. an untrained or imported model)")
    (ta, tn), (ba, bn) = accuracy[topo], accuracy[base]
    se = 100 * math.hypot(binomial_se(ta, tn), binomial_se(ba, bn))
    return _row("accuracy", "Topography costs no accuracy", paper, 0.96, measure,
                _Effect(100 * (ta - ba), se, tn, "test images"),
                plus_minus(100 * ta, 100 * binomial_se(ta, tn), 1) + " %",
                plus_minus(100 * ba, 100 * binomial_se(ba, bn), 1) + " %", "10 % (chance)", seed_sd,
                margin=MAX_DROP_POINTS, values=(100 * ta, 100 * ba))


def _entropy(shift: pd.DataFrame | None, timesteps: int | None) -> Finding:
    claim, paper = "Topography shifts spike-train entropy", "Fig. 1 left"
    if shift is None:
        return _not_testable("entropy", claim, paper, "spike-train entropy",
                                "a ReLU network emits no spike trains (the temporal analysis was skipped)")
    if "timestep" in shift:
        shift = shift[shift["timestep"] == -1]  # the whole window (temporal's convention)
    t = timesteps if timesteps in set(shift["timesteps"]) else int(shift["timesteps"].max())
    window = shift[shift["timesteps"] == t]
    text = ", ".join(f"{r.layer} {r.entropy_shift_bits:+.3f}" for r in window.itertuples())
    return Finding("entropy", claim, NOT_TESTABLE, math.nan, math.nan, math.nan, math.nan, "-", text,
                   "(reference)", "-", "the paper shows a topography-dependent shift but states neither its sign nor "
                   "an error bar, so no result could contradict it; the shifts are shown, not judged",
                   f"H_topo - H_baseline (bits) per layer over the window, inference T = {t}", paper)


PAPER_ROBUSTNESS_GAIN_POINTS = {"gaussian_noise": 1.3, "fgsm": 0.8, "pgd": 0.73, "pixel_mask": 0.2}
"""The paper's robustness table, TSResnet18 (alpha = beta = 10) minus SResnet18, in points."""


def _paired_gain(per_image: pd.DataFrame | None, attack: str, topo: str, base: str) -> tuple[float, float, int]:
    """Accuracy gain (points) and its paired SE from per-image outcomes: the same images for both models."""
    rows = per_image[per_image["attack"] == attack]
    pivot = rows.pivot_table(index="image", columns="model", values="correct", aggfunc="first").dropna()
    d = 100.0 * (pivot[topo].astype(float) - pivot[base].astype(float)).to_numpy()
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.nan, len(d)


def _robustness(table: pd.DataFrame, per_image: pd.DataFrame | None, topo: str, base: str,
                topo_alpha: float | None, seed_sd: dict) -> Finding:
    rows = table[table["attack"].isin(PAPER_ROBUSTNESS_GAIN_POINTS)]
    gains, ses, ns, parts = [], [], [], []
    for row in rows.to_dict("records"):
        attack = row["attack"]
        if per_image is not None and len(per_image) and attack in set(per_image["attack"]):
            gain, se, n = _paired_gain(per_image, attack, topo, base)
            how = "paired"
        else:
            t, b, n = float(row[topo]), float(row[base]), int(row["n_images"])
            gain, se, how = 100 * (t - b), 100 * math.hypot(binomial_se(t, n), binomial_se(b, n)), "unpaired"
        gains.append(gain)
        ses.append(se)
        ns.append(n)
        parts.append(f"{attack} {gain:+.1f} \u00b1 {se:.1f} (n {n}, {how}; paper "
                     f"{PAPER_ROBUSTNESS_GAIN_POINTS[attack]:+.2g})")
    paper_pair = "" if topo_alpha == 10 else "; the paper's robustness model is alpha = beta = 10"
    paper_mean = float(np.mean([PAPER_ROBUSTNESS_GAIN_POINTS[a] for a in rows["attack"]])) if len(rows) else math.nan
    effect = _Effect(float(np.mean(gains)) if gains else math.nan,
                     float(np.sqrt(np.sum(np.square(ses))) / len(ses)) if ses else math.nan,
                     int(min(ns)) if ns else 0, "test images")
    return _row("robustness", "Topography makes the network more robust",
                "Robustness table: +0.2 to +1.3 points at alpha = beta = 10", paper_mean,
                "accuracy gain topographic - baseline (points), mean over the perturbations at the reference "
                "strength (attacks combined as independent)" + paper_pair,
                effect, "; ".join(parts), "(reference)", "-", seed_sd)


def _it_brain(table: pd.DataFrame, bootstrap: pd.DataFrame | None, topo: str, base: str, seed_sd: dict) -> Finding:
    claim, paper = "IT brain score is higher with topography", "Table 1: 0.7127 vs 0.7102 (+0.0025)"
    it = table[table["region"] == "IT"]
    pivot = it.pivot_table(index="benchmark", columns="model", values="committed_score")
    if pivot.empty or topo not in pivot or base not in pivot:
        return _not_testable("it_brain", claim, paper, "IT benchmarks", "no IT benchmark was scored")
    diffs = (pivot[topo] - pivot[base]).dropna()
    measure = ("offline IT benchmarks at the committed layer (ceiled scores): topographic - baseline, mean over "
               "benchmarks")
    if bootstrap is not None and len(bootstrap):
        boot = bootstrap[(bootstrap["region"] == "IT") & bootstrap["benchmark"].isin(diffs.index)]
        per = boot.pivot_table(index=["replicate", "benchmark"], columns="model", values="score")
        replicate_means = (per[topo] - per[base]).groupby(level="replicate").mean()
        se, n, unit = float(replicate_means.std(ddof=1)), 92, "images (bootstrap)"
        measure += "; SE from a bootstrap over the 92 images, the same resamples for both models"
    else:
        se, n, unit = math.nan, 92, "images"
        measure += "; no uncertainty estimate"
    fmt = "; ".join
    return _row("it_brain", claim, paper, 0.0025, measure, _Effect(float(diffs.mean()), se, n, unit),
                fmt(f"{b} {v:.3f}" for b, v in pivot[topo].items()),
                fmt(f"{b} {v:.3f}" for b, v in pivot[base].items()), "-", seed_sd,
                values=(float(pivot[topo].mean()), float(pivot[base].mean())))


FISHER_MODES_PAPER = ("METHODS 1.4 (TSCornet): V1/V2 stable, V4 higher ('mode A'), IT lower ('mode B'); read here as "
                      "TSCornet relative to SCornet per inter-area connection [I]")


def fisher_connection_ratios(fisher: pd.DataFrame, topo: str, base: str) -> pd.DataFrame:
    """Per inter-area connection (groups named ``source->area``): each model's Fisher information averaged over
    t = 1..T, and ``log_ratio`` = ln(topographic / baseline) with its delta-method SE (each model's SE is the
    mean of its per-t SEs over images: an upper bound, since one image's I_t are positively correlated over t)."""
    rows = []
    inter_area = fisher[fisher["group"].str.contains("->", regex=False)]
    for group, part in inter_area.groupby("group", sort=False):
        means = part.groupby("model")[["fisher", "fisher_se"]].mean()
        if topo not in means.index or base not in means.index:
            continue
        (mt, st), (mb, sb) = means.loc[topo], means.loc[base]
        ratio = math.log(mt / mb) if mt > 0 and mb > 0 else math.nan
        rows.append({"connection": group, "area": part["area"].iloc[0], "topographic": mt, "topographic_se": st,
                     "baseline": mb, "baseline_se": sb, "log_ratio": ratio,
                     "log_ratio_se": math.hypot(st / mt, sb / mb) if mt > 0 and mb > 0 else math.nan,
                     "n_images": int(part["n_batches"].iloc[0]) if "n_batches" in part else 0})
    return pd.DataFrame(rows)


def _fisher_modes(fisher: pd.DataFrame | None, topo: str, base: str, seed_sd: dict) -> Finding:
    key, claim = "fisher_modes", "Topography raises Fisher information into V4 and lowers it into IT (the two modes)"
    measure = ("ln(FI_topo / FI_baseline) per inter-area connection, FI = Eq. 8 averaged over t = 1..T; effect = "
               "the ratio into V4 minus the ratio into IT (delta-method SE over images)")
    ratios = None if fisher is None or "fisher_se" not in fisher else fisher_connection_ratios(fisher, topo, base)
    if ratios is None or ratios.empty or not {"V4", "IT"} <= set(ratios["area"]):
        return _not_testable(key, claim, FISHER_MODES_PAPER, measure,
                             "the family has no inter-area connections into V4 and IT (the paper reads the modes on "
                             "the recurrent CORnet's connections) or the temporal analysis was skipped")
    v4, it = (ratios[ratios["area"] == area].iloc[-1] for area in ("V4", "IT"))
    effect = _Effect(float(v4["log_ratio"] - it["log_ratio"]), math.hypot(v4["log_ratio_se"], it["log_ratio_se"]),
                     int(v4["n_images"]), "images")
    shown = "; ".join(f"{r.connection} {r.log_ratio:+.3f} \u00b1 {r.log_ratio_se:.3f}" for r in ratios.itertuples())
    return _row(key, claim, FISHER_MODES_PAPER, math.nan, measure, effect,
                "; ".join(f"{r.connection} {r.topographic:.3g}" for r in ratios.itertuples()),
                "; ".join(f"{r.connection} {r.baseline:.3g}" for r in ratios.itertuples()), "-", seed_sd,
                detail=f". Log ratios per connection (V1/V2 'stable' shown, not judged): {shown}")


def paper_findings(*, v1_smoothness: pd.DataFrame, v1_layer: str, correlation_falloff: pd.DataFrame,
                   it_smoothness: pd.DataFrame, it_layer: str, overlap_contrast: pd.DataFrame,
                   accuracy: dict[str, tuple[float, int] | None], entropy_shift: pd.DataFrame | None,
                   robustness: pd.DataFrame, brain: pd.DataFrame, topographic: str, baseline: str,
                   robustness_per_image: pd.DataFrame | None = None, brain_bootstrap: pd.DataFrame | None = None,
                   topographic_alpha: float | None = None, timesteps: int | None = None,
                   seed_sd: dict[str, float] | None = None, seed_sd_source: str = "seed-replicated pairs",
                   fisher: pd.DataFrame | None = None) -> list[Finding]:
    """One :class:`Finding` per claim, from the analyses' results for ``topographic`` vs ``baseline``.

    ``accuracy`` maps each model name to ``(top-1 accuracy, number of test images)`` or ``None``;
    ``timesteps`` picks the inference T whose entropy shift is shown (``entropy_shift`` None: a ReLU
    model, whose claim is not testable). Tables are stacked over models (a ``model`` column) as the
    analyses write them. ``seed_sd`` maps claim keys to the between-seed SD of their paired
    difference (default :data:`DEFAULT_SEED_SD`), ``seed_sd_source`` says where they come from; a key
    without one is never resolved. ``fisher``: the temporal analysis's Fisher table (both models), for the
    Fisher-modes row of families with inter-area connections.
    """
    sd = (_SeedSD(DEFAULT_SEED_SD, "the bundled ReLU pair's 3 seeds (DEFAULT_SEED_SD)") if seed_sd is None
          else _SeedSD(seed_sd, seed_sd_source))
    return [
        _v1_smoothness(v1_smoothness, v1_layer, topographic, baseline, "orientation", "orientation", 0.19,
                       "Fig. 3c; ImageNet 0.57 -> 0.76", sd),
        _v1_smoothness(v1_smoothness, v1_layer, topographic, baseline, "sf", "spatial-frequency", math.nan,
                       "Fig. 3c (no numbers)", sd),
        _v1_correlation(correlation_falloff, v1_layer, topographic, baseline, sd),
        _it_smoothness(it_smoothness, it_layer, topographic, baseline, sd),
        _overlap(overlap_contrast, it_layer, topographic, baseline, sd),
        _overlap_companion(overlap_contrast, it_layer, topographic, baseline, sd),
        _accuracy(accuracy, topographic, baseline, sd),
        _entropy(entropy_shift, timesteps),
        _robustness(robustness, robustness_per_image, topographic, baseline, topographic_alpha, sd),
        _it_brain(brain, brain_bootstrap, topographic, baseline, sd),
        _fisher_modes(fisher, topographic, baseline, sd),
    ]


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """The findings as a table, one row per claim."""
    return pd.DataFrame([asdict(f) for f in findings])
