import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from topoanalysis.safe_pickle import UnsafePickleError, restricted_load
from topoanalysis.training.augment import random_crop_flip, to_float_images
from topoanalysis.training.data import ImageFolder, default_cifar10_zip, load_cifar10_zip, load_cifar100_pickles


@pytest.mark.skipif(not default_cifar10_zip().is_file(), reason="CIFAR-10 zip not in ../shared/data")
def test_cifar10_is_read_from_the_zip_with_sorted_classes():
    data = load_cifar10_zip(split="test", limit_per_class=3)
    assert data.images.shape == (30, 32, 32, 3) and data.images.dtype == np.uint8
    assert data.classes[:3] == ("airplane", "automobile", "bird") and len(data.classes) == 10
    assert data.labels.tolist() == [c for c in range(10) for _ in range(3)]
    assert 20 < data.images.mean() < 235
    with pytest.raises(ValueError, match="unknown split 'val'"):
        load_cifar10_zip(split="val")


def test_missing_files_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"CIFAR-10 JPEG zip .*tried: .*nothing.zip\. Fix: pass --data PATH"):
        load_cifar10_zip(tmp_path / "nothing.zip")
    with pytest.raises(FileNotFoundError, match=r"tried: .*cifar10-jpeg.zip\. Fix: pass --data-path PATH"):
        load_cifar10_zip(tmp_path, flag="--data-path")  # a folder without the zip


def test_every_data_set_resolves_under_the_data_folder(tmp_path, monkeypatch):
    from topoanalysis.datasets.resolver import DATA_SETS, SHARED_DATA_DIR, default_data_path

    monkeypatch.delenv("TOPOANALYSIS_DATA", raising=False)
    assert {name: default_data_path(name) for name in DATA_SETS} == \
        {name: SHARED_DATA_DIR / folder for name, folder in DATA_SETS.items()}
    monkeypatch.setenv("TOPOANALYSIS_DATA", str(tmp_path))
    assert default_data_path("cifar10") == tmp_path / "cifar10-jpeg.zip"
    with pytest.raises(ValueError, match="unknown data set 'mnist'"):
        default_data_path("mnist")
    with pytest.raises(FileNotFoundError, match="CIFAR-100 'train' pickle not found"):
        load_cifar100_pickles(tmp_path)
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        ImageFolder(tmp_path / "imagenet", 32)


def test_cifar100_pickles_layout(tmp_path):
    rng = np.random.default_rng(0)
    planes = rng.integers(0, 256, size=(4, 3, 32, 32), dtype=np.uint8)
    with open(tmp_path / "train", "wb") as f:
        pickle.dump({b"data": planes.reshape(4, -1), b"fine_labels": [5, 1, 99, 0]}, f)
    with open(tmp_path / "meta", "wb") as f:
        pickle.dump({b"fine_label_names": [f"c{i}".encode() for i in range(100)]}, f)
    data = load_cifar100_pickles(tmp_path, "train")
    np.testing.assert_array_equal(data.images[2, :, :, 1], planes[2, 1])  # channel-first -> HWC
    assert data.labels.tolist() == [5, 1, 99, 0] and data.classes[99] == "c99"


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])  # the real files are protocol 2
def test_cifar100_pickles_any_protocol(tmp_path, protocol):
    planes = np.arange(2 * 3 * 32 * 32, dtype=np.int64).astype(np.uint8).reshape(2, -1)
    (tmp_path / "test").write_bytes(pickle.dumps({b"data": planes, b"fine_labels": [3, 4],
                                                  b"filenames": [b"a.png", b"b.png"]}, protocol=protocol))
    data = load_cifar100_pickles(tmp_path, "test")
    assert data.labels.tolist() == [3, 4] and data.images.shape == (2, 32, 32, 3)


class _Planted:
    """Unpickling this runs ``os.system``: a planted CIFAR-100 file must never get that far."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_cifar100_pickles_that_would_run_code_are_refused(tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "train").write_bytes(pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"fine_labels": [0],
                                                   b"x": _Planted(marker)}, protocol=2))
    with pytest.raises(UnsafePickleError, match=r"train asks for (posix|os|nt)\.system.*refusing"):
        load_cifar100_pickles(tmp_path, "train")
    assert not marker.exists()
    (tmp_path / "train").write_bytes(pickle.dumps({b"data": [1, 2]})[:-5])  # truncated
    with pytest.raises(ValueError, match="not a readable pickle"):
        load_cifar100_pickles(tmp_path, "train")
    eval_pickle = b"cbuiltins\neval\n(S'1+1'\ntR."
    with pytest.raises(UnsafePickleError, match="builtins.eval"):
        restricted_load(eval_pickle)


def test_image_folder_resizes_and_centre_crops(tmp_path):
    for cls, colour in (("cat", (255, 0, 0)), ("dog", (0, 0, 255))):
        (tmp_path / cls).mkdir()
        Image.new("RGB", (40, 20), colour).save(tmp_path / cls / "a.png")
    data = ImageFolder(tmp_path, 16)
    image, label = data[1]
    assert len(data) == 2 and data.classes == ("cat", "dog") and label == 1
    assert image.shape == (16, 16, 3) and tuple(image[8, 8]) == (0, 0, 255)


def test_crop_and_flip_are_seeded_and_keep_content():
    images = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    a = random_crop_flip(images, generator=torch.Generator().manual_seed(1), pad_px=0)
    b = random_crop_flip(images, generator=torch.Generator().manual_seed(1), pad_px=0)
    assert torch.equal(a, b)
    for k in range(2):  # without padding only flips remain: each image is itself or its mirror
        assert torch.equal(a[k], images[k]) or torch.equal(a[k], images[k].flip(-1))
    padded = random_crop_flip(images, generator=torch.Generator().manual_seed(2), pad_px=2, flip=False)
    assert padded.shape == images.shape
    # every crop is a shifted window: its non-zero values are a contiguous block of the original
    nz = padded[0, 0][padded[0, 0] != 0]
    assert set(nz.tolist()) <= set(images[0, 0].flatten().tolist())
    x = to_float_images(torch.full((1, 4, 4, 3), 255, dtype=torch.uint8))
    assert x.shape == (1, 3, 4, 4) and float(x.max()) == 1.0
