import json

import matplotlib.image as mpimg
import pandas as pd
import pytest

from topoanalysis.cli.main import main
from topoanalysis.datasets.resolver import SHARED_DATA_DIR
from topoanalysis.paths import DEFAULT_CHECKPOINT
from topoanalysis.responses import load_responses

DEMO_FILES = {"responses_gratings.nc", "layer_activity.csv", "model_card.txt", "sheet_activity.png",
              "sheet_activity.pdf", "summary.json", ".topoanalysis-manifest.json"}


def _check_demo_outputs(out, n_layers):
    assert {p.name for p in out.iterdir()} == DEMO_FILES
    assert mpimg.imread(out / "sheet_activity.png").ndim == 3
    activity = pd.read_csv(out / "layer_activity.csv")
    assert len(activity) == n_layers and {"layer", "area", "mean_rate", "silent_layer"} <= set(activity)
    summary = json.loads((out / "summary.json").read_text())
    ds = load_responses(out / "responses_gratings.nc")
    assert ds.attrs["checkpoint_sha256"] == summary["checkpoint_sha256"]
    return activity, summary


def test_demo_on_the_tiny_checkpoint(tiny, tmp_path, capsys):
    _, spec, path = tiny
    assert main(["demo", "--ckpt", str(path), "--out", str(tmp_path / "demo"), "--device", "cpu"]) == 0
    activity, summary = _check_demo_outputs(tmp_path / "demo", 8)
    assert summary["stimuli"]["n"] == 640 and summary["silent_layers"] == []
    assert "layer4.1" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_on_the_bundled_default_checkpoint(tmp_path):
    assert DEFAULT_CHECKPOINT.is_file(), "the bundled default checkpoint is missing"
    assert main(["demo", "--out", str(tmp_path / "demo"), "--device", "cpu"]) == 0
    activity, _ = _check_demo_outputs(tmp_path / "demo", 8)
    assert not activity["silent_layer"].any()


def test_info_prints_the_model_card(tiny, capsys):
    _, spec, path = tiny
    assert main(["info", "--ckpt", str(path)]) == 0
    out = capsys.readouterr().out
    assert spec.content_sha256 in out and "layer2.0" in out and "parameters" in out


def test_init_checkpoint_then_record(tmp_path, capsys):
    ckpt = tmp_path / "fresh.pt"
    assert main(["init-checkpoint", "--arch", "tiny_spiking_resnet", "--stem", "cifar", "--width", "0.0625",
                 "--input-size", "16", "--calibrate-bn", "32", "--out", str(ckpt)]) == 0
    out = tmp_path / "r.nc"
    assert main(["record", "--ckpt", str(ckpt), "--layers", "layer2.0", "--out", str(out), "--device", "cpu"]) == 0
    ds = load_responses(out)
    assert ds.sizes["unit"] == 8 * 8 * 8 and ds.sizes["stimulus"] == 640


def test_record_floc_from_the_shared_data(tiny, tmp_path):
    from topoanalysis.stimuli import find_floc_dir

    try:
        find_floc_dir()
    except FileNotFoundError:
        pytest.skip("fLoc images not available at ../shared/data/floc")
    _, _, path = tiny
    out = tmp_path / "floc.nc"
    assert main(["record", "--ckpt", str(path), "--stimulus-set", "floc", "--layers", "layer4.1",
                 "--out", str(out), "--device", "cpu"]) == 0
    ds = load_responses(out)
    assert ds.sizes["stimulus"] == 1440 and set(ds["domain"].values) == {
        "faces", "bodies", "characters", "places", "objects"}


@pytest.mark.parametrize("argv,message", [
    (["info", "--ckpt", "missing.pt"], "checkpoint not found: missing.pt"),
    (["record", "--layers", "layer9.9", "--out", "x.nc"], "unknown layer(s) ['layer9.9']; valid layers"),
    (["record", "--stimulus-set", "floc", "--stimuli", "/no/such/dir", "--out", "x.nc"],
     "not found; tried: /no/such/dir (no such folder). Fix: pass --stimuli DIR"),
])
def test_bad_input_is_one_clear_line_not_a_traceback(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x.nc").exists()


def test_swap_positions_lowers_the_loss_and_rewrites_the_checkpoint(tiny, tmp_path, capsys):
    from topoanalysis.models.checkpoints import load_checkpoint
    from topoanalysis.sheets import load_sheets

    _, spec, path = tiny
    out, ckpt = tmp_path / "sheets.npz", tmp_path / "swapped.pt"
    assert main(["swap-positions", "--ckpt", str(path), "--out", str(out), "--neighborhoods", "40",
                 "--steps", "100", "--write-ckpt", str(ckpt), "--device", "cpu"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "spatial loss" in line]
    assert len(lines) == 8
    sheets = load_sheets(out)
    _, new_spec = load_checkpoint(ckpt)
    assert new_spec.sheets["layer2.0"] == sheets["layer2.0"]
    assert "swap-optimised" in new_spec.provenance["sheets"]
    old, new = spec.sheets["layer2.0"].xy_mm, sheets["layer2.0"].xy_mm
    assert sorted(map(tuple, old.tolist())) == sorted(map(tuple, new.tolist()))  # a permutation


V1_FIGURES = ("v1_maps.png", "v1_maps.pdf", "v1_summary.png", "v1_summary.pdf")


def _check_v1_outputs(out, models):
    names = {p.name for p in out.iterdir()}
    assert set(V1_FIGURES) | {"v1_results.json", "smoothness.csv", "correlation_curves.csv"} <= names
    assert {f"tuning_{m}.csv" for m in models} <= names
    for figure in V1_FIGURES[::2]:
        image = mpimg.imread(out / figure)
        assert image.ndim == 3 and image.shape[0] > 200 and image[..., :3].std() > 0
    assert (out / "v1_maps.pdf").read_bytes()[:4] == b"%PDF"
    results = json.loads((out / "v1_results.json").read_text())
    assert list(results["models"]) == list(models)
    smoothness = pd.read_csv(out / "smoothness.csv")
    assert set(smoothness["model"]) == set(models) and smoothness["smoothness"].between(0, 1).all()
    assert not any(name.startswith(".") for name in names - {".topoanalysis-manifest.json"})  # no temporary files
    return results


def test_v1_maps_on_the_tiny_checkpoint(tiny, tmp_path, capsys):
    _, spec, path = tiny
    out = tmp_path / "v1"
    assert main(["v1-maps", "--ckpt", str(path), "--out", str(out), "--device", "cpu", "--n-samples", "3"]) == 0
    results = _check_v1_outputs(out, [path.stem])
    assert results["layer"] == "layer2.0" and results["parameters"]["n_samples"] == 3
    assert results["orientation_method"] == "vector_sum"
    assert "smoothness orientation" in capsys.readouterr().out


@pytest.mark.slow
def test_v1_maps_on_the_bundled_checkpoint_against_its_baseline(tmp_path):
    out = tmp_path / "v1"
    assert main(["v1-maps", "--out", str(out), "--device", "cpu", "--n-samples", "4",
                 "--orientation-method", "von_mises"]) == 0
    results = _check_v1_outputs(out, ["tsresnet18_cifar10_a05b05", "sresnet18_cifar10_baseline"])
    model = results["models"]["tsresnet18_cifar10_a05b05"]
    assert model["summary"]["n_units"] == 32 * 16 * 16
    assert {row["property"] for row in model["ringach"]} == {"circular_variance", "bandwidth_deg"}
    assert results["parameters"]["applied_hypercolumn_width_mm"] == pytest.approx(3.5 * 3.5)


def test_v1_maps_on_a_silent_layer_names_it(tiny, tmp_path, capsys):
    import copy

    import torch

    from topoanalysis.models.checkpoints import save_checkpoint

    model, spec, _ = tiny
    silent = copy.deepcopy(model)
    with torch.no_grad():
        for module in silent.layer2[0].modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.bias.fill_(-100.0)
    path = tmp_path / "silent.pt"
    save_checkpoint(path, silent, spec)
    out = tmp_path / "v1"
    assert main(["v1-maps", "--ckpt", str(path), "--out", str(out), "--device", "cpu"]) == 2
    assert "layer2.0 is silent" in capsys.readouterr().err
    assert not out.exists() or not any(out.glob("*.png"))


def test_v1_maps_unknown_layer_lists_the_valid_ones(tiny, capsys, tmp_path):
    _, _, path = tiny
    assert main(["v1-maps", "--ckpt", str(path), "--layer", "layer9.9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown layer 'layer9.9'" in err and "layer2.0" in err


IT_FIGURES = ("it_tmaps.png", "it_overlap.png", "it_summary.png")


def _needs_floc():
    from topoanalysis.stimuli import find_floc_dir

    try:
        find_floc_dir()
    except FileNotFoundError:
        pytest.skip("fLoc images not available at ../shared/data/floc")


def _check_it_outputs(out, models):
    names = {p.name for p in out.iterdir()}
    assert {"it_results.json", "patches.csv", "overlap.csv", "smoothness.csv", "patch_outlines.json"} <= names
    assert {f"tvalues_{m}.csv" for m in models} <= names
    for figure in IT_FIGURES:
        image = mpimg.imread(out / figure)
        assert image.ndim == 3 and image[..., :3].std() > 0
        assert (out / figure.replace(".png", ".pdf")).read_bytes()[:4] == b"%PDF"
    results = json.loads((out / "it_results.json").read_text())
    assert list(results["models"]) == list(models)
    overlap = pd.read_csv(out / "overlap.csv")
    assert len(overlap) == len(models) * 3 * 25
    outlines = json.loads((out / "patch_outlines.json").read_text())["outlines"]
    patches = pd.read_csv(out / "patches.csv")
    for model in models:
        assert len(outlines[model]) == (patches["model"] == model).sum()
    return results


def test_it_patches_on_the_tiny_checkpoint(tiny_floc, tmp_path, capsys):
    _, _, path = tiny_floc
    out = tmp_path / "it"
    assert main(["it-patches", "--ckpt", str(path), "--out", str(out), "--device", "cpu", "--n-samples", "3"]) == 0
    results = _check_it_outputs(out, [path.stem])
    model = results["models"][path.stem]
    assert results["layer"] == "layer4.1" and model["n_floc_images"] == 1440 and model["n_rsa92_images"] == 92
    assert model["summary"]["overlap_window_mm"] > 7.0  # a sparse layer gets wider windows
    assert "patches: faces" in capsys.readouterr().out


@pytest.mark.slow
def test_it_patches_on_the_bundled_checkpoint_against_its_baseline(tmp_path):
    _needs_floc()
    out = tmp_path / "it"
    assert main(["it-patches", "--out", str(out), "--device", "cpu", "--n-samples", "4"]) == 0
    results = _check_it_outputs(out, ["tsresnet18_cifar10_a05b05", "sresnet18_cifar10_baseline"])
    summary = results["models"]["tsresnet18_cifar10_a05b05"]["summary"]
    assert summary["n_units"] == 128 * 4 * 4 and summary["n_patches_faces"] >= 1
    generalization = pd.read_csv(out / "generalization.csv")
    assert set(generalization["domain"]) == {"faces", "bodies"}


def test_it_patches_without_stimuli_says_where_it_looked(tiny, tmp_path, capsys, monkeypatch):
    from topoanalysis.datasets import resolver

    _, _, path = tiny
    monkeypatch.setattr(resolver, "SHARED_DATA_DIR", tmp_path / "nothing")
    monkeypatch.delenv("TOPOANALYSIS_DATA", raising=False)
    assert main(["it-patches", "--ckpt", str(path), "--out", str(tmp_path / "it")]) == 2
    err = capsys.readouterr().err
    assert "fLoc" in err and str(tmp_path / "nothing") in err and "Traceback" not in err


def test_it_patches_on_a_barely_responsive_layer_says_so(tiny, tmp_path, capsys):
    _needs_floc()
    _, _, path = tiny  # calibrated on gratings: its layer4.1 hardly responds to fLoc
    assert main(["it-patches", "--ckpt", str(path), "--out", str(tmp_path / "it"), "--device", "cpu",
                 "--rsa92", "none"]) == 2
    err = capsys.readouterr().err
    assert "layer4.1" in err and ("silent" in err or "respond" in err)


@pytest.mark.slow
def test_brain_offline_suite_on_the_bundled_checkpoint(tmp_path):
    if not (SHARED_DATA_DIR / "v4_cowley2023").is_dir():
        pytest.skip("neural data not available at ../shared/data")
    out = tmp_path / "brain"
    assert main(["brain", "--out", str(out), "--device", "cpu", "--layers", "layer3.1", "layer4.1"]) == 0
    scores = pd.read_csv(out / "brain_scores.csv")
    models = ["tsresnet18_cifar10_a05b05", "sresnet18_cifar10_baseline"]
    assert list(dict.fromkeys(scores["model"])) == models and len(scores) == 2 * 6 * 2
    table = pd.read_csv(out / "brain_table.csv")
    assert set(table["region"]) == {"V1", "V4", "IT"}
    v4 = table[(table["benchmark"] == "V4-Cowley2023")]
    assert (v4["committed_layer"] == "layer3.1").all() and v4["committed_score"].notna().all()
    assert mpimg.imread(out / "brain_layer_sweep.png").ndim == 3
    results = json.loads((out / "brain_results.json").read_text())
    assert set(results["models"]) == set(models) and results["pls_method"] == "exact"


def test_brain_official_benchmark_offline_says_so(tiny, tmp_path, capsys):
    _, _, path = tiny
    assert main(["brain", "--ckpt", str(path), "--benchmark", "MajajHong2015public.IT-pls", "--out",
                 str(tmp_path / "b"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "cannot run the Brain-Score benchmark 'MajajHong2015public.IT-pls'" in err and "Traceback" not in err


def test_an_unknown_official_benchmark_fails_before_any_model_loads(tmp_path, capsys):
    assert main(["brain", "--ckpt", str(tmp_path / "not_there.pt"), "--benchmark", "NoSuch2099.IT-pls", "--out",
                 str(tmp_path / "b"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "unknown benchmark 'NoSuch2099.IT-pls'" in err and "(option --benchmark)" in err
    assert "not_there.pt" not in err  # the benchmark is checked first


def _needs_cifar():
    from topoanalysis.training.data import default_cifar10_zip

    if not default_cifar10_zip().is_file():
        pytest.skip("CIFAR-10 zip not available at ../shared/data")


@pytest.mark.slow
def test_temporal_on_the_bundled_checkpoint_against_its_baseline(tmp_path):
    _needs_cifar()
    out = tmp_path / "temporal"
    assert main(["temporal", "--out", str(out), "--device", "cpu", "--n-per-class", "2", "--timesteps", "2", "4",
                 "--fisher-images", "4"]) == 0
    shift = pd.read_csv(out / "entropy_shift.csv")
    assert len(shift) == 2 * 8 and set(shift["timesteps"]) == {2, 4}
    accuracy = pd.read_csv(out / "accuracy_vs_timesteps.csv")
    assert len(accuracy) == 4 and accuracy["n_images"].eq(20).all()
    fisher = pd.read_csv(out / "fisher.csv")
    assert set(fisher["timestep"]) == {1, 2, 3, 4}
    assert mpimg.imread(out / "temporal.png").ndim == 3


def test_temporal_names_missing_or_mismatched_data(tiny, tmp_path, capsys):
    from PIL import Image

    _, _, path = tiny
    assert main(["temporal", "--ckpt", str(path), "--out", str(tmp_path / "t"), "--device", "cpu",
                 "--data", "imagefolder"]) == 2
    assert "--data-path" in capsys.readouterr().err
    for cls in ("cat", "dog"):
        (tmp_path / "val" / cls).mkdir(parents=True)
        Image.new("RGB", (20, 20)).save(tmp_path / "val" / cls / "0.png")
    assert main(["temporal", "--ckpt", str(path), "--out", str(tmp_path / "t"), "--device", "cpu",
                 "--data", "imagefolder", "--data-path", str(tmp_path)]) == 2
    assert "classifies 10 classes" in capsys.readouterr().err


@pytest.mark.slow
def test_robustness_on_the_bundled_checkpoint_against_its_baseline(tmp_path):
    _needs_cifar()
    out = tmp_path / "robustness"
    assert main(["robustness", "--out", str(out), "--device", "cpu", "--n-per-class", "2", "--epsilons", "0", "4",
                 "--sigmas", "0", "0.1", "--mask-fractions", "0", "0.25", "--pgd-steps", "2"]) == 0
    table = pd.read_csv(out / "robustness_table.csv")
    assert {"tsresnet18_cifar10_a05b05", "sresnet18_cifar10_baseline"} <= set(table.columns)
    per_frame = ["gaussian_noise", "pixel_mask", "fgsm", "pgd", "square"]
    assert table["attack"].tolist() == ["clean", *per_frame, *(f"{a}_static" for a in per_frame), "worst_case"]
    assert mpimg.imread(out / "robustness.png").ndim == 3


@pytest.mark.parametrize("command", [["v1-maps"], ["train", "--out", "x"], ["report"]])
@pytest.mark.parametrize("device,message", [("banana", "unknown device 'banana'; use cpu, cuda or cuda:N"),
                                            ("cuda:99", "cuda:99: ")])
def test_a_device_this_machine_lacks_is_a_usage_error(command, device, message, capsys):
    import torch

    if device.startswith("cuda") and not torch.cuda.is_available():
        message = "cuda:99: CUDA is not available on this machine; use --device cpu"
    with pytest.raises(SystemExit) as stopped:
        main([*command, "--device", device])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and message in err and "Traceback" not in err


def test_report_models_passes_every_model_and_pair_through(monkeypatch):
    from topoanalysis.cli import report

    calls = []
    monkeypatch.setattr(report, "build_models_report", lambda *args, **kwargs: calls.append((args, kwargs)))
    monkeypatch.setattr(report, "build_report", lambda *a, **k: pytest.fail("the pair report was called"))
    assert main(["report", "--models", "a.pt", "b.pt", "c.pt", "--baseline-of", "a.pt=b.pt", "--out", "x",
                 "--device", "cpu", "--n-per-class", "3"]) == 0
    (models, pairs, out), kwargs = calls[0]
    assert models == ["a.pt", "b.pt", "c.pt"] and pairs == [("a.pt", "b.pt")] and out == "x"
    assert kwargs["params"].temporal.n_per_class == 3 and kwargs["runtime"].device == "cpu"


@pytest.mark.skipif(not (SHARED_DATA_DIR / "cifar10-jpeg.zip").is_file(), reason="CIFAR-10 zip not available")
def test_the_cornet_family_from_init_through_swap_and_train_to_a_plain_state_dict(tmp_path, capsys):
    import torch

    from topoanalysis.models.checkpoints import load_checkpoint

    fresh, sheets, runs = tmp_path / "fresh.pt", tmp_path / "sheets.npz", tmp_path / "run"
    assert main(["init-checkpoint", "--arch", "spiking_cornet_rt", "--width", "0.0625", "--input-size", "16",
                 "--out", str(fresh)]) == 0
    _, spec = load_checkpoint(fresh)
    assert spec.timesteps == 10 and list(spec.layer_areas.items()) == [(a, a) for a in ("V1", "V2", "V4", "IT")]
    assert main(["swap-positions", "--ckpt", str(fresh), "--out", str(sheets), "--neighborhoods", "20",
                 "--steps", "20", "--device", "cpu"]) == 0
    assert sum("spatial loss" in line for line in capsys.readouterr().out.splitlines()) == 4
    assert main(["train", "--out", str(runs), "--arch", "tiny_spiking_cornet_rt", "--width", "0.0625",
                 "--limit-per-class", "2", "--batch-size", "10", "--max-steps", "1", "--clusters", "2",
                 "--alpha", "0.5", "--beta", "0.5", "--device", "cpu"]) == 0
    model, trained = load_checkpoint(runs / "model.pt")
    assert trained.timesteps == 4 and json.loads(trained.provenance["recipe"])["timesteps"] == 4  # the arch's T
    for arch in ("spiking_cornet_rt", "cornet_rt"):  # a plain state dict of either twin loads with --arch
        plain = tmp_path / f"{arch}.pth"
        torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, plain)
        assert main(["info", "--ckpt", str(plain), "--arch", arch]) == 0
        assert f"architecture     {arch}" in capsys.readouterr().out
