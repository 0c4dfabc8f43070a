"""spikingjelly's model zoo (spiking_resnet34/50, sew_resnet34/50, spiking_vgg11_bn) and their ReLU twins, with LIF,
IF and PLIF neurons: key names as the zoo writes them, logits as its definitions compute them.

The zoo's classes need torchvision, which this stack does not install, so every expectation here is written from
the zoo's source: key names from its layer lists, logits from a forward in plain ``torch.nn.functional`` with
hand-written multi-step neurons."""

import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional, neuron

from topoanalysis.models.checkpoints import module_types
from topoanalysis.models.fresh import fresh_checkpoint
from topoanalysis.models.lif import is_spiking, make_neuron, use_plain_lif
from topoanalysis.models.registry import MODELS, create_model
from topoanalysis.models.shapes import layer_shapes

TAU = 2.0
DEPTHS = {"resnet34": (3, 4, 6, 3), "resnet50": (3, 4, 6, 3)}
BOTTLENECK = {"resnet34": False, "resnet50": True}
VGG11 = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


# ---- the zoo's key names, written from its definitions ----------------------------------------------------------

def zoo_resnet_keys(depth: str, *, sew: bool, plif: bool) -> set:
    """spiking_resnet / sew_resnet's state-dict keys: stem conv1, bn1, sn1; per block conv/bn pairs (2 in a
    BasicBlock, 3 in a Bottleneck) with sn1.., a downsample (conv1x1, BN) where stride != 1 or the input channels
    are not planes * expansion, SEW's downsample_sn beside it; fc. Neurons hold a key only when PLIF (``w``)."""
    keys = {"conv1.weight", "fc.weight", "fc.bias", *(f"bn1.{k}" for k in BN_KEYS)}
    neurons = ["sn1"]
    expansion, convs = (4, 3) if BOTTLENECK[depth] else (1, 2)
    inplanes = 64
    for stage, (n, planes) in enumerate(zip(DEPTHS[depth], (64, 128, 256, 512)), start=1):
        for b in range(n):
            p = f"layer{stage}.{b}"
            for i in range(1, convs + 1):
                keys |= {f"{p}.conv{i}.weight", *(f"{p}.bn{i}.{k}" for k in BN_KEYS)}
                neurons.append(f"{p}.sn{i}")
            if b == 0 and (stage > 1 or inplanes != planes * expansion):
                keys |= {f"{p}.downsample.0.weight", *(f"{p}.downsample.1.{k}" for k in BN_KEYS)}
                if sew:
                    neurons.append(f"{p}.downsample_sn")
            inplanes = planes * expansion
    return keys | ({f"{name}.w" for name in neurons} if plif else set())


def zoo_vgg_keys(*, plif: bool) -> set:
    """SpikingVGG.make_layers with batch_norm: each number adds conv (i), BN (i + 1), neuron (i + 2); each M a max-pool
    (i); the classifier: Linear (0), neuron (1), Dropout (2), Linear (3), neuron (4), Dropout (5), Linear (6)."""
    keys, index = set(), 0
    for item in VGG11:
        if item == "M":
            index += 1
            continue
        keys |= {f"features.{index}.weight", f"features.{index}.bias", *(f"features.{index + 1}.{k}" for k in BN_KEYS)}
        if plif:
            keys.add(f"features.{index + 2}.w")
        index += 3
    keys |= {f"classifier.{i}.{k}" for i in (0, 3, 6) for k in ("weight", "bias")}
    return keys | ({"classifier.1.w", "classifier.4.w"} if plif else set())


@pytest.mark.parametrize("name,depth,sew", [("spiking_resnet34", "resnet34", False), ("resnet34", "resnet34", False),
                                            ("sew_resnet34", "resnet34", True), ("spiking_resnet50", "resnet50", False),
                                            ("resnet50", "resnet50", False), ("sew_resnet50", "resnet50", True)])
def test_resnet_key_names_are_the_zoos(name, depth, sew):
    assert set(create_model(name, width=1 / 16).state_dict()) == zoo_resnet_keys(depth, sew=sew, plif=False)
    if name.startswith(("spiking_", "sew_")):
        plif = create_model(name, width=1 / 16, neuron_kind="plif").state_dict()
        assert set(plif) == zoo_resnet_keys(depth, sew=sew, plif=True)


def test_vgg_key_names_are_the_zoos():
    assert set(create_model("vgg11_bn", width=1 / 16).state_dict()) == zoo_vgg_keys(plif=False)
    assert set(create_model("spiking_vgg11_bn", width=1 / 16).state_dict()) == zoo_vgg_keys(plif=False)
    assert set(create_model("spiking_vgg11_bn", width=1 / 16, neuron_kind="plif").state_dict()) == zoo_vgg_keys(
        plif=True)


def test_full_width_shapes_and_key_counts_are_torchvisions():
    """At width 1 (built on the meta device: no memory) the key counts are torchvision's resnet34 (218), resnet50
    (320) and vgg11_bn (62), with the zoo's shapes."""
    with torch.device("meta"):
        r34, r50, vgg = (create_model(name).state_dict() for name in ("resnet34", "resnet50", "vgg11_bn"))
    assert (len(r34), len(r50), len(vgg)) == (218, 320, 62)
    assert tuple(r34["fc.weight"].shape) == (1000, 512)
    assert tuple(r34["layer3.5.conv2.weight"].shape) == (256, 256, 3, 3)
    assert tuple(r50["fc.weight"].shape) == (1000, 2048)
    assert tuple(r50["layer1.0.downsample.0.weight"].shape) == (256, 64, 1, 1)
    assert tuple(r50["layer2.0.conv2.weight"].shape) == (128, 128, 3, 3)  # the stride sits on the 3x3 (v1.5)
    assert tuple(r50["layer4.2.conv3.weight"].shape) == (2048, 512, 1, 1)
    assert tuple(vgg["classifier.0.weight"].shape) == (4096, 512 * 7 * 7)
    assert tuple(vgg["features.25.weight"].shape) == (512, 512, 3, 3) and tuple(vgg["classifier.6.weight"].shape) == (
        1000, 4096)


# ---- the zoo's forward, written from its definitions ------------------------------------------------------------

def neuron_fn(kind: str, state: dict, key: str):
    """A multi-step neuron from its equations (threshold 1, hard reset to 0): LIF h = v + (x - v) / tau, IF
    h = v + x, PLIF h = v + (x - v) sigmoid(w) with w the state's ``key.w``; s = [h >= 1], v = h (1 - s)."""
    if kind == "relu":
        return F.relu

    def run(x_seq):
        v, spikes = torch.zeros_like(x_seq[0]), []
        for x in x_seq:
            if kind == "lif":
                h = v + (x - v) / TAU
            elif kind == "if":
                h = v + x
            else:
                h = v + (x - v) * torch.sigmoid(state[f"{key}.w"])
            s = (h >= 1.0).float()
            v = h * (1 - s)
            spikes.append(s)
        return torch.stack(spikes)
    return run


def per_step(fn, x_seq):
    return fn(x_seq.flatten(0, 1)).unflatten(0, x_seq.shape[:2])


def conv_bn(state, x_seq, conv, bn, stride, padding, bias=False):
    def fn(x):
        y = F.conv2d(x, state[f"{conv}.weight"], state[f"{conv}.bias"] if bias else None, stride, padding)
        return F.batch_norm(y, state[f"{bn}.running_mean"], state[f"{bn}.running_var"], state[f"{bn}.weight"],
                            state[f"{bn}.bias"], False, 0.0, 1e-5)
    return per_step(fn, x_seq)


def reference_resnet(state, image, steps, depth, connect, kind, stem="cifar", trace=None, basic_order=False):
    """spiking_resnet (connect None) / sew_resnet: BasicBlock SEW output sew_function(identity, out), Bottleneck
    sew_function(out, identity) (``basic_order``: the BasicBlock's order there too, which is not the zoo's); the
    readout fc(mean pool) averaged over T."""
    def act(key, x):
        return neuron_fn(kind, state, key)(x)

    x = image.unsqueeze(0).repeat(steps, 1, 1, 1, 1)
    if stem == "imagenet":
        h = per_step(lambda z: F.max_pool2d(z, 3, 2, 1), act("sn1", conv_bn(state, x, "conv1", "bn1", 2, 3)))
    else:
        h = act("sn1", conv_bn(state, x, "conv1", "bn1", 1, 1))
    for stage, n in enumerate(DEPTHS[depth], start=1):
        for b in range(n):
            p, stride = f"layer{stage}.{b}", (2 if stage > 1 and b == 0 else 1)
            if BOTTLENECK[depth]:
                out = act(f"{p}.sn1", conv_bn(state, h, f"{p}.conv1", f"{p}.bn1", 1, 0))
                out = act(f"{p}.sn2", conv_bn(state, out, f"{p}.conv2", f"{p}.bn2", stride, 1))
                out, last = conv_bn(state, out, f"{p}.conv3", f"{p}.bn3", 1, 0), f"{p}.sn3"
            else:
                out = act(f"{p}.sn1", conv_bn(state, h, f"{p}.conv1", f"{p}.bn1", stride, 1))
                out, last = conv_bn(state, out, f"{p}.conv2", f"{p}.bn2", 1, 1), f"{p}.sn2"
            identity = h
            if f"{p}.downsample.0.weight" in state:
                identity = conv_bn(state, h, f"{p}.downsample.0", f"{p}.downsample.1", stride, 0)
                if connect is not None:
                    identity = act(f"{p}.downsample_sn", identity)
            if connect is None:
                h = act(last, out + identity)
            else:
                out = act(last, out)
                a, c = (out, identity) if BOTTLENECK[depth] and not basic_order else (identity, out)
                h = {"ADD": a + c, "AND": a * c, "IAND": a * (1 - c)}[connect]
            if trace is not None:
                trace[p] = h
    return (h.mean((3, 4)) @ state["fc.weight"].T + state["fc.bias"]).mean(0)


def reference_vgg(state, image, steps, kind, stem="cifar", trace=None):
    """SpikingVGG with batch norm: conv-BN-neuron per number, 2x2 max-pool per M (the first one skipped with the CIFAR
    stem), adaptive average pool to 7x7, Linear-neuron-Dropout twice (dropout: none in eval), Linear; mean over T."""
    h, index, pools = image.unsqueeze(0).repeat(steps, 1, 1, 1, 1), 0, 0
    for item in VGG11:
        if item == "M":
            if not (stem == "cifar" and pools == 0):
                h = per_step(lambda z: F.max_pool2d(z, 2, 2), h)
            index, pools = index + 1, pools + 1
            continue
        h = neuron_fn(kind, state, f"features.{index + 2}")(
            conv_bn(state, h, f"features.{index}", f"features.{index + 1}", 1, 1, bias=True))
        if trace is not None:
            trace[f"features.{index + 2}"] = h
        index += 3
    h = per_step(lambda z: F.adaptive_avg_pool2d(z, (7, 7)), h).flatten(2)
    for linear, act in ((0, 1), (3, 4)):
        h = neuron_fn(kind, state, f"classifier.{act}")(h @ state[f"classifier.{linear}.weight"].T
                                                        + state[f"classifier.{linear}.bias"])
        if trace is not None:
            trace[f"classifier.{act}"] = h
    return (h @ state["classifier.6.weight"].T + state["classifier.6.bias"]).mean(0)


def driven(model, seed=0, bias=(-0.1, 0.3)):
    """``model`` in eval mode with batch-norm statistics, linear weights and PLIF time constants that make every layer
    fire (and every PLIF layer leak at its own rate), so a wrong neuron or wiring changes the logits; batch-norm
    biases uniform in ``bias`` (AND, which keeps only coincident spikes, needs a stronger drive to reach fc)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.copy_(torch.rand(module.running_mean.shape, generator=generator) * 0.4 - 0.2)
                module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) * 0.15 + 0.05)
                module.weight.copy_(torch.rand(module.weight.shape, generator=generator) + 1.0)
                module.bias.copy_(torch.rand(module.bias.shape, generator=generator) * (bias[1] - bias[0]) + bias[0])
            elif isinstance(module, torch.nn.Linear):
                bound = 4.0 / module.in_features ** 0.5
                module.weight.copy_((torch.rand(module.weight.shape, generator=generator) * 2 - 1) * bound)
                module.bias.copy_(torch.rand(module.bias.shape, generator=generator) * 2.0 + 0.5)
            elif isinstance(module, neuron.ParametricLIFNode):
                module.w.copy_(torch.rand((), generator=generator) * 2 - 1)  # tau from 1.4 to 3.7
    return model.eval()


@pytest.fixture(autouse=True)
def _seeded():
    """Every test builds its networks from the same seed: the weights, and so the spike counts asserted, are fixed."""
    torch.manual_seed(0)


def run(model, image, steps):
    with torch.no_grad():
        functional.reset_net(model)
        return model(image, timesteps=steps)


RESNET_FORMS = [("spiking", None, "lif"), ("sew", "ADD", "lif"), ("sew", "AND", "lif"), ("sew", "IAND", "lif"),
                ("relu", None, "relu")]


@pytest.mark.parametrize("steps", [1, 4])
@pytest.mark.parametrize("form,connect,kind", RESNET_FORMS)
@pytest.mark.parametrize("depth", ["resnet34", "resnet50"])
def test_resnet_logits_are_the_zoos(depth, form, connect, kind, steps):
    name = {"spiking": f"spiking_{depth}", "sew": f"sew_{depth}", "relu": depth}[form]
    model = driven(create_model(name, num_classes=10, stem="cifar", width=1 / 16, **(
        {"connect": connect} if connect else {})), bias=(1.0, 3.0) if connect == "AND" else (-0.1, 0.3))
    image = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    trace = {}
    expected = reference_resnet(model.state_dict(), image, steps, depth, connect, kind, trace=trace)
    torch.testing.assert_close(run(model, image, steps), expected, rtol=1e-5, atol=1e-5)
    assert trace["layer4.2"].sum() > 0  # the last block responds: the logits are more than fc's bias
    assert (expected - model.state_dict()["fc.bias"]).abs().max() > 1e-2
    if connect == "ADD":
        assert trace["layer1.1"].max() >= 2  # spike counts, not spikes


@pytest.mark.parametrize("kind", ["if", "plif"])
@pytest.mark.parametrize("name,depth,connect", [("spiking_resnet34", "resnet34", None),
                                                ("sew_resnet50", "resnet50", "IAND"),
                                                ("spiking_resnet50", "resnet50", None)])
def test_if_and_plif_resnets_are_their_equations(name, depth, connect, kind):
    model = driven(create_model(name, num_classes=10, stem="cifar", width=1 / 16, neuron_kind=kind,
                                **({"connect": connect} if connect else {})))
    image = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    expected = reference_resnet(model.state_dict(), image, 4, depth, connect, kind)
    torch.testing.assert_close(run(model, image, 4), expected, rtol=1e-5, atol=1e-5)
    as_lif = reference_resnet(model.state_dict(), image, 4, depth, connect, "lif")
    assert not torch.allclose(as_lif, expected, atol=1e-3)  # the neuron kind matters for these weights


def test_the_bottleneck_sew_order_is_the_zoos():
    """The zoo's Bottleneck joins sew_function(out, identity), its BasicBlock (identity, out): with IAND the two
    orders differ, and the network computes the zoo's."""
    model = driven(create_model("sew_resnet50", num_classes=10, stem="cifar", width=1 / 16, connect="IAND"))
    image = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(3))
    got = run(model, image, 4)
    zoo = reference_resnet(model.state_dict(), image, 4, "resnet50", "IAND", "lif")
    basic = reference_resnet(model.state_dict(), image, 4, "resnet50", "IAND", "lif", basic_order=True)
    torch.testing.assert_close(got, zoo, rtol=1e-5, atol=1e-5)
    assert (got - basic).abs().max() > 1e-2


@pytest.mark.parametrize("steps", [1, 4])
@pytest.mark.parametrize("kind", ["lif", "if", "plif", "relu"])
def test_vgg_logits_are_the_zoos(kind, steps):
    name = "vgg11_bn" if kind == "relu" else "spiking_vgg11_bn"
    model = driven(create_model(name, num_classes=10, stem="cifar", width=1 / 16,
                                **({} if kind in ("lif", "relu") else {"neuron_kind": kind})))
    image = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(4))
    trace = {}
    expected = reference_vgg(model.state_dict(), image, steps, kind, trace=trace)
    torch.testing.assert_close(run(model, image, steps), expected, rtol=1e-5, atol=1e-5)
    assert trace["features.27"].mean() > 0.01 and trace["classifier.4"].mean() > 0.01  # every layer responds


def test_the_imagenet_stems_are_the_zoos():
    """The zoo's own layouts: ResNet's 7x7 stride-2 convolution and max-pool, VGG's five max-pools (32 px inputs)."""
    image = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    resnet = driven(create_model("sew_resnet34", num_classes=10, width=1 / 16, connect="ADD"))
    expected = reference_resnet(resnet.state_dict(), image, 2, "resnet34", "ADD", "lif", stem="imagenet")
    torch.testing.assert_close(run(resnet, image, 2), expected, rtol=1e-5, atol=1e-5)
    vgg = driven(create_model("spiking_vgg11_bn", num_classes=10, width=1 / 16))
    expected = reference_vgg(vgg.state_dict(), image, 2, "lif", stem="imagenet")
    torch.testing.assert_close(run(vgg, image, 2), expected, rtol=1e-5, atol=1e-5)
    assert layer_shapes(vgg, 32, ["features.2", "features.27"]) == {"features.2": (4, 32, 32),
                                                                     "features.27": (32, 2, 2)}


def test_features_and_timestep_logits_are_the_same_pass():
    model = driven(create_model("tiny_spiking_vgg11_bn"))
    image = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(6))
    trace = {}
    reference_vgg(model.state_dict(), image, 2, "lif", trace=trace)
    with torch.no_grad():
        functional.reset_net(model)
        logits, features = model(image, return_features=["features.10", "features.27"])
        functional.reset_net(model)
        per_step = model.timestep_logits(image)
    torch.testing.assert_close(logits, per_step.mean(0))
    for name, value in features.items():
        torch.testing.assert_close(value, trace[name])


# ---- families, areas, neurons -----------------------------------------------------------------------------------

def test_each_depth_is_its_own_family_with_the_generalised_tdann_map():
    r34 = MODELS["spiking_resnet34"].family
    assert r34.name == "resnet34" and MODELS["sew_resnet50"].family.name == "resnet50"
    assert MODELS["spiking_resnet18"].family.layer_areas == {
        "layer1.0": "retina", "layer1.1": "retina", "layer2.0": "V1", "layer2.1": "V1", "layer3.0": "V2",
        "layer3.1": "V4", "layer4.0": "IT", "layer4.1": "IT"}  # TDANN's, unchanged
    areas = MODELS["resnet50"].family.layer_areas
    assert [areas[f"layer3.{b}"] for b in range(6)] == ["V2"] * 3 + ["V4"] * 3
    assert [areas[f"layer1.{b}"] for b in range(3)] == ["retina"] * 3 and areas["layer2.3"] == "V1"
    assert list(areas)[-1] == "layer4.2" and areas["layer4.0"] == "IT" and len(areas) == 16
    assert r34.connections("layer3.4.conv2.weight") == "layer3.4" and r34.connections("sn1.w") == "stem"
    assert r34.connections("fc.bias") == "classifier"
    vgg = MODELS["vgg11_bn"].family
    assert vgg.connections("features.8.bias") == "features.10" and vgg.connections("features.2.w") == "features.2"
    assert vgg.connections("classifier.4.w") == "classifier"


@pytest.mark.parametrize("name,v1,it", [("tiny_spiking_resnet34", "layer2.0", "layer4.2"),
                                        ("tiny_resnet50", "layer2.0", "layer4.2"),
                                        ("tiny_spiking_vgg11_bn", "features.10", "features.27")])
def test_the_v1_and_it_layers_the_analyses_read(name, v1, it):
    _, spec = fresh_checkpoint(name, seed=0, input_size_px=16)
    assert (spec.layer_for("V1"), spec.layer_for("IT")) == (v1, it)
    if "vgg" in name:
        assert list(spec.layer_areas.values()) == ["retina", "retina", "V1", "V1", "V2", "V4", "IT", "IT"]


def test_if_and_plif_neurons_are_never_swapped_for_the_plain_lif():
    for kind in ("if", "plif"):
        model = create_model("tiny_spiking_resnet50", neuron_kind=kind)
        types = module_types(model)
        assert use_plain_lif(model) == 0 and module_types(model) == types and is_spiking(model)

    class SlowLIF(neuron.LIFNode):
        """A LIFNode subclass with other equations: not the plain LIF's to replace."""

    model = torch.nn.Sequential(SlowLIF(step_mode="m"), make_neuron("lif", tau=2.0, v_threshold=1.0,
                                                                   surrogate_name="atan", detach_reset=True))
    assert use_plain_lif(model) == 1 and type(model[0]) is SlowLIF


def test_neuron_kinds_stay_on_their_side_of_the_spiking_relu_line():
    with pytest.raises(ValueError, match="resnet34 is a ReLU network.*spiking_resnet34"):
        create_model("resnet34", neuron_kind="lif")
    with pytest.raises(ValueError, match="must be one of lif, if, plif for spiking_vgg11_bn"):
        create_model("spiking_vgg11_bn", neuron_kind="relu")
    with pytest.raises(ValueError, match="must be one of lif for spiking_cornet_rt"):
        create_model("spiking_cornet_rt", neuron_kind="plif")
    with pytest.raises(ValueError, match="initial tau must be above 1"):
        create_model("tiny_spiking_resnet34", neuron_kind="plif", tau=1.0)
    assert create_model("tiny_spiking_vgg11_bn", neuron_kind="if").neuron_kind == "if"
