"""The one stimulus-set type every generator and loader returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class StimulusSet:
    """Images plus a table of labels, one row per image.

    Parameters
    ----------
    name : str
        Short identifier, e.g. ``"sine_gratings"`` or ``"floc"``.
    images : numpy.ndarray
        ``uint8`` array of shape ``(N, H, W, 3)`` (RGB).
    labels : pandas.DataFrame
        ``N`` rows in image order with a unique ``stimulus_id`` column; every other
        column becomes a coordinate on the ``stimulus`` dimension of recordings.
    degrees : float
        Visual degrees spanned by the image width.

    Examples
    --------
    >>> s = StimulusSet("demo", np.zeros((2, 8, 8, 3), np.uint8),
    ...                 pd.DataFrame({"stimulus_id": ["a", "b"]}), degrees=8.0)
    >>> s.batch([0, 1]).shape
    torch.Size([2, 3, 8, 8])
    """

    name: str
    images: np.ndarray
    labels: pd.DataFrame
    degrees: float

    def __post_init__(self) -> None:
        images = self.images
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise InputError(
                f"StimulusSet {self.name!r}: images must be uint8 of shape (N, H, W, 3), "
                f"got {images.dtype} {images.shape}"
            )
        if len(self.labels) != len(images):
            raise InputError(
                f"StimulusSet {self.name!r}: {len(images)} images but {len(self.labels)} label rows"
            )
        if "stimulus_id" not in self.labels.columns:
            raise InputError(f"StimulusSet {self.name!r}: labels need a 'stimulus_id' column")
        if not self.labels["stimulus_id"].is_unique:
            raise InputError(f"StimulusSet {self.name!r}: 'stimulus_id' values must be unique")
        if not self.degrees > 0:
            raise InputError(f"StimulusSet {self.name!r}: degrees must be > 0, got {self.degrees}")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_size_px(self) -> tuple[int, int]:
        """``(height, width)`` of the images in pixels."""
        return self.images.shape[1], self.images.shape[2]

    def batch(self, indices, device: str | torch.device | None = None) -> torch.Tensor:
        """Images ``indices`` as a float32 tensor ``(B, 3, H, W)`` with values in [0, 1].

        With ``device``, the uint8 pixels are moved first and converted there.
        """
        import torch  # here, so that loading stimuli (and the metrics) needs no torch

        chunk = torch.from_numpy(np.ascontiguousarray(self.images[indices]))
        if device is not None:
            chunk = chunk.to(device, non_blocking=True)
        return chunk.permute(0, 3, 1, 2).float().div_(255.0)

    def subset(self, indices) -> StimulusSet:
        """A new set with the images and label rows at ``indices``, in that order."""
        indices = np.asarray(indices)
        labels = self.labels.iloc[indices].reset_index(drop=True)
        return StimulusSet(self.name, self.images[indices], labels, self.degrees)


def rgb_array(image, size_px: int | None = None) -> np.ndarray:
    """A PIL image as ``uint8 (H, W, 3)`` RGB, resized to ``size_px`` squares (bicubic) if given.

    The one conversion every loader uses, so all stimulus sets are resized the same way.
    """
    from PIL import Image

    image = image.convert("RGB")
    if size_px is not None:
        image = image.resize((int(size_px),) * 2, Image.Resampling.BICUBIC)
    return np.asarray(image, dtype=np.uint8)
