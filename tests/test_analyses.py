"""The analyses layer: params carry every default, results survive save/load, bad params are named."""

import argparse
import json
from dataclasses import dataclass, replace
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from topoanalysis.analyses import registry, v1
from topoanalysis.analyses.base import ModelFile, Result, Runtime, model_files
from topoanalysis.analyses.brain import BrainParams
from topoanalysis.analyses.it import ITPatchesParams, ITPatchesResult
from topoanalysis.analyses.robustness import RobustnessParams
from topoanalysis.analyses.temporal import TemporalParams
from topoanalysis.cli import report, robustness, v1_maps
from topoanalysis.metrics.v1 import V1Params

ENTRIES = registry.analyses()


def _parse(module, command: str | None = None, argv=()):
    subparsers = argparse.ArgumentParser().add_subparsers()
    module.add_parser(subparsers)
    return subparsers.choices[command or next(iter(subparsers.choices))].parse_args(list(argv))


@pytest.mark.parametrize("name", ENTRIES)
def test_every_registered_analysis_conforms(name):
    """What the report and the CLI read of an entry: params with defaults, a result class, the data it reads, and
    a command whose defaults are the params' defaults."""
    entry = ENTRIES[name]
    params = entry.params()
    assert isinstance(entry.default_report_params(), entry.params)
    assert all(isinstance(path, Path) for path in entry.data_sets(params))
    assert issubclass(entry.result, Result) and entry.result.analysis
    module = entry.cli_module()
    assert module.params_from_args(_parse(module)) == params


def test_report_defaults_are_the_report_params_defaults():
    assert report.params_from_args(_parse(report, "report")) == report.ReportParams()
    changed = report.params_from_args(_parse(report, "report", ["--n-per-class", "3", "--pgd-steps", "2"]))
    assert changed.temporal.n_per_class == changed.robustness.n_per_class == 3 and changed.robustness.pgd_steps == 2
    assert changed.v1 == v1.V1MapsParams()


def test_command_line_options_reach_the_params():
    args = _parse(v1_maps, "v1-maps", ["--orientation-method", "von_mises", "--hcw-mm", "2", "--seed", "7",
                                       "--no-scale-widths"])
    params = v1_maps.params_from_args(args)
    assert params.seed == 7 and params.metric == V1Params(orientation_method="von_mises", hypercolumn_width_mm=2.0,
                                                          scale_widths=False)
    params = robustness.params_from_args(_parse(robustness, "robustness", ["--static", "--epsilons", "0", "4"]))
    assert params.per_timestep is False and params.strengths()["pgd"] == (0.0, 4 / 255)


@pytest.mark.parametrize("make, match", [
    (lambda: TemporalParams(timesteps=(0, 2)), "timesteps must be >= 1"),
    (lambda: TemporalParams(fisher_images=0), "fisher_images must be >= 1"),
    (lambda: RobustnessParams(attacks=("blur",)), "unknown attack 'blur'"),
    (lambda: RobustnessParams(mask_fractions=(1.5,)), "fraction of pixels masked"),
    (lambda: RobustnessParams(pgd_steps=0), "pgd_steps must be >= 1"),
    (lambda: BrainParams(pls_method="svd"), "unknown PLS method 'svd'"),
    (lambda: ITPatchesParams(max_per_category=0), "max_per_category must be >= 1"),
    (lambda: Runtime(precision="fp16"), "unknown precision 'fp16'"),
    (lambda: model_files({}), "no checkpoints to analyse"),
])
def test_bad_params_are_refused_before_any_work(make, match):
    with pytest.raises(ValueError, match=match):  # an InputError naming the parameter, not a command-line flag
        make()


@dataclass
class _TwoTables(Result):
    analysis = "two"


def test_a_saved_result_loads_back_exactly(tmp_path):
    tables = {"curves": pd.DataFrame({"model": ["a", "b"], "value": [0.1 + 0.2, np.nan], "ok": [True, False]}),
              "empty": pd.DataFrame()}
    result = _TwoTables({"models": {"a": {}, "b": {}}, "note": "x"}, tables)
    written = result.save(tmp_path)
    assert [p.name for p in written] == ["curves.csv", "two_results.json"]  # a frame without columns is skipped
    loaded = _TwoTables.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.table("curves"), tables["curves"])
    assert loaded.record == result.record and loaded.models == ["a", "b"] and loaded.table("empty").empty
    with pytest.raises(FileNotFoundError, match="holds no saved v1 result"):
        v1.V1MapsResult.load(tmp_path)


def test_patch_outlines_survive_save_and_load(tmp_path):
    outlines = {"topo": [np.array([[[0.0, 1.0], [0.5, 1.0]], [[0.5, 1.0], [0.5, 1.5]]]), np.empty((0, 2, 2))]}
    result = ITPatchesResult({"models": {"topo": {}}}, {}, outlines)
    result._save_extra(tmp_path)
    loaded = ITPatchesResult._load_extra(tmp_path)["outlines"]
    assert [a.shape for a in loaded["topo"]] == [(2, 2, 2), (0, 2, 2)]
    np.testing.assert_array_equal(loaded["topo"][0], outlines["topo"][0])
    assert json.loads((tmp_path / "patch_outlines.json").read_text())["units"] == "mm"


def test_v1_run_on_paths_then_reload_redraws(tiny, tmp_path):
    _, spec, path = tiny
    params = v1.V1MapsParams(metric=V1Params(n_samples=2, sample_size=50), seed=3)
    result = v1.run({"a": path, "b": ModelFile(path)}, params, Runtime(device="cpu", progress=False))
    assert result.models == ["a", "b"] and result.layer == spec.layer_for("V1")
    # the same seed for each model: identical models give identical samples
    smooth = result.smoothness.set_index(["model", "metric"])["smoothness"]
    assert smooth["a"].equals(smooth["b"])
    result.save(tmp_path)
    loaded = v1.V1MapsResult.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.smoothness, result.smoothness)
    assert set(loaded.figures()) == {"v1_maps", "v1_summary"}
    assert mpimg.imread(tmp_path / "v1_maps.png").ndim == 3


def test_pgd_runs_on_the_first_images_of_each_class_unless_full(tiny, tmp_path):
    from topoanalysis.analyses import robustness as analysis
    from topoanalysis.datasets.resolver import SHARED_DATA_DIR

    if not (SHARED_DATA_DIR / "cifar10-jpeg.zip").is_file():
        pytest.skip("CIFAR-10 zip not available")
    quick = RobustnessParams(attacks=("fgsm", "pgd"), epsilons_per_255=(0, 4), pgd_steps=1, n_per_class=3,
                             pgd_n_per_class=1)
    result = analysis.run({"tiny": tiny[2]}, quick, Runtime(device="cpu", progress=False))
    curves = result.table("robustness_curves").set_index(["attack", "strength"])["n_images"]
    assert curves[("fgsm", 4 / 255)] == 30 and curves[("pgd", 4 / 255)] == 10
    table = result.table_by_model.set_index("attack")
    assert table.loc["clean", "n_images"] == 30 and table.loc["pgd", "n_images"] == 10 and "tiny se" in table
    full = analysis.run({"tiny": tiny[2]}, replace(quick, pgd_n_per_class=None), Runtime(device="cpu", progress=False))
    assert set(full.table("robustness_curves")["n_images"]) == {30}
    args = _parse(robustness, "robustness", ["--full-sweep"])
    assert robustness.params_from_args(args).pgd_n_per_class is None


def test_the_default_batch_shrinks_with_input_size_and_timesteps():
    """T x batch x pixels stays within 16 x 4 x 224^2: 64 at 32 px (the bundled models), 16 at 224 px and T = 4,
    8 at T = 8; an explicit batch size wins."""
    from types import SimpleNamespace

    from topoanalysis.running.inputs import default_batch_size

    assert [default_batch_size(32, 4), default_batch_size(32, 10), default_batch_size(224, 4),
            default_batch_size(224, 8), default_batch_size(1024, 16)] == [64, 64, 16, 8, 1]
    full_size = SimpleNamespace(input_size_px=224, timesteps=4)
    assert Runtime().batch_size_for(full_size) == 16 and Runtime(batch_size=5).batch_size_for(full_size) == 5
    assert Runtime().recording_options(full_size)["batch_size"] == 16
    assert Runtime().recording_options()["batch_size"] is None  # record() picks it from the model
