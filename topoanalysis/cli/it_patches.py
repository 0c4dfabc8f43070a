"""``topoanalysis it-patches``: the paper's Figure 4 for a checkpoint, optionally against a baseline.

Runs :func:`topoanalysis.analyses.it.run` and writes under ``--out``: ``it_results.json``
(parameters, per-model summaries, overlap, generalisation, checkpoints, timings);
``tvalues_<model>.csv``, ``patches.csv`` and ``patch_outlines.json``, ``overlap.csv``,
``smoothness.csv``, ``selectivity_curves.csv``, ``generalization.csv``; ``it_tmaps.png/.pdf``,
``it_overlap.png/.pdf`` and ``it_summary.png/.pdf``.
"""

from __future__ import annotations

import argparse

from ..analyses.it import ITPatchesParams
from ..metrics.it import ITParams
from ..metrics.patches import PatchParams
from ..paths import REPORTS_DIR
from .common import (
    add_baseline_arg,
    add_checkpoint_args,
    add_device_args,
    check_out,
    checkpoints_to_compare,
    runtime_from_args,
    save_result,
)

DEFAULTS, METRIC, PATCH = ITPatchesParams(), ITParams(), PatchParams()


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("it-patches", help="IT category t-maps, patches, overlap (paper Fig. 4)")
    add_checkpoint_args(parser)
    add_device_args(parser)
    add_baseline_arg(parser)
    parser.add_argument("--stimuli", default=DEFAULTS.floc, metavar="DIR",
                        help="fLoc folder (default: $TOPOANALYSIS_DATA/floc or ../shared/data/floc)")
    parser.add_argument("--rsa92", default=DEFAULTS.rsa92, metavar="PATH",
                        help="the 92-image set .mat for the generalisation check (default: "
                             "$TOPOANALYSIS_DATA/rsa92 or ../shared/data/rsa92); 'none' skips it")
    parser.add_argument("--layer", default=DEFAULTS.layer,
                        help="layer to analyse (default: the checkpoint's last IT layer)")
    parser.add_argument("--out", default=str(REPORTS_DIR / "it_patches"), help="output folder (default: %(default)s)")
    parser.add_argument("--t-ddof", type=int, choices=(0, 1), default=METRIC.t_ddof,
                        help="std in the t-value: 0 = population (TDANN, default), 1 = sample")
    parser.add_argument("--sigma-mm", type=float, default=PATCH.sigma_mm,
                        help="patch smoothing sigma (TDANN: %(default)s mm)")
    parser.add_argument("--patch-threshold", type=float, default=PATCH.threshold,
                        help="smoothed-t threshold (TDANN: %(default)s)")
    parser.add_argument("--min-area-mm2", type=float, default=PATCH.min_area_mm2)
    parser.add_argument("--max-area-mm2", type=float, default=PATCH.max_area_mm2)
    parser.add_argument("--n-samples", type=int, default=METRIC.n_samples, help="random unit samples for smoothness")
    parser.add_argument("--sample-size", type=int, default=METRIC.sample_size, help="units per sample")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="rng seed (TDANN: %(default)s)")
    parser.add_argument("--max-per-category", type=int, default=DEFAULTS.max_per_category,
                        help="use only the first N fLoc images of each category (quick runs)")
    parser.set_defaults(run=run)


def params_from_args(args: argparse.Namespace) -> ITPatchesParams:
    patch = PatchParams(sigma_mm=args.sigma_mm, threshold=args.patch_threshold, min_area_mm2=args.min_area_mm2,
                        max_area_mm2=args.max_area_mm2)
    metric = ITParams(patch=patch, t_ddof=args.t_ddof, n_samples=args.n_samples, sample_size=args.sample_size)
    return ITPatchesParams(metric=metric, layer=args.layer, seed=args.seed, floc=args.stimuli, rsa92=args.rsa92,
                           max_per_category=args.max_per_category)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..analyses import it

    check_out(args, it.ITPatchesResult)
    result = it.run(checkpoints_to_compare(args), params_from_args(args), runtime_from_args(args))
    save_result(result, args.out)
    return 0
