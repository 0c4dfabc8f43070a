"""Model registry: ``create_model(name, **kwargs)`` and ``list_models()``."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

from torch import nn

from .resnet import SpikingResNet18


def spiking_resnet18(**kwargs) -> SpikingResNet18:
    """Spiking ResNet-18 (LIF, tau 2.0, ATan surrogate, detached reset, T = 4)."""
    kwargs.setdefault("timesteps", 4)
    return SpikingResNet18(neuron_kind="lif", **kwargs)


def resnet18(**kwargs) -> SpikingResNet18:
    """The non-spiking ANN twin: the same network with ReLUs and T = 1."""
    kwargs.setdefault("timesteps", 1)
    return SpikingResNet18(neuron_kind="relu", **kwargs)


def tiny_spiking_resnet(**kwargs) -> SpikingResNet18:
    """A 4-channel-base spiking ResNet-18 for tests: CIFAR stem, 10 classes, T = 2."""
    for key, value in {"num_classes": 10, "stem": "cifar", "width": 1 / 16, "timesteps": 2}.items():
        kwargs.setdefault(key, value)
    return SpikingResNet18(neuron_kind="lif", **kwargs)


def tiny_resnet(**kwargs) -> SpikingResNet18:
    """The ReLU twin of :func:`tiny_spiking_resnet` (T = 1), for tests of the ANN path."""
    for key, value in {"num_classes": 10, "stem": "cifar", "width": 1 / 16}.items():
        kwargs.setdefault(key, value)
    return resnet18(**kwargs)


MODELS: dict[str, Callable[..., nn.Module]] = {
    "spiking_resnet18": spiking_resnet18,
    "resnet18": resnet18,
    "tiny_spiking_resnet": tiny_spiking_resnet,
    "tiny_resnet": tiny_resnet,
}


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
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(list_models())}")
    # every registered model is a SpikingResNet18 whose neuron kind the registry sets
    parameters = inspect.signature(SpikingResNet18.__init__, eval_str=True).parameters
    allowed = {key: p.annotation for key, p in parameters.items() if key not in ("self", "neuron_kind")}
    for key, value in kwargs.items():
        label = f"--{key.replace('_', '-')}" if as_flags else f"arch_kwargs {key!r}"
        if key not in allowed:
            raise ValueError(f"arch_kwargs has an unknown key {key!r}; {name} takes {', '.join(allowed)}")
        kind = allowed[key]
        if not _fits(value, kind):
            what = {float: "a finite number", int: "a whole number", str: "a string", bool: "true or false"}
            raise ValueError(f"{label} must be {what.get(kind, kind)}, got {str(value)[:80]!r}")
        low, high = ARCH_KWARG_LIMITS.get(key, (None, None))
        if low is not None and not low <= value <= high:
            raise ValueError(f"{label} {value} is out of range; it must be {low:g} to {high:g}")


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
    return MODELS[name](**kwargs)
