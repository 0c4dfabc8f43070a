"""Checks on a training configuration before any work: numbers in range, and a resume that keeps its recipe."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from typing import TYPE_CHECKING

from ..errors import InputError
from .optimizers import OPTIMIZERS, optimizer_settings

if TYPE_CHECKING:
    from ..models.checkpoints import CheckpointSpec
    from .trainer import TrainConfig

logger = logging.getLogger(__name__)


def check_numbers(config: TrainConfig) -> None:
    """Fail before any work on a setting out of range, naming it (the command line adds its option)."""
    for name in ("epochs", "batch_size", "timesteps", "clusters_per_layer", "log_every", "max_steps",
                 "limit_per_class", "checkpoint_every"):
        value = getattr(config, name)
        if value is not None and value < 1:
            raise InputError(f"{name} must be >= 1, got {value}", parameter=name)
    for name in ("warmup_steps", "alpha", "beta", "weight_decay"):
        value = getattr(config, name)
        if value is not None and not value >= 0:
            raise InputError(f"{name} must be >= 0, got {value}", parameter=name)
    for name in ("lr", "width"):
        value = getattr(config, name)
        if value is not None and not value > 0:
            raise InputError(f"{name} must be > 0, got {value}", parameter=name)


RESUMABLE_CHANGES = ("out_dir", "resume", "notes", "data_path", "device", "precision", "workers", "max_steps",
                     "log_every", "checkpoint_every", "positions", "image_size_px")
"""Settings a resumed run may change: where things are and how the run is executed, not what is trained
(``positions`` is read only when a run starts; a resumed run keeps the checkpoint's sheets; the image size is
checked against the checkpoint's input size instead, as the recipe records the size used)."""


def check_resume_recipe(config: TrainConfig, spec: CheckpointSpec) -> None:
    """Refuse to resume with a different recipe (alpha, lr, epochs, ...) from the checkpoint's, naming each."""
    if config.dataset == "imagefolder" and config.image_size_px != spec.input_size_px:
        raise InputError(f"cannot resume {config.resume} at image_size_px {config.image_size_px}: it was trained at "
                         f"{spec.input_size_px} px. Pass {spec.input_size_px}", parameter="image_size_px")
    provenance = spec.provenance
    if "recipe" not in provenance:
        logger.warning("%s records no recipe; cannot check that the resumed settings match", config.resume)
        return
    recorded = json.loads(provenance["recipe"])
    requested = json.loads(json.dumps(asdict(config)))
    if recorded.get("optimizer") in OPTIMIZERS:  # None (an earlier card's record) means the optimizer's default
        recorded.update(optimizer_settings(recorded["optimizer"], recorded.get("lr"), recorded.get("weight_decay")))
    if requested["optimizer"] in OPTIMIZERS:
        requested.update(optimizer_settings(requested["optimizer"], requested["lr"], requested["weight_decay"]))
    differing = [key for key in sorted(recorded)
                 if key in requested and key not in RESUMABLE_CHANGES and recorded[key] != requested[key]]
    if differing:
        flags = {"clusters_per_layer": "--clusters", "image_size_px": "--image-size"}
        details = "; ".join(f"{flags.get(key, '--' + key.replace('_', '-'))} was {recorded[key]!r}, "
                            f"now {requested[key]!r}" for key in differing)
        raise InputError(f"cannot resume {config.resume} with a different recipe: {details}. Pass the "
                         "checkpoint's values, or start a new run in another --out")
