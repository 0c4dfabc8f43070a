"""SEW ResNet-18: the block of Fang et al. 2021 (spikingjelly's sew_resnet), checked against its equations."""

import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional

from topoanalysis.models.checkpoints import load_checkpoint
from topoanalysis.models.registry import create_model


def _lif(x_seq: torch.Tensor) -> torch.Tensor:
    """Multi-step LIF from its equations (tau 2, threshold 1, hard reset to 0)."""
    v, spikes = torch.zeros_like(x_seq[0]), []
    for x in x_seq:
        h = v + (x - v) / 2.0
        s = (h >= 1.0).float()
        v = h * (1 - s)
        spikes.append(s)
    return torch.stack(spikes)


def _reference(state: dict, image: torch.Tensor, steps: int, connect: str) -> torch.Tensor:
    """sew_resnet18 from its definition: stem conv-BN-LIF; each block out = LIF(BN(conv(LIF(BN(conv(x)))))),
    identity = x or LIF(BN(conv1x1(x))), then g(identity, out); mean pool, linear, mean over T."""
    def bn(x, key):
        return F.batch_norm(x, state[f"{key}.running_mean"], state[f"{key}.running_var"], state[f"{key}.weight"],
                            state[f"{key}.bias"], False, 0.0, 1e-5)

    def per_step(fn, x_seq):
        return torch.stack([fn(x) for x in x_seq])

    x = image.unsqueeze(0).expand(steps, *image.shape)
    h = _lif(per_step(lambda z: bn(F.conv2d(z, state["conv1.weight"], None, 1, 1), "bn1"), x))
    for stage in (1, 2, 3, 4):
        for block in (0, 1):
            name = f"layer{stage}.{block}"
            stride = 2 if stage > 1 and block == 0 else 1
            out = _lif(per_step(lambda z: bn(F.conv2d(z, state[f"{name}.conv1.weight"], None, stride, 1),
                                             f"{name}.bn1"), h))
            out = _lif(per_step(lambda z: bn(F.conv2d(z, state[f"{name}.conv2.weight"], None, 1, 1),
                                             f"{name}.bn2"), out))
            identity = h
            if f"{name}.downsample.0.weight" in state:
                identity = _lif(per_step(lambda z: bn(F.conv2d(z, state[f"{name}.downsample.0.weight"], None, stride),
                                                      f"{name}.downsample.1"), h))
            h = {"ADD": identity + out, "AND": identity * out, "IAND": identity * (1 - out)}[connect]
    pooled = h.mean((3, 4))
    return (pooled @ state["fc.weight"].T + state["fc.bias"]).mean(0)


def _driven(model):
    """``model`` in eval mode with batch-norm statistics that drive every block to spike."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.05, 0.2)
            module.weight.data.uniform_(1.0, 2.0)
    return model.eval()


@pytest.mark.parametrize("connect", ["ADD", "AND", "IAND"])
def test_sew_resnet18_is_its_equations(connect):
    torch.manual_seed(0)
    model = _driven(create_model("tiny_sew_resnet", connect=connect))
    image = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        got = model(image)
    functional.reset_net(model)
    expected = _reference(model.state_dict(), image, model.timesteps, connect)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_a_sew_state_dict_loads_as_sew_and_its_card_says_what_was_assumed(tmp_path):
    torch.manual_seed(0)
    sew = _driven(create_model("sew_resnet18", num_classes=10, stem="cifar", width=1 / 16))
    path = tmp_path / "sew.pth"
    torch.save(sew.state_dict(), path)
    image = torch.randn(2, 3, 32, 32)
    loaded, spec = load_checkpoint(path, arch="sew_resnet18")
    as_spiking, _ = load_checkpoint(path, arch="spiking_resnet18")
    with torch.no_grad():
        assert torch.equal(loaded(image), sew(image))
        functional.reset_net(as_spiking)
        assert not torch.allclose(as_spiking(image), sew(image))  # the same keys, another network
    assert "spiking_resnet18" in spec.provenance["architecture"]
    assert spec.provenance["setting connect"] == "'ADD' (assumed: the file cannot say)"
    assert spec.provenance["setting timesteps"] == "4 (assumed: the file cannot say)"
    _, given = load_checkpoint(path, arch="sew_resnet18", arch_kwargs={"connect": "IAND", "timesteps": 8})
    assert given.provenance["setting connect"] == "'IAND' (given)" and given.timesteps == 8
