"""Training throughput with the STC loss as a fraction of the same step without it.

One training step as the trainer runs it = forward (BPTT through T timesteps, channels_last),
task loss, optional STC loss over the sheet layers (8 ResNet blocks; 4 CORnet areas with ``--arch``;
M clusters per layer, clusters of up to 500 units), backward and an AdamW update, on one batch of CIFAR-10-sized inputs.
``alpha = beta = 0`` skips the feature gathering and the loss entirely, as the trainer does.
Steps alternate between the two settings after warm-up; the median step time of each is
reported, and ``stc_throughput_ratio`` = (img/s with STC) / (img/s without).
Targets (issue 12, 2-core CPU, M = 10): ratio >= 0.80 at width 0.25 (batch 64, T = 4) and
>= 0.90 at width 1. Rows: the target settings in fp32, the bf16-autocast setting the bundled
models are trained with, and M = 5 (fewer clusters per step: the same expected loss).
Results: ``benchmarks/results/train_speed_<device>.json``.
Run: ``python benchmarks/train_speed.py [--device cuda]``.
"""

from __future__ import annotations

import argparse
import json

import torch

from _results import RESULTS, save_result
from _train_step import stc_step_times
from topoanalysis.cli.common import parse_arch_kwarg
from topoanalysis.models.fresh import fresh_checkpoint
from topoanalysis.training.allocator import reuse_freed_memory
from topoanalysis.training.stc import STCLoss


def measure(width: float, batch_size: int, device: torch.device, steps: int, precision: str,
            clusters: int = 10, arch: str = "spiking_resnet18", arch_kwargs: dict | None = None) -> dict:
    model, spec = fresh_checkpoint(arch, seed=0, input_size_px=32,
                                   arch_kwargs={**(arch_kwargs or {}), "stem": "cifar", "width": width,
                                                "num_classes": 10})
    model.to(device, memory_format=torch.channels_last).train()
    layers = list(spec.sheets)
    stc = STCLoss(spec.sheets, alpha=50.0, beta=50.0, clusters_per_layer=clusters,
                  timesteps=model.timesteps).to(device)
    x = torch.randn(batch_size, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch_size,), device=device)
    times = stc_step_times(model, stc, layers, x, y, steps=steps, bf16=precision == "bf16", warmup=2)
    base, topo = times["ce_s"], times["stc_s"]
    cluster_sizes = {name: int(getattr(stc, f"_clusters_{k}").shape[1]) for k, name in enumerate(layers)}
    row = {"arch": arch, **(arch_kwargs or {}), "width": width, "batch_size": batch_size,
           "timesteps": model.timesteps, "precision": precision,
           "clusters_per_layer": clusters, "cluster_units": cluster_sizes,
           "baseline_img_per_s": round(batch_size / base, 1), "stc_img_per_s": round(batch_size / topo, 1),
           "stc_throughput_ratio": round(base / topo, 3), "stc_overhead_percent": round(100 * (topo / base - 1), 1)}
    print(json.dumps(row))
    return row


def _cpu() -> dict:
    from topoanalysis.training.cpu_kernels import cpu_has_native_bf16

    return {"cpu_native_bf16": cpu_has_native_bf16()}


def _kept_rows(name: str, device: torch.device, rows: list[dict]) -> list[dict]:
    """Earlier rows of ``results/<name>_<device>.json`` at other sizes or precisions than ``rows``'."""
    path = RESULTS / f"{name}_{device.type}.json"
    if not path.is_file():
        return []
    keys = ("embed_dim", "depth", "num_heads", "width", "precision", "cpu_native_bf16")
    new = {tuple(row.get(k) for k in keys) for row in rows}
    return [row for row in json.loads(path.read_text())["rows"] if tuple(row.get(k) for k in keys) not in new]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--arch", default="spiking_resnet18",
                        help="spiking_resnet18 (default) or spiking_cornet_rt (T = 10, 4 sheet layers; issue 24: "
                             "ratio >= 0.80 at width 0.25 before training the bundled pair), spikformer ...")
    parser.add_argument("--width", type=float, default=0.25, help="with --arch: the width (default 0.25)")
    parser.add_argument("--arch-kwarg", type=parse_arch_kwarg, action="append", default=[], metavar="KEY=VALUE",
                        help="with --arch: another constructor argument, e.g. embed_dim=128 depth=4 (spikformer)")
    parser.add_argument("--precision", nargs="+", choices=("bf16", "fp32"), default=["bf16", "fp32"],
                        help="with --arch: the precisions to time (default both; bf16 means little on a CPU that "
                             "emulates it)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cpu":
        reuse_freed_memory()  # as the trainer does
    if args.arch != "spiking_resnet18":
        rows = [dict(measure(args.width, 64, device, args.steps, precision, arch=args.arch,
                             arch_kwargs=dict(args.arch_kwarg)), **_cpu()) for precision in args.precision]
        save_result(f"train_speed_{args.arch}", device,
                    {"target": "stc_throughput_ratio >= 0.80 at the bundled size (M = 10)",
                     "rows": _kept_rows(f"train_speed_{args.arch}", device, rows) + rows})
        return
    if device.type == "cpu":
        rows = [measure(0.25, 64, device, args.steps, "fp32"), measure(0.25, 64, device, args.steps, "bf16"),
                measure(0.25, 64, device, args.steps, "fp32", clusters=5),
                measure(1.0, 32, device, max(3, args.steps // 2), "fp32")]
    else:
        rows = [measure(1.0, 128, device, args.steps, "bf16"), measure(1.0, 128, device, args.steps, "fp32")]
    fields = {"target": "stc_throughput_ratio >= 0.80 at width 0.25 and >= 0.90 at width 1 (M = 10, 8 layers)",
              "rows": rows}
    save_result("train_speed", device, fields)


if __name__ == "__main__":
    main()
