"""Tables and figures over several models: planted results give the known rows."""

import numpy as np
import pandas as pd
import pytest

from topoanalysis.paths import SHARED_DATA_DIR
from topoanalysis.report.comparison import accuracy_vs_smoothness_models_figure, region_table, topography_cost


def _region_scores():
    rows = []
    for model, offset in (("snn_topo", 0.1), ("snn_base", 0.0), ("ann_topo", 0.05)):
        for benchmark, region, score in (("V1-Ringach2002", "V1", 0.5), ("EVC-RSA-Algonauts2019", "V1", 0.3),
                                         ("V4-Cowley2023", "V4", 0.2), ("IT-RSA-Kiani2007", "IT", 0.4),
                                         ("IT-RSA-Kriegeskorte2008", "IT", np.nan)):
            rows.append({"model": model, "benchmark": benchmark, "region": region,
                         "committed_score": score + offset if np.isfinite(score) else score})
    return pd.DataFrame(rows)


def test_region_table_averages_each_regions_benchmarks_per_model():
    table = region_table(_region_scores(), {"snn_topo": (0.7, 10_000), "snn_base": None, "ann_topo": (0.6, 100)})
    assert table["model"].tolist() == ["snn_topo", "snn_base", "ann_topo"]
    topo = table.set_index("model").loc["snn_topo"]
    assert topo["V1"] == pytest.approx(0.5) and topo["V4"] == pytest.approx(0.3) and topo["IT"] == pytest.approx(0.5)
    assert np.isnan(topo["V2"]) and topo["V2 benchmarks"] == 0 and topo["IT benchmarks"] == 1  # NaN left out
    assert topo["accuracy %"] == pytest.approx(70.0) and np.isnan(table.set_index("model").loc["snn_base",
                                                                                               "accuracy %"])


def test_topography_cost_with_its_standard_error():
    cost = topography_cost([("spiking", "snn_topo", "snn_base"), ("ReLU", "ann_topo", "ann_base")],
                           {"snn_topo": (0.558, 10_000), "snn_base": (0.707, 10_000), "ann_topo": (0.8, 10_000),
                            "ann_base": None})
    spiking = cost.iloc[0]
    assert spiking["accuracy_change_points"] == pytest.approx(-14.9)
    expected_se = 100 * np.hypot(np.sqrt(0.558 * 0.442 / 1e4), np.sqrt(0.707 * 0.293 / 1e4))
    assert spiking["se_points"] == pytest.approx(expected_se)
    assert np.isnan(cost.iloc[1]["accuracy_change_points"])  # a model without an accuracy


def test_fig5a_draws_one_point_per_model_by_family():
    points = pd.DataFrame({"model": ["a", "b", "c"], "family": ["spiking", "spiking", "ReLU"],
                           "accuracy": [0.7, 0.6, 0.8], "accuracy_se": [0.005] * 3,
                           "v1_smoothness": [0.8, 0.2, 0.5], "v1_sem": [0.01] * 3,
                           "it_smoothness": [0.6, 0.1, 0.3], "it_sem": [0.01] * 3})
    fig = accuracy_vs_smoothness_models_figure(points)
    assert len(fig.axes) == 2
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert legend == ["spiking", "ReLU"]
    assert len(fig.axes[1].texts) == 3  # every model labelled


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA_DIR / "v4_cowley2023").is_dir(), reason="the shared data is not available")
def test_compare_models_on_tiny_checkpoints(tmp_path):
    from topoanalysis.analyses.base import Runtime
    from topoanalysis.models.checkpoints import save_checkpoint
    from topoanalysis.report.multi import compare_models
    from topoanalysis.testing import tiny_checkpoint

    paths = {}
    for name, seed in (("topo", 0), ("base", 1), ("other", 2)):
        model, spec = tiny_checkpoint(seed, calibrate_on="floc")
        paths[name] = tmp_path / f"{name}.pt"
        save_checkpoint(paths[name], model, spec)
    families = {"topo": "spiking", "base": "spiking", "other": "ReLU"}
    lines = []
    out = compare_models(paths, families, [("topo", "base")], tmp_path / "out", runtime=Runtime(device="cpu"),
                         cache_dir=tmp_path / "cache", log=lines.append)
    table = pd.read_csv(out / "table1_models.csv")
    assert table["model"].tolist() == ["topo", "base", "other"] and {"V1", "V2", "V4", "IT"} <= set(table)
    assert np.isnan(table["V2"]).all() and table["V1"].notna().all()
    points = pd.read_csv(out / "models_points.csv")
    assert points["family"].tolist() == ["spiking", "spiking", "ReLU"] and points["v1_smoothness"].notna().all()
    assert (out / "accuracy_vs_smoothness_models.png").stat().st_size > 1000
    assert len(pd.read_csv(out / "topography_cost.csv")) == 1
    lines.clear()
    compare_models(paths, families, [("topo", "base")], tmp_path / "out", runtime=Runtime(device="cpu"),
                   cache_dir=tmp_path / "cache", log=lines.append)
    assert sum("cached" in line for line in lines) == 9  # 3 models x 3 analyses, each keyed on its own checkpoint
    with pytest.raises(ValueError, match="needs a family"):
        compare_models(paths, {"topo": "spiking"}, [], tmp_path / "bad", cache_dir=tmp_path / "cache")
