import json

import matplotlib.image as mpimg
import pandas as pd
import pytest

from topoanalysis.cli.main import main
from topoanalysis.paths import DEFAULT_CHECKPOINT
from topoanalysis.recording import load_responses

DEMO_FILES = {"responses_gratings.nc", "layer_activity.csv", "model_card.txt", "sheet_activity.png",
              "sheet_activity.pdf", "summary.json"}


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
     "fLoc folder '/no/such/dir' does not exist"),
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
