"""Recording throughput vs the bare forward pass (issue target: overhead <= 15 %).

For each configuration the same model sees the same images in the same batches:

* ``forward``: preprocessed images already on the device, ``model(x)`` per batch with a
  state reset, nothing copied back (the floor any recording has to pay);
* ``record``: :func:`topoanalysis.running.recording.record` on a StimulusSet of the same images
  (preprocessing, transfer, per-layer time-averaging on the device, copies to host
  memory and the labelled Dataset included), recording all eight block layers.

Each measurement is the median of ``--repeats`` runs, the two alternating, after one
warm-up run of each. Results go to
``benchmarks/results/record_speed_<device>.json``. Run: ``python benchmarks/record_speed.py``
(add ``--device cuda`` on a GPU machine; CUDA configurations use 224 px ResNet-18s).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
from spikingjelly.activation_based import functional

from _results import save_result
from topoanalysis.models import BLOCK_LAYERS, create_model
from topoanalysis.models.checkpoints import IMAGENET_MEAN, IMAGENET_STD, load_checkpoint
from topoanalysis.paths import DEFAULT_CHECKPOINT
from topoanalysis.running.inputs import preprocess
from topoanalysis.running.recording import record
from topoanalysis.stimuli import make_sine_gratings


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _interleaved_medians(forward, recording, device, repeats: int) -> tuple[float, float]:
    """Median seconds of each, alternating the two so drifts in clock speed hit both."""
    forward(), recording()  # warm-up (allocator, kernels, caches)
    times: dict[str, list[float]] = {"forward": [], "record": []}
    for _ in range(repeats):
        for key, fn in (("forward", forward), ("record", recording)):
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            times[key].append(time.perf_counter() - start)
    return statistics.median(times["forward"]), statistics.median(times["record"])


def measure(name: str, model, input_size_px: int, n_images: int, batch_size: int, device: torch.device,
            precision: str, repeats: int) -> dict:
    stimuli = make_sine_gratings(input_size_px, 8.0).subset(np.arange(n_images))
    model = model.to(device).eval()
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16")
    batches = [preprocess(stimuli.batch(slice(i, i + batch_size)), input_size_px, IMAGENET_MEAN,
                          IMAGENET_STD).to(device) for i in range(0, n_images, batch_size)]

    def forward() -> None:
        with torch.no_grad(), autocast:
            for x in batches:
                model(x)
                functional.reset_net(model)

    def recording() -> None:
        record(model, stimuli, BLOCK_LAYERS, input_size_px=input_size_px, batch_size=batch_size,
               device=device, precision=precision)

    t_forward, t_record = _interleaved_medians(forward, recording, device, repeats)
    row = {"config": name, "input_size_px": input_size_px, "timesteps": model.timesteps,
           "images": n_images, "batch_size": batch_size, "precision": precision,
           "forward_img_per_s": round(n_images / t_forward, 1),
           "record_img_per_s": round(n_images / t_record, 1),
           "overhead_percent": round(100 * (t_record - t_forward) / t_forward, 1)}
    print(json.dumps(row))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    rows = []
    if device.type == "cpu":
        default_model, _ = load_checkpoint(DEFAULT_CHECKPOINT)
        rows.append(measure("default checkpoint (ResNet-18 x0.25, CIFAR stem)", default_model, 32, 256, 64,
                            device, "fp32", args.repeats))
        rows.append(measure("ResNet-18 x1, CIFAR stem", create_model("spiking_resnet18", stem="cifar",
                            num_classes=10), 32, 128, 32, device, "fp32", args.repeats))
    else:
        for precision in ("fp32", "bf16"):
            rows.append(measure("ResNet-18 x1, ImageNet stem", create_model("spiking_resnet18"), 224, 2048, 128,
                                device, precision, args.repeats))
    fields = {"target": "record overhead <= 15 % of bare forward time", "rows": rows}
    save_result("record_speed", device, fields)


if __name__ == "__main__":
    main()
