"""Model registry: ``create_model(name, **kwargs)`` and ``list_models()``."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

from torch import nn

from ..errors import InputError
from . import cornet, resnet, resnet_deep, spikformer, vgg
from .family import Family


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its family and the constructor defaults that make it (neuron, T, size)."""

    family: Family
    defaults: dict
    description: str

    def build(self, **kwargs) -> nn.Module:
        return self.family.model_class(**{**self.defaults, **kwargs})


_TINY = {"num_classes": 10, "stem": "cifar", "width": 1 / 16}
_TINY_SPIKFORMER = {**_TINY, "embed_dim": 256, "depth": 2, "num_heads": 1}
MODELS: dict[str, ModelEntry] = {
    "spiking_resnet18": ModelEntry(resnet.FAMILY, {"neuron_kind": "lif", "timesteps": 4},
                                   "Spiking ResNet-18 (LIF, tau 2.0, ATan surrogate, detached reset, T = 4)"),
    "resnet18": ModelEntry(resnet.FAMILY, {"neuron_kind": "relu", "timesteps": 1},
                           "the non-spiking ANN twin: the same network with ReLUs and T = 1"),
    "tiny_spiking_resnet": ModelEntry(resnet.FAMILY, {"neuron_kind": "lif", "timesteps": 2, **_TINY},
                                      "a 4-channel-base spiking ResNet-18 for tests: CIFAR stem, 10 classes, T = 2"),
    "tiny_resnet": ModelEntry(resnet.FAMILY, {"neuron_kind": "relu", "timesteps": 1, **_TINY},
                              "the ReLU twin of tiny_spiking_resnet (T = 1), for tests of the ANN path"),
    "sew_resnet18": ModelEntry(resnet.FAMILY, {"neuron_kind": "lif", "timesteps": 4, "connect": "ADD"},
                               "SEW ResNet-18 (Fang et al. 2021; spikingjelly's sew_resnet18: spiking branches joined "
                               "by a connect function, ADD by default; LIF, T = 4)"),
    "tiny_sew_resnet": ModelEntry(resnet.FAMILY, {"neuron_kind": "lif", "timesteps": 2, "connect": "ADD", **_TINY},
                                  "a 4-channel-base SEW ResNet-18 for tests (ADD), T = 2"),
    "spiking_resnet34": ModelEntry(resnet_deep.FAMILY34, {"neuron_kind": "lif", "timesteps": 4},
                                   "Spiking ResNet-34 (spikingjelly's spiking_resnet34: the neuron after the residual "
                                   "sum; LIF, T = 4; neuron_kind='if' or 'plif' for IF or PLIF neurons)"),
    "resnet34": ModelEntry(resnet_deep.FAMILY34, {"neuron_kind": "relu", "timesteps": 1},
                           "the ReLU twin of spiking_resnet34 (torchvision's resnet34), T = 1"),
    "sew_resnet34": ModelEntry(resnet_deep.FAMILY34, {"neuron_kind": "lif", "timesteps": 4, "connect": "ADD"},
                               "SEW ResNet-34 (spikingjelly's sew_resnet34; connect ADD by default; LIF, T = 4)"),
    "spiking_resnet50": ModelEntry(resnet_deep.FAMILY50, {"neuron_kind": "lif", "timesteps": 4},
                                   "Spiking ResNet-50 (spikingjelly's spiking_resnet50: bottleneck blocks, the neuron "
                                   "after the residual sum; LIF, T = 4)"),
    "resnet50": ModelEntry(resnet_deep.FAMILY50, {"neuron_kind": "relu", "timesteps": 1},
                           "the ReLU twin of spiking_resnet50 (torchvision's resnet50), T = 1"),
    "sew_resnet50": ModelEntry(resnet_deep.FAMILY50, {"neuron_kind": "lif", "timesteps": 4, "connect": "ADD"},
                               "SEW ResNet-50 (spikingjelly's sew_resnet50; connect ADD by default; LIF, T = 4)"),
    "tiny_spiking_resnet34": ModelEntry(resnet_deep.FAMILY34, {"neuron_kind": "lif", "timesteps": 2, **_TINY},
                                        "a 4-channel-base spiking ResNet-34 for tests: CIFAR stem, 10 classes, T = 2"),
    "tiny_resnet34": ModelEntry(resnet_deep.FAMILY34, {"neuron_kind": "relu", "timesteps": 1, **_TINY},
                                "the ReLU twin of tiny_spiking_resnet34 (T = 1)"),
    "tiny_spiking_resnet50": ModelEntry(resnet_deep.FAMILY50, {"neuron_kind": "lif", "timesteps": 2, **_TINY},
                                        "a 4-channel-base spiking ResNet-50 for tests: CIFAR stem, 10 classes, T = 2"),
    "tiny_resnet50": ModelEntry(resnet_deep.FAMILY50, {"neuron_kind": "relu", "timesteps": 1, **_TINY},
                                "the ReLU twin of tiny_spiking_resnet50 (T = 1)"),
    "spiking_vgg11_bn": ModelEntry(vgg.FAMILY, {"neuron_kind": "lif", "timesteps": 4},
                                   "Spiking VGG-11 with batch norm (spikingjelly's spiking_vgg11_bn; LIF, T = 4)"),
    "vgg11_bn": ModelEntry(vgg.FAMILY, {"neuron_kind": "relu", "timesteps": 1},
                           "the ReLU twin of spiking_vgg11_bn (torchvision's vgg11_bn), T = 1"),
    "tiny_spiking_vgg11_bn": ModelEntry(vgg.FAMILY, {"neuron_kind": "lif", "timesteps": 2, **_TINY},
                                        "a 4-channel-base spiking VGG-11-BN for tests: CIFAR stem (first max-pool "
                                        "removed), 10 classes, T = 2"),
    "tiny_vgg11_bn": ModelEntry(vgg.FAMILY, {"neuron_kind": "relu", "timesteps": 1, **_TINY},
                                "the ReLU twin of tiny_spiking_vgg11_bn (T = 1)"),
    "spiking_cornet_rt": ModelEntry(cornet.FAMILY, {"neuron_kind": "lif", "timesteps": 10},
                                    "Spiking CORnet-RT (TSCornet/SCornet: LIF, tau 2.0, ATan surrogate, T = 10)"),
    "cornet_rt": ModelEntry(cornet.FAMILY, {"neuron_kind": "relu", "timesteps": 5},
                            "CORnet-RT itself (ReLUs; T = 5, the reference code's recurrence length)"),
    "tiny_spiking_cornet_rt": ModelEntry(cornet.FAMILY, {"neuron_kind": "lif", "timesteps": 4, **_TINY},
                                         "a 4-channel-base spiking CORnet-RT for tests: CIFAR stem, 10 classes, "
                                         "T = 4 (IT sees the image from step 3)"),
    "tiny_cornet_rt": ModelEntry(cornet.FAMILY, {"neuron_kind": "relu", "timesteps": 4, **_TINY},
                                 "the ReLU twin of tiny_spiking_cornet_rt, for tests of the ANN path"),
    "spikformer": ModelEntry(spikformer.FAMILY, {"neuron_kind": "lif", "timesteps": 4},
                             "Spikformer-8-512 (Zhou et al. 2023; TSpikformer's network): ImageNet stem, 224 px -> "
                             "14x14 tokens, 8 heads, 8 blocks; LIF, tau 2.0, ATan surrogate, detached reset, T = 4"),
    "spikformer_relu": ModelEntry(spikformer.FAMILY, {"neuron_kind": "relu", "timesteps": 1},
                                  "the non-spiking twin: the same transformer with ReLUs and T = 1"),
    "tiny_spikformer": ModelEntry(spikformer.FAMILY, {"neuron_kind": "lif", "timesteps": 2, "v_threshold": 0.5,
                                               **_TINY_SPIKFORMER},
                                  "a 16-channel, 1-head, 2-block Spikformer for tests (16 px -> 4x4 tokens, CIFAR "
                                  "stem, 10 classes, T = 2); LIF threshold 0.5, so its untrained attention fires"),
    "tiny_spikformer_relu": ModelEntry(spikformer.FAMILY, {"neuron_kind": "relu", "timesteps": 1, **_TINY_SPIKFORMER},
                                       "the ReLU twin of tiny_spikformer (T = 1), for tests of the ANN path"),
}
"""Every model by name; a new family adds its entries here and its :class:`Family` in its own file."""


def family_of(name: str) -> Family:
    """The :class:`Family` of registered model ``name``."""
    if name not in MODELS:
        raise InputError(f"unknown model {name!r}; registered models: {', '.join(list_models())}")
    return MODELS[name].family


def families() -> dict[str, Family]:
    """Every registered family by name."""
    return {entry.family.name: entry.family for entry in MODELS.values()}


ARCH_KWARG_LIMITS = {"width": (1 / 64, 4.0), "timesteps": (1, 256), "num_classes": (1, 100_000),
                     "tau": (1e-6, 1e6), "v_threshold": (1e-6, 1e6)}
"""Allowed ranges (inclusive) of the constructor's numbers: width 4 is a 176 M-parameter ResNet-18, T 256
and 100,000 classes are far past any published model; larger values are refused, not built."""
MAX_TIMESTEPS = ARCH_KWARG_LIMITS["timesteps"][1]


def _fits(value, kind) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, kind) and (kind is bool or not isinstance(value, bool))


_FLAGS = {"neuron_kind": "--neuron", "surrogate_name": "--surrogate"}
"""Command-line options whose names are not the constructor argument's with dashes."""


def _check_neuron_kind(name: str, kind, label: str) -> None:
    """ValueError unless ``kind`` is a neuron registered model ``name`` may have: the ReLU twins only ``"relu"``,
    a spiking model any spiking neuron of its class (``neuron_kinds``; a class without one: LIF only), so a
    spiking name never holds ReLUs and a ReLU name never holds spiking neurons."""
    entry = MODELS[name]
    family = entry.family
    spiking = [k for k in getattr(family.model_class, "neuron_kinds", ("lif", "relu")) if k != "relu"]
    if entry.defaults.get("neuron_kind") == "relu":
        if kind != "relu":
            others = [other for other, e in MODELS.items() if e.family is family and other != name
                      and e.defaults.get("neuron_kind") != "relu" and not other.startswith("tiny_")]
            raise InputError(f"{label} {str(kind)[:40]!r}: {name} is a ReLU network; pass a spiking architecture "
                             f"of its family ({', '.join(others) or 'none registered'}) for spiking neurons")
    elif kind not in spiking:
        raise InputError(f"{label} must be one of {', '.join(spiking)} for {name}, got {str(kind)[:40]!r} (its ReLU "
                         "twin is a separate architecture)")


def check_arch_kwargs(name: str, kwargs: dict, *, as_flags: bool = False) -> None:
    """ValueError naming the first of ``kwargs`` that ``name``'s constructor does not take, or that has the wrong
    type or is out of :data:`ARCH_KWARG_LIMITS`, or a ``neuron_kind`` the model may not have (IF or PLIF for a
    spiking model, never across the spiking / ReLU line); checked before anything is built. ``as_flags``: name the
    keys as command-line options (``--width``)."""
    model_class = family_of(name).model_class
    parameters = inspect.signature(model_class.__init__, eval_str=True).parameters
    allowed = {key: p.annotation for key, p in parameters.items() if key != "self"}
    for key, value in kwargs.items():
        label = _FLAGS.get(key, f"--{key.replace('_', '-')}") if as_flags else f"arch_kwargs {key!r}"
        if key == "neuron_kind":
            _check_neuron_kind(name, value, label if as_flags else key)
            continue
        if key not in allowed:
            raise InputError(f"arch_kwargs has an unknown key {key!r}; {name} takes {', '.join(allowed)}")
        kind = allowed[key]
        if not _fits(value, kind):
            what = {float: "a finite number", int: "a whole number", str: "a string", bool: "true or false"}
            raise InputError(f"{label} must be {what.get(kind, kind)}, got {str(value)[:80]!r}")
        low, high = ARCH_KWARG_LIMITS.get(key, (None, None))
        if low is not None and not low <= value <= high:
            raise InputError(f"{label} {value} is out of range; it must be {low:g} to {high:g}")


def constructor_kwargs(name: str, kwargs: dict) -> dict:
    """Every constructor argument ``create_model(name, **kwargs)`` builds with: the class's defaults, then the
    registry entry's, then ``kwargs`` (e.g. the class count of a checkpoint whose card records none)."""
    entry = MODELS[name] if name in MODELS else family_of(name)
    parameters = inspect.signature(entry.family.model_class.__init__).parameters
    defaults = {key: p.default for key, p in parameters.items() if p.default is not inspect.Parameter.empty}
    return {**defaults, **entry.defaults, **kwargs}


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`."""
    return sorted(MODELS)


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model.

    Examples
    --------
    >>> create_model("tiny_spiking_resnet").timesteps
    2
    """
    check_arch_kwargs(name, kwargs)
    return MODELS[name].build(**kwargs)
