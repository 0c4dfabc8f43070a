"""Spikformer (Zhou et al., ICLR 2023), TSpikformer's network, and its ReLU twin, from spikingjelly primitives.

Every tensor is time-major, ``[T, B, ...]``; images are fed by direct encoding (the same frame at every step).
With D channels (``embed_dim`` times ``width``) and L blocks (``depth``):

* spiking patch splitting, ``patch_embed``: four stages of 3x3 convolution (no bias), batch norm and neuron with
  D/8, D/4, D/2 and D channels; a 3x3, stride-2 max pool after the neuron of the last two stages
  (``stem="cifar"``, 4x4 patches: 32 px -> an 8x8 token grid) or of all four (``stem="imagenet"``, 16x16 patches:
  224 px -> 14x14). Then the relative position embedding: the tokens plus a 3x3 convolution, batch norm and neuron
  of them.
* L blocks, ``blocks.i``: ``x = x + SSA(x)``, then ``x = x + MLP(x)``. Spiking self-attention: Q, K and V are a
  neuron of the batch norm of a linear map of the tokens (one fused kernel-1 convolution, ``qkv_conv_bn``); per
  head, ``Q K^T V`` times the fixed scale 0.125, with no softmax; the attention neuron (``attn_lif``, threshold 0.5);
  then the output projection, a linear map, batch norm and neuron (``proj_conv_bn``, ``proj_lif``). The MLP is
  ``fc1`` (D -> D * mlp_ratio) + BN + neuron and ``fc2`` (back to D) + BN + neuron.
* head: the mean of the last block's output over tokens, a linear readout at every step, averaged over T.

Every LIF neuron has tau 2, input decay, a hard reset to 0, a detached reset and the ATan surrogate (TDSNN's
settings). Module and state-dict names are spikingjelly's zoo's
(``spikingjelly.activation_based.model.spikformer``: ``patch_embed.stages.k.conv_bn.block.0``,
``patch_embed.positional_encoding``, ``blocks.i.attn.qkv_conv_bn.0``, ``blocks.i.attn.proj_conv_bn``,
``blocks.i.mlp.fc1``, ``blocks.i.mlp.fc2``, ``head``), so its state dicts load.

Choices where the papers are silent or the references differ (notes in the style of METHODS):

* Cortical sheets: one per block, on the post-attention projection's output (after ``proj_lif``), the TDSNN
  paper's "linear layer after the attention module"; layer ``blocks.i.attn.proj_lif``. ``sheet_units`` gives both
  readings of its units. ``"tokens"`` (default): token x channel units, the tokens on their retinotopic grid,
  ``[T, B, D, H_tokens, W_tokens]``, so retinotopic initialisation, swap pre-optimisation and the STC loss treat
  it as a convolutional map (each token is an image patch, as a convolution's tap is). ``"channels"``: D units per
  block, responses averaged over tokens, ``[T, B, D, 1, 1]`` (a token-independent sheet, like TDANN's readout).
* Areas: block i of L goes to ``("V1", "V2", "V4", "IT")[floor(3 i / (L - 1) + 1/2)]``: the first block is V1,
  the last IT, and the rest spread evenly between them, as TDANN spreads ResNet-18's blocks in network order
  (here the convolutional stem plays the part of TDANN's pre-V1 "retina" layers, so it has no sheet). L = 4: one
  block per area; L = 2: V1, IT; L = 3: V1, V4, IT; L = 8: two blocks per area. A one-block network's block is
  IT (TDANN's IT is the last layer), so it has no V1 sheet.
* Stem order: the original code applies each stage's neuron before its max pool; spikingjelly's zoo pools the
  batch norm's output before the neuron. Here the original's order; zoo weights load (same names and shapes) but
  run in that order (the ReLU twin is unaffected: a max pool commutes with a ReLU).
* The attention neuron's threshold is the original's fixed 0.5; ``v_threshold`` sets every other neuron's.
* Surrogate: ATan (TDSNN); Spikformer's own code used spikingjelly's default, a sigmoid (``surrogate_name``).
* ``width`` multiplies ``embed_dim``; D is rounded to a multiple of ``num_heads`` with at least one channel per
  head and at least 8 channels (so the stem's first stage, D/8, has one).
* Input size: the stem's pools make a ceil(H / 4) x ceil(W / 4) grid (cifar) or ceil(H / 16) x ceil(W / 16)
  (imagenet), at any input size (the original code needs multiples of the patch size); 16 px gives 4x4 tokens
  with the CIFAR stem and a single token with the ImageNet stem (an analysis of maps needs at least 17 px there).
* Initialisation: the linear maps (kernel-1 convolutions) and the head ``trunc_normal(std=0.02)`` with zero bias,
  as the original; stem convolutions keep PyTorch's default. Untrained, with batch norm calibrated (Q, K and V
  fire at about 4 %), the default network at 224 px fires in its sheets (about 3.5 % of units on fLoc images; the
  attention neuron about 11 %), but a narrow one on few tokens is silent there: ``Q K^T V * 0.125`` sums spike
  products over the tokens and a head's channels and stays under the attention threshold. Hence the tiny test
  model's single head and threshold 0.5.
* The named default is the original repository's ImageNet Spikformer-8-512 (224 px, 8 heads, 8 blocks): the TDSNN
  paper's claims are ImageNet claims, and every family's named default is its ImageNet configuration. The CIFAR
  Spikformer-4-384 is ``stem="cifar", embed_dim=384, depth=4, num_heads=12, num_classes=10``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import torch
from spikingjelly.activation_based import layer
from torch import nn

from ..errors import InputError
from .family import Family, check_choices, check_layers, classes_of, direct_encode, require_keys
from .resnet import SURROGATES, make_neuron

AREAS = ("V1", "V2", "V4", "IT")
STEMS = ("imagenet", "cifar")
NEURONS = ("lif", "relu")
SHEET_UNITS = ("tokens", "channels")
POOLED_STAGES = {"cifar": (2, 3), "imagenet": (0, 1, 2, 3)}
"""The stem stages followed by a max pool: the original code's 4x4 (CIFAR) and 16x16 (ImageNet) patches."""
ATTENTION_SCALE = 0.125
ATTENTION_THRESHOLD = 0.5
PUBLISHED_HEADS = {256: 8, 384: 12, 512: 8, 768: 12}
"""Heads of the published Spikformers by channel count (the zoo's 4-256, Spikformer-x-384, x-512, 8-768)."""
MAX_DEPTH, MAX_CHANNELS = 64, 8192
"""Refused above these: far past the largest published Spikformer (8-768)."""


def block_areas(depth: int) -> list[str]:
    """The area of each of ``depth`` blocks (module docstring): block i -> ``AREAS[floor(3 i / (L - 1) + 1/2)]``.

    Examples
    --------
    >>> block_areas(2), block_areas(4)
    (['V1', 'IT'], ['V1', 'V2', 'V4', 'IT'])
    """
    if depth == 1:
        return ["IT"]
    return [AREAS[(6 * i + depth - 1) // (2 * (depth - 1))] for i in range(depth)]  # the rounding in integers


def channels_of(embed_dim: int, width: float, num_heads: int) -> int:
    """D: ``embed_dim * width`` rounded to a multiple of ``num_heads``, at least one per head and at least 8."""
    per_head = max(round(embed_dim * width / num_heads), 1, math.ceil(8 / num_heads))
    return num_heads * per_head


def _linear_bn(in_features: int, out_features: int) -> nn.Module:
    """A linear map of every token (kernel-1 convolution, no bias) and batch norm over ``[T, B, C, N]``."""
    return layer.SeqToANNContainer(nn.Conv1d(in_features, out_features, 1, bias=False), nn.BatchNorm1d(out_features))


class ConvBNNeuron(nn.Module):
    """3x3 convolution (no bias), batch norm, neuron, then (``pool``) a 3x3 stride-2 max pool: ``[T, B, C, H, W]``."""

    def __init__(self, in_channels: int, out_channels: int, make_act, pool: bool) -> None:
        super().__init__()
        self.conv_bn = nn.Sequential(OrderedDict(block=layer.SeqToANNContainer(
            nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=False), nn.BatchNorm2d(out_channels))))
        self.neuron = make_act()
        self.pool = layer.MaxPool2d(3, 2, 1, step_mode="m") if pool else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.neuron(self.conv_bn(x)))


class PatchSplitting(nn.Module):
    """The spiking patch splitting stem and the relative position embedding: ``[T, B, 3, H, W]`` -> tokens on their
    grid, ``[T, B, D, H', W']``."""

    def __init__(self, channels: int, stem: str, make_act) -> None:
        super().__init__()
        widths = (channels // 8, channels // 4, channels // 2, channels)
        self.stages = nn.Sequential(*(ConvBNNeuron(c_in, c_out, make_act, k in POOLED_STAGES[stem])
                                      for k, (c_in, c_out) in enumerate(zip((3, *widths[:-1]), widths))))
        self.positional_encoding = ConvBNNeuron(channels, channels, make_act, pool=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.stages(x)
        return tokens + self.positional_encoding(tokens)


class SpikingSelfAttention(nn.Module):
    """Q, K, V = neuron(BN(linear)); per head ``Q K^T V * 0.125`` (no softmax); attention neuron; projection."""

    def __init__(self, channels: int, num_heads: int, make_act, make_attention_act) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv_conv_bn = _linear_bn(channels, 3 * channels)
        self.qkv_lif = make_act()
        self.attn_lif = make_attention_act()
        self.proj_conv_bn = _linear_bn(channels, channels)
        self.proj_lif = make_act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[T, B, D, N]`` -> ``[T, B, D, N]``."""
        channels = x.shape[2]
        qkv = self.qkv_lif(self.qkv_conv_bn(x)).unflatten(2, (3, self.num_heads, channels // self.num_heads))
        q, k, v = qkv.unbind(2)  # [T, B, heads, D / heads, N]: channel-major, so (Q K^T V)^T = (V^T K) Q^T
        mixed = (v @ k.transpose(-2, -1)) @ q * ATTENTION_SCALE
        return self.proj_lif(self.proj_conv_bn(self.attn_lif(mixed.flatten(2, 3))))


class SpikingMLP(nn.Module):
    """``neuron2(BN(fc2(neuron1(BN(fc1(x))))))`` over ``[T, B, D, N]``."""

    def __init__(self, channels: int, hidden: int, make_act) -> None:
        super().__init__()
        self.fc1 = _linear_bn(channels, hidden)
        self.neuron1 = make_act()
        self.fc2 = _linear_bn(hidden, channels)
        self.neuron2 = make_act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.neuron2(self.fc2(self.neuron1(self.fc1(x))))


class SpikformerBlock(nn.Module):
    """``x + SSA(x)``, then ``+ MLP``, over ``[T, B, D, N]``."""

    def __init__(self, channels: int, num_heads: int, hidden: int, make_act, make_attention_act) -> None:
        super().__init__()
        self.attn = SpikingSelfAttention(channels, num_heads, make_act, make_attention_act)
        self.mlp = SpikingMLP(channels, hidden, make_act)

    def mix(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(block output, attention output)``: the second is the sheet's response (after ``proj_lif``)."""
        attended = self.attn(x)
        x = x + attended
        return x + self.mlp(x), attended

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mix(x)[0]


class Spikformer(nn.Module):
    """Spikformer with LIF neurons (or ReLUs, for the non-spiking twin); see the module docstring.

    Parameters
    ----------
    num_classes : int
        Size of the head's output.
    stem : {"imagenet", "cifar"}
        16x16 patches (224 px -> 14x14 tokens) or 4x4 (32 px -> 8x8).
    embed_dim, depth, num_heads, mlp_ratio : int, int, int, float
        Channels D (before ``width``), blocks L, attention heads, MLP hidden size / D.
    width : float
        Multiplier on ``embed_dim`` (rounded as :func:`channels_of` says).
    timesteps : int
        Default number of steps T (an argument of ``forward`` overrides it); TDSNN uses 4.
    neuron_kind : {"lif", "relu"}
        ``"relu"``: the same transformer with a ReLU in place of every LIF (use ``timesteps=1``).
    sheet_units : {"tokens", "channels"}
        The units of each block's sheet (module docstring).
    tau, v_threshold, surrogate_name, detach_reset
        LIF parameters (the attention neuron's threshold stays 0.5).

    Examples
    --------
    >>> net = Spikformer(num_classes=10, stem="cifar", embed_dim=16, depth=2, num_heads=2, timesteps=2)
    >>> net(torch.rand(3, 3, 16, 16)).shape
    torch.Size([3, 10])
    """

    def __init__(self, num_classes: int = 1000, *, stem: str = "imagenet", embed_dim: int = 512, depth: int = 8,
                 num_heads: int = 8, mlp_ratio: float = 4.0, width: float = 1.0, timesteps: int = 4,
                 neuron_kind: str = "lif", sheet_units: str = "tokens", tau: float = 2.0, v_threshold: float = 1.0,
                 surrogate_name: str = "atan", detach_reset: bool = True) -> None:
        super().__init__()
        check_choices(stem=(stem, STEMS), neuron_kind=(neuron_kind, NEURONS), sheet_units=(sheet_units, SHEET_UNITS),
                      surrogate_name=(surrogate_name, tuple(SURROGATES)))
        for label, value, low, high in (("depth", depth, 1, MAX_DEPTH), ("num_heads", num_heads, 1, MAX_CHANNELS),
                                        ("embed_dim", embed_dim, 1, MAX_CHANNELS), ("timesteps", timesteps, 1, None)):
            if not low <= value <= (high or value):
                raise InputError(f"{label} must be {low} to {high or 'any'}, got {value}", parameter=label)
        if not (width > 0 and mlp_ratio > 0):
            raise InputError(f"width and mlp_ratio must be > 0, got {width} and {mlp_ratio}")
        channels = channels_of(embed_dim, width, num_heads)
        hidden = int(channels * mlp_ratio)
        if channels > MAX_CHANNELS or hidden < 1:
            raise InputError(f"embed_dim * width = {channels} channels with an MLP of {hidden}: it must be at most "
                             f"{MAX_CHANNELS} with at least one hidden unit; lower width or raise mlp_ratio")
        self.timesteps, self.stem, self.neuron_kind, self.sheet_units = int(timesteps), stem, neuron_kind, sheet_units
        self.num_heads, self.channels = num_heads, channels

        def make_act(threshold: float = v_threshold) -> nn.Module:
            return make_neuron(neuron_kind, tau=tau, v_threshold=threshold, surrogate_name=surrogate_name,
                               detach_reset=detach_reset)

        self.patch_embed = PatchSplitting(channels, stem, make_act)
        self.blocks = nn.ModuleList(SpikformerBlock(channels, num_heads, hidden, make_act,
                                                    lambda: make_act(ATTENTION_THRESHOLD)) for _ in range(depth))
        self.head = nn.Linear(channels, num_classes)
        self.feature_layers = tuple(f"blocks.{i}.attn.proj_lif" for i in range(depth))
        self.layer_areas = dict(zip(self.feature_layers, block_areas(depth)))
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Conv1d)):
                nn.init.trunc_normal_(module.weight, std=0.02)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)

    def encode(self, x: torch.Tensor, timesteps: int | None = None) -> torch.Tensor:
        """Direct encoding: ``[B, 3, H, W]`` -> ``[T, B, 3, H, W]``; 5-D input passes through."""
        return direct_encode(x, self.timesteps if timesteps is None else timesteps)

    def _check(self, layers: Sequence[str]) -> list[str]:
        return check_layers(layers, self.feature_layers)

    def _run(self, x: torch.Tensor, timesteps: int | None, wanted: list[str],
             depth: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The first ``depth`` blocks: ``(last block's output [T, B, D, N], {sheet layer: its response})``."""
        tokens = self.patch_embed(self.encode(x, timesteps))
        grid = tokens.shape[-2:]
        h, features = tokens.flatten(3), {}
        for name, block in zip(self.feature_layers[:depth], self.blocks):
            h, attended = block.mix(h)
            if name in wanted:
                features[name] = (attended.unflatten(3, grid) if self.sheet_units == "tokens"
                                  else attended.mean(3)[..., None, None])
        return h, features

    def forward_features(self, x: torch.Tensor, layers: Sequence[str],
                         timesteps: int | None = None) -> dict[str, torch.Tensor]:
        """The named blocks' sheet responses, ``[T, B, D, H_tokens, W_tokens]`` (``"tokens"``) or
        ``[T, B, D, 1, 1]`` (``"channels"``); blocks past the deepest requested one are not run."""
        wanted = self._check(layers)
        if not wanted:
            return {}
        depth = max(self.feature_layers.index(name) for name in wanted) + 1
        return self._run(x, timesteps, wanted, depth)[1]

    def _classify(self, h: torch.Tensor) -> torch.Tensor:
        return self.head(h.mean(3))

    def timestep_logits(self, x: torch.Tensor, timesteps: int | None = None) -> torch.Tensor:
        """The head's output at every step, ``[T, B, num_classes]`` (``forward`` averages it over T)."""
        return self._classify(self._run(x, timesteps, [], len(self.blocks))[0])

    def forward(self, x: torch.Tensor, timesteps: int | None = None, return_features: Sequence[str] = ()):
        """Class logits ``[B, num_classes]`` (the head averaged over T); with ``return_features`` (sheet layers),
        ``(logits, {layer: response})`` from the same pass."""
        wanted = self._check(return_features)
        h, features = self._run(x, timesteps, wanted, len(self.blocks))
        logits = self._classify(h).mean(0)
        return (logits, {name: features[name] for name in wanted}) if return_features else logits


def infer_kwargs(state: dict, path: Path) -> dict:
    """Channels, depth, MLP ratio, class count, stem and heads of a Spikformer state dict (the zoo's key names).

    Channels, depth, MLP ratio and classes are read off the shapes. The stem and the heads hold no weights of their
    own, so they are the published configurations': the ImageNet stem for 1000 or more classes, else the CIFAR stem;
    :data:`PUBLISHED_HEADS` for the channel count, else 8 heads where 8 divides it, else 1. Where the file is
    otherwise, pass them: ``load_checkpoint(path, arch=..., arch_kwargs={"stem": ..., "num_heads": ...})``.
    """
    require_keys(state, ("patch_embed.stages.0.conv_bn.block.0.weight", "blocks.0.attn.qkv_conv_bn.0.weight",
                         "blocks.0.mlp.fc1.0.weight", "head.weight"), "Spikformer", path)
    channels = int(state["head.weight"].shape[1])
    depth = 0
    while f"blocks.{depth}.attn.qkv_conv_bn.0.weight" in state:
        depth += 1
    classes = classes_of(state["head.weight"])
    heads = PUBLISHED_HEADS.get(channels, 8 if channels % 8 == 0 else 1)
    return {"embed_dim": channels, "width": 1.0, "depth": depth, "num_heads": heads,
            "mlp_ratio": state["blocks.0.mlp.fc1.0.weight"].shape[0] / channels, "num_classes": classes,
            "stem": "imagenet" if classes >= 1000 else "cifar"}


def connection(name: str) -> str:
    """The Fisher group of a parameter: ``stem`` (patch splitting and position embedding), the block's module path
    (``blocks.3``) or ``classifier`` (the head)."""
    if name.startswith("blocks."):
        return ".".join(name.split(".")[:2])
    return "stem" if name.startswith("patch_embed.") else "classifier"


FAMILY = Family(name="spikformer", label="Spikformer", model_class=Spikformer,
                layer_areas={f"blocks.{i}.attn.proj_lif": area for i, area in enumerate(block_areas(8))},
                infer_kwargs=infer_kwargs, connections=connection)
"""The family; its ``layer_areas`` is the default Spikformer-8-512's (each network sets its own, by its depth)."""
