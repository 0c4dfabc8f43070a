"""Spiking CORnet-RT (TSCornet's network) and its ReLU twin, CORnet-RT itself.

CORnet-RT (Kubilius et al. 2018; METHODS 5) has four areas, V1, V2, V4 and IT, each a
``CORblock_RT``: an input convolution with bias (V1: 7x7 stride 4 at 224 px, or 3x3 stride 1
with the CIFAR stem; V2, V4, IT: 3x3 stride 2), a normalisation and a non-linearity; then
``skip = input + state``, a 3x3 convolution of ``skip`` (no bias), a normalisation and a
non-linearity, whose output is the area's new state and its output. Channels are
``round(64 * width) * (1, 2, 4, 8)``. Time is unrolled biologically: at step t, area k reads
area k-1's output from step t-1; at step 0 only V1 has an input (the other areas start from
zeros, so their first output is the non-linearity of the normalisation's bias). The decoder
is an average pool and a linear layer on IT's output.

The spiking form (TSCornet/SCornet; TDSNN paper, T = 10) replaces every ReLU by a
spikingjelly LIF neuron (tau 2, ATan surrogate, detached reset, hard reset to 0) whose
membrane carries over from step to step within a forward pass (each pass starts from rest); the
step loop is explicit because every area's step needs the previous step of its neighbours.
Module and state-dict names are the reference code's (``V1.conv_input``, ``V1.norm_input``,
``V1.conv1``, ``V1.norm1``, ..., ``decoder.linear``), so plain CORnet-RT state dicts load unchanged.

Where the papers are silent, an option with a default (notes in the style of METHODS):

* ``norm`` - ``"group"`` (default; the reference code's GroupNorm, which is per image and
  per step, so the same through time) with ``round(64 * width) // 2`` groups: the
  reference's 32 at width 1, so every area keeps its channels per group (2, 4, 8, 16);
  ``"batch"``: one BatchNorm per normalisation, its statistics shared by all steps.
* ``input_every_step`` - True (default; the reference code presents the image to V1 at every
  step); False presents it at step 0 only.
* ``readout`` - ``"mean"`` (default for both twins; the TDSNN readout: the decoder's output
  averaged over the T steps, as for the spiking ResNet) or ``"last"`` (the reference code's:
  IT's output at the last step; what plain CORnet-RT files are loaded with). Note that IT
  first sees the image at step 3, so ``"mean"`` averages in three image-free steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from spikingjelly.activation_based import functional, neuron
from torch import nn

from ..errors import InputError
from .family import Family, check_choices, check_layers, check_width_and_timesteps, classes_of, require_keys, width_of
from .resnet import SURROGATES

AREAS = ("V1", "V2", "V4", "IT")
STEMS = ("imagenet", "cifar")
NORMS = ("group", "batch")
READOUTS = ("mean", "last")
NEURONS = ("lif", "relu")


def _make_step_neuron(kind: str, tau: float, v_threshold: float, surrogate_name: str,
                      detach_reset: bool) -> nn.Module:
    """A single-step LIF neuron (its membrane persists between calls until ``reset_net``) or a ReLU."""
    if kind == "relu":
        return nn.ReLU()
    return neuron.LIFNode(tau=tau, decay_input=True, v_threshold=v_threshold, v_reset=0.0,
                          surrogate_function=SURROGATES[surrogate_name](), detach_reset=detach_reset,
                          step_mode="s")


class CORblockRT(nn.Module):
    """One area: input convolution, normalisation, neuron; recurrent convolution of input + state, norm, neuron."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, make_norm,
                 make_act) -> None:
        super().__init__()
        self.conv_input = nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2)
        self.norm_input = make_norm(out_channels)
        self.nonlin_input = make_act()
        self.conv1 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.norm1 = make_norm(out_channels)
        self.nonlin1 = make_act()

    def drive(self, inp: torch.Tensor) -> torch.Tensor:
        """The input branch before its neuron: ``norm_input(conv_input(inp))``."""
        return self.norm_input(self.conv_input(inp))

    def step(self, drive: torch.Tensor | None, state: torch.Tensor | None) -> torch.Tensor:
        """One time step from the input branch's pre-activation (None: no input yet) and the last state."""
        if drive is None:
            skip = state
        else:
            skip = self.nonlin_input(drive) if state is None else self.nonlin_input(drive) + state
        return self.nonlin1(self.norm1(self.conv1(skip)))


class SpikingCORnetRT(nn.Module):
    """CORnet-RT with LIF neurons (or ReLUs, for CORnet-RT itself); see the module docstring.

    Parameters
    ----------
    num_classes : int
        Size of the decoder output.
    stem : {"imagenet", "cifar"}
        V1's input convolution: 7x7 stride 4 (224 px, the reference) or 3x3 stride 1 (32 px).
    width : float
        Channel multiplier: area widths are ``round(64 * width) * (1, 2, 4, 8)``.
    timesteps : int
        Default number of steps T (an argument of ``forward`` overrides it); TDSNN uses 10.
    neuron_kind : {"lif", "relu"}
    norm, input_every_step, readout
        The options the papers leave open (module docstring).
    tau, v_threshold, surrogate_name, detach_reset
        LIF parameters.

    Examples
    --------
    >>> net = SpikingCORnetRT(num_classes=10, stem="cifar", width=0.0625, timesteps=4)
    >>> net(torch.rand(2, 3, 16, 16)).shape
    torch.Size([2, 10])
    """

    feature_layers = AREAS

    def __init__(self, num_classes: int = 1000, *, stem: str = "imagenet", width: float = 1.0,
                 timesteps: int = 10, neuron_kind: str = "lif", norm: str = "group",
                 input_every_step: bool = True, readout: str = "mean", tau: float = 2.0,
                 v_threshold: float = 1.0, surrogate_name: str = "atan", detach_reset: bool = True) -> None:
        super().__init__()
        check_choices(stem=(stem, STEMS), neuron_kind=(neuron_kind, NEURONS), norm=(norm, NORMS),
                      readout=(readout, READOUTS), surrogate_name=(surrogate_name, tuple(SURROGATES)))
        check_width_and_timesteps(width, timesteps)
        base = round(64 * width)
        self.timesteps = int(timesteps)
        self.stem, self.neuron_kind, self.norm = stem, neuron_kind, norm
        self.input_every_step, self.readout = bool(input_every_step), readout
        groups = base // 2 if base % 2 == 0 else 1

        def make_norm(channels: int) -> nn.Module:
            return nn.GroupNorm(groups, channels) if norm == "group" else nn.BatchNorm2d(channels)

        def make_act() -> nn.Module:
            return _make_step_neuron(neuron_kind, tau, v_threshold, surrogate_name, detach_reset)

        widths = [base, 2 * base, 4 * base, 8 * base]
        v1_kernel, v1_stride = (7, 4) if stem == "imagenet" else (3, 1)
        self.V1 = CORblockRT(3, widths[0], v1_kernel, v1_stride, make_norm, make_act)
        self.V2 = CORblockRT(widths[0], widths[1], 3, 2, make_norm, make_act)
        self.V4 = CORblockRT(widths[1], widths[2], 3, 2, make_norm, make_act)
        self.IT = CORblockRT(widths[2], widths[3], 3, 2, make_norm, make_act)
        self.decoder = nn.Sequential()
        self.decoder.add_module("avgpool", nn.AdaptiveAvgPool2d(1))
        self.decoder.add_module("flatten", nn.Flatten(1))
        self.decoder.add_module("linear", nn.Linear(widths[3], num_classes))

    def _images(self, x: torch.Tensor, timesteps: int | None) -> tuple[int, torch.Tensor, bool]:
        """``(T, images, static)``: 4-D input is one image per item (static), 5-D ``[T, B, 3, H, W]`` varies."""
        if x.dim() == 5:
            return x.shape[0], x, False
        if x.dim() != 4:
            raise InputError(f"expected images [B, 3, H, W] or [T, B, 3, H, W], got shape {tuple(x.shape)}")
        return (self.timesteps if timesteps is None else int(timesteps)), x, True

    def _run(self, x: torch.Tensor, timesteps: int | None, depth: int) -> list[list[torch.Tensor]]:
        """Outputs of the first ``depth`` areas at every step: ``outputs[area][t]`` is ``[B, C, H, W]``."""
        steps, images, static = self._images(x, timesteps)
        functional.reset_net(self)  # every pass starts from rest: the neurons' membranes live only within it
        blocks = [getattr(self, name) for name in AREAS[:depth]]
        v1_drive = blocks[0].drive(images) if static else None  # the same image at every step: convolve it once
        outputs: list[list[torch.Tensor]] = [[] for _ in blocks]
        for t in range(steps):
            for k, block in enumerate(blocks):
                if k == 0:
                    shown = t == 0 or self.input_every_step
                    drive = (v1_drive if static else block.drive(images[t])) if shown else None
                else:
                    drive = block.drive(outputs[k - 1][t - 1]) if t > 0 else None
                state = outputs[k][t - 1] if t > 0 else None
                if drive is None and state is None:  # an area before its first input: the reference's zeros
                    state = images.new_zeros(self._output_shape(outputs[k - 1][0], block))
                outputs[k].append(block.step(drive, state))
        return outputs

    @staticmethod
    def _output_shape(previous: torch.Tensor, block: CORblockRT) -> tuple[int, ...]:
        """Shape of ``block``'s output for the previous area's ``[B, C, H, W]`` output."""
        conv = block.conv_input
        size = [(n + 2 * conv.padding[i] - conv.kernel_size[i]) // conv.stride[i] + 1
                for i, n in enumerate(previous.shape[-2:])]
        return (previous.shape[0], conv.out_channels, *size)

    def forward_features(self, x: torch.Tensor, layers: Sequence[str],
                         timesteps: int | None = None) -> dict[str, torch.Tensor]:
        """Outputs ``[T, B, C, H, W]`` of the named areas; areas past the deepest requested one are not run."""
        wanted = check_layers(layers, AREAS)
        depth = max(AREAS.index(name) for name in wanted) + 1
        outputs = self._run(x, timesteps, depth)
        return {name: torch.stack(outputs[AREAS.index(name)]) for name in wanted}

    def timestep_logits(self, x: torch.Tensor, timesteps: int | None = None) -> torch.Tensor:
        """Decoder output at every step, ``[T, B, num_classes]``."""
        it = self.forward_features(x, ("IT",), timesteps)["IT"]
        return self.decoder(it.flatten(0, 1)).unflatten(0, it.shape[:2])

    def forward(self, x: torch.Tensor, timesteps: int | None = None, return_features: Sequence[str] = ()):
        """Class logits ``[B, num_classes]`` (the readout over the T steps); with ``return_features``,
        ``(logits, {area: [T, B, C, H, W]})`` from the same pass."""
        wanted = tuple(dict.fromkeys(("IT", *return_features)))
        features = self.forward_features(x, wanted, timesteps)
        it = features["IT"]
        per_step = self.decoder(it.flatten(0, 1)).unflatten(0, it.shape[:2])
        logits = per_step.mean(0) if self.readout == "mean" else per_step[-1]
        if not return_features:
            return logits
        return logits, {name: features[name] for name in return_features}


def infer_kwargs(state: dict, path: Path) -> dict:
    """Stem, width, class count and normalisation read off a CORnet-RT state dict (reference key names)."""
    require_keys(state, ("V1.conv_input.weight", "IT.conv1.weight", "decoder.linear.weight"), "CORnet-RT", path)
    conv = state["V1.conv_input.weight"]
    batch_norm = "V1.norm1.running_mean" in state
    return {"stem": "imagenet" if conv.shape[-1] == 7 else "cifar", "width": width_of(conv.shape[0]),
            "num_classes": classes_of(state["decoder.linear.weight"]), "norm": "batch" if batch_norm else "group"}


def connection(name: str) -> str:
    """The inter-area connection a parameter belongs to (TDSNN's Fisher groups, METHODS 1.4).

    ``V1.conv_input`` / ``V1.norm_input`` are retina->V1, ``V2.conv_input`` ... V1->V2, and so on
    (the connection into an area); ``V2.conv1`` / ``V2.norm1`` are V2's recurrent connection
    (``V2 recurrent``); the decoder is ``classifier``.
    """
    area, _, rest = name.partition(".")
    if area in AREAS:
        if rest.startswith(("conv_input.", "norm_input.")):
            source = "retina" if area == "V1" else AREAS[AREAS.index(area) - 1]
            return f"{source}->{area}"
        return f"{area} recurrent"
    return "classifier"


FAMILY = Family(name="cornet_rt", label="CORnet-RT", model_class=SpikingCORnetRT,
                layer_areas={area: area for area in AREAS}, infer_kwargs=infer_kwargs, connections=connection,
                plain_defaults={"readout": "last"},
                plain_notes="readout from IT's last step, as the reference code's decoder")
