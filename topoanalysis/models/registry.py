"""Model registry: ``create_model(name, **kwargs)`` and ``list_models()``."""

from __future__ import annotations

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
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; registered models: {', '.join(list_models())}")
    return MODELS[name](**kwargs)
