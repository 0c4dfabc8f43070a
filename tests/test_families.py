"""Every registered model family runs every analysis and the report; no family's layer names leak elsewhere."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional

from topoanalysis.analyses import brain, it, robustness, temporal, v1
from topoanalysis.analyses.base import Runtime
from topoanalysis.datasets.resolver import SHARED_DATA_DIR
from topoanalysis.models import cornet
from topoanalysis.models.checkpoints import load_checkpoint, save_checkpoint
from topoanalysis.models.registry import MODELS, create_model, families
from topoanalysis.testing import tiny_checkpoint

TINY = sorted(name for name in MODELS if name.startswith("tiny_"))
TINY_SPIKING = [name for name in TINY if MODELS[name].defaults.get("neuron_kind") != "relu"
                and "connect" not in MODELS[name].defaults]
"""One tiny spiking model per family (SEW, a ResNet-18 variant, has its own tests in test_sew.py / test_zoo.py)."""
TINY_RELU = [name for name in TINY if MODELS[name].defaults.get("neuron_kind") == "relu"]
CPU = Runtime(device="cpu", progress=False)
PACKAGE = Path(__file__).resolve().parents[1] / "topoanalysis"
needs_data = pytest.mark.skipif(not (SHARED_DATA_DIR / "cifar10-jpeg.zip").is_file(),
                                reason="the shared data (CIFAR-10, fLoc, neural data) is not available")


def test_every_family_has_a_tiny_spiking_model_and_its_relu_twin():
    assert {MODELS[name].family.name for name in TINY_SPIKING} == set(families())
    assert {MODELS[name].family.name for name in TINY_RELU} == set(families())


def test_no_family_layer_name_is_written_outside_its_model_file():
    """ResNet block names (``layer2.0``) and CORnet area modules (``V1.conv_input``) appear only in their family's
    file (and, for ResNet-18, the TDANN importer, whose files are ResNet-18s by TDANN's design)."""
    patterns = {"resnet.py": re.compile(r"layer[1-4]\.\d"), "cornet.py": re.compile(r"\b(V1|V2|V4|IT)\.(conv|norm)"),
                "vgg.py": re.compile(r"\b(features|classifier)\.\d"), "spikformer.py": re.compile(r"\bblocks\.\d")}
    allowed = {"resnet.py": {"models/resnet.py", "models/resnet_deep.py", "models/importers.py"},
               "cornet.py": {"models/cornet.py"}, "vgg.py": {"models/vgg.py"},
               "spikformer.py": {"models/spikformer.py"}}
    for family_file, pattern in patterns.items():
        offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                     if pattern.search(path.read_text()) and str(path.relative_to(PACKAGE)) not in allowed[family_file]]
        assert offenders == [], f"{pattern.pattern} written in {offenders}"


@pytest.fixture(scope="module", params=TINY_SPIKING)
def tiny_family(request, tmp_path_factory):
    """A saved tiny spiking model of one family (fLoc-calibrated where it has batch norm)."""
    model, spec = tiny_checkpoint(arch=request.param, calibrate_on="floc")
    path = tmp_path_factory.mktemp(request.param) / f"{request.param}.pt"
    spec = save_checkpoint(path, model, spec)
    return request.param, spec, path


def test_sheets_cover_the_family_layers_and_record(tiny_family):
    name, spec, path = tiny_family
    family = MODELS[name].family
    model, loaded = load_checkpoint(path)
    areas = family.areas_of(model)
    assert list(spec.sheets) == list(areas) and spec.layer_areas == areas
    assert loaded.content_sha256 == spec.content_sha256
    x = torch.rand(3, 3, 16, 16)
    features = model.forward_features(x, list(spec.sheets))
    for layer, sheet in spec.sheets.items():
        assert tuple(features[layer].shape) == (spec.timesteps, 3, *sheet.shape_chw)
    functional.reset_net(model)
    per_step = model.timestep_logits(x)
    functional.reset_net(model)
    readout = per_step[-1] if getattr(model, "readout", "mean") == "last" else per_step.mean(0)
    torch.testing.assert_close(model(x), readout)


@needs_data
def test_every_analysis_runs_on_every_family(tiny_family, tmp_path):
    name, spec, path = tiny_family
    models = {"a": path, "b": path}
    result = v1.run(models, v1.V1MapsParams(), CPU)
    assert result.layer == spec.layer_for("V1")
    result = it.run(models, it.ITPatchesParams(max_per_category=8), CPU)
    assert result.layer == spec.layer_for("IT")
    scores = brain.run({"a": path}, brain.BrainParams(), CPU).scores
    assert set(scores["region"]) >= {"V4", "IT"}
    quick = temporal.TemporalParams(n_per_class=1, timesteps=(1, 2), fisher_images=2)
    fisher = temporal.run({"a": path}, quick, CPU).table("fisher")
    groups = set(fisher["group"])
    assert {"classifier"} < groups and groups <= {family_group(name, g) for g in groups}
    curves = robustness.run({"a": path}, robustness.RobustnessParams(n_per_class=1, pgd_steps=1,
                                                                     pgd_n_per_class=1), CPU)
    assert len(curves.table("robustness_curves")) > 0


def family_group(name: str, group: str) -> str:
    """``group`` if it is one of the family's Fisher groups (its connections), else a marker that fails."""
    model = create_model(name)
    connection = MODELS[name].family.connections
    return group if group in {connection(p) for p, _ in model.named_parameters()} else "<not a group>"


class _ReferenceLIF:
    """LIF from its equations (tau 2, threshold 1, hard reset to 0): h = v + (x - v) / tau, s = [h >= 1],
    v = h (1 - s)."""

    def __init__(self):
        self.v = {}

    def __call__(self, x, where):
        h = self.v.get(where, torch.zeros_like(x))
        h = h + (x - h) / 2.0
        spike = (h >= 1.0).float()
        self.v[where] = h * (1 - spike)
        return spike


def _reference_cornet_rt(state: dict, image: torch.Tensor, times: int, groups: int, size_px: int,
                         neuron=None) -> torch.Tensor:
    """CORnet-RT as Kubilius et al. 2018 write it (METHODS 5), from the state dict's tensors alone: GroupNorm, the
    image to V1 at every step, area k at step t reads area k-1 at t-1, decoder on IT. ``neuron`` None: ReLUs and
    the decoder on IT's last step (the reference code); else the spiking form, readout averaged over the steps."""
    areas = ("V1", "V2", "V4", "IT")
    v1_stride = 4 if state["V1.conv_input.weight"].shape[-1] == 7 else 1
    strides = {"V1": v1_stride, "V2": 2, "V4": 2, "IT": 2}
    sizes, size = {}, size_px
    for area in areas:
        kernel = state[f"{area}.conv_input.weight"].shape[-1]
        size = (size + 2 * (kernel // 2) - kernel) // strides[area] + 1
        sizes[area] = size

    def act(x, where):
        return F.relu(x) if neuron is None else neuron(x, where)

    def norm(x, key):
        return F.group_norm(x, groups, state[f"{key}.weight"], state[f"{key}.bias"], eps=1e-5)

    def block(area, inp, previous):
        channels = state[f"{area}.conv1.weight"].shape[0]
        skip = torch.zeros(image.shape[0], channels, sizes[area], sizes[area]) if previous is None else previous
        if inp is not None:
            w = state[f"{area}.conv_input.weight"]
            skip = skip + act(norm(F.conv2d(inp, w, state[f"{area}.conv_input.bias"], strides[area],
                                            w.shape[-1] // 2), f"{area}.norm_input"), (area, "input"))
        return act(norm(F.conv2d(skip, state[f"{area}.conv1.weight"], None, 1, 1), f"{area}.norm1"), (area, "out"))

    def decode(it_output):
        return it_output.mean((2, 3)) @ state["decoder.linear.weight"].T + state["decoder.linear.bias"]

    outputs = {}
    for area in areas:
        outputs[area] = block(area, image if area == "V1" else None, None)
    logits = [decode(outputs["IT"])]
    for _ in range(1, times):
        outputs = {area: block(area, image if area == "V1" else outputs[areas[k - 1]], outputs[area])
                   for k, area in enumerate(areas)}
        logits.append(decode(outputs["IT"]))
    return logits[-1] if neuron is None else torch.stack(logits).mean(0)


def test_a_cornet_rt_state_dict_with_the_original_names_loads_and_matches_the_reference(tmp_path):
    torch.manual_seed(0)
    reference = cornet.SpikingCORnetRT(num_classes=1000, neuron_kind="relu", timesteps=5)
    for module in reference.modules():  # non-trivial norm parameters, so a wrong norm or grouping shows
        if isinstance(module, torch.nn.GroupNorm):
            torch.nn.init.uniform_(module.weight, 0.5, 1.5)
            torch.nn.init.uniform_(module.bias, -0.2, 0.2)
    state = {f"module.{key}": value for key, value in reference.state_dict().items()}  # as DataParallel saves it
    path = tmp_path / "cornet_rt_plain.pth"
    torch.save({"state_dict": state}, path)
    model, spec = load_checkpoint(path, arch="cornet_rt", input_size_px=224)
    assert spec.arch_kwargs["readout"] == "last" and spec.timesteps == 5 and list(spec.sheets) == list(cornet.AREAS)
    image = torch.randn(2, 3, 224, 224)
    expected = _reference_cornet_rt({k.removeprefix("module."): v for k, v in state.items()}, image, 5, 32, 224)
    with torch.no_grad():
        got = model(image)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)
    assert "readout" in spec.provenance.get("defaults", "")


def test_the_spiking_cornet_rt_is_its_equations_with_lif_neurons():
    torch.manual_seed(1)
    model = create_model("spiking_cornet_rt", num_classes=10, stem="cifar", width=0.25).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.GroupNorm):
            torch.nn.init.uniform_(module.weight, 1.0, 3.0)  # strong drive: every area fires
    image = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        got = model(image)
        features = model.forward_features(image, ["IT"])
    functional.reset_net(model)
    expected = _reference_cornet_rt(model.state_dict(), image, 10, 8, 32, neuron=_ReferenceLIF())
    assert features["IT"][3:].mean() > 0.01  # IT spikes once the image has reached it
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_a_state_dict_of_another_family_names_the_architectures_it_fits(tmp_path):
    state = create_model("tiny_spiking_cornet_rt").state_dict()
    torch.save(state, tmp_path / "cornet.pth")
    with pytest.raises(ValueError, match="Its weight names are those of: cornet_rt, spiking_cornet_rt"):
        load_checkpoint(tmp_path / "cornet.pth", arch="spiking_resnet18")
    torch.save({"encoder.weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="No registered architecture has its weight names .* registered: cornet_rt"):
        load_checkpoint(tmp_path / "other.pth", arch="resnet18")
