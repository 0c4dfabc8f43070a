"""Spiking ResNet-18 (and its ReLU twin) built from spikingjelly primitives.

Every tensor inside the network is time-major, ``[T, B, C, H, W]``: spikingjelly's
multi-step layers fold time into the batch for convolutions and batch norm, and its LIF
neurons integrate over ``T``. Images are fed by direct encoding (the same analogue frame
at every timestep). State-dict keys follow torchvision's ``resnet18`` and therefore
spikingjelly's ``spiking_resnet18`` (``conv1``, ``bn1``, ``layer1.0.conv1``, ...,
``layer2.0.downsample.0``, ``fc``); neurons hold no parameters.

Call :func:`spikingjelly.activation_based.functional.reset_net` between batches
(``record`` and the trainer do this).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from spikingjelly.activation_based import layer, neuron, surrogate
from torch import nn

from ..errors import InputError
from .family import Family, classes_of, require_keys, width_of

BLOCK_LAYERS = tuple(f"layer{stage}.{block}" for stage in (1, 2, 3, 4) for block in (0, 1))
STEMS = ("imagenet", "cifar")
NEURONS = ("lif", "relu")
CONNECTS = ("ADD", "AND", "IAND")
"""SEW ResNet's element-wise connect functions g(identity, out) (Fang et al. 2021): identity + out, identity * out,
identity * (1 - out)."""
SURROGATES = {"atan": surrogate.ATan, "sigmoid": surrogate.Sigmoid}


def make_neuron(kind: str, *, tau: float, v_threshold: float, surrogate_name: str,
                detach_reset: bool) -> nn.Module:
    """A multi-step LIF neuron (``kind="lif"``) or a ReLU (``kind="relu"``)."""
    if kind == "relu":
        return nn.ReLU()
    return neuron.LIFNode(
        tau=tau, decay_input=True, v_threshold=v_threshold, v_reset=0.0,
        surrogate_function=SURROGATES[surrogate_name](), detach_reset=detach_reset,
        step_mode="m",
    )


def sew_connect(identity: torch.Tensor, out: torch.Tensor, connect: str) -> torch.Tensor:
    """SEW ResNet's connect function g(identity, out), :data:`CONNECTS`."""
    if connect == "ADD":
        return identity + out
    if connect == "AND":
        return identity * out
    return identity * (1.0 - out)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection.

    ``connect`` None: the spiking ResNet's block (Hu et al.; spikingjelly's ``spiking_resnet``): the neuron fires
    after the sum. ``connect`` in :data:`CONNECTS`: the SEW block (spikingjelly's ``sew_resnet``): each branch
    spikes (the shortcut's downsampling through its own neuron, ``downsample_sn``) and the two spike trains are
    combined by the connect function, so with ADD a block outputs spike counts (0, 1, 2), not spikes.
    """

    def __init__(self, in_channels: int, channels: int, stride: int, make_act, connect: str | None = None) -> None:
        super().__init__()
        self.connect = connect
        self.conv1 = layer.Conv2d(in_channels, channels, 3, stride, 1, bias=False, step_mode="m")
        self.bn1 = layer.BatchNorm2d(channels, step_mode="m")
        self.sn1 = make_act()
        self.conv2 = layer.Conv2d(channels, channels, 3, 1, 1, bias=False, step_mode="m")
        self.bn2 = layer.BatchNorm2d(channels, step_mode="m")
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                layer.Conv2d(in_channels, channels, 1, stride, bias=False, step_mode="m"),
                layer.BatchNorm2d(channels, step_mode="m"),
            )
            if connect is not None:
                self.downsample_sn = make_act()
        self.sn2 = make_act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.sn1(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        if self.connect is None:
            return self.sn2(out + identity)
        if self.downsample is not None:
            identity = self.downsample_sn(identity)
        return sew_connect(identity, self.sn2(out), self.connect)


class SpikingResNet18(nn.Module):
    """ResNet-18 with LIF neurons (or ReLUs, for the non-spiking twin).

    Parameters
    ----------
    num_classes : int
        Size of the classifier output.
    stem : {"imagenet", "cifar"}
        ``"imagenet"``: 7x7 stride-2 convolution and max-pool (224 px inputs);
        ``"cifar"``: 3x3 stride-1 convolution, no max-pool (32-64 px inputs).
    width : float
        Channel multiplier: stage widths are ``round(64 * width) * (1, 2, 4, 8)``.
    timesteps : int
        Default number of simulation steps ``T`` (an argument of ``forward`` overrides it).
    neuron_kind : {"lif", "relu"}
        ``"relu"`` gives the non-spiking ANN twin (use ``timesteps=1``).
    tau, v_threshold, surrogate_name, detach_reset
        LIF parameters (TDSNN: tau = 2.0, ATan surrogate, detached reset).
    connect : {None, "ADD", "AND", "IAND"}
        None: the spiking ResNet (spikingjelly's ``spiking_resnet18``); else the SEW ResNet-18 with this
        connect function (spikingjelly's ``sew_resnet18``), whose weights have the same names.

    Examples
    --------
    >>> net = SpikingResNet18(num_classes=10, stem="cifar", width=0.0625, timesteps=2)
    >>> net(torch.rand(3, 3, 16, 16)).shape
    torch.Size([3, 10])
    """

    feature_layers = BLOCK_LAYERS

    def __init__(self, num_classes: int = 1000, *, stem: str = "imagenet", width: float = 1.0,
                 timesteps: int = 4, neuron_kind: str = "lif", tau: float = 2.0,
                 v_threshold: float = 1.0, surrogate_name: str = "atan",
                 detach_reset: bool = True, connect: str | None = None) -> None:
        super().__init__()
        if connect is not None and connect not in CONNECTS:
            raise InputError(f"unknown connect function {connect!r}; valid: {', '.join(CONNECTS)} (or None: the "
                             "spiking ResNet)", parameter="connect")
        if stem not in STEMS:
            raise InputError(f"unknown stem {stem!r}; valid stems: {', '.join(STEMS)}")
        if neuron_kind not in NEURONS:
            raise InputError(f"unknown neuron_kind {neuron_kind!r}; valid: {', '.join(NEURONS)}")
        if surrogate_name not in SURROGATES:
            raise InputError(f"unknown surrogate {surrogate_name!r}; valid: {', '.join(SURROGATES)}")
        if not (width > 0 and round(64 * width) >= 1):
            raise InputError(f"width must give at least one channel (64 * width >= 0.5), got {width}")
        if timesteps < 1:
            raise InputError(f"timesteps must be >= 1, got {timesteps}")
        self.timesteps = int(timesteps)
        self.stem = stem
        self.neuron_kind = neuron_kind

        def make_act() -> nn.Module:
            return make_neuron(neuron_kind, tau=tau, v_threshold=v_threshold,
                               surrogate_name=surrogate_name, detach_reset=detach_reset)

        base = round(64 * width)
        widths = [base, 2 * base, 4 * base, 8 * base]
        if stem == "imagenet":
            self.conv1 = layer.Conv2d(3, base, 7, 2, 3, bias=False, step_mode="m")
            self.maxpool = layer.MaxPool2d(3, 2, 1, step_mode="m")
        else:
            self.conv1 = layer.Conv2d(3, base, 3, 1, 1, bias=False, step_mode="m")
            self.maxpool = nn.Identity()
        self.bn1 = layer.BatchNorm2d(base, step_mode="m")
        self.sn1 = make_act()
        in_channels = base
        for stage, channels in enumerate(widths, start=1):
            stride = 1 if stage == 1 else 2
            blocks = nn.Sequential(
                BasicBlock(in_channels, channels, stride, make_act, connect),
                BasicBlock(channels, channels, 1, make_act, connect),
            )
            self.add_module(f"layer{stage}", blocks)
            in_channels = channels
        self.avgpool = layer.AdaptiveAvgPool2d((1, 1), step_mode="m")
        self.fc = layer.Linear(widths[-1], num_classes, step_mode="m")
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def encode(self, x: torch.Tensor, timesteps: int | None = None) -> torch.Tensor:
        """Direct encoding: ``[B, 3, H, W]`` -> ``[T, B, 3, H, W]``; 5-D input passes through."""
        if x.dim() == 5:
            return x
        if x.dim() != 4:
            raise InputError(f"expected images [B, 3, H, W] or [T, B, 3, H, W], got shape {tuple(x.shape)}")
        steps = self.timesteps if timesteps is None else int(timesteps)
        return x.unsqueeze(0).expand(steps, *x.shape)

    def forward_features(self, x: torch.Tensor, layers: Sequence[str],
                         timesteps: int | None = None) -> dict[str, torch.Tensor]:
        """Outputs ``[T, B, C, H, W]`` of the named residual blocks.

        The forward pass stops after the deepest requested block, so recording early
        layers costs only the early part of the network.
        """
        wanted = set(layers)
        unknown = wanted.difference(BLOCK_LAYERS)
        if unknown:
            raise InputError(f"unknown layer(s) {sorted(unknown)}; valid layers: {', '.join(BLOCK_LAYERS)}")
        features: dict[str, torch.Tensor] = {}
        h = self.maxpool(self.sn1(self.bn1(self.conv1(self.encode(x, timesteps)))))
        for name in BLOCK_LAYERS:
            if len(features) == len(wanted):
                break
            stage, block = name[len("layer"):].split(".")
            h = getattr(self, f"layer{stage}")[int(block)](h)
            if name in wanted:
                features[name] = h
        return features

    def _classify(self, last_block: torch.Tensor) -> torch.Tensor:
        return self.fc(self.avgpool(last_block).flatten(2))

    def timestep_logits(self, x: torch.Tensor, timesteps: int | None = None) -> torch.Tensor:
        """Classifier output at every timestep, ``[T, B, num_classes]`` (``forward`` averages it over T).

        ``x`` is ``[B, 3, H, W]`` (repeated over T) or a time-varying ``[T, B, 3, H, W]``.
        """
        return self._classify(self.forward_features(x, ("layer4.1",), timesteps)["layer4.1"])

    def forward(self, x: torch.Tensor, timesteps: int | None = None,
                return_features: Sequence[str] = ()):
        """Class logits ``[B, num_classes]``: the classifier output averaged over time.

        With ``return_features`` (block names) returns ``(logits, {name: [T, B, C, H, W]})``
        from the same pass, as training with a topographic loss needs (and DDP requires
        the wrapped module's ``forward``).
        """
        wanted = tuple(dict.fromkeys(("layer4.1", *return_features)))
        features = self.forward_features(x, wanted, timesteps)
        logits = self._classify(features["layer4.1"]).mean(0)
        if not return_features:
            return logits
        return logits, {name: features[name] for name in return_features}


LAYER_AREAS = {
    "layer1.0": "retina", "layer1.1": "retina", "layer2.0": "V1", "layer2.1": "V1",
    "layer3.0": "V2", "layer3.1": "V4", "layer4.0": "IT", "layer4.1": "IT",
}
"""TDANN's map of ResNet-18 blocks to areas: V1 -> layer2.0 (the paper's V1 layer), V2 -> layer3.0,
V4 -> layer3.1, IT -> layer4.1 (TDANN's VTC layer)."""


def infer_kwargs(state: dict, path: Path) -> dict:
    """Stem, width and class count read off the tensor shapes of a ResNet-18 state dict."""
    require_keys(state, ("conv1.weight", "fc.weight", "layer4.1.conv2.weight"), "ResNet-18", path)
    conv1 = state["conv1.weight"]
    return {"stem": "imagenet" if conv1.shape[-1] == 7 else "cifar", "width": width_of(conv1.shape[0]),
            "num_classes": classes_of(state["fc.weight"])}


def connection(name: str) -> str:
    """The residual block (``layer2.0`` ...), ``stem`` or ``classifier`` a parameter belongs to."""
    for block in BLOCK_LAYERS:
        if name.startswith(block + "."):
            return block
    return "classifier" if name.startswith("fc.") else "stem"


FAMILY = Family(name="resnet18", label="ResNet-18", model_class=SpikingResNet18, layer_areas=LAYER_AREAS,
                infer_kwargs=infer_kwargs, connections=connection)
