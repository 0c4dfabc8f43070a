"""Small, fast fixtures for tests and examples: a tiny checkpoint and stimulus set."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .models.checkpoints import IMAGENET_MEAN, IMAGENET_STD
from .models.fresh import fresh_checkpoint
from .running.inputs import preprocess
from .stimuli import StimulusSet, make_sine_gratings

TINY_INPUT_PX = 16


def tiny_gratings(n_orientations: int = 4, image_size_px: int = TINY_INPUT_PX) -> StimulusSet:
    """A small grating set: ``n_orientations`` x 2 SFs x 2 phases x 2 colours."""
    full = make_sine_gratings(image_size_px, 8.0)
    orientations = sorted(set(full.labels["orientation_deg"]))[:: max(1, 8 // n_orientations)]
    keep = (full.labels["orientation_deg"].isin(orientations) & full.labels["sf_index"].isin([1, 3])
            & full.labels["phase_rad"].isin(sorted(set(full.labels["phase_rad"]))[:2]))
    return full.subset(keep.to_numpy().nonzero()[0])


def tiny_checkpoint(seed: int = 0, *, calibrate: bool = True, arch: str = "tiny_spiking_resnet",
                    calibrate_on: str = "gratings"):
    """``(model, spec)`` for a 4-channel-base spiking ResNet-18 at 16 px, T = 2 (``arch="tiny_resnet"``: its ReLU
    twin).

    With ``calibrate`` its batch norm is calibrated on the gratings (or, with
    ``calibrate_on="floc"``, on 200 fLoc images) so every layer fires for those stimuli.
    """
    images = None
    if calibrate:
        if calibrate_on == "floc":
            from .stimuli import load_floc

            stimuli = load_floc(image_size_px=TINY_INPUT_PX, max_per_category=20).batch(slice(None))
        else:
            stimuli = make_sine_gratings(TINY_INPUT_PX, 8.0).batch(slice(None, None, 5))
        images = preprocess(stimuli, TINY_INPUT_PX, IMAGENET_MEAN, IMAGENET_STD)
    return fresh_checkpoint(arch, seed=seed, input_size_px=TINY_INPUT_PX, calibration_images=images,
                            provenance={"purpose": "tests", "calibrated_on": calibrate_on if calibrate else "none"})


def planted_v1_recording(pref_deg: np.ndarray, xy_mm: np.ndarray, *, sf_pref_index: np.ndarray | None = None,
                         color_pref: np.ndarray | None = None, kappa: float = 2.0, image_size_px: int = 32,
                         layer: str = "V1", gain: np.ndarray | None = None) -> xr.Dataset:
    """A grating "recording" whose units have planted preferences at known positions.

    Each unit responds ``exp(kappa (cos(2 (theta - pref)) - 1))`` to orientation ``theta``,
    times 1 at its preferred SF index (0.5 elsewhere) and 1 for its preferred colour
    (0.5 for the other), so its tuning curves peak exactly at the planted values; all of it
    times the unit's ``gain`` (default: spread evenly over 0.75-1.25 along the unit order,
    so tuning depths differ and a percentile mask has a cutoff to apply). The result has the
    layout of :func:`topoanalysis.running.recording.record`'s output.
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
    if gain is None:
        gain = 0.75 + 0.5 * ((np.arange(n_units) * 0.6180339887) % 1.0)  # golden-ratio sequence: even spread
    responses = (orientation * sf_gain * color_gain * np.asarray(gain, float)[None, :]).astype(np.float32)
    return xr.Dataset({"responses": (("stimulus", "unit"), responses)}, coords=coords,
                      attrs={"stimulus_set": stimuli.name, "layers": [layer]})


def planted_it_recording(xy_mm: np.ndarray, face_gain: np.ndarray, *, rng: np.random.Generator,
                         n_per_category: int = 24, noise: float = 0.05, layer: str = "IT",
                         stimulus_set: str = "floc") -> xr.Dataset:
    """A category "recording" whose units prefer faces by a planted, position-dependent gain.

    Each unit responds ``0.2 + face_gain * [face image] + noise`` (clipped at 0). With
    ``stimulus_set="floc"`` the stimuli carry fLoc ``category``/``domain`` labels (ten
    categories, scrambled excluded); with ``"rsa92"`` they carry the 92-image set's boolean
    ``face`` and ``body`` labels (24 faces, 24 bodies, 44 others).
    """
    face_gain = np.asarray(face_gain, dtype=np.float64)
    if stimulus_set == "floc":
        from .stimuli.floc import FLOC_CATEGORIES, FLOC_DOMAINS

        domain_of = {c: d for d, cats in FLOC_DOMAINS.items() for c in cats}
        categories = np.repeat([c for c in FLOC_CATEGORIES if c != "scrambled"], n_per_category)
        labels = {"category": categories, "domain": np.array([domain_of[c] for c in categories])}
        is_face = labels["domain"] == "faces"
    else:
        kinds = np.array(["face"] * 24 + ["body"] * 24 + ["other"] * 44)
        labels = {"face": kinds == "face", "body": kinds == "body"}
        is_face = labels["face"]
    n_stimuli, n_units = len(is_face), len(face_gain)
    responses = 0.2 + is_face[:, None] * face_gain[None, :] + rng.normal(0, noise, (n_stimuli, n_units))
    coords = {"stimulus": [f"{stimulus_set}-{i}" for i in range(n_stimuli)],
              **{name: ("stimulus", values) for name, values in labels.items()},
              "layer": ("unit", np.full(n_units, layer)), "channel": ("unit", np.zeros(n_units, int)),
              "row": ("unit", np.arange(n_units)), "col": ("unit", np.zeros(n_units, int)),
              "x_mm": ("unit", np.asarray(xy_mm, float)[:, 0]), "y_mm": ("unit", np.asarray(xy_mm, float)[:, 1])}
    return xr.Dataset({"responses": (("stimulus", "unit"), np.clip(responses, 0, None).astype(np.float32))},
                      coords=coords, attrs={"stimulus_set": stimulus_set, "layers": [layer]})
