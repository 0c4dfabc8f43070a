"""The findings table: fixed rules turn planted results into the verdicts they must give."""

import math

import numpy as np
import pandas as pd
import pytest

from topoanalysis.metrics.spatial import CorrelationResult
from topoanalysis.report.findings import (
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_TESTABLE,
    REPRODUCED,
    VERDICTS,
    findings_table,
    judge,
    needed_seeds,
    paper_findings,
)
from topoanalysis.report.seed_findings import seed_level_findings, seed_variation

DOMAINS = ("faces", "bodies", "characters", "places", "objects")
KEYS = ("v1_orientation_smoothness", "v1_sf_smoothness", "v1_correlation_falloff", "it_smoothness",
        "overlap_colocalization", "overlap_tmap_correlation", "accuracy", "entropy", "robustness", "it_brain")
SMALL_SEED_SD = {key: 1e-4 for key in KEYS}


def _v1(topo_orientation: float, base_orientation: float, sem: float = 0.01, chance: float = 0.02) -> pd.DataFrame:
    return pd.DataFrame([{"model": model, "metric": m, "smoothness": v, "sem": sem, "chance": chance,
                          "chance_sem": 0.005, "n_samples": 20}
                         for model, orientation in (("topo", topo_orientation), ("base", base_orientation))
                         for m, v in (("orientation", orientation), ("sf", 0.5), ("color", 0.5))])


def _it(topo_values, base_values, sem=0.01) -> pd.DataFrame:
    return pd.DataFrame([{"model": model, "domain": d, "smoothness": v, "sem": sem, "chance": 0.01,
                          "chance_sem": 0.002, "n_samples": 25}
                         for model, values in (("topo", topo_values), ("base", base_values))
                         for d, v in zip(DOMAINS, values)])


def _falloff(topo: float, base: float = 0.06, sem: float = 0.02) -> pd.DataFrame:
    return pd.DataFrame([{"model": model, "near_mm": 0.1, "far_mm": "2.5 3", "contrast": value, "sem": sem,
                          "chance": 0.0, "chance_sem": 0.005, "n_windows": 24}
                         for model, value in (("topo", topo), ("base", base))])


def _overlap(coloc_topo: float, coloc_se: float = 0.02, *, uses_positions: bool = True,
             tmap: float = 0.4) -> pd.DataFrame:
    rows = []
    for model, coloc, r in (("topo", coloc_topo, tmap), ("base", 0.0, 0.3)):
        rows.append({"model": model, "method": "colocalization", "value": coloc, "se": coloc_se,
                     "n_resampled": 40, "n_bootstrap": 1000, "resampled": "windows", "null_kind": "position shuffle",
                     "null_mean": 0.0, "null_sd": 0.03, "uses_positions": uses_positions,
                     "position_shuffle_mean": 0.0 if uses_positions else coloc})
        rows.append({"model": model, "method": "tmap_pearson", "value": r, "se": 0.05, "n_resampled": 1440,
                     "n_bootstrap": 100, "resampled": "images within each domain", "null_kind": "label shuffle",
                     "null_mean": -0.2, "null_sd": 0.05, "uses_positions": False, "position_shuffle_mean": r})
    return pd.DataFrame(rows)


def _inputs(**overrides):
    inputs = dict(
        v1_smoothness=_v1(0.80, 0.50), v1_layer="layer2.0", correlation_falloff=_falloff(0.37),
        it_smoothness=_it([0.7] * 5, [0.5] * 5), it_layer="layer4.1",
        overlap_contrast=_overlap(0.3), accuracy={"topo": (0.80, 10_000), "base": (0.80, 10_000)},
        entropy_shift=pd.DataFrame({"timesteps": [4, 4, 8], "layer": ["layer1.0", "layer4.1", "layer1.0"],
                                    "entropy_shift_bits": [0.01, -0.02, 0.5]}),
        robustness=pd.DataFrame({"attack": ["clean", "gaussian_noise", "fgsm"], "n_images": [1000] * 3,
                                 "topo": [0.8, 0.6, 0.3], "base": [0.8, 0.4, 0.1]}),
        brain=pd.DataFrame({"region": ["IT", "IT", "V1"] * 2, "benchmark": ["a", "b", "c"] * 2,
                            "model": ["topo"] * 3 + ["base"] * 3,
                            "committed_score": [0.6, 0.5, 0.4, 0.45, 0.45, 0.45]}),
        topographic="topo", baseline="base", topographic_alpha=10.0, timesteps=4, seed_sd=SMALL_SEED_SD)
    inputs.update(overrides)
    return inputs


def _by_key(**overrides):
    return {f.key: f for f in paper_findings(**_inputs(**overrides))}


def test_judge_plants_each_case():
    assert judge(0.3, 0.2, 0.4, 0.19) == REPRODUCED  # resolved, the paper's side
    assert judge(-0.3, -0.4, -0.2, 0.19) == CONTRADICTED  # the opposite effect, resolved
    assert judge(0.1, -0.2, 0.4, 0.19) == INCONCLUSIVE  # holds 0 and the paper's effect
    assert judge(0.0, -0.02, 0.05, 0.19) == CONTRADICTED  # holds 0, excludes the paper's size
    assert judge(0.0, -0.02, 0.05, math.nan) == INCONCLUSIVE  # no size given: only a resolved sign decides
    assert judge(-0.3, -0.4, -0.2, -0.5) == REPRODUCED  # a claimed decrease
    assert judge(0.3, 0.2, 0.4, 0.19, above_null=0.0) == INCONCLUSIVE  # the model is not above its null
    assert judge(-1.0, -2.0, 0.0, 0.96, margin=3.0) == REPRODUCED
    assert judge(-5.0, -6.0, -4.0, 0.96, margin=3.0) == CONTRADICTED
    assert judge(-3.0, -4.0, -2.0, 0.96, margin=3.0) == INCONCLUSIVE


def test_needed_seeds_is_the_smallest_t_based_sample_with_the_power():
    from scipy import stats

    def power_ok(k, sd, d):
        return (stats.t.ppf(0.975, k - 1) + stats.t.ppf(0.8, k - 1)) * sd / math.sqrt(k) <= d

    for sd, d in ((0.1, 0.1), (0.3, 0.05), (0.01, 0.5)):
        k = needed_seeds(sd, d)
        assert power_ok(k, sd, d) and (k == 2 or not power_ok(k - 1, sd, d))
    assert needed_seeds(0.1, 0.1) == 10  # the normal formula's 7.85 is too few at small n
    assert needed_seeds(0.1, 0.0) is None


def test_resolved_effects_are_reproduced_with_intervals_and_nulls():
    found = _by_key()
    orientation = found["v1_orientation_smoothness"]
    assert orientation.verdict == REPRODUCED and orientation.effect == pytest.approx(0.30)
    assert orientation.ci_low == pytest.approx(0.30 - 1.96 * math.hypot(0.01, 0.01, 1e-4), abs=1e-6)
    assert orientation.paper_effect == pytest.approx(0.19) and orientation.chance.startswith("0.020 \u00b1 0.005")
    assert found["v1_correlation_falloff"].verdict == REPRODUCED
    assert found["v1_correlation_falloff"].effect == pytest.approx(0.31)
    assert found["it_smoothness"].verdict == REPRODUCED
    assert found["overlap_colocalization"].verdict == REPRODUCED
    assert found["accuracy"].verdict == REPRODUCED  # no drop within the 3-point margin
    assert found["entropy"].verdict == NOT_TESTABLE
    assert set(findings_table(list(found.values()))["verdict"]) <= set(VERDICTS)


def test_reversed_effects_are_contradicted():
    found = _by_key(v1_smoothness=_v1(0.50, 0.80), correlation_falloff=_falloff(0.0, 0.3),
                    it_smoothness=_it([0.5] * 5, [0.7] * 5), accuracy={"topo": (0.70, 10_000),
                                                                       "base": (0.80, 10_000)})
    for key in ("v1_orientation_smoothness", "v1_correlation_falloff", "it_smoothness", "accuracy"):
        assert found[key].verdict == CONTRADICTED, key


def test_an_underpowered_effect_is_inconclusive_and_says_what_sample_would_decide():
    finding = _by_key(v1_smoothness=_v1(0.52, 0.50, sem=0.08))["v1_orientation_smoothness"]
    assert finding.verdict == INCONCLUSIVE and finding.ci_low < 0 < 0.19 < finding.ci_high
    expected = needed_seeds(math.hypot(0.08, 0.08, 1e-4), 0.19)
    assert f"needs about {expected:,} seed pairs per condition" in finding.reason
    assert "more unit samples per model than 20" in finding.reason  # here the within-model error dominates


def test_a_position_free_measure_is_not_reported_as_topography():
    finding = _by_key(overlap_contrast=_overlap(0.3, uses_positions=False))["overlap_colocalization"]
    assert finding.verdict == NOT_TESTABLE and "does not move under position shuffling" in finding.reason
    # the non-spatial companion stays, judged against its label-shuffle null and labelled as such
    companion = _by_key()["overlap_tmap_correlation"]
    assert companion.claim.startswith("(non-spatial companion)") and "label shuffle" in companion.chance


def test_a_topographic_model_without_a_place_map_cannot_co_localise_it():
    contrast = _overlap(np.nan).assign(undefined_because="")
    contrast.loc[0, "undefined_because"] = "places: no unit with t above 4 in every window"
    finding = _by_key(overlap_contrast=contrast)["overlap_colocalization"]
    assert finding.verdict == NOT_TESTABLE
    assert finding.reason == ("the topographic model has no map to co-localise (places: no unit with t above 4 in "
                              "every window)")
    # a result cached before the reason was recorded still gets a plain reason, never "effect +nan"
    finding = _by_key(overlap_contrast=_overlap(np.nan))["overlap_colocalization"]
    assert finding.verdict == NOT_TESTABLE and "same fraction of selective units in every window" in finding.reason


def test_a_topographic_model_at_its_shuffle_null_is_not_reproduced():
    finding = _by_key(v1_smoothness=_v1(0.04, 0.01, sem=0.005, chance=0.04))["v1_orientation_smoothness"]
    assert finding.ci_low > 0 and finding.above_null == 0.0 and finding.verdict == INCONCLUSIVE


def test_one_seed_without_a_seed_level_sd_is_never_resolved():
    found = _by_key(seed_sd={})
    assert found["v1_orientation_smoothness"].verdict == INCONCLUSIVE
    assert "needs >= 2 seeds per condition" in found["v1_orientation_smoothness"].reason
    assert "within-model uncertainty only" in found["v1_orientation_smoothness"].uncertainty
    widened = _by_key(seed_sd={"v1_orientation_smoothness": 0.2})["v1_orientation_smoothness"]
    assert widened.verdict == INCONCLUSIVE and widened.ci_low < 0  # a second seed could move 0.30 away


def test_robustness_pairs_images_and_brain_uses_the_bootstrap():
    per_image = pd.DataFrame([{"model": model, "attack": attack, "strength": 0.1, "image": i, "label": 0,
                               "correct": bool(correct)}
                              for attack in ("gaussian_noise", "fgsm") for i in range(100)
                              for model, correct in (("topo", i < 60), ("base", i < 40))])
    found = _by_key(robustness_per_image=per_image)
    robust = found["robustness"]
    d = np.r_[np.zeros(40), np.full(20, 100.0), np.zeros(40)]
    assert robust.effect == pytest.approx(20.0)
    assert robust.se_within == pytest.approx(math.hypot(*[d.std(ddof=1) / 10] * 2) / 2)
    assert "paired" in robust.topographic
    boot = pd.DataFrame([{"model": model, "benchmark": b, "region": "IT", "layer": "layer4.1", "replicate": r,
                          "score": (0.6 if b == "a" else 0.5) + (0.0 if model == "base" else 0.1) + 0.01 * (r % 3)}
                         for model in ("topo", "base") for b in ("a", "b") for r in range(30)])
    brain = _by_key(brain_bootstrap=boot)["it_brain"]
    assert brain.effect == pytest.approx(0.1) and brain.se_within == pytest.approx(0.0)
    assert _by_key()["it_brain"].verdict == INCONCLUSIVE  # no bootstrap: no uncertainty, never resolved


def test_seed_level_findings_use_the_spread_of_paired_differences():
    tables = [findings_table(paper_findings(**_inputs(v1_smoothness=_v1(0.80 + shift, 0.50)))) for shift in
              (-0.02, 0.0, 0.02)]
    seeds = seed_level_findings(tables).set_index("key")
    row = seeds.loc["v1_orientation_smoothness"]
    assert row["effect"] == pytest.approx(0.30) and row["n_seeds"] == 3
    half = 4.302653 * 0.02 / math.sqrt(3)  # t(0.975, 2) * SD / sqrt(n)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((0.30 - half, 0.30 + half), abs=1e-5)
    assert row["verdict"] == REPRODUCED and "between seeds" in row["uncertainty"]
    assert seed_variation(tables)["v1_orientation_smoothness"] == pytest.approx(0.02)
    noisy = [findings_table(paper_findings(**_inputs(v1_smoothness=_v1(0.50 + shift, 0.50)))) for shift in
             (-0.3, 0.05, 0.3)]
    row = seed_level_findings(noisy).set_index("key").loc["v1_orientation_smoothness"]
    assert row["verdict"] == INCONCLUSIVE and "seed pairs per condition" in row["reason"]


def test_the_within_window_falloff_uses_only_bins_every_window_has():
    nan = np.nan
    curves = np.array([[0.8, 0.5, 0.2, 0.1, nan],
                       [0.6, 0.3, 0.0, 0.1, 0.5],  # the far bin only this window reaches is ignored
                       [0.7, 0.4, 0.1, 0.0, nan]])
    chance = np.array([[0.3, 0.3, 0.3, 0.3, nan], [0.2, 0.2, 0.2, 0.2, 0.2], [0.1, 0.1, 0.1, 0.1, nan]])
    table = CorrelationResult(np.linspace(0, 5, 6), curves, chance, 5.0).falloff_table().iloc[0]
    contrast = curves[:, 0] - curves[:, 2:4].mean(axis=1)  # near: bin 0; far: bins 2-3, the farther half of 0-3
    assert table["contrast"] == pytest.approx(contrast.mean())
    assert table["sem"] == pytest.approx(contrast.std(ddof=1) / math.sqrt(3))
    assert table["chance"] == pytest.approx(0.0) and table["near_mm"] == 0.5 and table["far_mm"] == "2.5 3.5"


def _fisher(v4_topo: float, it_topo: float, se: float = 0.01) -> pd.DataFrame:
    """Fisher tables of a CORnet pair: the baseline 1.0 on every connection, the topographic model as given."""
    rows = []
    for model, values in (("t", {"V1->V2": 1.0, "V2->V4": v4_topo, "V4->IT": it_topo}),
                          ("b", {"V1->V2": 1.0, "V2->V4": 1.0, "V4->IT": 1.0})):
        for t in (1, 2):
            for group, value in values.items():
                rows.append({"model": model, "timestep": t, "group": group, "area": group.split("->")[1],
                             "fisher": value, "fisher_se": se * value, "n_batches": 64})
            rows.append({"model": model, "timestep": t, "group": "classifier", "area": "", "fisher": 5.0,
                         "fisher_se": 0.1, "n_batches": 64})
    return pd.DataFrame(rows)


def test_fisher_modes_read_the_log_ratios_into_v4_and_it():
    from topoanalysis.report.findings import _fisher_modes, fisher_connection_ratios

    ratios = fisher_connection_ratios(_fisher(2.0, 0.5), "t", "b").set_index("connection")
    assert ratios.loc["V2->V4", "log_ratio"] == pytest.approx(math.log(2.0))
    assert ratios.loc["V4->IT", "log_ratio"] == pytest.approx(math.log(0.5))
    assert ratios.loc["V2->V4", "log_ratio_se"] == pytest.approx(math.hypot(0.01, 0.01))
    assert "classifier" not in ratios.index
    both_modes = _fisher_modes(_fisher(2.0, 0.5), "t", "b", {"fisher_modes": 0.1})
    assert both_modes.verdict == REPRODUCED and both_modes.effect == pytest.approx(2 * math.log(2.0))
    reversed_modes = _fisher_modes(_fisher(0.5, 2.0), "t", "b", {"fisher_modes": 0.1})
    assert reversed_modes.verdict == CONTRADICTED
    assert _fisher_modes(_fisher(2.0, 0.5), "t", "b", {}).verdict == INCONCLUSIVE  # one seed, no seed SD
    resnet = _fisher(2.0, 0.5).assign(group=lambda f: f["group"].str.replace("->", "_to_"))
    assert _fisher_modes(resnet, "t", "b", {"fisher_modes": 0.1}).verdict == NOT_TESTABLE
    assert _fisher_modes(None, "t", "b", {}).verdict == NOT_TESTABLE
