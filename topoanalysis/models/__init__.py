"""Spiking ResNets, the model registry and the checkpoint format."""

from .registry import create_model, list_models
from .resnet import BLOCK_LAYERS, SpikingResNet18

__all__ = ["BLOCK_LAYERS", "SpikingResNet18", "create_model", "list_models"]
