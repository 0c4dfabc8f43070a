"""``topoanalysis v1-maps``: the paper's Figure 3 for a checkpoint, optionally against a baseline.

Runs :func:`topoanalysis.analyses.v1.run` and writes under ``--out``: ``v1_results.json``
(parameters with the widths applied, per-model summaries, smoothness, Ringach similarity,
checkpoints, timings); ``tuning_<model>.csv``, ``smoothness.csv``, ``difference_curves.csv``,
``correlation_curves.csv``, ``pinwheels.csv``, ``ringach.csv``, ``ringach_reference.csv``;
``v1_maps.png/.pdf`` and ``v1_summary.png/.pdf``.
"""

from __future__ import annotations

import argparse

from ..analyses.v1 import V1MapsParams
from ..metrics.tuning import ORIENTATION_METHODS
from ..metrics.v1 import MASK_RULES, V1Params
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

DEFAULTS, METRIC = V1MapsParams(), V1Params()


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("v1-maps", help="V1 orientation/SF/colour maps, smoothness, pinwheels "
                                   "(paper Fig. 3)")
    add_checkpoint_args(parser)
    add_device_args(parser)
    add_baseline_arg(parser)
    parser.add_argument("--layer", default=DEFAULTS.layer,
                        help="layer to analyse (default: the checkpoint's first V1 layer)")
    parser.add_argument("--out", default=str(REPORTS_DIR / "v1_maps"), help="output folder (default: %(default)s)")
    parser.add_argument("--orientation-method", choices=ORIENTATION_METHODS, default=METRIC.orientation_method,
                        help="vector_sum (TDSNN, default) or von_mises (TDANN)")
    parser.add_argument("--tdann-interpolation", action="store_true",
                        help="von Mises fit on TDANN's 50-point interpolated curve, preference on its grid")
    parser.add_argument("--mask-rule", choices=MASK_RULES, default=METRIC.mask_rule,
                        help="ptp_percentile: tuning depth above --ptp-percentile (TDANN, default); "
                             "response_floor: mean response above --response-floor-sps")
    parser.add_argument("--ptp-percentile", type=float, default=METRIC.ptp_percentile)
    parser.add_argument("--response-floor-sps", type=float, default=METRIC.response_floor_sps,
                        help="responsive units: mean response above this, in Ringach-scaled spikes/s")
    parser.add_argument("--hcw-mm", type=float, default=METRIC.hypercolumn_width_mm,
                        help="hypercolumn width (TDANN: %(default)s mm)")
    parser.add_argument("--no-scale-widths", action="store_true",
                        help="use TDANN's widths as they are, even for layers with fewer units")
    parser.add_argument("--n-samples", type=int, default=METRIC.n_samples, help="random unit samples for smoothness")
    parser.add_argument("--sample-size", type=int, default=METRIC.sample_size, help="units per sample")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="rng seed (TDANN: %(default)s)")
    parser.add_argument("--ringach", default=DEFAULTS.ringach, metavar="PATH",
                        help="Ringach 2002 database (default: $TOPOANALYSIS_DATA or ../shared/data)")
    parser.set_defaults(run=run)


def params_from_args(args: argparse.Namespace) -> V1MapsParams:
    metric = V1Params(orientation_method=args.orientation_method, tdann_interpolation=args.tdann_interpolation,
                      mask_rule=args.mask_rule, ptp_percentile=args.ptp_percentile,
                      response_floor_sps=args.response_floor_sps, hypercolumn_width_mm=args.hcw_mm,
                      scale_widths=not args.no_scale_widths, n_samples=args.n_samples, sample_size=args.sample_size)
    return V1MapsParams(metric=metric, layer=args.layer, seed=args.seed, ringach=args.ringach)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..analyses import v1

    check_out(args, v1.V1MapsResult)
    result = v1.run(checkpoints_to_compare(args), params_from_args(args), runtime_from_args(args))
    save_result(result, args.out)
    return 0
