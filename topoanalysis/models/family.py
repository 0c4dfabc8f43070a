"""A model family: what the rest of the toolkit reads about an architecture.

Every registered model belongs to one :class:`Family`, declared in the family's own model file
(``resnet.py``, ``cornet.py``). Recording, sheets, the STC loss, the analyses, the report and
the CLI read only this description and the model protocol below; no layer name of one family
is written anywhere else.

The model protocol (what a family's network class provides):

* ``timesteps`` - its default number of steps T;
* ``feature_layers`` - the layers ``forward_features`` returns (recording uses that explicit forward for them,
  and forward hooks for any other module path);
* ``forward_features(x, layers, timesteps)`` - ``{layer: [T, B, C, H, W]}`` for sheet layers,
  units flattened channel-major (``c * H * W + h * W + w``), which is how positions are stored;
* ``timestep_logits(x, timesteps)`` - the readout at every step, ``[T, B, classes]``;
* ``forward(x, timesteps, return_features)`` - the logits (the family's readout over T) and,
  when asked, the features of the same pass (training with STC);
* optionally ``neuron_kinds`` - the ``neuron_kind`` values its constructor takes (default ``("lif", "relu")``;
  the ResNets and the VGG also take ``"if"`` and ``"plif"``), and ``layer_areas`` on an instance whose sheet
  layers depend on a constructor argument (:meth:`Family.areas_of`).

Each registered model (:data:`~topoanalysis.models.registry.MODELS`) adds its constructor defaults
(neuron kind, T); sheet sizes and neighbourhood widths follow each layer's area
(:mod:`topoanalysis.sheets`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..errors import InputError


@dataclass(frozen=True)
class Family:
    """One architecture family.

    Attributes
    ----------
    name : str
        Its name, e.g. ``"resnet18"``.
    label : str
        Its name in tables and figures, e.g. ``"ResNet-18"``.
    model_class : type
        The network class (its constructor's keyword arguments are the checkpoint's ``arch_kwargs``).
    layer_areas : dict
        Every layer that carries a cortical sheet (exact ``named_modules()`` path), in network
        order, and its area (``retina``, ``V1``, ``V2``, ``V4``, ``IT``); sheet sizes and
        neighbourhood widths follow the area (TDANN's per-area values, :mod:`topoanalysis.sheets`).
        A family whose sheet layers depend on a constructor argument (a depth) gives its default
        network's map here and sets ``layer_areas`` on each instance; :meth:`areas_of` reads that.
    infer_kwargs : callable
        ``(state_dict, path) -> constructor kwargs`` (stem, width, classes, ...) read off a plain
        state dict's tensor shapes; a ValueError when the keys are not this family's.
    connections : callable
        ``parameter name -> group`` for Fisher information: the connection (e.g. the input
        convolution into an area) or block a parameter belongs to.
    plain_defaults : dict
        Constructor kwargs that a plain state dict (no metadata) is loaded with unless told
        otherwise, and why (``plain_notes``).
    """

    name: str
    label: str
    model_class: type[nn.Module]
    layer_areas: dict[str, str]
    infer_kwargs: Callable[[dict, Path], dict]
    connections: Callable[[str], str]
    plain_defaults: dict = field(default_factory=dict)
    plain_notes: str = ""

    def areas_of(self, model: nn.Module) -> dict[str, str]:
        """The sheet layers -> areas of the built network ``model``: its own ``layer_areas`` when it sets one
        (a family whose depth is a constructor argument), else the family's."""
        return dict(getattr(model, "layer_areas", None) or self.layer_areas)


def require_keys(state: dict, keys: tuple[str, ...], family: str, path: Path) -> None:
    """ValueError when ``state`` lacks one of ``keys``: the file is not a ``family`` state dict."""
    for key in keys:
        if key not in state:
            raise InputError(f"{path}: no {key!r} in the state dict, so it is not a {family} with the reference "
                             f"key names (first keys: {list(state)[:5]}); pass the --arch that made it")


def check_choices(**choices: tuple[object, Sequence[str]]) -> None:
    """InputError for the first constructor option whose value is not a valid one:
    ``check_choices(stem=(stem, STEMS), norm=(norm, NORMS))``."""
    for label, (value, valid) in choices.items():
        if value not in valid:
            raise InputError(f"unknown {label} {value!r}; valid: {', '.join(valid)}", parameter=label)


def check_width_and_timesteps(width: float, timesteps: int) -> None:
    """InputError unless ``width`` gives the first stage at least one of its 64 channels and ``timesteps >= 1``."""
    if not (width > 0 and round(64 * width) >= 1):
        raise InputError(f"width must give at least one channel (64 * width >= 0.5), got {width}", parameter="width")
    if timesteps < 1:
        raise InputError(f"timesteps must be >= 1, got {timesteps}", parameter="timesteps")


def check_layers(layers: Sequence[str], valid: Sequence[str]) -> list[str]:
    """``layers`` without repeats, in order; InputError naming those not in ``valid`` (a model's sheet layers)."""
    wanted = list(dict.fromkeys(layers))
    unknown = sorted(set(wanted).difference(valid))
    if unknown:
        raise InputError(f"unknown layer(s) {unknown}; valid layers: {', '.join(valid)}")
    return wanted


def width_of(channels: int) -> float:
    """The width multiplier of a network whose first stage has ``channels`` channels (64 at width 1)."""
    return channels / 64


def classes_of(weight: torch.Tensor) -> int:
    """The class count of a linear readout's weight ``[classes, features]``."""
    return int(weight.shape[0])


def direct_encode(x: torch.Tensor, timesteps: int) -> torch.Tensor:
    """Direct encoding: images ``[B, 3, H, W]`` -> the same frame at every step, ``[T, B, 3, H, W]``; a 5-D
    (time-varying) input passes through."""
    if x.dim() == 5:
        return x
    if x.dim() != 4:
        raise InputError(f"expected images [B, 3, H, W] or [T, B, 3, H, W], got shape {tuple(x.shape)}")
    return x.unsqueeze(0).expand(int(timesteps), *x.shape)
