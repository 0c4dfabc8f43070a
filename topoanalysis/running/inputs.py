"""The one way images reach a network: device choice, resizing and normalisation, batches of labelled images."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

BATCH_ACTIVATION_BUDGET = 16 * 4 * 224 * 224
"""Images x timesteps x pixels per default batch: 16 images at 224 px and T = 4."""
MAX_DEFAULT_BATCH = 64


def default_batch_size(input_size_px: int, timesteps: int) -> int:
    """Images per batch when none is given: 64, fewer where ``T x batch x pixels`` would pass
    :data:`BATCH_ACTIVATION_BUDGET` (a forward pass holds every step's activations of the batch).

    At 32 px every bundled model gets 64; a 224-px model at T = 4 gets 16, which ran the v1-maps command of a
    width-1 spiking ResNet-18 in 178 s and 2.1 GB against 273 s and 5.6 GB at 64 (one CPU thread,
    ``benchmarks/results/full_size_cpu.json``).

    Examples
    --------
    >>> default_batch_size(32, 4), default_batch_size(224, 4), default_batch_size(224, 10)
    (64, 16, 6)
    """
    return max(1, min(MAX_DEFAULT_BATCH, BATCH_ACTIVATION_BUDGET // (max(int(timesteps), 1) * int(input_size_px) ** 2)))


def default_device() -> torch.device:
    """CUDA when available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def preprocess(images: torch.Tensor, input_size_px: int | None, mean, std) -> torch.Tensor:
    """Resize ``[B, 3, H, W]`` images in [0, 1] to ``input_size_px`` (antialiased) and normalise."""
    if input_size_px is not None and images.shape[-2:] != (input_size_px, input_size_px):
        images = F.interpolate(images, size=(input_size_px, input_size_px), mode="bilinear",
                               antialias=True, align_corners=False)
    mean_t = torch.as_tensor(mean, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    std_t = torch.as_tensor(std, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images - mean_t) / std_t


def labelled_batches(images: np.ndarray, labels: np.ndarray, size_px: int | None, batch_size: int, device):
    """``(x, y)`` batches of uint8 ``[N, H, W, 3]`` images as pixels in [0, 1] ``[B, 3, H, W]`` (resized to
    ``size_px``, antialiased, clamped to [0, 1]) on ``device``, with their labels; not normalised."""
    for start in range(0, len(labels), batch_size):
        x = torch.from_numpy(images[start:start + batch_size]).to(device).permute(0, 3, 1, 2).float() / 255
        if size_px and x.shape[-2:] != (size_px, size_px):
            x = F.interpolate(x, size=(size_px, size_px), mode="bilinear", antialias=True,
                              align_corners=False).clamp_(0, 1)
        yield x, torch.from_numpy(labels[start:start + batch_size]).to(device)
