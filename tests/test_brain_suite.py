"""The offline brain suite: every benchmark over a layer sweep, on real data."""

import numpy as np
import pytest

from topoanalysis.brain.suite import OFFLINE_BENCHMARKS, region_table, run_offline_suite
from topoanalysis.brain.v4 import PLS_METHODS
from topoanalysis.models.checkpoints import load_checkpoint
from topoanalysis.paths import DEFAULT_CHECKPOINT, SHARED_DATA_DIR

pytestmark = pytest.mark.skipif(not (SHARED_DATA_DIR / "v4_cowley2023").is_dir(),
                                reason="neural data not available at ../shared/data")
LAYERS = ["layer2.0", "layer4.1"]


@pytest.fixture(scope="module")
def scores(tiny_floc):
    model, spec, _ = tiny_floc
    return run_offline_suite(model, spec, rng=np.random.default_rng(0), layers=LAYERS, device="cpu",
                             log=lambda line: None)


def test_every_benchmark_scores_every_layer(scores):
    assert len(scores) == len(OFFLINE_BENCHMARKS) * len(LAYERS)
    assert set(scores["benchmark"]) == set(OFFLINE_BENCHMARKS)
    assert (scores.groupby("benchmark")["layer"].apply(list) == [LAYERS] * len(OFFLINE_BENCHMARKS)).all()
    finite = scores[np.isfinite(scores["score"].astype(float))]
    assert len(finite) >= len(scores) - 2  # a tiny layer may be too silent for one benchmark
    ringach = scores[scores["benchmark"] == "V1-Ringach2002"]
    assert ringach["score"].between(0, 1).all()
    v4 = scores[scores["benchmark"] == "V4-Cowley2023"]
    assert (v4["ceiling"] > 0.5).all() and np.allclose(v4["score"], v4["raw"] ** 2 / v4["ceiling"])


def test_every_score_can_be_rebuilt_from_its_row(scores):
    """Explicit columns: the score follows from the others by the rule the row names."""
    for row in scores[np.isfinite(scores["score"].astype(float))].itertuples():
        if row.score_rule.startswith("subject_mean / ceiling_upper"):
            assert row.ceiled and np.isclose(row.score, row.subject_mean / row.ceiling_upper)
            assert row.ceiling_lower <= row.ceiling_upper and row.ceiling == row.ceiling_upper
        elif row.score_rule.startswith("raw^2 / ceiling"):
            assert row.ceiled and np.isclose(row.score, row.raw ** 2 / row.ceiling)
        else:
            assert not row.ceiled and row.score == row.raw and np.isnan(row.ceiling)
    kiani = scores[scores["benchmark"] == "IT-RSA-Kiani2007"]
    assert not kiani["ceiled"].any()


def test_committed_layers_and_region_table(scores):
    committed = scores[scores["committed"]]
    assert set(zip(committed["region"], committed["layer"])) == {("V1", "layer2.0"), ("IT", "layer4.1")}
    table = region_table(scores)
    assert list(table["benchmark"]) == list(OFFLINE_BENCHMARKS)
    it = table.set_index("benchmark").loc["IT-RSA-Kiani2007"]
    assert it["committed_layer"] == "layer4.1" and it["best_score"] >= it["committed_score"]
    assert table.set_index("benchmark").loc["V4-Cowley2023", "committed_layer"] == ""  # layer3.1 not swept


def test_bad_benchmark_and_missing_data_are_named(tiny_floc, tmp_path):
    model, spec, _ = tiny_floc
    with pytest.raises(ValueError, match="unknown offline benchmark"):
        run_offline_suite(model, spec, rng=np.random.default_rng(0), benchmarks=["IT-foo"], log=lambda line: None)
    with pytest.raises(ValueError, match="unknown PLS method 'fast'"):
        run_offline_suite(model, spec, rng=np.random.default_rng(0), pls_method="fast", log=lambda line: None)
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        run_offline_suite(model, spec, rng=np.random.default_rng(0), benchmarks=["V4-Cowley2023"], device="cpu",
                          layers=["layer4.1"], data={"v4": tmp_path}, log=lambda line: None)


@pytest.mark.slow
def test_exact_pls_reproduces_brainscore_v4_scores_on_the_bundled_model():
    """The exact PLS and Brain-Score's own metric give the same V4 scores (to 0.005)."""
    model, spec = load_checkpoint(DEFAULT_CHECKPOINT)
    raws = {}
    for method in PLS_METHODS:
        table = run_offline_suite(model, spec, rng=np.random.default_rng(7), layers=["layer3.1", "layer4.0"],
                                  benchmarks=["V4-Cowley2023"], device="cpu", pls_method=method,
                                  log=lambda line: None)
        raws[method] = table["raw"].to_numpy(dtype=float)
    assert np.all(np.isfinite(raws["exact"])) and np.all(raws["exact"] > 0.05)
    np.testing.assert_allclose(raws["exact"], raws["brainscore"], atol=0.005)
