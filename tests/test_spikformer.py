"""The Spikformer family: its forward is the paper's equations, its names the zoo's, its sheets and sizes as stated."""

import pytest
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from spikingjelly.activation_based.model import spikformer as zoo

from topoanalysis.errors import InputError
from topoanalysis.models.checkpoints import load_checkpoint
from topoanalysis.models.lif import is_spiking
from topoanalysis.models.registry import MODELS, create_model
from topoanalysis.models.spikformer import FAMILY, Spikformer, block_areas, channels_of, connection, infer_kwargs

BN_TENSORS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _lif(x: torch.Tensor, threshold: float) -> torch.Tensor:
    """Multi-step LIF from its equations over ``[T, ...]``: h = v + (x - v) / 2, s = [h >= threshold], v = h (1 - s)."""
    v, spikes = torch.zeros_like(x[0]), []
    for x_t in x:
        h = v + (x_t - v) / 2.0
        s = (h >= threshold).to(x.dtype)
        v = h * (1 - s)
        spikes.append(s)
    return torch.stack(spikes)


def _bn(y: torch.Tensor, state: dict, key: str) -> torch.Tensor:
    """Batch norm in eval mode over the last axis."""
    mean, var = state[f"{key}.running_mean"], state[f"{key}.running_var"]
    return (y - mean) / torch.sqrt(var + 1e-5) * state[f"{key}.weight"] + state[f"{key}.bias"]


def _reference(state: dict, images: torch.Tensor, steps: int, heads: int, pooled: tuple, *, scale: float = 0.125,
               softmax: bool = False) -> tuple[torch.Tensor, list]:
    """Spikformer as Zhou et al. (2023) write it, from the state dict alone, tokens-major ``[T, B, N, D]``:
    ``(logits averaged over T, [each block's attention output and the attention spikes])``."""

    def conv_stage(x, key, pool):
        steps_batch = x.shape[:2]
        y = F.conv2d(x.flatten(0, 1), state[f"{key}.conv_bn.block.0.weight"], padding=1)
        s = _lif(_bn(y.movedim(1, -1), state, f"{key}.conv_bn.block.1").movedim(-1, 1).unflatten(0, steps_batch), 1.0)
        return F.max_pool2d(s.flatten(0, 1), 3, 2, 1).unflatten(0, steps_batch) if pool else s

    def linear_bn_lif(u, key, threshold=1.0):
        return _lif(_bn(u @ state[f"{key}.0.weight"][:, :, 0].T, state, f"{key}.1"), threshold)

    x = images.unsqueeze(0).repeat(steps, 1, 1, 1, 1)
    for k in range(4):
        x = conv_stage(x, f"patch_embed.stages.{k}", k in pooled)
    x = x + conv_stage(x, "patch_embed.positional_encoding", False)
    tokens = x.flatten(3).transpose(-1, -2)
    dim, outputs = tokens.shape[-1], []
    for i in range(sum(key.endswith("qkv_conv_bn.0.weight") for key in state)):
        qkv = linear_bn_lif(tokens, f"blocks.{i}.attn.qkv_conv_bn")
        q, k, v = (part.unflatten(-1, (heads, dim // heads)).transpose(2, 3) for part in qkv.split(dim, -1))
        scores = q @ k.transpose(-2, -1) * scale  # [T, B, heads, N, N]: no softmax in Spikformer
        attention = _lif(((scores.softmax(-1) if softmax else scores) @ v).transpose(2, 3).flatten(3), 0.5)
        projected = linear_bn_lif(attention, f"blocks.{i}.attn.proj_conv_bn")
        outputs.append((projected, attention))
        tokens = tokens + projected
        tokens = tokens + linear_bn_lif(linear_bn_lif(tokens, f"blocks.{i}.mlp.fc1"), f"blocks.{i}.mlp.fc2")
    logits = tokens.mean(2) @ state["head.weight"].T + state["head.bias"]
    return logits.mean(0), outputs


def _driven(model: torch.nn.Module, gain: float, seed: int = 0) -> torch.nn.Module:
    """``model`` in double precision and eval mode with weights of unit gain and random batch-norm statistics, and
    Q, K, V biased to fire often, so that every neuron (the attention's too) fires at some steps and not at others;
    ``gain`` scales the batch norms' output (a single step needs twice the drive: h = x / 2)."""
    generator = torch.Generator().manual_seed(seed)
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear)):
            fan_in = module.weight[0].numel()
            module.weight.data.copy_(torch.randn(module.weight.shape, generator=generator) * 2 / fan_in ** 0.5)
        elif isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=generator) * 0.5 + 0.5)
            module.weight.data.copy_((torch.rand(n, generator=generator) + 0.5) * gain)
            module.bias.data.copy_((torch.rand(n, generator=generator) * 0.5 + (0.8 if "qkv" in name else -0.2)) * gain)
    return model.double().eval()


def _tiny(timesteps: int = 4, **kwargs) -> Spikformer:
    torch.manual_seed(0)
    settings = {"num_classes": 10, "stem": "cifar", "embed_dim": 16, "depth": 2, "num_heads": 2, **kwargs}
    return _driven(Spikformer(timesteps=timesteps, **settings), gain=2.0 if timesteps == 1 else 1.0)


@pytest.mark.parametrize("timesteps", [1, 4])
def test_the_forward_is_the_papers_equations(timesteps):
    model = _tiny(timesteps)
    images = torch.randn(3, 3, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits, features = model(images, return_features=list(model.feature_layers))
    expected, outputs = _reference(model.state_dict(), images, timesteps, heads=2, pooled=(2, 3))
    torch.testing.assert_close(logits, expected, rtol=0, atol=1e-5)
    for (name, sheet), (projected, attention) in zip(features.items(), outputs):
        torch.testing.assert_close(sheet, projected.transpose(-1, -2).unflatten(-1, (4, 4)), rtol=0, atol=0)
        assert 0.02 < attention.mean() < 0.98 and 0.02 < projected.mean() < 0.98, name  # attention matters
    functional.reset_net(model)
    per_step = model.timestep_logits(images)
    torch.testing.assert_close(per_step.mean(0), logits)


def test_a_softmax_or_another_scale_would_change_the_logits():
    model = _tiny(4)
    images = torch.randn(3, 3, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = model(images)
    for change in ({"softmax": True}, {"scale": 0.25}, {"scale": 0.0625}):
        other, _ = _reference(model.state_dict(), images, 4, heads=2, pooled=(2, 3), **change)
        assert (other - logits).abs().max() > 1e-3, change


def test_the_imagenet_stem_pools_after_every_stage():
    model = _tiny(2, stem="imagenet")
    images = torch.randn(2, 3, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        logits = model(images)
        assert model.forward_features(images, ["blocks.0.attn.proj_lif"])["blocks.0.attn.proj_lif"].shape[-2:] == (4, 4)
    expected, _ = _reference(model.state_dict(), images, 2, heads=2, pooled=(0, 1, 2, 3))
    torch.testing.assert_close(logits, expected, rtol=0, atol=1e-5)


def _zoo_names(depth: int) -> list[str]:
    """The zoo's state-dict names (spikingjelly.activation_based.model.spikformer): each linear or convolution is
    ``.0`` and its batch norm ``.1`` of a container."""

    def conv_bn(prefix):
        return [f"{prefix}.0.weight"] + [f"{prefix}.1.{tensor}" for tensor in BN_TENSORS]

    names = [name for k in range(4) for name in conv_bn(f"patch_embed.stages.{k}.conv_bn.block")]
    names += conv_bn("patch_embed.positional_encoding.conv_bn.block")
    for i in range(depth):
        for part in ("attn.qkv_conv_bn", "attn.proj_conv_bn", "mlp.fc1", "mlp.fc2"):
            names += conv_bn(f"blocks.{i}.{part}")
    return names + ["head.weight", "head.bias"]


def test_the_state_dict_has_the_zoos_names_and_a_zoo_state_dict_loads():
    model = Spikformer(num_classes=10, stem="cifar", embed_dim=16, depth=2, num_heads=2)
    assert list(model.state_dict()) == _zoo_names(2)
    reference = zoo.Spikformer(T=1, img_size_h=32, img_size_w=32, patch_size=4, num_classes=10, embed_dims=16,
                               num_heads=2, depths=2)
    assert {k: v.shape for k, v in reference.state_dict().items()} == {k: v.shape for k, v in
                                                                       model.state_dict().items()}
    model.load_state_dict(reference.state_dict(), strict=True)


def test_a_block_computes_what_the_zoos_block_computes():
    ours = _tiny(4).blocks[0]
    reference = zoo.SpikformerBlock(dim=16, num_heads=2).double().eval()
    reference.load_state_dict(ours.state_dict(), strict=True)
    spikes = (torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(3)) < 0.3).double()  # [T, B, D, N]
    with torch.no_grad():
        got = ours(spikes)
        expected = reference(spikes.unflatten(3, (4, 4))).flatten(3)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-9)


def test_sheet_units_tokens_and_channels():
    tokens = _tiny(2)
    channels = _tiny(2, sheet_units="channels")
    channels.load_state_dict(tokens.state_dict())
    images = torch.randn(3, 3, 16, 16, dtype=torch.float64)
    layers = list(tokens.feature_layers)
    with torch.no_grad():
        grid = tokens.forward_features(images, layers)
        pooled = channels.forward_features(images, layers)
    for layer in layers:
        assert grid[layer].shape == (2, 3, 16, 4, 4) and pooled[layer].shape == (2, 3, 16, 1, 1)
        torch.testing.assert_close(pooled[layer], grid[layer].mean((3, 4), keepdim=True))
    with pytest.raises(InputError, match="unknown layer"):
        tokens.forward_features(images, ["blocks.0.attn"])
    with pytest.raises(InputError, match="sheet_units"):
        Spikformer(sheet_units="patches")


def test_blocks_spread_over_the_areas():
    assert block_areas(1) == ["IT"] and block_areas(2) == ["V1", "IT"] and block_areas(3) == ["V1", "V4", "IT"]
    assert block_areas(4) == ["V1", "V2", "V4", "IT"]
    assert block_areas(8) == ["V1", "V1", "V2", "V2", "V4", "V4", "IT", "IT"]
    assert block_areas(6) == ["V1", "V2", "V2", "V4", "V4", "IT"]
    model = Spikformer(num_classes=2, stem="cifar", embed_dim=16, depth=3, num_heads=2)
    assert FAMILY.areas_of(model) == {"blocks.0.attn.proj_lif": "V1", "blocks.1.attn.proj_lif": "V4",
                                      "blocks.2.attn.proj_lif": "IT"}
    assert FAMILY.layer_areas == create_model("spikformer", width=1 / 16, num_classes=2).layer_areas


def test_width_rounds_to_the_heads_and_every_registered_model_builds_small():
    assert channels_of(512, 1 / 16, 8) == 32 and channels_of(384, 1 / 16, 12) == 24
    assert channels_of(384, 1 / 64, 12) == 12 and channels_of(64, 1 / 64, 1) == 8 and channels_of(100, 1.0, 3) == 99
    for name in (name for name in MODELS if "spikformer" in name):
        model = create_model(name, width=1 / 16, num_classes=2)
        with torch.no_grad():
            assert model(torch.rand(1, 3, 32, 32)).shape == (1, 2)
    with pytest.raises(InputError, match="depth"):
        Spikformer(depth=0)


def test_infer_kwargs_recovers_the_sizes(tmp_path):
    for settings in ({"embed_dim": 384, "depth": 1, "num_heads": 12, "num_classes": 10, "stem": "cifar"},
                     {"embed_dim": 32, "depth": 3, "num_heads": 8, "num_classes": 1000, "stem": "imagenet",
                      "mlp_ratio": 2.0}):
        model = Spikformer(**settings)
        inferred = infer_kwargs(model.state_dict(), tmp_path / "x.pt")
        expected = {"mlp_ratio": 4.0, **settings}
        assert {key: inferred[key] for key in expected} == expected
        Spikformer(**inferred).load_state_dict(model.state_dict(), strict=True)
    with pytest.raises(InputError, match="not a Spikformer"):
        infer_kwargs(create_model("tiny_spiking_resnet").state_dict(), tmp_path / "resnet.pt")


def test_a_plain_state_dict_loads_as_its_network(tmp_path):
    torch.manual_seed(0)
    model = create_model("spikformer", stem="cifar", embed_dim=256, depth=1, num_heads=8, num_classes=10).eval()
    torch.save(model.state_dict(), tmp_path / "plain.pth")
    loaded, spec = load_checkpoint(tmp_path / "plain.pth", arch="spikformer")
    assert spec.input_size_px == 32 and spec.sheets["blocks.0.attn.proj_lif"].shape_chw == (256, 8, 8)
    assert spec.layer_areas == {"blocks.0.attn.proj_lif": "IT"}
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(images), model(images))


def test_the_relu_twin_has_no_spiking_neurons_and_the_same_weights():
    spiking, relu = create_model("tiny_spikformer"), create_model("tiny_spikformer_relu")
    assert is_spiking(spiking) and not is_spiking(relu)
    assert not is_spiking(create_model("spikformer_relu", width=1 / 16))
    assert list(spiking.state_dict()) == list(relu.state_dict()) and relu.timesteps == 1


def test_fisher_groups():
    names = [name for name, _ in create_model("tiny_spikformer").named_parameters()]
    assert {connection(name) for name in names} == {"stem", "blocks.0", "blocks.1", "classifier"}
    assert connection("patch_embed.positional_encoding.conv_bn.block.0.weight") == "stem"
    assert connection("blocks.1.attn.qkv_conv_bn.1.bias") == "blocks.1" and connection("head.weight") == "classifier"
