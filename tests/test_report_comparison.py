"""Tables and figures over several models: planted results give the known rows."""

import numpy as np
import pandas as pd
import pytest

from topoanalysis.datasets.resolver import SHARED_DATA_DIR
from topoanalysis.plotting.comparison import (
    accuracy_vs_smoothness_models_figure,
    face_body_smoothness_figure,
    topography_cost_figure,
    wrap_name,
)
from topoanalysis.report.comparison import benchmark_ceilings, region_table, topography_cost


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


def test_benchmark_ceilings_one_row_per_benchmark_from_committed_layers():
    scores = pd.DataFrame({"model": ["a", "a", "b", "b"], "benchmark": ["V4", "V4", "V4", "IT"],
                           "region": ["V4", "V4", "V4", "IT"], "committed": [True, False, True, True],
                           "ceiling": [0.8, 0.8, 0.8, np.nan], "ceiling_lower": [np.nan, np.nan, np.nan, 0.3],
                           "ceiling_upper": [np.nan, np.nan, np.nan, 0.4], "score_rule": ["ceiled"] * 3 + ["raw"]})
    table = benchmark_ceilings(scores)
    assert table["benchmark"].tolist() == ["V4", "IT"] and table["ceiling"].iloc[0] == 0.8
    assert table["ceiling_upper"].iloc[1] == 0.4


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
    assert sorted(text.get_text() for text in fig.axes[1].texts) == ["1", "2", "3"]  # every model numbered
    assert "1\u00a0a   2\u00a0b   3\u00a0c" in [text.get_text() for text in fig.texts]  # and the key names them
    fig = accuracy_vs_smoothness_models_figure(points.assign(accuracy=[0.7, np.nan, 0.8]))
    assert any(text.get_text().endswith("\nnot drawn (no accuracy recorded): b") for text in fig.texts)


def test_wrap_name_breaks_after_underscores():
    assert wrap_name("tscornet_cifar10_a05b05") == "tscornet_cifar10_\na05b05"
    assert wrap_name("resnet18_cifar10_baseline_seed2") == "resnet18_cifar10_\nbaseline_seed2"
    assert wrap_name("short") == "short"
    assert wrap_name("averyveryverylongstem_x") == "averyveryverylongstem_\nx"  # a long part keeps its own line


def test_fig4c_labels_of_ten_long_names_do_not_overlap():
    models = [f"tsresnet18_cifar10_a05b05_seed{i}" for i in range(10)]
    table = pd.DataFrame([{"model": m, "family": "spiking ResNet-18", "domain": d, "smoothness": 0.5, "sem": 0.01,
                           "chance": 0.02, "chance_sem": 0.01} for m in models for d in ("faces", "bodies")])
    fig = face_body_smoothness_figure(table)
    fig.canvas.draw()
    boxes = [label.get_window_extent() for label in fig.axes[0].get_xticklabels()]
    assert len(boxes) == 10
    assert all(left.x1 < right.x0 for left, right in zip(boxes, boxes[1:]))


def test_fig1_right_draws_one_bar_per_pair_and_marks_missing_accuracies():
    cost = topography_cost([("spiking", "t", "b"), ("ReLU", "rt", "rb")],
                           {"t": (0.55, 10_000), "b": (0.57, 10_000), "rt": None, "rb": (0.6, 10_000)})
    fig = topography_cost_figure(cost)
    fig.canvas.draw()
    box, title = fig.bbox, fig.axes[0].title.get_window_extent()
    assert box.x0 <= title.x0 and title.x1 <= box.x1 and title.y1 <= box.y1  # the title is not clipped
    bars = fig.axes[0].patches
    assert len(bars) == 1 and bars[0].get_height() == pytest.approx(-2.0)
    assert any("no accuracy" in text.get_text() for text in fig.axes[0].texts)


def _tiny_models(folder, accuracies):
    from dataclasses import replace

    from topoanalysis.models.checkpoints import save_checkpoint
    from topoanalysis.testing import tiny_checkpoint

    paths = []
    models = (("snn_topo", "tiny_spiking_resnet", 0), ("snn_base", "tiny_spiking_resnet", 1),
              ("relu_topo", "tiny_resnet", 0), ("relu_base", "tiny_resnet", 1),
              ("relu_topo_seed1", "tiny_resnet", 2), ("relu_base_seed1", "tiny_resnet", 3),
              ("cornet_topo", "tiny_spiking_cornet_rt", 0), ("cornet_base", "tiny_spiking_cornet_rt", 1))
    for (name, arch, seed), accuracy in zip(models, accuracies):
        model, spec = tiny_checkpoint(seed, arch=arch, calibrate_on="floc")
        spec = replace(spec, provenance={**spec.provenance, "data": "cifar10", "test_accuracy": accuracy,
                                         "test_images": 10_000})
        paths.append(folder / f"{name}.pt")
        save_checkpoint(paths[-1], model, spec)
    return paths


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA_DIR / "v4_cowley2023").is_dir(), reason="the shared data is not available")
def test_models_report_over_spiking_relu_and_cornet_pairs(tmp_path):
    from topoanalysis.analyses.base import Runtime
    from topoanalysis.analyses.robustness import RobustnessParams
    from topoanalysis.analyses.temporal import TemporalParams
    from topoanalysis.report import ReportParams, build_models_report
    from topoanalysis.report.findings import NOT_TESTABLE

    paths = _tiny_models(tmp_path, (0.50, 0.52, 0.61, 0.60, 0.63, 0.60, 0.40, 0.45))
    quick = ReportParams(temporal=TemporalParams(n_per_class=2, timesteps=(1, 2), fisher_images=4),
                         robustness=RobustnessParams(n_per_class=2, pgd_steps=2))
    lines = []
    html = build_models_report(paths, [(paths[0], paths[1]), (paths[2], paths[3]), (paths[4], paths[5]),
                                       (paths[6], paths[7])],
                               tmp_path / "out", groups={"relu": [paths[2], paths[4]]}, params=quick,
                               runtime=Runtime(device="cpu", progress=False), cache_dir=tmp_path / "cache",
                               log=lines.append)
    out = html.parent
    # each spiking pair (ResNet, CORnet) runs all five analyses, each ReLU pair all but temporal; the pair reports
    # and every model's V1, IT and brain results then come from the cache
    assert sum("running the analysis" in line for line in lines) == 18
    assert sum("cached (" in line for line in lines) == 18 + 4 * 3  # pair reports, then V1, IT, brain per pair
    table = pd.read_csv(out / "table1_models.csv")
    assert table["model"].tolist() == ["snn_topo", "snn_base", "relu_topo", "relu_base", "relu_topo_seed1",
                                       "relu_base_seed1", "cornet_topo", "cornet_base"]
    assert table["accuracy %"].tolist() == pytest.approx([50, 52, 61, 60, 63, 60, 40, 45])
    points = pd.read_csv(out / "models_points.csv")
    assert points["family"].tolist() == (["spiking ResNet-18"] * 2 + ["ReLU ResNet-18"] * 4
                                         + ["spiking CORnet-RT"] * 2) and points["v1_smoothness"].notna().all()
    fig4c = pd.read_csv(out / "fig4c_face_body_smoothness.csv")
    assert len(fig4c) == 16 and set(fig4c["domain"]) == {"faces", "bodies"} and fig4c["chance"].notna().all()
    fisher = pd.read_csv(out / "pairs" / "cornet_topo_vs_cornet_base" / "findings.csv").set_index("key")
    assert fisher.loc["fisher_modes", "verdict"] != NOT_TESTABLE and "V2->V4" in fisher.loc["fisher_modes", "reason"]
    resnet_fisher = pd.read_csv(out / "pairs" / "snn_topo_vs_snn_base" / "findings.csv").set_index("key")
    assert resnet_fisher.loc["fisher_modes", "verdict"] == NOT_TESTABLE
    seeds = pd.read_csv(out / "findings_seeds_relu.csv").set_index("key")
    assert seeds.loc["accuracy", "effect"] == pytest.approx(2.0) and seeds.loc["accuracy", "n_seeds"] == 2
    assert "between seeds" in seeds.loc["accuracy", "uncertainty"]
    one_seed = pd.read_csv(out / "pairs" / "snn_topo_vs_snn_base" / "findings.csv").set_index("key")
    assert "between-seed SD" in one_seed.loc["accuracy", "uncertainty"]  # borrowed from the ReLU seeds
    ceilings = pd.read_csv(out / "benchmark_ceilings.csv")
    pair_table1 = pd.read_csv(out / "pairs" / "snn_topo_vs_snn_base" / "table1_brain.csv")
    assert ceilings["benchmark"].is_unique and set(ceilings["benchmark"]) == set(pair_table1["benchmark"])
    cost = pd.read_csv(out / "topography_cost.csv")
    assert cost["family"].tolist() == ["spiking ResNet-18", "ReLU ResNet-18", "ReLU ResNet-18", "spiking CORnet-RT"]
    assert cost["accuracy_change_points"].tolist() == pytest.approx([-2.0, 1.0, 3.0, -5.0])
    relu_pair = out / "pairs" / "relu_topo_vs_relu_base"
    entropy = pd.read_csv(relu_pair / "findings.csv").set_index("claim").loc["Topography shifts spike-train entropy"]
    assert entropy["verdict"] == NOT_TESTABLE and "ReLU" in entropy["reason"]
    assert not (relu_pair / "figures" / "temporal.png").exists()
    assert (out / "pairs" / "snn_topo_vs_snn_base" / "figures" / "temporal.png").is_file()
    text = html.read_text()
    assert text.count("data:image/png;base64,") == 3 and "CIFAR-10 at 32 px" in text
    assert 'href="pairs/relu_topo_vs_relu_base/index.html"' in text and 'id="findings_1"' in text
