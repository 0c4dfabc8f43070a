"""Throughput of the robustness evaluation: PGD-10, FGSM and clean images per second.

The bundled default checkpoint (CIFAR stem, 32 px, T = 4) classifies CIFAR-10 test images
(the first ``--n-images / 10`` of each class) with perturbations drawn per timestep:
PGD with 10 steps at epsilon 4/255 (step 2.5 * eps / 10, random start), FGSM at the
same epsilon, and the clean forward pass for reference. A PGD-10 batch costs one
random start, 10 forward + backward passes and the final forward pass. Each row reports
images/s (wall time of :func:`topoanalysis.running.robustness.accuracy_under_attack`, including
the uint8-to-float conversion) and the accuracy on those images.
Results go to ``benchmarks/results/robustness_speed_<device>.json``.
Run: ``python benchmarks/robustness_speed.py`` (``--device cuda --batch-size 256`` on a GPU).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from _results import save_result
from topoanalysis.models.checkpoints import load_checkpoint
from topoanalysis.paths import DEFAULT_CHECKPOINT
from topoanalysis.running.robustness import accuracy_under_attack
from topoanalysis.training.data import load_cifar10_zip

EPSILON = 4 / 255
CONFIGS = (("clean", "fgsm", 0.0), ("FGSM eps 4/255", "fgsm", EPSILON), ("PGD-10 eps 4/255", "pgd", EPSILON))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--n-images", type=int, default=120, help="CIFAR-10 test images (a multiple of 10)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--static", action="store_true", help="one perturbation repeated over T")
    args = parser.parse_args()
    device = torch.device(args.device)
    model, spec = load_checkpoint(DEFAULT_CHECKPOINT, device=device)
    data = load_cifar10_zip(None, "test", limit_per_class=max(1, args.n_images // 10))
    options = dict(spec=spec, batch_size=args.batch_size, device=device, seed=0, per_timestep=not args.static,
                   precision=args.precision)
    if device.type == "cuda":  # warm-up: kernel selection is not the measurement
        accuracy_under_attack(model, (data.images[:args.batch_size], data.labels[:args.batch_size]), "pgd",
                              EPSILON, pgd_steps=1, **options)
    rows = []
    for label, attack, strength in CONFIGS:
        _sync(device)
        start = time.perf_counter()
        accuracy = accuracy_under_attack(model, data, attack, strength, **options)
        _sync(device)
        seconds = time.perf_counter() - start
        rows.append({"config": label, "attack": attack, "epsilon": strength, "n_images": len(data),
                     "batch_size": args.batch_size, "per_timestep": not args.static, "precision": args.precision,
                     "seconds": round(seconds, 3), "images_per_s": round(len(data) / seconds, 2),
                     "accuracy": round(accuracy, 4)})
        print(json.dumps(rows[-1]))
    fields = {"checkpoint": DEFAULT_CHECKPOINT.name, "checkpoint_sha256": spec.content_sha256,
              "model": f"{spec.arch} {json.dumps(spec.arch_kwargs, sort_keys=True)}, {spec.input_size_px} px, "
                       f"T = {spec.timesteps}", "rows": rows}
    save_result("robustness_speed", device, fields)


if __name__ == "__main__":
    main()
