"""Output shapes of a model's layers, found by one tiny forward pass."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from spikingjelly.activation_based import functional
from torch import nn


def layer_shapes(model: nn.Module, input_size_px: int, layers: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """``{layer: (C, H, W)}`` for one ``input_size_px`` square image, at T = 1.

    Examples
    --------
    >>> from topoanalysis.models import create_model
    >>> layer_shapes(create_model("tiny_spiking_cornet_rt"), 16, ["V2"])
    {'V2': (8, 8, 8)}
    """
    if not layers:
        return {}
    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    try:
        with torch.no_grad():
            x = torch.zeros(1, 3, input_size_px, input_size_px, device=device)
            features = model.forward_features(x, list(layers), timesteps=1)
    finally:
        functional.reset_net(model)
        model.train(was_training)
    return {name: tuple(int(s) for s in features[name].shape[2:]) for name in layers}
