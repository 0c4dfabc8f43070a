"""Importers: TDANN-format and plain checkpoints, written by the tests in exactly those formats."""

import pickle
import re
import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from spikingjelly.activation_based.neuron import ParametricLIFNode

from topoanalysis.cli.main import main
from topoanalysis.models import create_model
from topoanalysis.models.checkpoints import load_checkpoint
from topoanalysis.models.importers import import_state_dict, import_tdann
from topoanalysis.models.resnet import LAYER_AREAS as DEFAULT_LAYER_AREAS
from topoanalysis.models.shapes import layer_shapes
from topoanalysis.safe_pickle import UnsafePickleError
from topoanalysis.sheets import default_sheets

SIZE_PX = 64
LAYERS = list(DEFAULT_LAYER_AREAS)


@pytest.fixture(scope="module")
def spacetorch_module():
    """A stand-in ``spacetorch.models.positions`` with TDANN's dataclass, so pickles name it as TDANN's do."""
    module = types.ModuleType("spacetorch.models.positions")

    @dataclass
    class LayerPositions:
        name: str
        dims: tuple
        coordinates: np.ndarray
        neighborhood_indices: np.ndarray
        neighborhood_width: float

    LayerPositions.__module__, LayerPositions.__qualname__ = module.__name__, "LayerPositions"
    module.LayerPositions = LayerPositions
    names = ["spacetorch", "spacetorch.models", "spacetorch.models.positions"]
    saved = {name: sys.modules.get(name) for name in names}
    sys.modules.update({"spacetorch": types.ModuleType("spacetorch"),
                        "spacetorch.models": types.ModuleType("spacetorch.models"), module.__name__: module})
    yield LayerPositions
    for name, old in saved.items():
        if old is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = old


@pytest.fixture(scope="module")
def tdann_files(tmp_path_factory, spacetorch_module):
    """A VISSL-format TDANN checkpoint (a small ResNet-18 trunk, saved as spacetorch's ``SpatialResNet18`` saves it:
    ``base_model.*`` and ``_feature_blocks.layer1_0.*`` names for the same tensors) and a positions directory, .npz
    and .pkl mixed (a pickle as ``LayerPositions.save`` writes it)."""
    folder = tmp_path_factory.mktemp("tdann")
    torch.manual_seed(0)
    model = create_model("resnet18", stem="imagenet", width=1 / 16, num_classes=10)
    weights = {k: v for k, v in model.state_dict().items() if not k.startswith("fc.")}
    trunk = {f"base_model.{k}": v for k, v in weights.items()}  # as spacetorch writes it: every weight twice,
    trunk.update({"_feature_blocks." + re.sub(r"^layer(\d)\.(\d)\.", r"layer\1_\2.", k): v  # shared modules
                  for k, v in weights.items()})
    torch.save({"classy_state_dict": {"base_model": {"model": {"trunk": trunk, "heads": {}}}}, "phase_idx": 3},
               folder / "model_final_checkpoint_phase199.torch")
    sheets = default_sheets(layer_shapes(model, SIZE_PX, LAYERS), DEFAULT_LAYER_AREAS, rng=np.random.default_rng(7))
    positions = folder / "positions"
    positions.mkdir()
    for i, (layer, sheet) in enumerate(sheets.items()):
        fields = dict(name=layer, dims=np.array(sheet.shape_chw), coordinates=np.asarray(sheet.xy_mm, np.float64),
                      neighborhood_indices=np.arange(12).reshape(3, 4), neighborhood_width=1.5)
        if i % 2:
            with open(positions / f"{layer}.pkl", "wb") as handle:
                pickle.dump(spacetorch_module(**{**fields, "dims": tuple(sheet.shape_chw)}), handle)
        else:
            np.savez(positions / f"{layer}.npz", **fields)
    return folder / "model_final_checkpoint_phase199.torch", positions, model, sheets


def test_tdann_checkpoint_and_positions_come_back_exactly(tdann_files):
    weights, positions, original, sheets = tdann_files
    model, spec = import_tdann(weights, positions, input_size_px=SIZE_PX)
    assert spec.arch == "resnet18" and spec.input_size_px == SIZE_PX and spec.layer_for("V1") == "layer2.0"
    for key, value in original.state_dict().items():
        if not key.startswith("fc."):
            assert torch.equal(model.state_dict()[key], value), key
    assert not model.fc.weight.any() and "classifier" in spec.provenance
    for layer in LAYERS:  # unit i keeps its coordinates (TDANN's C, H, W flattening is the toolkit's)
        np.testing.assert_allclose(spec.sheets[layer].xy_mm, sheets[layer].xy_mm, rtol=0, atol=1e-6)
        assert spec.sheets[layer].neighborhood_width_mm == 1.5
    assert spec.provenance["source"].startswith("TDANN checkpoint model_final_checkpoint_phase199.torch (sha256 ")


def test_import_tdann_command_feeds_the_analyses(tdann_files, tmp_path):
    weights, positions, _, _ = tdann_files
    out = tmp_path / "tdann.pt"
    assert main(["import", "tdann", "--weights", str(weights), "--positions", str(positions), "--input-size",
                 str(SIZE_PX), "--out", str(out)]) == 0
    _, spec = load_checkpoint(out)
    assert spec.content_sha256 and set(spec.sheets) == set(LAYERS)
    assert main(["v1-maps", "--ckpt", str(out), "--baseline", "none", "--device", "cpu", "--out", str(tmp_path / "v1"),
                 "--mask-rule", "response_floor", "--n-samples", "2", "--sample-size", "50"]) == 0
    assert (tmp_path / "v1" / "v1_results.json").is_file()


def test_a_pickle_that_would_run_code_is_refused(tdann_files, tmp_path):
    weights, positions, _, _ = tdann_files
    planted = tmp_path / "positions"
    planted.mkdir()
    for file in positions.iterdir():
        planted.joinpath(file.name).write_bytes(file.read_bytes())
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (exec, (f"open({str(marker)!r}, 'w').write('x')",))

    pkl = next(planted.glob("*.pkl"))
    pkl.write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(UnsafePickleError, match="builtins.exec"):
        import_tdann(weights, planted, input_size_px=SIZE_PX)
    assert not marker.exists()


def test_a_trunk_with_two_different_weight_sets_is_refused(tdann_files, tmp_path):
    weights, positions, _, _ = tdann_files
    ckpt = torch.load(weights, weights_only=True)
    trunk = ckpt["classy_state_dict"]["base_model"]["model"]["trunk"]
    shared = trunk["_feature_blocks.layer2_0.conv1.weight"]
    trunk["_feature_blocks.layer2_0.conv1.weight"] = shared + 1
    torch.save(ckpt, tmp_path / "two_nets.torch")
    with pytest.raises(ValueError, match="_feature_blocks weight 'layer2.0.conv1.weight' is not its base_model"):
        import_tdann(tmp_path / "two_nets.torch", positions, input_size_px=SIZE_PX)
    only_blocks = {k: v for k, v in trunk.items() if k.startswith("_feature_blocks.")}
    only_blocks["_feature_blocks.layer2_0.conv1.weight"] = shared  # a trunk of _feature_blocks alone reads as well
    ckpt["classy_state_dict"]["base_model"]["model"]["trunk"] = only_blocks
    torch.save(ckpt, tmp_path / "blocks.torch")
    model, _ = import_tdann(tmp_path / "blocks.torch", positions, input_size_px=SIZE_PX)
    original = tdann_files[2]
    assert all(torch.equal(model.state_dict()[k], v) for k, v in original.state_dict().items() if "fc." not in k)


@pytest.mark.parametrize("damage, match", [
    ("plain", "is not a TDANN \\(VISSL\\) checkpoint"),
    ("missing_layer", "has no layer4.1.npz or layer4.1.pkl"),
    ("wrong_size", "pass the --input-size they were made for"),
])
def test_bad_tdann_inputs_are_named(tdann_files, tmp_path, damage, match):
    weights, positions, original, _ = tdann_files
    size = SIZE_PX
    if damage == "plain":
        torch.save(original.state_dict(), tmp_path / "plain.pt")
        weights = tmp_path / "plain.pt"
    elif damage == "missing_layer":
        positions = tmp_path / "partial"
        positions.mkdir()
        for file in tdann_files[1].iterdir():
            if not file.name.startswith("layer4.1"):
                positions.joinpath(file.name).write_bytes(file.read_bytes())
    else:
        size = 96
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        import_tdann(weights, positions, input_size_px=size)


def test_plain_state_dict_with_one_array_per_layer(tmp_path):
    torch.manual_seed(1)
    model = create_model("spiking_resnet18", stem="cifar", width=1 / 16, num_classes=10)
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, tmp_path / "weights.pth")
    shapes = layer_shapes(model, 32, ["layer2.0", "layer4.1"])
    sheets = default_sheets(shapes, {"layer2.0": "V1", "layer4.1": "IT"}, rng=np.random.default_rng(3))
    np.savez(tmp_path / "positions.npz", **{name: np.asarray(s.xy_mm, float) for name, s in sheets.items()})
    loaded, spec = import_state_dict(tmp_path / "weights.pth", "spiking_resnet18", tmp_path / "positions.npz")
    assert spec.input_size_px == 32 and set(spec.sheets) == {"layer2.0", "layer4.1"}
    np.testing.assert_allclose(spec.sheets["layer4.1"].xy_mm, sheets["layer4.1"].xy_mm, atol=1e-6)
    assert spec.layer_for("IT") == "layer4.1" and torch.equal(loaded.fc.weight, model.fc.weight)
    assert main(["import", "state-dict", "--weights", str(tmp_path / "weights.pth"), "--arch", "spiking_resnet18",
                 "--positions", str(tmp_path / "positions.npz"), "--out", str(tmp_path / "x.pt")]) == 0
    assert load_checkpoint(tmp_path / "x.pt")[1].sheets["layer2.0"].area == "V1"


def test_a_state_dict_import_records_the_settings_it_was_given_or_assumed(tmp_path):
    torch.manual_seed(0)
    sew = create_model("sew_resnet18", stem="cifar", width=1 / 16, num_classes=10)
    torch.save({"module." + k: v for k, v in sew.state_dict().items()}, tmp_path / "sew.pth")
    shapes = layer_shapes(sew, 32, LAYERS)
    sheets = default_sheets(shapes, DEFAULT_LAYER_AREAS, rng=np.random.default_rng(1))
    np.savez(tmp_path / "pos.npz", **{name: np.asarray(sheet.xy_mm, np.float64) for name, sheet in sheets.items()})
    out = tmp_path / "sew.pt"
    assert main(["import", "state-dict", "--weights", str(tmp_path / "sew.pth"), "--arch", "sew_resnet18",
                 "--positions", str(tmp_path / "pos.npz"), "--connect", "IAND", "--timesteps", "6",
                 "--out", str(out)]) == 0
    _, spec = load_checkpoint(out)
    card = spec.provenance
    assert card["setting connect"] == "'IAND' (given)" and card["setting timesteps"] == "6 (given)"
    assert card["setting tau"] == "2.0 (assumed: the file cannot say)"
    assert card["setting neuron_kind"] == "'lif' (assumed: the file cannot say)"  # no --neuron: LIF assumed
    assert spec.timesteps == 6 and "spiking_resnet18" in card["architecture"]
    assert main(["import", "state-dict", "--weights", str(tmp_path / "sew.pth"), "--arch", "sew_resnet18",
                 "--positions", str(tmp_path / "pos.npz"), "--tau", "-1", "--out", str(tmp_path / "bad.pt")]) == 2


def _files(tmp_path, model, layers, name, size=16):
    """The model's state dict (as DataParallel saves it) and one positions array per layer, at ``size`` px."""
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, tmp_path / f"{name}.pth")
    shapes = layer_shapes(model, size, layers)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / f"{name}.npz",
             **{layer: rng.uniform(0, 3, (int(np.prod(shape)), 2)) for layer, shape in shapes.items()})
    return ["--weights", str(tmp_path / f"{name}.pth"), "--positions", str(tmp_path / f"{name}.npz"),
            "--input-size", str(size)]


def _card(tmp_path, args, out):
    assert main(["import", "state-dict", *args, "--out", str(tmp_path / out)]) == 0
    return load_checkpoint(tmp_path / out)


def test_import_records_the_neuron_given_read_or_assumed(tmp_path):
    torch.manual_seed(0)
    plif = create_model("tiny_spiking_resnet34", neuron_kind="plif").eval()
    with torch.no_grad():
        for module in plif.modules():
            if isinstance(module, ParametricLIFNode):
                module.w.uniform_(-1, 1)  # each layer its own learned time constant, which the import must keep
    files = _files(tmp_path, plif, ["layer2.0", "layer4.2"], "plif")
    model, spec = _card(tmp_path, ["--arch", "spiking_resnet34", *files], "plif.pt")
    card = spec.provenance
    assert card["setting neuron_kind"] == "'plif' (read from the file: its neurons have a learnable w)"
    assert card["setting tau"].endswith("(not used: PLIF neurons learn their time constant, the file's w sets it)")
    assert card["setting timesteps"] == "4 (assumed: the file cannot say)"
    taus = {key: value for key, value in plif.state_dict().items() if key.endswith(".w")}
    assert len(taus) == 1 + 2 * 16 and all(torch.equal(model.state_dict()[key], w) for key, w in taus.items())

    lif = create_model("tiny_spiking_resnet34")
    files = _files(tmp_path, lif, ["layer2.0"], "lif")
    _, spec = _card(tmp_path, ["--arch", "spiking_resnet34", *files, "--neuron", "if", "--timesteps", "3"], "if.pt")
    assert spec.provenance["setting neuron_kind"] == "'if' (given)" and spec.timesteps == 3
    assert spec.provenance["setting tau"] == "2.0 (not used: IF neurons do not leak)"
    assert spec.provenance["setting timesteps"] == "3 (given)" and spec.arch_kwargs["neuron_kind"] == "if"
    _, spec = _card(tmp_path, ["--arch", "sew_resnet34", *files, "--tau", "3"], "lif.pt")
    card = spec.provenance
    assert card["setting neuron_kind"] == "'lif' (assumed: the file cannot say)"
    assert card["setting tau"] == "3.0 (given)" and card["setting connect"] == "'ADD' (assumed: the file cannot say)"
    _, spec = _card(tmp_path, ["--arch", "resnet34", *files], "relu.pt")
    assert spec.provenance["setting neuron_kind"] == "'relu' (given)"
    assert spec.provenance["setting tau"] == "2.0 (not used: a ReLU network)"


def test_import_of_a_vgg_says_its_max_pools_were_assumed(tmp_path):
    vgg = create_model("tiny_spiking_vgg11_bn", stem="imagenet")
    files = _files(tmp_path, vgg, ["features.10", "features.27"], "vgg", size=32)
    _, spec = _card(tmp_path, ["--arch", "spiking_vgg11_bn", *files], "vgg.pt")
    assert spec.provenance["setting stem"] == "'imagenet' (assumed: the file cannot say)"
    assert "max-pools" in spec.provenance["defaults"] and spec.layer_for("IT") == "features.27"
    assert spec.sheets["features.27"].area == "IT" and spec.sheets["features.27"].shape_chw == (32, 2, 2)


def test_import_refuses_a_neuron_the_file_contradicts_and_names_the_architectures(tmp_path, capsys):
    plif = create_model("tiny_spiking_resnet50", neuron_kind="plif")
    files = _files(tmp_path, plif, ["layer2.0"], "plif50")
    assert main(["import", "state-dict", "--arch", "spiking_resnet50", *files, "--neuron", "lif",
                 "--out", str(tmp_path / "x.pt")]) == 2
    assert "they are PLIF, not 'lif'; pass --neuron plif" in capsys.readouterr().err
    lif = create_model("tiny_spiking_resnet50")
    files = _files(tmp_path, lif, ["layer2.0"], "lif50")
    assert main(["import", "state-dict", "--arch", "spiking_resnet50", *files, "--neuron", "plif",
                 "--out", str(tmp_path / "x.pt")]) == 2
    assert "so they are not PLIF; pass --neuron lif or --neuron if" in capsys.readouterr().err
    assert main(["import", "state-dict", "--arch", "resnet50", *files, "--neuron", "if",
                 "--out", str(tmp_path / "x.pt")]) == 2
    assert "--neuron 'if': resnet50 is a ReLU network" in capsys.readouterr().err
    assert main(["import", "state-dict", "--arch", "resnet50", *_files(tmp_path, plif, ["layer2.0"], "plif50"),
                 "--out", str(tmp_path / "x.pt")]) == 2
    assert "they are PLIF, so the file is a spiking network's, not resnet50's (ReLU)" in capsys.readouterr().err
    with pytest.raises(ValueError, match=r"those of: spiking_resnet50 with PLIF neurons \(neuron_kind 'plif', "
                                         r"--neuron plif\); pass"):  # sew_resnet50's PLIF adds downsample_sn.w
        load_checkpoint(tmp_path / "plif50.pth", arch="resnet50")


def test_an_unknown_architecture_gets_one_line_listing_the_supported_ones(tmp_path, capsys):
    assert main(["import", "state-dict", "--arch", "resnet101", "--weights", "w.pth", "--positions", "p.npz",
                 "--out", str(tmp_path / "x.pt")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown architecture 'resnet101'" in err
    assert "spiking_vgg11_bn" in err and "sew_resnet50" in err and "tiny_" not in err
