"""``topoanalysis robustness``: accuracy under noise, masking, FGSM, PGD and the Square attack.

Runs :func:`topoanalysis.analyses.robustness.run` on the checkpoint (the bundled default is
compared with its bundled baseline) and writes under ``--out``: ``robustness_curves.csv``,
``robustness_table.csv`` (clean row, then each attack at its reference strength, per frame
and static, then the per-image worst case; one accuracy column per model with its SE and
95 % Wilson interval), ``robustness_per_image.csv`` (every image's result at the
reference strengths), ``robustness_results.json`` (parameters, data, checkpoint hashes,
timings, the gradient-masking check, the tables) and ``robustness.png/.pdf``.
"""

from __future__ import annotations

import argparse

from ..analyses.robustness import RobustnessParams
from ..paths import REPORTS_DIR
from ..running.robustness import ATTACKS
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
    parser = subparsers.add_parser("robustness",
                                   help="accuracy under noise, masking, FGSM, PGD and Square, per frame and static")
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
    parser.add_argument("--square-epsilons", nargs="+", type=float, default=list(DEFAULTS.square_epsilons_per_255),
                        help="Square attack L-inf radii in units of 1/255; the gradient-masking check compares it "
                             "with PGD at PGD's reference radius (default: %(default)s)")
    parser.add_argument("--pgd-steps", type=int, default=DEFAULTS.pgd_steps,
                        help="PGD iterations; the default is where accuracy stops falling "
                             "(benchmarks/robustness_convergence.py) (default: %(default)s)")
    parser.add_argument("--pgd-restarts", type=int, default=DEFAULTS.pgd_restarts,
                        help="PGD random restarts; an image is robust only if it survives all (default: %(default)s)")
    parser.add_argument("--pgd-step-fraction", type=float, default=DEFAULTS.pgd_step_fraction,
                        help="PGD step size as a fraction of epsilon (default: %(default)s)")
    parser.add_argument("--square-queries", type=int, default=DEFAULTS.square_queries,
                        help="Square attack forward passes per image (default: %(default)s)")
    parser.add_argument("--square-p-init", type=float, default=DEFAULTS.square_p_init,
                        help="fraction of the image in the Square attack's first square (default: %(default)s)")
    parser.add_argument("--pgd-n-per-class", type=int, default=DEFAULTS.pgd_n_per_class,
                        help="PGD and Square run on the first N images of each class (default: %(default)s)")
    parser.add_argument("--full-sweep", action="store_true",
                        help="PGD and Square on every --n-per-class image too (several times slower)")
    parser.add_argument("--static", action="store_true",
                        help="only static perturbations (one repeated over T), instead of per frame")
    parser.add_argument("--no-static", action="store_true",
                        help="skip the static variant of each attack at its reference strength")
    add_evaluation_data_args(parser, DEFAULTS)
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="seed for noise, masks, PGD starts and squares")
    parser.add_argument("--out", default=str(REPORTS_DIR / "robustness"), help="output folder (default: %(default)s)")
    parser.set_defaults(run=run)


def params_from_args(args: argparse.Namespace) -> RobustnessParams:
    return RobustnessParams(attacks=tuple(args.attacks), sigmas=tuple(args.sigmas),
                            mask_fractions=tuple(args.mask_fractions), epsilons_per_255=tuple(args.epsilons),
                            square_epsilons_per_255=tuple(args.square_epsilons),
                            pgd_steps=args.pgd_steps, pgd_restarts=args.pgd_restarts,
                            pgd_step_fraction=args.pgd_step_fraction, square_queries=args.square_queries,
                            square_p_init=args.square_p_init, per_timestep=not args.static,
                            static_too=not args.no_static, seed=args.seed, data=args.data, data_path=args.data_path,
                            n_per_class=args.n_per_class,
                            pgd_n_per_class=None if args.full_sweep else args.pgd_n_per_class)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..analyses import robustness

    check_out(args, robustness.RobustnessResult)
    result = robustness.run(checkpoints_to_compare(args), params_from_args(args), runtime_from_args(args))
    save_result(result, args.out)
    return 0
