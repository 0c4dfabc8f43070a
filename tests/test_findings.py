"""The findings table: fixed rules turn planted results into the verdicts they must give."""

import pandas as pd
import pytest

from topoanalysis.findings import NOT_REPRODUCED, NOT_TESTABLE, REPRODUCED, findings_table, paper_findings

DOMAINS = ("faces", "bodies", "characters", "places", "objects")


def _v1(topo_orientation: float, base_orientation: float, sem: float = 0.01) -> pd.DataFrame:
    return pd.DataFrame([{"model": model, "metric": m, "smoothness": v, "sem": sem, "chance": 0.02,
                          "chance_sem": 0.005}
                         for model, orientation in (("topo", topo_orientation), ("base", base_orientation))
                         for m, v in (("orientation", orientation), ("sf", 0.5), ("color", 0.5))])


def _it(topo_values, base_values, sem=0.01) -> pd.DataFrame:
    return pd.DataFrame([{"model": model, "domain": d, "smoothness": v, "sem": sem, "chance": 0.01}
                         for model, values in (("topo", topo_values), ("base", base_values))
                         for d, v in zip(DOMAINS, values)])


def _curves(topo_near: float) -> pd.DataFrame:
    rows = []
    for model, near in (("topo", topo_near), ("base", 0.3)):
        for d, r in ((0.5, near), (2.0, 0.1), (4.0, None)):  # the empty far bin is skipped
            rows.append({"model": model, "distance_mm": d, "mean_r": r, "sem": 0.01, "chance_mean_r": 0.05})
    return pd.DataFrame(rows)


def _overlap(fb: float, cp: float) -> pd.DataFrame:
    rows = [{"model": model, "method": "tmap_pearson", "domain_a": a, "domain_b": b,
             "value": fb if (a, b) == ("faces", "bodies") else cp if (a, b) == ("characters", "places") else 0.0,
             "chance": 0.0} for model in ("topo", "base") for a in DOMAINS for b in DOMAINS]
    return pd.DataFrame(rows)


def _findings(**overrides):
    inputs = dict(
        v1_smoothness=_v1(0.80, 0.50), v1_layer="layer2.0", correlation_curves=_curves(0.60),
        it_smoothness=_it([0.7] * 5, [0.5] * 5), it_layer="layer4.1",
        overlap=_overlap(0.6, 0.2), accuracy={"topo": (0.78, 10_000), "base": (0.80, 10_000)},
        entropy_shift=pd.DataFrame({"timesteps": [4, 4, 8], "layer": ["layer1.0", "layer4.1", "layer1.0"],
                                    "entropy_shift_bits": [0.01, -0.02, 0.5]}),
        robustness=pd.DataFrame({"attack": ["clean", "gaussian_noise", "fgsm"], "n_images": [1000] * 3,
                                 "topo": [0.8, 0.6, 0.3], "base": [0.8, 0.4, 0.1]}),
        brain=pd.DataFrame({"region": ["IT", "IT", "V1"], "benchmark": ["a", "b", "c"], "model": ["topo"] * 3,
                            "committed_score": [0.6, 0.5, 0.4]}),
        topographic="topo", baseline="base", topographic_alpha=10.0, timesteps=4)
    inputs["brain"] = pd.concat([inputs["brain"], inputs["brain"].assign(model="base", committed_score=0.45)])
    inputs.update(overrides)
    return {f.claim.split(" ")[0] + ":" + f.measure.split(" ")[0]: f for f in paper_findings(**inputs)}


def _verdicts(**overrides):
    return [f.verdict for f in _findings(**overrides).values()]


def test_clear_effects_are_reproduced_and_reversed_ones_are_not():
    table = findings_table(list(_findings().values()))
    assert list(table.columns) == ["claim", "paper", "measure", "topographic", "baseline", "chance", "verdict",
                                   "reason"]
    assert table["topographic"][6] == "layer1.0 +0.010, layer4.1 -0.020"  # at the checkpoint's T = 4
    assert list(table["verdict"]) == [REPRODUCED, NOT_REPRODUCED, REPRODUCED, REPRODUCED, REPRODUCED,
                                      REPRODUCED, NOT_TESTABLE, REPRODUCED, REPRODUCED]
    # the same rules with the models swapped: every directional claim fails
    flipped = _verdicts(v1_smoothness=_v1(0.50, 0.80), correlation_curves=_curves(0.2),
                        it_smoothness=_it([0.5] * 5, [0.7] * 5), overlap=_overlap(0.2, 0.6),
                        accuracy={"topo": (0.70, 10_000), "base": (0.80, 10_000)})
    assert flipped[:6] == [NOT_REPRODUCED] * 6


def test_a_gap_inside_three_standard_errors_is_not_a_reproduction():
    findings = _findings(v1_smoothness=_v1(0.54, 0.50, sem=0.01))  # gap 0.04 = 2.8 combined SEM
    orientation = next(f for f in findings.values() if "orientation" in f.claim)
    assert orientation.verdict == NOT_REPRODUCED and "+2.8 combined SEM" in orientation.reason
    assert "0.540 \u00b1 0.010" == orientation.topographic and "0.020 \u00b1 0.005" in orientation.chance


def test_it_needs_four_of_five_domains_and_accuracy_allows_three_points():
    assert _verdicts(it_smoothness=_it([0.7, 0.7, 0.7, 0.5, 0.5], [0.5] * 5))[3] == NOT_REPRODUCED
    assert _verdicts(it_smoothness=_it([0.7, 0.7, 0.7, 0.7, 0.5], [0.5] * 5))[3] == REPRODUCED
    assert _verdicts(accuracy={"topo": (0.771, 10_000), "base": (0.80, 10_000)})[5] == REPRODUCED
    assert _verdicts(accuracy={"topo": (0.769, 10_000), "base": (0.80, 10_000)})[5] == NOT_REPRODUCED
    assert _verdicts(accuracy={"topo": None, "base": (0.80, 10_000)})[5] == NOT_TESTABLE


def test_robustness_needs_every_attack_and_says_which_model_the_paper_used():
    weak = pd.DataFrame({"attack": ["clean", "gaussian_noise", "fgsm"], "n_images": [100] * 3,
                         "topo": [0.8, 0.45, 0.12], "base": [0.8, 0.4, 0.1]})
    finding = [f for f in _findings(robustness=weak, topographic_alpha=0.5).values() if "robust" in f.claim][0]
    assert finding.verdict == NOT_REPRODUCED and "0 of 2" in finding.reason
    assert "alpha = beta = 10" in finding.measure


@pytest.mark.parametrize("topo_scores,verdict", [((0.6, 0.5), REPRODUCED), ((0.4, 0.3), NOT_REPRODUCED)])
def test_it_brain_score_direction(topo_scores, verdict):
    brain = pd.DataFrame({"region": ["IT"] * 4, "benchmark": ["a", "b"] * 2, "model": ["topo", "topo", "base", "base"],
                          "committed_score": [*topo_scores, 0.45, 0.45]})
    assert _verdicts(brain=brain)[8] == verdict


def test_without_spike_trains_the_entropy_claim_is_not_testable():
    entropy = _findings(entropy_shift=None)["Topography:spike-train"]
    assert entropy.verdict == NOT_TESTABLE and "ReLU" in entropy.reason
