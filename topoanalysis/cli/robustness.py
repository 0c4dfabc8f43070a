"""``topoanalysis robustness``: accuracy under noise, masking, FGSM and PGD at each timestep.

Runs :func:`topoanalysis.analyses.robustness.run` on the checkpoint (the bundled default is
compared with its bundled baseline) and writes under ``--out``: ``robustness_curves.csv``,
``robustness_table.csv`` (clean row, then each attack at its reference strength, one
accuracy column per model), ``robustness_results.json`` (parameters, data, checkpoint
hashes, timings, both tables) and ``robustness.png/.pdf``.
"""

from __future__ import annotations

import argparse

from ..analyses.robustness import RobustnessParams
from ..paths import REPORTS_DIR
from ..robustness import ATTACKS, PGD_ALPHA_FACTOR
from .common import (
    add_baseline_arg,
    add_checkpoint_args,
    add_device_args,
    add_evaluation_data_args,
    check_out,
    checkpoints_to_compare,
    runtime_from_args,
    save_result,
)

DEFAULTS = RobustnessParams()


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("robustness", help="accuracy under noise, masking, FGSM and PGD at each timestep")
    add_checkpoint_args(parser)
    add_device_args(parser, records=False)
    add_baseline_arg(parser)
    parser.add_argument("--attacks", nargs="+", choices=ATTACKS, default=list(DEFAULTS.attacks),
                        help="attacks to run (default: all)")
    parser.add_argument("--sigmas", nargs="+", type=float, default=list(DEFAULTS.sigmas),
                        help="Gaussian noise sigmas, pixel range [0, 1] (default: %(default)s)")
    parser.add_argument("--mask-fractions", nargs="+", type=float, default=list(DEFAULTS.mask_fractions),
                        help="fractions of pixels masked per frame (default: %(default)s)")
    parser.add_argument("--epsilons", nargs="+", type=float, default=list(DEFAULTS.epsilons_per_255),
                        help="FGSM/PGD L-inf radii in units of 1/255 (default: %(default)s)")
    parser.add_argument("--pgd-steps", type=int, default=DEFAULTS.pgd_steps,
                        help="PGD iterations (default: %(default)s)")
    parser.add_argument("--pgd-alpha", type=float, default=DEFAULTS.pgd_alpha_per_255,
                        help=f"PGD step size in units of 1/255 (default: {PGD_ALPHA_FACTOR} * epsilon / steps)")
    parser.add_argument("--pgd-n-per-class", type=int, default=DEFAULTS.pgd_n_per_class,
                        help="PGD runs on the first N images of each class (default: %(default)s)")
    parser.add_argument("--full-sweep", action="store_true",
                        help="PGD on every --n-per-class image too (several times slower)")
    parser.add_argument("--static", action="store_true",
                        help="one perturbation of the static image repeated over T, instead of one per timestep")
    add_evaluation_data_args(parser, DEFAULTS)
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="seed for noise, masks and PGD starts")
    parser.add_argument("--out", default=str(REPORTS_DIR / "robustness"), help="output folder (default: %(default)s)")
    parser.set_defaults(run=run)


def params_from_args(args: argparse.Namespace) -> RobustnessParams:
    return RobustnessParams(attacks=tuple(args.attacks), sigmas=tuple(args.sigmas),
                            mask_fractions=tuple(args.mask_fractions), epsilons_per_255=tuple(args.epsilons),
                            pgd_steps=args.pgd_steps, pgd_alpha_per_255=args.pgd_alpha, per_timestep=not args.static,
                            seed=args.seed, data=args.data, data_path=args.data_path, n_per_class=args.n_per_class,
                            pgd_n_per_class=None if args.full_sweep else args.pgd_n_per_class)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..analyses import robustness

    check_out(args, robustness.RobustnessResult)
    result = robustness.run(checkpoints_to_compare(args), params_from_args(args), runtime_from_args(args))
    save_result(result, args.out)
    return 0
