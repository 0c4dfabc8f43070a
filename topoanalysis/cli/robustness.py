"""``topoanalysis robustness``: accuracy under noise, masking, FGSM and PGD at each timestep.

For each checkpoint (the bundled default is compared with its bundled baseline), evaluate
the CIFAR-10 test split (or an ImageFolder val split) under every attack and strength; see
:mod:`topoanalysis.robustness` for the conventions. Writes under ``--out``:

* ``robustness_curves.csv`` - ``model, attack, strength, accuracy, n_images``;
* ``robustness_table.csv`` - the paper-style table (clean row, then each attack at its
  reference strength, one accuracy column per model);
* ``robustness_results.json`` - parameters (strengths, per_timestep, seed, PGD settings),
  data, checkpoint hashes, timings and both tables;
* ``robustness.png/.pdf`` - accuracy vs strength, one panel per attack.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from .. import __version__
from ..outputs import save_figure, write_csv, write_json
from ..paths import REPORTS_DIR
from ..robustness import (
    ATTACKS,
    DEFAULT_STRENGTHS,
    PGD_ALPHA_FACTOR,
    STRENGTH_NAMES,
    check_attack,
    reference_strength,
    robustness_curves,
    robustness_table,
)
from .common import (
    add_baseline_arg,
    add_checkpoint_args,
    add_device_args,
    add_evaluation_data_args,
    checkpoints_to_compare,
    evaluation_data,
)

CHOICES = [
    "[I] attack strengths are our choice (the paper gives none); epsilon and sigma are in [0, 1] pixel units "
    "at the checkpoint's input size, before mean/std normalisation; results are clipped to [0, 1]",
    "[I] per timestep: independent noise / masks per frame; FGSM/PGD perturb each frame in its own L-inf ball",
    "[I] a masked pixel is 0 in all channels; exactly round(fraction * H * W) pixels per frame",
    "[I] PGD: L-inf, uniform random start in the ball, step 2.5 * epsilon / steps (Madry et al. 2018) unless "
    "--pgd-alpha is given, projection and clipping after every step",
    "[I] gradients of the cross-entropy (true labels) through the surrogate spike function, batch norm in eval mode",
    "[I] every (attack, strength) starts from the same seed, so strengths share random numbers",
    "[I] the table's reference strength is the middle non-zero strength (the upper one of an even count)",
]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("robustness", help="accuracy under noise, masking, FGSM and PGD at each timestep")
    add_checkpoint_args(parser)
    add_device_args(parser)
    add_baseline_arg(parser)
    parser.add_argument("--attacks", nargs="+", choices=ATTACKS, default=list(ATTACKS),
                        help="attacks to run (default: all)")
    parser.add_argument("--sigmas", nargs="+", type=float, default=list(DEFAULT_STRENGTHS["gaussian_noise"]),
                        help="Gaussian noise sigmas, pixel range [0, 1] (default: %(default)s)")
    parser.add_argument("--mask-fractions", nargs="+", type=float, default=list(DEFAULT_STRENGTHS["pixel_mask"]),
                        help="fractions of pixels masked per frame (default: %(default)s)")
    parser.add_argument("--epsilons", nargs="+", type=float, default=[0, 1, 2, 4, 8],
                        help="FGSM/PGD L-inf radii in units of 1/255 (default: %(default)s)")
    parser.add_argument("--pgd-steps", type=int, default=10, help="PGD iterations (default: %(default)s)")
    parser.add_argument("--pgd-alpha", type=float, default=None,
                        help=f"PGD step size in units of 1/255 (default: {PGD_ALPHA_FACTOR} * epsilon / steps)")
    parser.add_argument("--static", action="store_true",
                        help="one perturbation of the static image repeated over T, instead of one per timestep")
    add_evaluation_data_args(parser, n_per_class=50)
    parser.add_argument("--seed", type=int, default=0, help="seed for noise, masks and PGD starts")
    parser.add_argument("--out", default=str(REPORTS_DIR / "robustness"), help="output folder (default: %(default)s)")
    parser.set_defaults(run=run)


def strengths_from_args(args) -> dict[str, tuple[float, ...]]:
    """``{attack: strengths}`` in pixel units, validated (epsilons arrive in 1/255)."""
    given = {"gaussian_noise": args.sigmas, "pixel_mask": args.mask_fractions,
             "fgsm": [e / 255 for e in args.epsilons], "pgd": [e / 255 for e in args.epsilons]}
    strengths = {attack: tuple(dict.fromkeys(check_attack(attack, s) for s in given[attack]))
                 for attack in dict.fromkeys(args.attacks)}
    if args.pgd_steps < 1:
        raise ValueError(f"--pgd-steps must be >= 1, got {args.pgd_steps}")
    if args.pgd_alpha is not None and args.pgd_alpha <= 0:
        raise ValueError(f"--pgd-alpha must be > 0, got {args.pgd_alpha}")
    return strengths


def _label(attack: str, strength: float) -> str:
    if attack in ("fgsm", "pgd"):
        return f"{attack} eps {strength * 255:.3g}/255"
    return attack if attack == "clean" else f"{attack} {STRENGTH_NAMES[attack]} {strength:.3g}"


def run(args) -> int:
    import matplotlib
    import matplotlib.pyplot as plt

    from ..models.checkpoints import load_checkpoint
    from ..plotting.robustness import robustness_figure
    from ..recording import default_device

    matplotlib.use("Agg")
    run_started = time.perf_counter()
    strengths = strengths_from_args(args)
    out = Path(args.out)
    device = default_device() if args.device is None else args.device
    pgd_alpha = None if args.pgd_alpha is None else args.pgd_alpha / 255
    checkpoints = checkpoints_to_compare(args)
    curves, infos = [], {}
    for step, (name, path) in enumerate(checkpoints.items(), start=1):
        print(f"[{step}/{len(checkpoints)}] {name}: {', '.join(strengths)} ({path})")
        started = time.perf_counter()
        model, spec = load_checkpoint(path, arch=args.arch, device=device)
        data = evaluation_data(args, spec, model)
        loaded = time.perf_counter()
        table = robustness_curves(model, spec, data, strengths, batch_size=args.batch_size, device=device,
                                  seed=args.seed, per_timestep=not args.static, pgd_steps=args.pgd_steps,
                                  pgd_alpha=pgd_alpha, precision=args.precision, progress=True)
        done = time.perf_counter()
        curves.append(table.assign(model=name)[["model", *table.columns]])
        summary = robustness_table(table)
        infos[name] = {"checkpoint": str(path), "checkpoint_sha256": spec.content_sha256, "arch": spec.arch,
                       "input_size_px": spec.input_size_px, "timesteps": spec.timesteps,
                       "n_images": len(data), "seconds": {"load": round(loaded - started, 3),
                                                          "attacks": round(done - loaded, 3)}}
        print("    " + "; ".join(f"{_label(r.attack, r.strength)}: {r.accuracy:.3f}"
                              for r in summary.itertuples())
              + f" ({done - loaded:.1f} s)")
    curves_df = pd.concat(curves, ignore_index=True)
    table = robustness_table(curves_df)
    n_classes = len(data.classes)
    written = [write_csv(curves_df, out / "robustness_curves.csv"), write_csv(table, out / "robustness_table.csv")]
    figure = robustness_figure(curves_df, chance=1 / n_classes,
                               title=f"accuracy under perturbation ({'static' if args.static else 'per timestep'})")
    written += save_figure(figure, out, "robustness")
    plt.close(figure)
    report = {
        "command": "robustness", "version": __version__, "seed": args.seed, "per_timestep": not args.static,
        "parameters": {
            "attacks": list(strengths), "strengths": {a: list(s) for a, s in strengths.items()},
            "strength_names": {a: STRENGTH_NAMES[a] for a in strengths}, "strength_units": "pixel range [0, 1]",
            "epsilons_per_255": [round(e * 255, 6) for e in strengths.get("fgsm", strengths.get("pgd", ()))],
            "reference_strengths": {a: reference_strength(s) for a, s in strengths.items()},
            "pgd_steps": args.pgd_steps, "pgd_random_start": True,
            "pgd_alpha": f"{PGD_ALPHA_FACTOR} * epsilon / steps" if pgd_alpha is None else pgd_alpha,
            "pgd_alpha_per_255": args.pgd_alpha,
            "batch_size": args.batch_size, "device": str(device), "precision": args.precision},
        "data": {"dataset": args.data, "source": data.source, "n_per_class": args.n_per_class,
                 "n_images": len(data), "n_classes": n_classes},
        "choices": CHOICES,
        "models": infos, "seconds_total": round(time.perf_counter() - run_started, 3),
        "table": table.to_dict(orient="records"),
        "curves": curves_df.to_dict(orient="records"),
    }
    written.append(write_json(report, out / "robustness_results.json"))
    print(f"wrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written))
    return 0
