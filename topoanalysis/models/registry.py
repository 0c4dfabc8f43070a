"""Model registry: ``create_model(name, **kwargs)`` and ``list_models()``."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

from torch import nn

from ..errors import InputError
from . import cornet, resnet
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
    "spiking_cornet_rt": ModelEntry(cornet.FAMILY, {"neuron_kind": "lif", "timesteps": 10},
                                    "Spiking CORnet-RT (TSCornet/SCornet: LIF, tau 2.0, ATan surrogate, T = 10)"),
    "cornet_rt": ModelEntry(cornet.FAMILY, {"neuron_kind": "relu", "timesteps": 5},
                            "CORnet-RT itself (ReLUs; T = 5, the reference code's recurrence length)"),
    "tiny_spiking_cornet_rt": ModelEntry(cornet.FAMILY, {"neuron_kind": "lif", "timesteps": 4, **_TINY},
                                         "a 4-channel-base spiking CORnet-RT for tests: CIFAR stem, 10 classes, "
                                         "T = 4 (IT sees the image from step 3)"),
    "tiny_cornet_rt": ModelEntry(cornet.FAMILY, {"neuron_kind": "relu", "timesteps": 4, **_TINY},
                                 "the ReLU twin of tiny_spiking_cornet_rt, for tests of the ANN path"),
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


def check_arch_kwargs(name: str, kwargs: dict, *, as_flags: bool = False) -> None:
    """ValueError naming the first of ``kwargs`` that ``name``'s constructor does not take, or that has the wrong
    type or is out of :data:`ARCH_KWARG_LIMITS`; checked before anything is built. ``as_flags``: name the
    keys as command-line options (``--width``)."""
    model_class = family_of(name).model_class  # the registry sets the neuron kind
    parameters = inspect.signature(model_class.__init__, eval_str=True).parameters
    allowed = {key: p.annotation for key, p in parameters.items() if key not in ("self", "neuron_kind")}
    for key, value in kwargs.items():
        label = f"--{key.replace('_', '-')}" if as_flags else f"arch_kwargs {key!r}"
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
