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


def hardware_name(device: torch.device, info) -> str:
    """``"1 x x86_64 CPU, 1 threads"``, ``"4 x NVIDIA H100 80GB HBM3"``: what this process trains on."""
    one = (torch.cuda.get_device_name(device) if device.type == "cuda"
           else f"{platform.machine()} CPU, {torch.get_num_threads()} threads")
    return f"{info.world_size} x {one}"


def extend_history(history: list[dict] | None, resumed_card: dict | None, step: int, precision: str,
                   hardware: str) -> list[dict]:
    """Which steps ran in which precision on which hardware: ``[{"first_step", "precision", "hardware"}, ...]``,
    an entry where either changed. A resume from a state written before histories were kept starts from the
    resumed card's precision and hardware (those of the session that wrote it) at step 1."""
    history = [dict(entry) for entry in history or ()]
    if not history and resumed_card and "precision" in resumed_card:
        history = [{"first_step": 1, "precision": resumed_card["precision"],
                    "hardware": resumed_card.get("hardware", "")}]
    current = {"precision": precision, "hardware": hardware}
    if not history or {key: history[-1][key] for key in current} != current:
        history.append({"first_step": step + 1, **current})
    return history


def by_steps(history: list[dict], key: str, last_step: int) -> str:
    """``key``'s value over the run: one value, or ``"bf16 (steps 1-9,616); fp32 (steps 9,617-11,715)"``."""
    spans: list[list] = []  # [value, first step], runs of equal values merged
    for entry in history:
        if not spans or spans[-1][0] != entry[key]:
            spans.append([entry[key], entry["first_step"]])
    if len(spans) == 1:
        return str(spans[0][0])
    ends = [first - 1 for _, first in spans[1:]] + [last_step]
    return "; ".join(f"{value} (steps {first:,}-{end:,})" for (value, first), end in zip(spans, ends))


def model_card(config: TrainConfig, spec, history: list[dict], test_acc, step, epoch, seconds,
               sizes: tuple[int, int]) -> dict:
    """The provenance a trained checkpoint carries: data, schedule, accuracy, hardware and precision (per span of
    steps when they changed between sessions, :func:`extend_history`) and the recipe."""
    settings = {k: v for k, v in asdict(config).items() if k not in ("out_dir", "resume", "notes")}
    settings.update(image_size_px=spec.input_size_px, positions=_positions_record(config.positions),
                    **optimizer_settings(config.optimizer, config.lr, config.weight_decay))
    return {**spec.provenance, "trained": "yes", "weights": f"torch.manual_seed({config.seed}) initialisation, trained",
            "data": config.dataset, "train_images": sizes[0], "test_images": sizes[1],
            "epochs": round(epoch, 3), "steps": step,
            "test_accuracy": round(test_acc, 4), "alpha": config.alpha, "beta": config.beta,
            "wall_time_s": round(seconds, 1), "hardware": by_steps(history, "hardware", step),
            "precision": by_steps(history, "precision", step), "recipe": json.dumps(settings, sort_keys=True),
            "topoanalysis": __version__,
            "torch": str(torch.__version__), **config.notes}
