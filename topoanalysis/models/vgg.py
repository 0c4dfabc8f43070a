"""Spiking VGG-11 with batch norm (spikingjelly's ``spiking_vgg11_bn``) and its ReLU twin.

The zoo's layout (torchvision's ``vgg11_bn`` with each ReLU a spiking neuron), whose module indices are the
state-dict keys: ``features`` is configuration "A", ``64 M 128 M 256 256 M 512 512 M 512 512 M``, each number a
3x3 convolution with bias (padding 1), a batch norm and a neuron, each ``M`` a 2x2 max-pool of stride 2, so the
convolutions are ``features.0, 4, 8, 11, 15, 18, 22, 25`` and their neurons ``features.2, 6, 10, 13, 17, 20,
24, 27``; then an adaptive average pool to 7x7 and ``classifier``: ``Linear(512 * 7 * 7, 4096)`` (``.0``), neuron
(``.1``), dropout 0.5 (``.2``), ``Linear(4096, 4096)`` (``.3``), neuron (``.4``), dropout (``.5``),
``Linear(4096, classes)`` (``.6``). Time is handled as in the ResNets: direct encoding, ``[T, B, C, H, W]``
inside, logits averaged over T. Initialisation is the zoo's: convolutions Kaiming-normal (fan out) with zero
bias, batch norm 1 and 0, linear layers normal with SD 0.01 and zero bias. Where the zoo is silent:

* ``width`` multiplies every channel count, ``round(c * width)``, and the classifier's 4096 hidden units alike
  (``round(4096 * width)``), so a file's widths must follow one multiplier.
* ``stem`` - ``"imagenet"`` (default; the zoo's five max-pools, for 224 px) or ``"cifar"``: the first max-pool
  (``features.3``) is an identity, so the stride at each area is the CIFAR ResNet's (retina 1, V1 2, V2 and V4
  4, IT 8) and 16 px inputs reach the last pool at 2x2. No tensor records the max-pools, so a plain file is
  loaded with the zoo's layout unless told otherwise.
* Dropout (spikingjelly's ``layer.Dropout``) draws one mask per sample shared by all T steps; eval mode has none.

Sheets, in the style of METHODS: one cortical sheet per convolution, on its neuron's output (the spikes the next
convolution reads, before any max-pool), 8 sheets. Areas follow TDANN's ResNet-18 map in its depth fractions
(2 of 8 sheets retina, 2 V1, 1 V2, 1 V4, 2 IT) and in VGG's stages, which match the ResNet's stem and four
stages: the first two convolutions (VGG's stages 1 and 2, 64 and 128 channels) retina, stage 3 (256) V1,
stage 4's first convolution V2 and its second V4 (the halves of ResNet's layer3), stage 5 IT. This map is ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

import torch
from spikingjelly.activation_based import layer
from torch import nn

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

CONFIG = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")
"""VGG-11's configuration "A": output channels of each 3x3 convolution, ``M`` a 2x2 max-pool."""
STEMS = ("imagenet", "cifar")
HIDDEN = 4096
"""The classifier's hidden units at width 1."""


def _neuron_indices() -> tuple[int, ...]:
    """Indices in ``features`` of each convolution's neuron (a convolution, batch norm and neuron take 3 slots)."""
    indices, index = [], 0
    for item in CONFIG:
        index += 1 if item == "M" else 3
        if item != "M":
            indices.append(index - 1)
    return tuple(indices)


NEURON_INDICES = _neuron_indices()
SHEET_LAYERS = tuple(f"features.{i}" for i in NEURON_INDICES)
"""The neuron after each convolution, in network order: the layers with sheets."""
LAYER_AREAS = dict(zip(SHEET_LAYERS, ("retina", "retina", "V1", "V1", "V2", "V4", "IT", "IT")))
"""Our area map (module docstring): TDANN's ResNet-18 depth fractions over VGG-11's eight convolutions."""


class SpikingVGG11(nn.Module):
    """VGG-11 with batch norm and spiking neurons (or ReLUs, for the non-spiking twin); see the module docstring.

    Parameters
    ----------
    num_classes : int
        Size of the classifier output.
    stem : {"imagenet", "cifar"}
        ``"cifar"`` makes the first max-pool an identity (16-64 px inputs); ``"imagenet"`` is the zoo's layout.
    width : float
        Channel multiplier for every convolution and the classifier's hidden layers.
    timesteps : int
        Default number of simulation steps ``T`` (an argument of ``forward`` overrides it).
    neuron_kind : {"lif", "if", "plif", "relu"}
        Every neuron's kind (:func:`~topoanalysis.models.lif.make_neuron`); ``"relu"`` gives torchvision's
        ``vgg11_bn`` (use ``timesteps=1``).
    tau, v_threshold, surrogate_name, detach_reset
        Neuron parameters, as for the ResNets (:class:`~.resnet.SpikingResNet`: the surrogate and detachment change
        gradients only).

    Examples
    --------
    >>> net = SpikingVGG11(num_classes=10, stem="cifar", width=0.0625, timesteps=2)
    >>> net(torch.rand(2, 3, 16, 16)).shape
    torch.Size([2, 10])
    """

    feature_layers = SHEET_LAYERS
    neuron_kinds = NEURONS

    def __init__(self, num_classes: int = 1000, *, stem: str = "imagenet", width: float = 1.0, timesteps: int = 4,
                 neuron_kind: str = "lif", tau: float = 2.0, v_threshold: float = 1.0, surrogate_name: str = "atan",
                 detach_reset: bool = True) -> None:
        super().__init__()
        check_choices(stem=(stem, STEMS))
        check_width_and_timesteps(width, timesteps)
        make_act = partial(make_neuron, neuron_kind, tau=tau, v_threshold=v_threshold, surrogate_name=surrogate_name,
                           detach_reset=detach_reset)
        make_act()  # checks the neuron settings before anything is built
        self.timesteps, self.stem, self.neuron_kind = int(timesteps), stem, neuron_kind
        modules: list[nn.Module] = []
        in_channels, pools = 3, 0
        for item in CONFIG:
            if item == "M":
                skip = stem == "cifar" and pools == 0
                modules.append(nn.Identity() if skip else layer.MaxPool2d(2, 2, step_mode="m"))
                pools += 1
                continue
            channels = round(item * width)
            modules += [layer.Conv2d(in_channels, channels, 3, 1, 1, step_mode="m"),
                        layer.BatchNorm2d(channels, step_mode="m"), make_act()]
            in_channels = channels
        self.features = nn.Sequential(*modules)
        self.avgpool = layer.AdaptiveAvgPool2d((7, 7), step_mode="m")
        hidden = round(HIDDEN * width)
        self.classifier = nn.Sequential(
            layer.Linear(in_channels * 7 * 7, hidden, step_mode="m"), make_act(), layer.Dropout(0.5, step_mode="m"),
            layer.Linear(hidden, hidden, step_mode="m"), make_act(), layer.Dropout(0.5, step_mode="m"),
            layer.Linear(hidden, num_classes, step_mode="m"))
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
                nn.init.zeros_(module.bias)

    def encode(self, x: torch.Tensor, timesteps: int | None = None) -> torch.Tensor:
        """Direct encoding: ``[B, 3, H, W]`` -> ``[T, B, 3, H, W]``; 5-D input passes through."""
        return direct_encode(x, self.timesteps if timesteps is None else timesteps)

    def _run(self, x: torch.Tensor, layers: Sequence[str], timesteps: int | None,
             to_end: bool) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """``({layer: [T, B, C, H, W]}, last output)``: ``features`` up to the deepest requested layer, or whole."""
        wanted = set(check_layers(layers, SHEET_LAYERS))
        features: dict[str, torch.Tensor] = {}
        h = self.encode(x, timesteps)
        for index, module in enumerate(self.features):
            if len(features) == len(wanted) and not to_end:
                break
            h = module(h)
            if f"features.{index}" in wanted:
                features[f"features.{index}"] = h
        return features, h

    def forward_features(self, x: torch.Tensor, layers: Sequence[str],
                         timesteps: int | None = None) -> dict[str, torch.Tensor]:
        """Outputs ``[T, B, C, H, W]`` of the named neuron layers; the pass stops after the deepest one."""
        return self._run(x, layers, timesteps, to_end=False)[0]

    def _classify(self, last: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.avgpool(last).flatten(2))

    def timestep_logits(self, x: torch.Tensor, timesteps: int | None = None) -> torch.Tensor:
        """Classifier output at every timestep, ``[T, B, num_classes]`` (``forward`` averages it over T)."""
        return self._classify(self._run(x, (), timesteps, to_end=True)[1])

    def forward(self, x: torch.Tensor, timesteps: int | None = None, return_features: Sequence[str] = ()):
        """Class logits ``[B, num_classes]`` (the mean over T); with ``return_features``, ``(logits, {layer:
        [T, B, C, H, W]})`` from the same pass."""
        features, last = self._run(x, return_features, timesteps, to_end=True)
        logits = self._classify(last).mean(0)
        if not return_features:
            return logits
        return logits, {name: features[name] for name in return_features}


def infer_kwargs(state: dict, path: Path) -> dict:
    """Width and class count (and PLIF neurons, when the file holds their ``w``) read off a VGG-11-BN state dict."""
    first_conv, first_norm = (f"features.{NEURON_INDICES[0] - k}" for k in (2, 1))
    last_conv = f"features.{NEURON_INDICES[-1] - 2}"
    require_keys(state, (f"{first_conv}.weight", f"{first_norm}.running_mean", f"{last_conv}.weight",
                         "classifier.6.weight"), "VGG-11 with batch norm", path)
    kwargs = {"width": width_of(state[f"{first_conv}.weight"].shape[0]),
              "num_classes": classes_of(state["classifier.6.weight"])}
    if f"{SHEET_LAYERS[0]}.w" in state:  # the first neuron's learnable time constant: the file's neurons are PLIF
        kwargs["neuron_kind"] = "plif"
    return kwargs


def connection(name: str) -> str:
    """The sheet layer whose convolution, batch norm or neuron a parameter belongs to (``features.0.weight`` ->
    ``features.2``), or ``classifier`` (linear layers and their neurons)."""
    if not name.startswith("features."):
        return "classifier"
    index = int(name.split(".")[1])
    return next(f"features.{i}" for i in NEURON_INDICES if i >= index)


FAMILY = Family(name="vgg11", label="VGG-11", model_class=SpikingVGG11, layer_areas=LAYER_AREAS,
                infer_kwargs=infer_kwargs, connections=connection, plain_defaults={"stem": "imagenet"},
                plain_notes="stem 'imagenet': the zoo's five max-pools (no tensor records them); a file trained "
                            "with the first max-pool removed needs stem='cifar'")
