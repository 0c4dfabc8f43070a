"""Training data: CIFAR-10 from its JPEG zip, CIFAR-100 pickles, ImageFolder trees.

Small datasets (CIFAR) are decoded once into a uint8 array in memory and augmented on
whole batches; ImageFolder trees (ImageNet layout) are read lazily, image by image.
Everything yields ``uint8`` images ``[B, H, W, 3]`` and int64 labels; conversion to float,
augmentation and normalisation happen on the device (:mod:`.augment`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..datafiles import decode_image, open_zip, read_member
from ..datasets.resolver import DATA_SETS, default_data_path, find_data_file
from ..errors import DataNotFoundError, InputError
from ..safe_pickle import restricted_load

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class ImageArrays:
    """A decoded dataset split: ``images`` uint8 ``[N, H, W, 3]``, ``labels`` int64 ``[N]``."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    source: str

    def __len__(self) -> int:
        return len(self.labels)


def default_cifar10_zip() -> Path:
    """``$TOPOANALYSIS_DATA/cifar10-jpeg.zip`` if set, else ``../shared/data/cifar10-jpeg.zip``."""
    return default_data_path("cifar10")


def load_cifar10_zip(path: str | os.PathLike | None = None, split: str = "train",
                     limit_per_class: int | None = None, *, flag: str = "--data") -> ImageArrays:
    """Decode ``<split>/<class>/NNNN.jpg`` members of the CIFAR-10 JPEG zip into memory.

    Members are read straight from the zip (never unpacked); classes are the sorted
    folder names. ``limit_per_class`` keeps the first N files (sorted) of each class.
    """
    path = find_data_file(DATA_SETS["cifar10"], path, what="CIFAR-10 JPEG zip", flag=flag)
    if split not in ("train", "test"):
        raise InputError(f"unknown split {split!r}; valid: train, test")
    with open_zip(path, what="CIFAR-10 JPEGs") as archive:
        members = sorted(n for n in archive.namelist()
                         if n.startswith(f"{split}/") and n.lower().endswith(IMAGE_SUFFIXES))
        by_class: dict[str, list[str]] = {}
        for name in members:
            parts = name.split("/")
            if len(parts) == 3:
                by_class.setdefault(parts[1], []).append(name)
        if not by_class:
            raise InputError(f"{path} has no {split}/<class>/<image>.jpg members")
        classes = tuple(sorted(by_class))
        chosen = [(name, label) for label, cls in enumerate(classes)
                  for name in by_class[cls][:limit_per_class]]
        images = np.stack([_decode(read_member(archive, name), f"{path}:{name}") for name, _ in chosen])
    labels = np.array([label for _, label in chosen], dtype=np.int64)
    return ImageArrays(images, labels, classes, CIFAR10_MEAN, CIFAR10_STD, f"{path}:{split}")


def _decode(data: bytes, name: str) -> np.ndarray:
    return np.asarray(decode_image(data, name=name), dtype=np.uint8)


CIFAR100_CLASSES = 100
_CIFAR100_FIX = "re-extract cifar-100-python from the original archive"


def _cifar100_batch(file: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 [N, 32, 32, 3], fine labels int64 [N])`` of one CIFAR-100 pickle, checked."""
    with open(file, "rb") as handle:
        batch = restricted_load(handle, source=str(file), encoding="bytes")
    if not isinstance(batch, dict):
        raise InputError(f"{file} holds a {type(batch).__name__}, not CIFAR-100's dict; {_CIFAR100_FIX}")
    missing = [key.decode() for key in (b"data", b"fine_labels") if key not in batch]
    if missing:
        raise InputError(f"{file} has no {' or '.join(missing)} entry, so it is not a CIFAR-100 pickle; "
                         f"{_CIFAR100_FIX}")
    data = np.asarray(batch[b"data"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise InputError(f"{file}: its data is {data.dtype} {data.shape}, not uint8 rows of 3072 pixels (N x 3072); "
                         f"{_CIFAR100_FIX}")
    labels = batch[b"fine_labels"]
    if not isinstance(labels, (list, np.ndarray)) or len(labels) != len(data):
        raise InputError(f"{file}: fine_labels is not a list of one label per image ({len(data)}); {_CIFAR100_FIX}")
    labels = np.asarray(labels)
    if labels.size and (labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= CIFAR100_CLASSES):
        raise InputError(f"{file}: fine_labels must be whole numbers 0 to {CIFAR100_CLASSES - 1}; found "
                         f"{labels.min()} to {labels.max()} ({labels.dtype}); {_CIFAR100_FIX}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels.astype(np.int64)


def _cifar100_names(meta: Path) -> tuple[str, ...]:
    """The 100 fine class names from CIFAR-100's ``meta`` pickle, checked."""
    with open(meta, "rb") as handle:
        obj = restricted_load(handle, source=str(meta), encoding="bytes")
    names = obj.get(b"fine_label_names") if isinstance(obj, dict) else None
    if not (isinstance(names, list) and len(names) == CIFAR100_CLASSES and all(isinstance(n, bytes) for n in names)):
        raise InputError(f"{meta} holds no list of {CIFAR100_CLASSES} fine_label_names, so it is not CIFAR-100's "
                         f"meta file; {_CIFAR100_FIX}")
    return tuple(n.decode(errors="replace") for n in names)


def load_cifar100_pickles(directory: str | os.PathLike, split: str = "train") -> ImageArrays:
    """CIFAR-100 from the "python version" folder (files ``train``, ``test``, ``meta``).

    A pickle that loads but is not CIFAR-100's (missing entries, labels outside 0-99, other
    types) is a ValueError naming the file and what is wrong.
    """
    directory = Path(directory)
    file = directory / split
    if not file.is_file():
        raise DataNotFoundError(f"CIFAR-100 {split!r} pickle not found at {file}; pass the extracted "
                                "cifar-100-python folder (holding train, test and meta)")
    data, labels = _cifar100_batch(file)
    meta = directory / "meta"
    classes = _cifar100_names(meta) if meta.is_file() else tuple(str(i) for i in range(CIFAR100_CLASSES))
    return ImageArrays(np.ascontiguousarray(data), labels, classes, CIFAR100_MEAN, CIFAR100_STD,
                       f"{directory}:{split}")


class ImageFolder:
    """``root/<class>/<image>`` files (ImageNet layout), decoded lazily to ``size_px`` squares.

    Use with a ``torch.utils.data.DataLoader``; items are ``(uint8 [H, W, 3] array, label)``.
    Images are resized (shorter side) and centre-cropped to ``size_px``; random crops and
    flips are applied later on the device.
    """

    def __init__(self, root: str | os.PathLike, size_px: int) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataNotFoundError(f"image folder not found: {self.root}")
        self.classes = tuple(sorted(p.name for p in self.root.iterdir() if p.is_dir()))
        self.samples = [(f, label) for label, cls in enumerate(self.classes)
                        for f in sorted((self.root / cls).iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
        if not self.samples:
            raise InputError(f"{self.root} holds no <class>/<image>{'|'.join(IMAGE_SUFFIXES)} files")
        self.size_px = size_px

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        file, label = self.samples[index]
        image = decode_image(file)
        scale = self.size_px / min(image.size)
        resized = image.resize((max(self.size_px, round(image.width * scale)),
                                max(self.size_px, round(image.height * scale))), Image.BILINEAR)
        left = (resized.width - self.size_px) // 2
        top = (resized.height - self.size_px) // 2
        crop = resized.crop((left, top, left + self.size_px, top + self.size_px))
        return np.asarray(crop, dtype=np.uint8), label
