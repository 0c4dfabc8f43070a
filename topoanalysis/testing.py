"""Small, fast fixtures for tests and examples: a tiny checkpoint and stimulus set."""

from __future__ import annotations

import numpy as np
import xarray as xr

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


def planted_v1_recording(pref_deg: np.ndarray, xy_mm: np.ndarray, *, sf_pref_index: np.ndarray | None = None,
                         color_pref: np.ndarray | None = None, kappa: float = 2.0, image_size_px: int = 32,
                         layer: str = "layer2.0") -> xr.Dataset:
    """A grating "recording" whose units have planted preferences at known positions.

    Each unit responds ``exp(kappa (cos(2 (theta - pref)) - 1))`` to orientation ``theta``,
    times 1 at its preferred SF index (0.5 elsewhere) and 1 for its preferred colour
    (0.5 for the other), so its tuning curves peak exactly at the planted values. The
    result has the layout of :func:`topoanalysis.recording.record`'s output.
    """
    pref_deg = np.asarray(pref_deg, dtype=np.float64)
    n_units = len(pref_deg)
    stimuli = make_sine_gratings(image_size_px, 8.0)
    labels = stimuli.labels
    sf_pref_index = np.zeros(n_units, int) if sf_pref_index is None else np.asarray(sf_pref_index)
    color_pref = np.zeros(n_units, int) if color_pref is None else np.asarray(color_pref)
    theta = np.deg2rad(labels["orientation_deg"].to_numpy())[:, None]
    orientation = np.exp(kappa * (np.cos(2 * (theta - np.deg2rad(pref_deg)[None, :])) - 1))
    sf_gain = np.where(labels["sf_index"].to_numpy()[:, None] == sf_pref_index[None, :], 1.0, 0.5)
    color_gain = np.where(labels["color_index"].to_numpy()[:, None] == color_pref[None, :], 1.0, 0.5)
    coords = {"stimulus": labels["stimulus_id"].to_numpy().astype(str),
              **{c: ("stimulus", labels[c].to_numpy()) for c in labels.columns if c != "stimulus_id"},
              "layer": ("unit", np.full(n_units, layer)), "channel": ("unit", np.zeros(n_units, int)),
              "row": ("unit", np.arange(n_units)), "col": ("unit", np.zeros(n_units, int)),
              "x_mm": ("unit", np.asarray(xy_mm, float)[:, 0]), "y_mm": ("unit", np.asarray(xy_mm, float)[:, 1])}
    responses = (orientation * sf_gain * color_gain).astype(np.float32)
    return xr.Dataset({"responses": (("stimulus", "unit"), responses)}, coords=coords,
                      attrs={"stimulus_set": stimuli.name, "layers": [layer]})
