"""Batch-norm calibration: set running statistics from data without training weights."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from spikingjelly.activation_based import functional
from torch import nn

from ..errors import InputError


def calibrate_batchnorm(model: nn.Module, batches: Iterable[torch.Tensor]) -> nn.Module:
    """Replace every BatchNorm's running mean/variance by its average over ``batches``.

    A freshly initialised spiking ResNet is silent beyond its first blocks, because
    batch norm in eval mode starts as the identity and LIF neurons need inputs above
    threshold. Running a few batches in train mode (weights untouched) makes each
    pre-activation roughly unit-variance, so an untrained network fires at every depth:
    the usual "untrained" control of topography studies. The model is modified in place
    and returned in eval mode.

    Examples
    --------
    >>> from topoanalysis.models import create_model
    >>> net = calibrate_batchnorm(create_model("tiny_spiking_resnet"), [torch.rand(4, 3, 16, 16)])
    >>> net.training
    False
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over all calibration batches
    model.train()
    seen = 0
    try:
        with torch.no_grad():
            for batch in batches:
                functional.reset_net(model)
                model(batch)
                seen += 1
    finally:
        functional.reset_net(model)
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        model.eval()
    if seen == 0:
        raise InputError("calibrate_batchnorm got no batches; pass at least one image batch")
    return model
