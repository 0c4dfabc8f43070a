"""Batch augmentation on the device: random crops with padding and horizontal flips."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def to_float_images(images_uint8: torch.Tensor) -> torch.Tensor:
    """``uint8 [B, H, W, 3]`` -> ``float32 [B, 3, H, W]`` in [0, 1]."""
    return images_uint8.permute(0, 3, 1, 2).float().div_(255.0)


def random_crop_flip(images: torch.Tensor, *, generator: torch.Generator, pad_px: int = 4,
                     flip: bool = True) -> torch.Tensor:
    """Random ``H x W`` crops of the zero-padded images, each flipped left-right with p = 0.5.

    ``images`` is float ``[B, 3, H, W]``; one crop offset and flip per image, drawn from
    ``generator`` (on the CPU, so runs are reproducible across devices).

    Examples
    --------
    >>> x = torch.rand(2, 3, 8, 8)
    >>> random_crop_flip(x, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([2, 3, 8, 8])
    """
    batch, _, height, width = images.shape
    device = images.device
    if pad_px > 0:
        padded = F.pad(images, (pad_px, pad_px, pad_px, pad_px))
        top = torch.randint(0, 2 * pad_px + 1, (batch,), generator=generator).to(device)
        left = torch.randint(0, 2 * pad_px + 1, (batch,), generator=generator).to(device)
        rows = top[:, None] + torch.arange(height, device=device)  # [B, H]
        cols = left[:, None] + torch.arange(width, device=device)  # [B, W]
        index = torch.arange(batch, device=device)[:, None, None]
        images = padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    if flip:
        flips = (torch.rand(batch, generator=generator) < 0.5).to(device)
        images = torch.where(flips[:, None, None, None], images.flip(-1), images)
    return images.contiguous()
