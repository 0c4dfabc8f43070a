"""The offline brain suite: every benchmark over a layer sweep, on real data."""

import numpy as np
import pandas as pd
import pytest

from topoanalysis.analyses.base import Runtime
from topoanalysis.analyses.brain import BrainParams, BrainResult
from topoanalysis.analyses.brain import run as run_brain
from topoanalysis.brain.benchmarks import BENCHMARKS as OFFLINE_BENCHMARKS
from topoanalysis.brain.rsa import RSA_BENCHMARKS
from topoanalysis.brain.rsa_bootstrap import bootstrap_image_indices
from topoanalysis.brain.suite import BOOTSTRAP_COLUMNS, region_table, run_offline_suite
from topoanalysis.brain.v4 import PLS_METHODS
from topoanalysis.datasets.resolver import SHARED_DATA_DIR
from topoanalysis.models.checkpoints import load_checkpoint
from topoanalysis.paths import DEFAULT_CHECKPOINT

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


def test_rsa_bootstrap_of_the_committed_layers(tiny_floc):
    """Identity resamples reproduce the committed layer's score; other layers are not bootstrapped."""
    model, spec, _ = tiny_floc
    indices = np.vstack([np.arange(92), bootstrap_image_indices(4, np.random.default_rng(0))])
    scores, boot = run_offline_suite(model, spec, rng=np.random.default_rng(0), layers=LAYERS, device="cpu",
                                     benchmarks=list(RSA_BENCHMARKS), bootstrap_indices=indices,
                                     log=lambda line: None)
    assert list(boot.columns) == list(BOOTSTRAP_COLUMNS) and len(boot) == len(RSA_BENCHMARKS) * 5
    committed = scores[scores["committed"]].set_index("benchmark")
    assert set(committed.index) == set(RSA_BENCHMARKS)
    for name, group in boot.groupby("benchmark"):
        assert group["replicate"].tolist() == list(range(5))
        assert group["layer"].unique().tolist() == [committed.loc[name, "layer"]]
        assert group["region"].unique().tolist() == [committed.loc[name, "region"]]
        assert group["score"].iloc[0] == pytest.approx(committed.loc[name, "score"], abs=1e-12)
        assert np.isfinite(group["score"]).all() and group["score"].iloc[1:].std() > 0
    assert set(boot.loc[boot["benchmark"] == "EVC-RSA-Algonauts2019", "layer"]) == {"layer2.0"}
    unchanged = run_offline_suite(model, spec, rng=np.random.default_rng(0), layers=LAYERS, device="cpu",
                                  benchmarks=list(RSA_BENCHMARKS), log=lambda line: None)
    pd.testing.assert_frame_equal(unchanged, scores)  # the bootstrap leaves the score table as it was
    with pytest.raises(ValueError, match=r"\(n_boot, 92\)"):
        run_offline_suite(model, spec, rng=np.random.default_rng(0), bootstrap_indices=np.zeros((3, 10), int),
                          log=lambda line: None)


def test_brain_analysis_saves_paired_bootstrap_replicates(tiny_floc, tmp_path):
    """Two models share every resample: the same checkpoint twice gives identical replicates."""
    _, _, path = tiny_floc
    names = ("IT-RSA-Kiani2007", "EVC-RSA-Algonauts2019")
    runtime = Runtime(device="cpu", progress=False)
    params = BrainParams(benchmarks=names, layers=tuple(LAYERS), n_bootstrap=30, seed=3)
    result = run_brain({"a": path, "b": path}, params, runtime)
    boot = result.rsa_bootstrap
    assert list(boot.columns) == ["model", "benchmark", "region", "layer", "replicate", "score"]
    assert len(boot) == 2 * len(names) * 30
    a, b = (boot[boot["model"] == m].reset_index(drop=True) for m in "ab")
    np.testing.assert_array_equal(a["score"], b["score"])
    assert a["score"].std() > 0
    assert result.record["rsa_bootstrap"]["n"] == 30 and "distinct" in result.record["rsa_bootstrap"]["pairs"]
    assert "full image set" in result.record["rsa_bootstrap"]["ceiling"]
    again = run_brain({"a": path}, params, runtime).rsa_bootstrap
    np.testing.assert_array_equal(again["score"], a["score"])  # the seed fixes the resamples
    result.save(tmp_path)
    pd.testing.assert_frame_equal(BrainResult.load(tmp_path).rsa_bootstrap, boot, check_dtype=False)
    assert list(result.tables) == ["brain_scores", "brain_table", "rsa_bootstrap"]
    off = run_brain({"a": path}, BrainParams(benchmarks=names, layers=tuple(LAYERS), n_bootstrap=0), runtime)
    assert off.rsa_bootstrap.empty and list(off.tables) == ["brain_scores", "brain_table"]
    pd.testing.assert_frame_equal(off.scores, result.scores[result.scores["model"] == "a"])
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match="n_bootstrap must be an integer >= 0"):
            BrainParams(n_bootstrap=bad)


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


@pytest.mark.parametrize("name", list(OFFLINE_BENCHMARKS))
def test_every_registered_benchmark_conforms(name):
    """What the suite reads of an entry: a region with a layer, its data there, and stimuli with a name."""
    entry = OFFLINE_BENCHMARKS[name]
    assert entry.identifier == name and entry.region in ("V1", "V2", "V4", "IT")
    assert entry.data_set in ("ringach", "v4", "rsa92") and entry.score_rule
    entry.check_data(None)  # the shared data are there


def test_a_registered_benchmark_is_scored_by_the_suite_and_the_analysis(tiny_floc):
    from topoanalysis.brain import benchmarks

    def prepare(path, spec, rng, device):
        from topoanalysis.stimuli import load_rsa92

        return benchmarks.Prepared(load_rsa92(path, image_size_px=spec.input_size_px), {})

    def mean_rate(features, context, rng, options):
        return {"raw": float(features.values.mean()), "ceiled": False, "score": float(features.values.mean())}

    toy = benchmarks.Benchmark("IT-MeanRate-Toy", "IT", "rsa92", "raw (mean response)", prepare, mean_rate,
                               lambda path: None)
    model, spec, path = tiny_floc
    benchmarks.register(toy)
    try:
        lines = []
        table = run_offline_suite(model, spec, rng=np.random.default_rng(0), layers=LAYERS, device="cpu",
                                  benchmarks=["IT-RSA-Kiani2007", "IT-MeanRate-Toy"], log=lines.append)
        result = run_brain({"tiny": path}, BrainParams(benchmarks=("IT-MeanRate-Toy",), n_bootstrap=0),
                           Runtime(device="cpu", progress=False))
    finally:
        benchmarks.unregister("IT-MeanRate-Toy")
    toy_rows = table[table["benchmark"] == "IT-MeanRate-Toy"]
    assert len(toy_rows) == len(LAYERS) and (toy_rows["region"] == "IT").all()
    assert sum("recording" in line for line in lines) == 1  # the toy shares the 92 images' recording
    assert list(result.region_scores["benchmark"]) == ["IT-MeanRate-Toy"]
