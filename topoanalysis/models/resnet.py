"""Spiking ResNets (spiking and SEW forms) and their ReLU twins, built from spikingjelly primitives.

Every tensor inside the network is time-major, ``[T, B, C, H, W]``: spikingjelly's
multi-step layers fold time into the batch for convolutions and batch norm, and its
neurons integrate over ``T``. Images are fed by direct encoding (the same analogue frame
at every timestep). State-dict keys follow torchvision's ``resnet18/34/50`` and therefore
spikingjelly's ``spiking_resnet*`` and ``sew_resnet*`` (``conv1``, ``bn1``, ``layer1.0.conv1``, ...,
``layer2.0.downsample.0``, ``fc``); LIF, IF and ReLU neurons hold no parameters, a PLIF neuron
holds its ``w`` (``sn1.w``, ``layer1.0.sn2.w``, ...).

One implementation, :class:`SpikingResNet`, serves every depth: a subclass names its blocks per
stage and its block type (:class:`SpikingResNet18` here, ResNet-34 and ResNet-50 in
:mod:`.resnet_deep`), and each depth is its own :class:`~.family.Family` with its own layer names.

Call :func:`spikingjelly.activation_based.functional.reset_net` between batches
(``record`` and the trainer do this).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import torch
from spikingjelly.activation_based import layer
from torch import nn

from ..errors import InputError
from .family import (
    Family,
    check_choices,
    check_layers,
    check_width_and_timesteps,
    classes_of,
    direct_encode,
    require_keys,
    width_of,
)
from .lif import NEURONS, make_neuron
from .lif import SURROGATES as SURROGATES  # where the CORnet module reads them

STEMS = ("imagenet", "cifar")
CONNECTS = ("ADD", "AND", "IAND")
"""SEW ResNet's element-wise connect functions g(a, b) (Fang et al. 2021; spikingjelly's ``sew_function``):
a + b, a * b, a * (1 - b)."""


def block_names(depths: Sequence[int]) -> tuple[str, ...]:
    """The residual blocks of a ResNet with ``depths`` blocks per stage: ``layer1.0``, ..., in network order."""
    return tuple(f"layer{stage}.{block}" for stage, n in enumerate(depths, start=1) for block in range(n))


BLOCK_LAYERS = block_names((2, 2, 2, 2))
"""ResNet-18's residual blocks."""


def sew_connect(a: torch.Tensor, b: torch.Tensor, connect: str) -> torch.Tensor:
    """SEW ResNet's connect function g(a, b), :data:`CONNECTS`; the argument order matters for IAND."""
    if connect == "ADD":
        return a + b
    if connect == "AND":
        return a * b
    return a * (1.0 - b)


def _conv(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> nn.Module:
    return layer.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False, step_mode="m")


def _downsample(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    return nn.Sequential(_conv(in_channels, out_channels, 1, stride), layer.BatchNorm2d(out_channels, step_mode="m"))


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (ResNet-18 and -34).

    ``connect`` None: the spiking ResNet's block (Hu et al.; spikingjelly's ``spiking_resnet``): ``sn2`` fires
    after the sum. ``connect`` in :data:`CONNECTS`: the SEW block (spikingjelly's ``sew_resnet``): each branch
    spikes (the shortcut's downsampling through its own neuron, ``downsample_sn``) and the block outputs
    ``g(identity, sn2(out))``, the zoo's argument order for this block (IAND: ``identity * (1 - out)``); with ADD a
    block outputs spike counts (0, 1, 2, ...), not spikes.
    """

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int, make_act, connect: str | None = None) -> None:
        super().__init__()
        self.connect = connect
        self.conv1 = _conv(in_channels, channels, 3, stride)
        self.bn1 = layer.BatchNorm2d(channels, step_mode="m")
        self.sn1 = make_act()
        self.conv2 = _conv(channels, channels, 3)
        self.bn2 = layer.BatchNorm2d(channels, step_mode="m")
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = _downsample(in_channels, channels, stride)
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


class Bottleneck(nn.Module):
    """1x1, 3x3 (carrying the stride, torchvision's "ResNet v1.5") and 1x1 convolutions, expansion 4 (ResNet-50).

    ``connect`` None: ``sn3`` fires after the residual sum (spikingjelly's ``spiking_resnet``). SEW form: the block
    outputs ``g(sn3(out), identity)``: the zoo's ``Bottleneck`` passes the branch first, the reverse of its
    ``BasicBlock``, so IAND here is ``out * (1 - identity)``; reproduced as the zoo computes it.
    """

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int, make_act, connect: str | None = None) -> None:
        super().__init__()
        out_channels = channels * self.expansion
        self.connect = connect
        self.conv1 = _conv(in_channels, channels, 1)
        self.bn1 = layer.BatchNorm2d(channels, step_mode="m")
        self.sn1 = make_act()
        self.conv2 = _conv(channels, channels, 3, stride)
        self.bn2 = layer.BatchNorm2d(channels, step_mode="m")
        self.sn2 = make_act()
        self.conv3 = _conv(channels, out_channels, 1)
        self.bn3 = layer.BatchNorm2d(out_channels, step_mode="m")
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = _downsample(in_channels, out_channels, stride)
            if connect is not None:
                self.downsample_sn = make_act()
        self.sn3 = make_act()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn3(self.conv3(self.sn2(self.bn2(self.conv2(self.sn1(self.bn1(self.conv1(x))))))))
        identity = x if self.downsample is None else self.downsample(x)
        if self.connect is None:
            return self.sn3(out + identity)
        if self.downsample is not None:
            identity = self.downsample_sn(identity)
        return sew_connect(self.sn3(out), identity, self.connect)


class SpikingResNet(nn.Module):
    """A ResNet with spiking neurons (or ReLUs, for the non-spiking twin); subclasses set ``depths`` and ``block``.

    Parameters
    ----------
    num_classes : int
        Size of the classifier output.
    stem : {"imagenet", "cifar"}
        ``"imagenet"``: 7x7 stride-2 convolution and max-pool (224 px inputs; the zoo's);
        ``"cifar"``: 3x3 stride-1 convolution, no max-pool (32-64 px inputs).
    width : float
        Channel multiplier: stage widths are ``round(64 * width) * (1, 2, 4, 8)`` (times 4 at a bottleneck's output).
    timesteps : int
        Default number of simulation steps ``T`` (an argument of ``forward`` overrides it).
    neuron_kind : {"lif", "if", "plif", "relu"}
        Every neuron's kind (:func:`~topoanalysis.models.lif.make_neuron`); ``"relu"`` gives the non-spiking ANN
        twin (use ``timesteps=1``).
    tau, v_threshold, surrogate_name, detach_reset
        Neuron parameters (TDSNN: tau = 2.0, ATan surrogate, detached reset); ``tau`` is PLIF's initial value and
        not used by IF neurons. The zoo takes its neuron and these from the caller; the surrogate and the reset's
        detachment shape gradients only, so a zoo network's logits are these whatever it was trained with, as long
        as its neurons have spikingjelly's default input decay and hard reset to 0.
    connect : {None, "ADD", "AND", "IAND"}
        None: the spiking ResNet (spikingjelly's ``spiking_resnet*``); else the SEW ResNet with this connect
        function (spikingjelly's ``sew_resnet*``), whose weights have the same names.
    """

    depths: tuple[int, ...] = ()
    block: type[nn.Module] = BasicBlock
    feature_layers: tuple[str, ...] = ()
    neuron_kinds = NEURONS

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.feature_layers = block_names(cls.depths)

    def __init__(self, num_classes: int = 1000, *, stem: str = "imagenet", width: float = 1.0,
                 timesteps: int = 4, neuron_kind: str = "lif", tau: float = 2.0,
                 v_threshold: float = 1.0, surrogate_name: str = "atan",
                 detach_reset: bool = True, connect: str | None = None) -> None:
        super().__init__()
        if not self.depths:
            raise InputError(f"{type(self).__name__} names no blocks per stage; build a depth's class, e.g. "
                             "SpikingResNet18")
        if connect is not None and connect not in CONNECTS:
            raise InputError(f"unknown connect function {connect!r}; valid: {', '.join(CONNECTS)} (or None: the "
                             "spiking ResNet)", parameter="connect")
        check_choices(stem=(stem, STEMS))
        check_width_and_timesteps(width, timesteps)
        make_act = partial(make_neuron, neuron_kind, tau=tau, v_threshold=v_threshold, surrogate_name=surrogate_name,
                           detach_reset=detach_reset)
        stem_act = make_act()  # checks the neuron settings before anything else is built
        self.timesteps = int(timesteps)
        self.stem = stem
        self.neuron_kind = neuron_kind
        base = round(64 * width)
        if stem == "imagenet":
            self.conv1 = layer.Conv2d(3, base, 7, 2, 3, bias=False, step_mode="m")
            self.maxpool = layer.MaxPool2d(3, 2, 1, step_mode="m")
        else:
            self.conv1 = _conv(3, base, 3)
            self.maxpool = nn.Identity()
        self.bn1 = layer.BatchNorm2d(base, step_mode="m")
        self.sn1 = stem_act
        in_channels = base
        for stage, n_blocks in enumerate(self.depths, start=1):
            channels = base * 2 ** (stage - 1)
            blocks = [self.block(in_channels, channels, 1 if stage == 1 else 2, make_act, connect)]
            in_channels = channels * self.block.expansion
            blocks += [self.block(in_channels, channels, 1, make_act, connect) for _ in range(1, n_blocks)]
            self.add_module(f"layer{stage}", nn.Sequential(*blocks))
        self.avgpool = layer.AdaptiveAvgPool2d((1, 1), step_mode="m")
        self.fc = layer.Linear(in_channels, num_classes, step_mode="m")
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def encode(self, x: torch.Tensor, timesteps: int | None = None) -> torch.Tensor:
        """Direct encoding: ``[B, 3, H, W]`` -> ``[T, B, 3, H, W]``; 5-D input passes through."""
        return direct_encode(x, self.timesteps if timesteps is None else timesteps)

    def forward_features(self, x: torch.Tensor, layers: Sequence[str],
                         timesteps: int | None = None) -> dict[str, torch.Tensor]:
        """Outputs ``[T, B, C, H, W]`` of the named residual blocks.

        The forward pass stops after the deepest requested block, so recording early
        layers costs only the early part of the network.
        """
        wanted = set(check_layers(layers, self.feature_layers))
        features: dict[str, torch.Tensor] = {}
        h = self.maxpool(self.sn1(self.bn1(self.conv1(self.encode(x, timesteps)))))
        for name in self.feature_layers:
            if len(features) == len(wanted):
                break
            h = self.get_submodule(name)(h)
            if name in wanted:
                features[name] = h
        return features

    def _classify(self, last_block: torch.Tensor) -> torch.Tensor:
        return self.fc(self.avgpool(last_block).flatten(2))

    def timestep_logits(self, x: torch.Tensor, timesteps: int | None = None) -> torch.Tensor:
        """Classifier output at every timestep, ``[T, B, num_classes]`` (``forward`` averages it over T).

        ``x`` is ``[B, 3, H, W]`` (repeated over T) or a time-varying ``[T, B, 3, H, W]``.
        """
        last = self.feature_layers[-1]
        return self._classify(self.forward_features(x, (last,), timesteps)[last])

    def forward(self, x: torch.Tensor, timesteps: int | None = None,
                return_features: Sequence[str] = ()):
        """Class logits ``[B, num_classes]``: the classifier output averaged over time.

        With ``return_features`` (block names) returns ``(logits, {name: [T, B, C, H, W]})``
        from the same pass, as training with a topographic loss needs (and DDP requires
        the wrapped module's ``forward``).
        """
        last = self.feature_layers[-1]
        features = self.forward_features(x, tuple(dict.fromkeys((last, *return_features))), timesteps)
        logits = self._classify(features[last]).mean(0)
        if not return_features:
            return logits
        return logits, {name: features[name] for name in return_features}


class SpikingResNet18(SpikingResNet):
    """ResNet-18 (basic blocks, 2-2-2-2) with spiking neurons or ReLUs; parameters as :class:`SpikingResNet`.

    Examples
    --------
    >>> net = SpikingResNet18(num_classes=10, stem="cifar", width=0.0625, timesteps=2)
    >>> net(torch.rand(3, 3, 16, 16)).shape
    torch.Size([3, 10])
    """

    depths = (2, 2, 2, 2)
    block = BasicBlock


def stage_areas(depths: Sequence[int]) -> dict[str, str]:
    """The area of every block of a ResNet with ``depths`` blocks per stage.

    TDANN defines the map for ResNet-18 only (:data:`LAYER_AREAS`). Its generalisation to any depth is ours:
    layer1 retina, layer2 V1, the first half of layer3 V2 (rounded up: ``ceil(n / 2)`` of its ``n`` blocks) and
    the rest V4, layer4 IT; for 2-2-2-2 it is TDANN's map.
    """
    areas = {}
    for stage, n in enumerate(depths, start=1):
        for block in range(n):
            third = "V2" if block < (n + 1) // 2 else "V4"
            areas[f"layer{stage}.{block}"] = {1: "retina", 2: "V1", 3: third, 4: "IT"}[stage]
    return areas


LAYER_AREAS = stage_areas(SpikingResNet18.depths)
"""TDANN's map of ResNet-18 blocks to areas: V1 -> layer2.0 (the paper's V1 layer), V2 -> layer3.0,
V4 -> layer3.1, IT -> layer4.1 (TDANN's VTC layer)."""


def infer_resnet_kwargs(state: dict, path: Path, *, model_class: type[SpikingResNet], label: str) -> dict:
    """Stem, width, class count (and PLIF neurons, when the file holds their ``w``) read off the tensor shapes of a
    ``model_class`` state dict; a ValueError when it lacks the keys of that depth and block type."""
    last = model_class.feature_layers[-1]
    bottleneck = model_class.block is Bottleneck
    require_keys(state, ("conv1.weight", "fc.weight", f"{last}.conv{3 if bottleneck else 2}.weight"), label, path)
    if not bottleneck and f"{last}.conv3.weight" in state:
        raise InputError(f"{path}: {last}.conv3 is a bottleneck's third convolution, so the file is not a {label} "
                         "(basic blocks); pass the --arch of the ResNet-50 family")
    conv1 = state["conv1.weight"]
    kwargs = {"stem": "imagenet" if conv1.shape[-1] == 7 else "cifar", "width": width_of(conv1.shape[0]),
              "num_classes": classes_of(state["fc.weight"])}
    if "sn1.w" in state:  # the stem neuron's learnable time constant: the file's neurons are PLIF
        kwargs["neuron_kind"] = "plif"
    return kwargs


infer_kwargs = partial(infer_resnet_kwargs, model_class=SpikingResNet18, label="ResNet-18")
"""ResNet-18's :func:`infer_resnet_kwargs` (the TDANN importer reads its trunks with it)."""


def block_connection(name: str, *, blocks: Sequence[str]) -> str:
    """The residual block (one of ``blocks``), ``stem`` or ``classifier`` a parameter belongs to."""
    block = name.split(".", 2)
    if len(block) == 3 and f"{block[0]}.{block[1]}" in blocks:
        return f"{block[0]}.{block[1]}"
    return "classifier" if name.startswith("fc.") else "stem"


connection = partial(block_connection, blocks=BLOCK_LAYERS)


def resnet_family(name: str, label: str, model_class: type[SpikingResNet]) -> Family:
    """The :class:`Family` of one ResNet depth: its blocks, their areas (:func:`stage_areas`), Fisher groups."""
    return Family(name=name, label=label, model_class=model_class, layer_areas=stage_areas(model_class.depths),
                  infer_kwargs=partial(infer_resnet_kwargs, model_class=model_class, label=label),
                  connections=partial(block_connection, blocks=model_class.feature_layers))


FAMILY = resnet_family("resnet18", "ResNet-18", SpikingResNet18)
