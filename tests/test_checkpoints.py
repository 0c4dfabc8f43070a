import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from spikingjelly.activation_based import functional

from topoanalysis.models import create_model
from topoanalysis.models.checkpoints import load_checkpoint, save_checkpoint
from topoanalysis.models.resnet import LAYER_AREAS as DEFAULT_LAYER_AREAS

SJ_SHAPES = Path(__file__).parent / "data" / "spikingjelly_spiking_resnet18_state_dict_shapes.json"


def _outputs(model, x):
    with torch.no_grad():
        functional.reset_net(model)
        feats = model.forward_features(x, ["layer2.0", "layer4.1"])
        functional.reset_net(model)
        return model(x), feats


def test_round_trip_gives_identical_outputs_and_spec(tiny, tmp_path):
    model, spec, path = tiny
    loaded, loaded_spec = load_checkpoint(path)
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))  # not the suite's global RNG state
    (logits_a, feats_a), (logits_b, feats_b) = _outputs(model, x), _outputs(loaded, x)
    assert torch.equal(logits_a, logits_b)
    for name in feats_a:
        assert torch.equal(feats_a[name], feats_b[name])
    assert feats_a["layer4.1"].sum() > 0  # a non-trivial comparison: the layer fires
    assert loaded_spec == spec
    assert loaded_spec.sheets["layer2.0"] == spec.sheets["layer2.0"]
    assert len(spec.content_sha256) == 64
    again = save_checkpoint(tmp_path / "again.pt", loaded, loaded_spec)
    assert again.content_sha256 == spec.content_sha256


def test_edited_checkpoint_is_reported_as_corrupted(tiny, tmp_path):
    _, _, path = tiny
    payload = torch.load(path, weights_only=True)
    payload["state_dict"]["fc.bias"] += 1.0
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(ValueError, match="corrupted or was edited"):
        load_checkpoint(tmp_path / "edited.pt")


def test_missing_and_foreign_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint not found: .*nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="notes.txt is not a loadable PyTorch checkpoint"):
        load_checkpoint(tmp_path / "notes.txt")
    torch.save({"epoch": 3}, tmp_path / "odd.pt")
    with pytest.raises(ValueError, match="neither a topoanalysis checkpoint nor a state dict"):
        load_checkpoint(tmp_path / "odd.pt", arch="spiking_resnet18")


def _spikingjelly_style_state_dict(seed=0):
    """Random tensors under the exact key names and shapes of spikingjelly's spiking_resnet18."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in json.loads(SJ_SHAPES.read_text()).items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(7)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(shape, generator=gen)
    return state


def test_loads_plain_spikingjelly_state_dict_with_prefixes(tmp_path):
    state = _spikingjelly_style_state_dict()
    wrapped = {"model": {f"module._orig_mod.{k}": v for k, v in state.items()}, "epoch": 299}
    torch.save(wrapped, tmp_path / "sj.pth")
    model, spec = load_checkpoint(tmp_path / "sj.pth", arch="spiking_resnet18")
    loaded = model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
    assert spec.arch_kwargs == {"stem": "imagenet", "width": 1.0, "num_classes": 1000}
    assert spec.input_size_px == 224 and spec.timesteps == 4
    assert spec.layer_areas == DEFAULT_LAYER_AREAS
    assert spec.sheets["layer2.0"].shape_chw == (128, 28, 28)
    assert spec.sheets["layer4.1"].shape_chw == (512, 7, 7)
    assert "plain state dict" in spec.provenance["source"]


def test_plain_state_dict_needs_arch_and_reports_bad_keys_by_name(tmp_path):
    state = _spikingjelly_style_state_dict()
    torch.save(state, tmp_path / "plain.pt")
    with pytest.raises(ValueError, match="plain state dict.*arch=.*spiking_resnet18"):
        load_checkpoint(tmp_path / "plain.pt")

    broken = dict(state)
    del broken["fc.bias"]
    broken["head.extra.weight"] = torch.zeros(3)
    torch.save(broken, tmp_path / "broken.pt")
    with pytest.raises(ValueError, match=r"missing keys: fc.bias; unexpected keys: head.extra.weight"):
        load_checkpoint(tmp_path / "broken.pt", arch="spiking_resnet18")
    model, _ = load_checkpoint(tmp_path / "broken.pt", arch="spiking_resnet18", strict=False)
    assert torch.equal(model.state_dict()["conv1.weight"], state["conv1.weight"])

    bad_shape = dict(state)
    bad_shape["layer1.0.conv2.weight"] = torch.zeros(64, 64, 1, 1)
    torch.save(bad_shape, tmp_path / "shape.pt")
    with pytest.raises(ValueError, match=r"shape mismatches: layer1.0.conv2.weight \(64, 64, 1, 1\)"):
        load_checkpoint(tmp_path / "shape.pt", arch="spiking_resnet18", strict=False)


def test_cifar_width_and_classes_are_inferred_from_shapes(tmp_path):
    net = create_model("spiking_resnet18", stem="cifar", width=0.125, num_classes=7)
    torch.save(net.state_dict(), tmp_path / "cifar.pt")
    model, spec = load_checkpoint(tmp_path / "cifar.pt", arch="spiking_resnet18")
    assert spec.arch_kwargs == {"stem": "cifar", "width": 0.125, "num_classes": 7}
    assert spec.input_size_px == 32
    assert spec.sheets["layer1.0"].shape_chw == (8, 32, 32)


def test_save_rejects_sheets_that_do_not_fit_the_model(tiny, tmp_path):
    model, spec, _ = tiny
    wrong = replace(spec, input_size_px=32)
    with pytest.raises(ValueError, match="sheet for layer1.0 has shape .* at 32 px"):
        save_checkpoint(tmp_path / "wrong.pt", model, wrong)
    assert not (tmp_path / "wrong.pt").exists()


def test_timesteps_override_and_model_card(tiny):
    _, spec, path = tiny
    model, spec5 = load_checkpoint(path, timesteps=5)
    assert model.timesteps == 5 and spec5.timesteps == 5
    card = spec.model_card()
    for text in ("tiny_spiking_resnet", "layer2.0", "V1", "36.75", spec.content_sha256):
        assert text in card
    assert np.isclose(spec.sheets["layer4.1"].sheet_size_mm, 70.0)


def test_one_layer_stands_for_each_area(tiny, tmp_path, capsys):
    from topoanalysis.brain.adapter import default_region_layer_map
    from topoanalysis.cli.main import main

    _, spec, path = tiny
    assert [spec.layer_for(area) for area in ("V1", "V2", "V4", "IT", "retina", "MT")] == \
        ["layer2.0", "layer3.0", "layer3.1", "layer4.1", "layer1.0", None]
    moved = replace(spec, layer_areas={**spec.layer_areas, "layer2.0": "retina", "layer4.1": "V4"})
    assert moved.layer_for("V1") == "layer2.1" and moved.layer_for("IT") == "layer4.0"
    assert default_region_layer_map(moved) == {"V1": "layer2.1", "V2": "layer3.0", "V4": "layer3.1", "IT": "layer4.0"}
    areas = {name: ("V2" if area == "V1" else area) for name, area in spec.layer_areas.items()}
    no_v1 = replace(spec, layer_areas=areas)
    assert "V1" not in default_region_layer_map(no_v1)
    model, _ = load_checkpoint(path)
    save_checkpoint(tmp_path / "no_v1.pt", model, no_v1)
    assert main(["v1-maps", "--ckpt", str(tmp_path / "no_v1.pt"), "--out", str(tmp_path / "v1")]) == 2
    assert "maps no layer to V1; pass a layer" in capsys.readouterr().err


@pytest.mark.parametrize("field, value, message", [
    ("content_sha256", None, "has no 'content_sha256' field"),
    ("sheets", None, "has no 'sheets' field"),
    ("timesteps", 0, "bad 'timesteps' field"),
    ("arch", "banana", "bad 'arch' field"),
    ("std", [0.2, 0.0, 0.2], "bad 'std' field"),
    ("sheets", {"layer1.0": {"xy_mm": torch.zeros(2, 2)}}, "its sheets cannot be read"),
])
def test_damaged_metadata_is_named_on_load(tiny, tmp_path, field, value, message):
    """Schema checks run before the hash, so a hand-edited file with a recomputed hash is caught too."""
    payload = torch.load(tiny[2], weights_only=True)
    if value is None:
        del payload[field]
    else:
        payload[field] = value
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(ValueError, match=message) as caught:
        load_checkpoint(tmp_path / "edited.pt")
    assert "edited.pt" in str(caught.value)


def test_an_empty_checkpoint_file_is_named(tmp_path, capsys):
    from topoanalysis.cli.main import main

    (tmp_path / "empty.pt").write_bytes(b"")
    assert main(["info", "--ckpt", str(tmp_path / "empty.pt")]) == 2
    err = capsys.readouterr().err
    assert "empty.pt is not a loadable PyTorch checkpoint" in err and "Traceback" not in err


def test_a_checkpoint_edited_to_claim_the_relu_twin_is_refused(tiny, tmp_path):
    """Spiking and ReLU ResNets share every weight name and shape: the saved module types tell them apart."""
    from topoanalysis.models.checkpoints import content_hash

    model, spec = load_checkpoint(tiny[2])
    path = tmp_path / "spiking.pt"
    save_checkpoint(path, create_model("spiking_resnet18", stem="cifar", width=1 / 16, num_classes=10),
                    replace(spec, arch="spiking_resnet18", arch_kwargs={"stem": "cifar", "width": 1 / 16,
                                                                          "num_classes": 10},
                            sheets={}, layer_areas={}))
    payload = torch.load(path, weights_only=True)
    assert "LIFNode" in " ".join(payload["module_types"])
    payload["arch"] = "resnet18"  # the claim edited, the hash recomputed to match
    edited = replace(spec, arch="resnet18", arch_kwargs=payload["arch_kwargs"], sheets={}, layer_areas={})
    payload["content_sha256"] = content_hash(edited.metadata(), {}, payload["state_dict"])
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(ValueError, match="claims arch 'resnet18'.*arch field was edited"):
        load_checkpoint(tmp_path / "edited.pt")
    load_checkpoint(path)  # the original loads
