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
from dataclasses import asdict

import numpy as np
import pandas as pd

from ..metrics.it import DOMAINS as IT_DOMAINS
from ..stats import binomial_se
from .verdicts import (
    CONFIDENCE,
    CONTRADICTED,
    INCONCLUSIVE,
    MAX_DROP_POINTS,
    NOT_TESTABLE,
    POWER,
    REPRODUCED,
    RULES,
    VERDICTS,
    Effect,
    Finding,
    SeedSD,
    Z,
    decide,
    judge,
    needed_seeds,
    not_testable,
    over_null,
    plus_minus,
)

__all__ = ["Finding", "paper_findings", "findings_table", "plus_minus", "judge", "needed_seeds",
           "REPRODUCED", "CONTRADICTED", "INCONCLUSIVE", "NOT_TESTABLE", "VERDICTS", "Z", "CONFIDENCE", "POWER",
           "MAX_DROP_POINTS", "RULES", "DEFAULT_SEED_SD"]

DEFAULT_SEED_SD: dict[str, float] = {
    "v1_orientation_smoothness": 0.0751, "v1_sf_smoothness": 0.2961, "v1_correlation_falloff": 0.0474,
    "it_smoothness": 0.0248, "overlap_colocalization": 0.0595, "overlap_tmap_correlation": 0.1314,
    "accuracy": 0.5387, "robustness": 0.8780, "it_brain": 0.0403}
"""Between-seed SD of each claim's paired difference, measured on the bundled ReLU pair's three seeds
(``benchmarks/seed_variation.py``, 2026-12-07); used by a one-seed report that has no seed-replicated pair of
its own. Borrowed across families, it is an assumption about the spiking family's seed variation, and says so."""


def _smoothness_rows(table: pd.DataFrame, model: str, key: str) -> dict[str, dict]:
    """``{metric or domain: row}`` of one model's rows of a stacked smoothness table."""
    return {row[key]: row for row in table[table["model"] == model].to_dict(orient="records")}


def _v1_smoothness(table: pd.DataFrame, layer: str, topo: str, base: str, metric: str, label: str,
                   paper_effect: float, paper: str, seed_sd: dict) -> Finding:
    t = _smoothness_rows(table, topo, "metric")[metric]
    b = _smoothness_rows(table, base, "metric")[metric]
    key, claim = f"v1_{metric}_smoothness", f"V1 {label} maps are smoother in the topographic model"
    measure = f"{label} smoothness, {layer}: topographic - baseline, SEM over unit samples"
    effect = Effect(t["smoothness"] - b["smoothness"], math.hypot(t["sem"], b["sem"]), int(t.get("n_samples", 0)
                                                                                           or 0), "unit samples")
    return decide(key, claim, paper, paper_effect, measure, effect,
                plus_minus(t["smoothness"], t["sem"]), plus_minus(b["smoothness"], b["sem"]),
                f"{plus_minus(t['chance'], t['chance_sem'])} / {plus_minus(b['chance'], b['chance_sem'])}", seed_sd,
                above_null=over_null(t["smoothness"], t["sem"], t["chance"], t["chance_sem"]),
                values=(t["smoothness"], b["smoothness"]))


def _v1_correlation(falloff: pd.DataFrame, layer: str, topo: str, base: str, seed_sd: dict) -> Finding:
    t = falloff[falloff["model"] == topo].iloc[0]
    b = falloff[falloff["model"] == base].iloc[0]
    effect = Effect(t["contrast"] - b["contrast"], math.hypot(t["sem"], b["sem"]), int(t["n_windows"]), "windows")
    return decide("v1_correlation_falloff", "Nearby V1 units respond more alike: correlation falls off with distance",
                "Fig. 3d (no numbers)", math.nan,
                f"within-window fall-off r(nearest common bin, {t['near_mm']:.3g} mm) - mean r(far common bins, "
                f"{t['far_mm']} mm), {layer}: topographic - baseline, SEM over windows",
                effect, plus_minus(t["contrast"], t["sem"]), plus_minus(b["contrast"], b["sem"]),
                f"{plus_minus(t['chance'], t['chance_sem'])} / {plus_minus(b['chance'], b['chance_sem'])}", seed_sd,
                above_null=over_null(t["contrast"], t["sem"], t["chance"], t["chance_sem"]),
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
    return decide("it_smoothness", "IT category t-maps are smoother in the topographic model", "Fig. 4c (no numbers)",
                math.nan, f"t-map smoothness, mean over {'/'.join(IT_DOMAINS)}, {layer}: topographic - baseline, "
                "SEM over unit samples (domains combined as independent)",
                Effect(tv - bv, math.hypot(ts, bs), n, "unit samples"), plus_minus(tv, ts), plus_minus(bv, bs),
                f"{plus_minus(tc, tcs)} / {plus_minus(bc, bcs)}", seed_sd, above_null=over_null(tv, ts, tc, tcs),
                values=(tv, bv), detail=f". Per domain: {per_domain}")


def _overlap(contrast: pd.DataFrame, layer: str, topo: str, base: str, seed_sd: dict) -> Finding:
    rows = contrast[contrast["method"] == "colocalization"]
    t, b = rows[rows["model"] == topo].iloc[0], rows[rows["model"] == base].iloc[0]
    key, claim = "overlap_colocalization", "Face and body maps overlap more than character and place maps"
    paper = "Fig. 4: 0.63 vs 0.16 (TSResnet18) on a measure the paper does not define"
    measure = (f"TDANN co-localisation (1 + rho) / 2, faces-bodies minus characters-places, {layer}, in the "
               f"topographic model; SE from a bootstrap over {t['resampled']}")
    if not np.isfinite(t["value"]):  # a domain without a map in the topographic model: nothing to co-localise
        why = t.get("undefined_because")
        why = why if isinstance(why, str) and why else ("a domain of the two pairs has the same fraction of "
                                                        "selective units in every window")
        return not_testable(key, claim, paper, measure, f"the topographic model has no map to co-localise ({why})")
    if not t["uses_positions"] or np.isclose(t["value"], t["position_shuffle_mean"], rtol=0, atol=1e-12):
        return not_testable(key, claim, paper, measure, "the measure does not move under position shuffling")
    diff, diff_se = t["value"] - b["value"], math.hypot(t["se"], b["se"])
    return decide(key, claim, paper, math.nan, measure, Effect(t["value"], t["se"], int(t["n_resampled"]), "windows"),
                plus_minus(t["value"], t["se"]), plus_minus(b["value"], b["se"]),
                f"{plus_minus(t['null_mean'], t['null_sd'])} / {plus_minus(b['null_mean'], b['null_sd'])} "
                "(position shuffle, mean \u00b1 SD)", seed_sd,
                above_null=over_null(t["value"], 0.0, t["null_mean"], t["null_sd"]), values=(t["value"], b["value"]),
                detail=f". Baseline comparison: topographic - baseline {diff:+.3f} \u00b1 {diff_se:.3f}")


def _overlap_companion(contrast: pd.DataFrame, layer: str, topo: str, base: str, seed_sd: dict) -> Finding:
    rows = contrast[contrast["method"] == "tmap_pearson"]
    t, b = rows[rows["model"] == topo].iloc[0], rows[rows["model"] == base].iloc[0]
    return decide("overlap_tmap_correlation",
                "(non-spatial companion) Face and body selectivity go together across units more than character "
                "and place selectivity", "Fig. 4: 0.63 vs 0.16 (TSResnet18) [I: probably this measure]", 0.47,
                f"Pearson r of the two t-maps across units (positions unused), faces-bodies minus "
                f"characters-places, {layer}, topographic model; SE from a bootstrap over {t['resampled']}",
                Effect(t["value"], t["se"], int(t["n_resampled"]), "images"),
                plus_minus(t["value"], t["se"]), plus_minus(b["value"], b["se"]),
                f"{plus_minus(t['null_mean'], t['null_sd'])} / {plus_minus(b['null_mean'], b['null_sd'])} "
                "(label shuffle, mean \u00b1 SD; not a topographic null)", seed_sd,
                above_null=over_null(t["value"], 0.0, t["null_mean"], t["null_sd"]), values=(t["value"], b["value"]))


def _accuracy(accuracy: dict[str, tuple[float, int] | None], topo: str, base: str, seed_sd: dict) -> Finding:
    paper = "Fig. 5; CIFAR-100 73.01 % -> 73.97 % at alpha = beta = 0.5"
    measure = "top-1 accuracy on the full test set from the model cards: topographic - baseline (points)"
    if accuracy.get(topo) is None or accuracy.get(base) is None:
        return not_testable("accuracy", "Topography costs no accuracy", paper, measure,
                                "a model card records no test accuracy (e.g. an untrained or imported model)")
    (ta, tn), (ba, bn) = accuracy[topo], accuracy[base]
    se = 100 * math.hypot(binomial_se(ta, tn), binomial_se(ba, bn))
    return decide("accuracy", "Topography costs no accuracy", paper, 0.96, measure,
                Effect(100 * (ta - ba), se, tn, "test images"),
                plus_minus(100 * ta, 100 * binomial_se(ta, tn), 1) + " %",
                plus_minus(100 * ba, 100 * binomial_se(ba, bn), 1) + " %", "10 % (chance)", seed_sd,
                margin=MAX_DROP_POINTS, values=(100 * ta, 100 * ba))


def _entropy(shift: pd.DataFrame | None, timesteps: int | None) -> Finding:
    claim, paper = "Topography shifts spike-train entropy", "Fig. 1 left"
    if shift is None:
        return not_testable("entropy", claim, paper, "spike-train entropy",
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
    effect = Effect(float(np.mean(gains)) if gains else math.nan,
                     float(np.sqrt(np.sum(np.square(ses))) / len(ses)) if ses else math.nan,
                     int(min(ns)) if ns else 0, "test images")
    return decide("robustness", "Topography makes the network more robust",
                "Robustness table: +0.2 to +1.3 points at alpha = beta = 10", paper_mean,
                "accuracy gain topographic - baseline (points), mean over the perturbations at the reference "
                "strength (attacks combined as independent)" + paper_pair,
                effect, "; ".join(parts), "(reference)", "-", seed_sd)


def _it_brain(table: pd.DataFrame, bootstrap: pd.DataFrame | None, topo: str, base: str, seed_sd: dict) -> Finding:
    claim, paper = "IT brain score is higher with topography", "Table 1: 0.7127 vs 0.7102 (+0.0025)"
    it = table[table["region"] == "IT"]
    pivot = it.pivot_table(index="benchmark", columns="model", values="committed_score")
    if pivot.empty or topo not in pivot or base not in pivot:
        return not_testable("it_brain", claim, paper, "IT benchmarks", "no IT benchmark was scored")
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
    return decide("it_brain", claim, paper, 0.0025, measure, Effect(float(diffs.mean()), se, n, unit),
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
        return not_testable(key, claim, FISHER_MODES_PAPER, measure,
                             "the family has no inter-area connections into V4 and IT (the paper reads the modes on "
                             "the recurrent CORnet's connections) or the temporal analysis was skipped")
    v4, it = (ratios[ratios["area"] == area].iloc[-1] for area in ("V4", "IT"))
    effect = Effect(float(v4["log_ratio"] - it["log_ratio"]), math.hypot(v4["log_ratio_se"], it["log_ratio_se"]),
                     int(v4["n_images"]), "images")
    shown = "; ".join(f"{r.connection} {r.log_ratio:+.3f} \u00b1 {r.log_ratio_se:.3f}" for r in ratios.itertuples())
    return decide(key, claim, FISHER_MODES_PAPER, math.nan, measure, effect,
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
    sd = (SeedSD(DEFAULT_SEED_SD, "the bundled ReLU pair's 3 seeds (DEFAULT_SEED_SD)") if seed_sd is None
          else SeedSD(seed_sd, seed_sd_source))
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
