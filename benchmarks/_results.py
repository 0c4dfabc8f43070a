"""Where benchmark results go, and the machine facts each result records."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch

from topoanalysis.paths import atomic_path

RESULTS = Path(__file__).parent / "results"


def save_result(benchmark: str, device: str | torch.device, fields: dict) -> Path:
    """Write ``results/<benchmark>_<device type>.json``: machine facts, then ``fields``; returns its path."""
    device = torch.device(device)
    result = {"benchmark": benchmark, "device": str(device),
              "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
              "cpu_threads": torch.get_num_threads(), "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"),
              **fields}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{benchmark}_{device.type}.json"
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(result, indent=2) + "\n")
    return path
