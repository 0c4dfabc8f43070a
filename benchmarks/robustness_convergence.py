"""PGD convergence: accuracy under best-iterate PGD against the number of steps, for the bundled pairs.

For the spiking pair (topographic ``tsresnet18_cifar10_a05b05``, baseline
``sresnet18_cifar10_baseline``, T = 4) and the ReLU pair (``tresnet18_cifar10_a05``,
``resnet18_cifar10_baseline``), on the first ``--n-per-class`` CIFAR-10 test images of each
class (default 3: 30 images), at epsilon 1/255 and 2/255 (per-frame L-inf balls), one
random start, steps of epsilon / 4. An image counts as robust after k steps when it is
correct clean and no iterate up to step k (random start included) is misclassified, so
one run of the largest step count gives every smaller one. The old default (10 steps of
2.5 * epsilon / 10, last iterate) is run beside it for comparison. The default
``PGD_STEPS`` is the step count after which accuracy stops falling (no further image
lost by doubling the steps, or the smallest count within one image of the largest).
Target: under 10 minutes on two busy CPU cores (the recorded run took 21 minutes: two trainings and a
test run shared its two cores; the spiking baseline at 1/255 alone took 8 of them).
Results go to ``benchmarks/results/robustness_convergence_<device>.json``.
Run: ``python benchmarks/robustness_convergence.py``.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from _results import save_result
from topoanalysis.analyses.base import evaluation_data
from topoanalysis.models.checkpoints import load_checkpoint
from topoanalysis.paths import REPO_ROOT
from topoanalysis.running.attacks import PGD_STEPS, AttackNet, _pgd, normalisation
from topoanalysis.running.inputs import labelled_batches

PAIRS = {"spiking": ("tsresnet18_cifar10_a05b05", "sresnet18_cifar10_baseline"),
         "ReLU": ("tresnet18_cifar10_a05", "resnet18_cifar10_baseline")}
STEPS = (5, 10, 20, 50, 100)
EPSILONS_PER_255 = (1, 2)


def converged_steps(robust_by_steps: dict[int, int]) -> int:
    """The smallest step count whose robust count is within one image of the largest step count's."""
    final = robust_by_steps[max(robust_by_steps)]
    return min(k for k, n in robust_by_steps.items() if n - final <= 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-per-class", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    device = torch.device(args.device)
    rows, started = [], time.perf_counter()
    for family, names in PAIRS.items():
        for name in names:
            model, spec = load_checkpoint(REPO_ROOT / "checkpoints" / f"{name}.pt", device=device)
            model.eval()
            data = evaluation_data(spec, model, "cifar10", None, args.n_per_class)
            ((x, y),) = labelled_batches(data.images, data.labels, spec.input_size_px, len(data), device)
            net = AttackNet(model, normalisation(model, spec, None, None, None, x), "fp32")
            right = net.logits(x).argmax(-1) == y
            x, y = x[right], y[right]
            base = x.unsqueeze(1).expand(-1, net.norm[2], *x.shape[1:])
            for eps_255 in EPSILONS_PER_255:
                eps, t0 = eps_255 / 255, time.perf_counter()
                robust: dict[int, int] = {}

                def record(step, fooled, robust=robust):
                    if step in STEPS:
                        robust[step] = int((~fooled).sum())

                generator = torch.Generator(device=device).manual_seed(args.seed)
                _pgd(net, base, y, eps, steps=max(STEPS), step_size=eps / 4, restarts=1, best_iterate=True,
                     generator=generator, on_step=record)
                robust = {k: robust.get(k, 0) for k in STEPS}  # every image fooled before step k
                seconds = time.perf_counter() - t0
                generator = torch.Generator(device=device).manual_seed(args.seed)
                _, fooled_old = _pgd(net, base, y, eps, steps=10, step_size=2.5 * eps / 10, restarts=1,
                                     best_iterate=False, generator=generator)
                row = {"family": family, "model": name, "epsilon_per_255": eps_255, "n_images": len(data),
                       "n_clean_correct": int(right.sum()),
                       "accuracy_by_steps": {k: round(n / len(data), 4) for k, n in robust.items()},
                       "robust_by_steps": robust, "converged_steps": converged_steps(robust),
                       "old_pgd10_last_iterate_accuracy": round(int((~fooled_old).sum()) / len(data), 4),
                       "seconds": round(seconds, 1)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    chosen = max(r["converged_steps"] for r in rows)
    save_result("robustness_convergence", device, {
        "sample": f"first {args.n_per_class} CIFAR-10 test images per class", "seed": args.seed,
        "step_size": "epsilon / 4", "restarts": 1, "frames": "per frame (each frame in its own L-inf ball)",
        "steps": list(STEPS), "converged_steps_max": chosen, "default_pgd_steps": PGD_STEPS,
        "seconds_total": round(time.perf_counter() - started, 1), "rows": rows})


if __name__ == "__main__":
    main()
