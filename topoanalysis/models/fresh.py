"""A freshly initialised model with its cortical sheets: the start of every checkpoint."""

from __future__ import annotations

import numpy as np
import torch

from ..sheets import default_sheets
from .calibration import calibrate_batchnorm
from .checkpoints import IMAGENET_MEAN, IMAGENET_STD, CheckpointSpec, check_spec_numbers
from .registry import check_arch_kwargs, create_model, family_of
from .shapes import layer_shapes


def fresh_checkpoint(arch: str, *, seed: int, input_size_px: int, arch_kwargs: dict | None = None,
                     visual_degrees: float = 8.0, layer_areas: dict[str, str] | None = None,
                     calibration_images: torch.Tensor | None = None, calibration_batch_size: int = 64,
                     provenance: dict | None = None):
    """Build ``arch`` with seeded weights and retinotopic sheets; returns ``(model, spec)``.

    ``calibration_images`` (normalised, ``[N, 3, H, W]``), when given, set the batch-norm
    running statistics (:func:`calibrate_batchnorm`) so the untrained network responds
    at every depth; weights stay at their initialisation. Out-of-range numbers are a ValueError
    before anything is built (:func:`~topoanalysis.models.checkpoints.check_spec_numbers`,
    :func:`~topoanalysis.models.registry.check_arch_kwargs`).
    """
    check_spec_numbers(input_size_px=input_size_px, visual_degrees=visual_degrees)
    check_arch_kwargs(arch, arch_kwargs or {})
    torch.manual_seed(seed)
    model = create_model(arch, **(arch_kwargs or {}))
    areas = family_of(arch).areas_of(model) if layer_areas is None else dict(layer_areas)
    shapes = layer_shapes(model, input_size_px, list(areas))
    sheets = default_sheets(shapes, areas, rng=np.random.default_rng(seed))
    notes = {"weights": f"untrained, torch.manual_seed({seed})",
             "sheets": f"retinotopic initialisation, numpy seed {seed}"}
    if calibration_images is not None:
        calibrate_batchnorm(model, calibration_images.split(calibration_batch_size))
        notes["batchnorm"] = f"running statistics calibrated on {len(calibration_images)} images"
    spec = CheckpointSpec(arch=arch, arch_kwargs=dict(arch_kwargs or {}),
                          timesteps=getattr(model, "timesteps", 1), input_size_px=input_size_px,
                          mean=IMAGENET_MEAN, std=IMAGENET_STD, visual_degrees=visual_degrees,
                          layer_areas=areas, sheets=sheets, provenance={**notes, **(provenance or {})})
    return model.eval(), spec
