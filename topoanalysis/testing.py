"""Small, fast fixtures for tests and examples: a tiny checkpoint and stimulus set."""

from __future__ import annotations

from .models.checkpoints import IMAGENET_MEAN, IMAGENET_STD
from .models.fresh import fresh_checkpoint
from .recording import preprocess
from .stimuli import StimulusSet, make_sine_gratings

TINY_INPUT_PX = 16


def tiny_gratings(n_orientations: int = 4, image_size_px: int = TINY_INPUT_PX) -> StimulusSet:
    """A small grating set: ``n_orientations`` x 2 SFs x 2 phases x 2 colours."""
    full = make_sine_gratings(image_size_px, 8.0)
    orientations = sorted(set(full.labels["orientation_deg"]))[:: max(1, 8 // n_orientations)]
    keep = (full.labels["orientation_deg"].isin(orientations) & full.labels["sf_index"].isin([1, 3])
            & full.labels["phase_rad"].isin(sorted(set(full.labels["phase_rad"]))[:2]))
    return full.subset(keep.to_numpy().nonzero()[0])


def tiny_checkpoint(seed: int = 0, *, calibrate: bool = True, arch: str = "tiny_spiking_resnet"):
    """``(model, spec)`` for a 4-channel-base spiking ResNet-18 at 16 px, T = 2.

    With ``calibrate`` its batch norm is calibrated on gratings so every layer fires.
    """
    images = None
    if calibrate:
        images = preprocess(make_sine_gratings(TINY_INPUT_PX, 8.0).batch(slice(None, None, 5)),
                            TINY_INPUT_PX, IMAGENET_MEAN, IMAGENET_STD)
    return fresh_checkpoint(arch, seed=seed, input_size_px=TINY_INPUT_PX, calibration_images=images,
                            provenance={"purpose": "tests"})
