"""What a trained checkpoint records about its training: the model card's provenance fields."""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from .. import __version__
from .optimizers import optimizer_settings

if TYPE_CHECKING:
    from .trainer import TrainConfig


def _positions_record(path: str | None) -> str | None:
    """The positions file as a checkpoint records it: its name and content hash, not this machine's path."""
    if path is None:
        return None
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return f"{Path(path).name} (sha256 {digest})"


def model_card(config: TrainConfig, spec, info, device, precision, test_acc, step, epoch, seconds,
               sizes: tuple[int, int]) -> dict:
    """The provenance a trained checkpoint carries: data, schedule, accuracy, hardware and the recipe."""
    hardware = (torch.cuda.get_device_name(device) if device.type == "cuda"
                else f"{platform.machine()} CPU, {torch.get_num_threads()} threads")
    settings = {k: v for k, v in asdict(config).items() if k not in ("out_dir", "resume", "notes")}
    settings.update(image_size_px=spec.input_size_px, positions=_positions_record(config.positions),
                    **optimizer_settings(config.optimizer, config.lr, config.weight_decay))
    return {**spec.provenance, "trained": "yes", "weights": f"torch.manual_seed({config.seed}) initialisation, trained",
            "data": config.dataset, "train_images": sizes[0], "test_images": sizes[1],
            "epochs": round(epoch, 3), "steps": step,
            "test_accuracy": round(test_acc, 4), "alpha": config.alpha, "beta": config.beta,
            "wall_time_s": round(seconds, 1), "hardware": f"{info.world_size} x {hardware}",
            "precision": precision, "recipe": json.dumps(settings, sort_keys=True), "topoanalysis": __version__,
            "torch": str(torch.__version__), **config.notes}
