"""The two optimizers a training run can use, with their default learning rate and weight decay."""

from __future__ import annotations

import torch

OPTIMIZERS = {"adamw": {"lr": 5e-4, "weight_decay": 0.01}, "sgd": {"lr": 0.1, "weight_decay": 5e-4}}
"""AdamW is the paper's recipe (base LR 5e-4, cosine); SGD is Nesterov with momentum 0.9."""


def optimizer_settings(optimizer: str, lr: float | None, weight_decay: float | None) -> dict:
    """``{"lr", "weight_decay"}`` as a run uses them: the optimizer's defaults where a value is None.

    >>> optimizer_settings("adamw", 2e-3, None)
    {'lr': 0.002, 'weight_decay': 0.01}
    """
    defaults = OPTIMIZERS[optimizer]
    return {"lr": defaults["lr"] if lr is None else lr,
            "weight_decay": defaults["weight_decay"] if weight_decay is None else weight_decay}


def make_optimizer(optimizer: str, parameters, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW, or Nesterov SGD with momentum 0.9."""
    if optimizer == "adamw":
        return torch.optim.AdamW(parameters, lr=lr, weight_decay=weight_decay)
    return torch.optim.SGD(parameters, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
