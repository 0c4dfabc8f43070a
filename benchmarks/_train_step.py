"""One training step as the trainer runs it, timed with and without the STC loss (train_speed, gpu_suite).

A step = forward (BPTT through T timesteps, channels_last input), cross-entropy, the STC loss
over ``layers`` when topographic, backward, optimizer update and a network reset. ``alpha =
beta = 0`` skips the feature gathering and the loss entirely, as the trainer does, so the
CE-only step is the "without" case. Steps alternate between the two settings after warm-up
and each one's median time is kept.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def stc_step_times(model, stc, layers: list[str], x: torch.Tensor, y: torch.Tensor, *, steps: int, bf16: bool,
                   forward=None, warmup: int = 1) -> dict:
    """Median seconds per step without and with the STC loss, and the warm-up time (compilation included).

    ``forward`` is the callable to run (e.g. ``torch.compile(model)``; default ``model``).
    """
    forward = model if forward is None else forward
    device = x.device
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(0)

    def step(topographic: bool) -> float:
        sync(device)
        start = time.perf_counter()
        with torch.autocast(device.type, torch.bfloat16, enabled=bf16):
            if topographic:
                logits, features = forward(x, return_features=layers)
            else:
                logits = forward(x)
            loss = F.cross_entropy(logits.float(), y)
        if topographic:
            loss = loss + stc(features, generator=generator)[0]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        functional.reset_net(model)
        sync(device)
        return time.perf_counter() - start

    warm = sum(step(False) + step(True) for _ in range(warmup))
    times = {False: [], True: []}
    for _ in range(steps):
        for topographic in (False, True):
            times[topographic].append(step(topographic))
    return {"ce_s": statistics.median(times[False]), "stc_s": statistics.median(times[True]), "warmup_s": warm}
