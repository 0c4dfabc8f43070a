import json
from pathlib import Path

import pytest
import torch
from spikingjelly.activation_based import functional, neuron, surrogate

from topoanalysis.models import BLOCK_LAYERS, create_model, list_models
from topoanalysis.models.calibration import calibrate_batchnorm
from topoanalysis.models.shapes import layer_shapes

SJ_SHAPES = Path(__file__).parent / "data" / "spikingjelly_spiking_resnet18_state_dict_shapes.json"


def test_registry_lists_and_rejects_unknown_names():
    assert {"spiking_resnet18", "resnet18", "tiny_spiking_resnet"} <= set(list_models())
    with pytest.raises(ValueError, match="unknown model 'resnet101'.*spiking_resnet18"):
        create_model("resnet101")


def test_state_dict_matches_spikingjelly_spiking_resnet18_exactly():
    expected = json.loads(SJ_SHAPES.read_text())
    ours = {k: list(v.shape) for k, v in create_model("spiking_resnet18").state_dict().items()}
    assert ours == expected


def test_ann_twin_has_the_same_keys_and_relu_units():
    snn, ann = create_model("spiking_resnet18"), create_model("resnet18")
    assert list(snn.state_dict()) == list(ann.state_dict())
    assert ann.timesteps == 1 and isinstance(ann.layer2[0].sn2, torch.nn.ReLU)


def test_neurons_are_spikingjelly_lif_with_paper_parameters():
    net = create_model("spiking_resnet18")
    lif = net.layer3[1].sn2
    assert isinstance(lif, neuron.LIFNode)
    assert lif.tau == 2.0 and lif.v_threshold == 1.0 and lif.detach_reset and lif.step_mode == "m"
    assert isinstance(lif.surrogate_function, surrogate.ATan)


@pytest.mark.parametrize("stem,size,expected", [
    ("cifar", 32, {"layer1.0": (4, 32, 32), "layer2.1": (8, 16, 16), "layer4.1": (32, 4, 4)}),
    ("imagenet", 64, {"layer1.0": (4, 16, 16), "layer2.1": (8, 8, 8), "layer4.1": (32, 2, 2)}),
])
def test_layer_shapes_per_stem_and_width(stem, size, expected):
    net = create_model("spiking_resnet18", stem=stem, width=1 / 16, num_classes=5)
    assert layer_shapes(net, size, list(expected)) == expected


def test_forward_is_time_averaged_logits_and_features_are_binary_spikes():
    torch.manual_seed(0)
    net = create_model("tiny_spiking_resnet", timesteps=3).eval()
    calibrate_batchnorm(net, [torch.randn(8, 3, 16, 16)])
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        feats = net.forward_features(x, BLOCK_LAYERS)
        functional.reset_net(net)
        logits = net(x)
        functional.reset_net(net)
        manual = net.fc(net.avgpool(feats["layer4.1"]).flatten(2)).mean(0)
    assert logits.shape == (4, 10)
    torch.testing.assert_close(logits, manual)
    for name, f in feats.items():
        assert f.shape[:2] == (3, 4), name
        assert set(f.unique().tolist()) <= {0.0, 1.0}, name
    assert feats["layer4.1"].sum() > 0


def test_forward_features_stops_after_the_deepest_requested_block():
    net = create_model("tiny_spiking_resnet").eval()
    calls = []
    net.layer3.register_forward_pre_hook(lambda *a: calls.append("layer3"))
    with torch.no_grad():
        net.forward_features(torch.rand(2, 3, 16, 16), ["layer1.1", "layer2.0"])
    assert calls == []
    with pytest.raises(ValueError, match="unknown layer.*valid layers: layer1.0"):
        net.forward_features(torch.rand(2, 3, 16, 16), ["layer5.0"])


def test_timesteps_argument_and_time_major_input():
    net = create_model("tiny_spiking_resnet").eval()
    with torch.no_grad():
        assert net.forward_features(torch.rand(2, 3, 16, 16), ["layer1.0"], timesteps=5)["layer1.0"].shape[0] == 5
        functional.reset_net(net)
        assert net.forward_features(torch.rand(3, 2, 3, 16, 16), ["layer1.0"])["layer1.0"].shape[:2] == (3, 2)
    with pytest.raises(ValueError, match="expected images"):
        net(torch.rand(3, 16, 16))


def test_surrogate_gradient_reaches_the_first_convolution():
    torch.manual_seed(0)
    net = create_model("tiny_spiking_resnet")
    loss = net(torch.randn(4, 3, 16, 16)).logsumexp(1).mean()
    loss.backward()
    assert net.conv1.weight.grad is not None and net.conv1.weight.grad.abs().sum() > 0


def test_bad_model_arguments_are_named():
    with pytest.raises(ValueError, match="unknown stem 'mnist'"):
        create_model("spiking_resnet18", stem="mnist")
    with pytest.raises(ValueError, match="'timesteps' 0 is out of range; it must be 1 to 256"):
        create_model("spiking_resnet18", timesteps=0)
    with pytest.raises(ValueError, match="width"):
        create_model("spiking_resnet18", width=0.001)
