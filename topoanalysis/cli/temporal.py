"""``topoanalysis temporal``: spike timing and information over time (the paper's Figure 1).

Runs :func:`topoanalysis.analyses.temporal.run` on the checkpoint and its baseline and writes
``temporal_stats.csv``, ``entropy_shift.csv``, ``accuracy_vs_timesteps.csv``, ``fisher.csv``,
``temporal_results.json`` and ``temporal.png/.pdf``.
"""

from __future__ import annotations

import argparse

from ..analyses.temporal import TemporalParams
from ..paths import REPORTS_DIR
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

DEFAULTS = TemporalParams()


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("temporal", help="spike entropy, accuracy vs T, Fisher information (Fig. 1)")
    add_checkpoint_args(parser)
    add_device_args(parser, records=False)
    add_baseline_arg(parser)
    add_evaluation_data_args(parser, DEFAULTS)
    parser.add_argument("--timesteps", nargs="+", type=int, default=list(DEFAULTS.timesteps),
                        help="inference T values (default: %(default)s)")
    parser.add_argument("--fisher-images", type=int, default=DEFAULTS.fisher_images,
                        help="images for the Fisher information (default: %(default)s)")
    parser.add_argument("--fisher-batch-size", type=int, default=DEFAULTS.fisher_batch_size,
                        help="1: per-image gradients, Eq. 8 exactly (default); larger: Kim et al.'s batch estimate")
    parser.add_argument("--out", default=str(REPORTS_DIR / "temporal"), help="output folder (default: %(default)s)")
    parser.set_defaults(run=run)


def params_from_args(args: argparse.Namespace) -> TemporalParams:
    return TemporalParams(timesteps=tuple(args.timesteps), fisher_images=args.fisher_images,
                          fisher_batch_size=args.fisher_batch_size, data=args.data, data_path=args.data_path,
                          n_per_class=args.n_per_class)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..analyses import temporal

    check_out(args, temporal.TemporalResult)
    result = temporal.run(checkpoints_to_compare(args), params_from_args(args), runtime_from_args(args))
    if len(result.entropy_shift.columns):
        print(result.entropy_shift.pivot(index="layer", columns="timesteps", values="entropy_shift_bits")
              .round(4).to_string())
    print(result.table("accuracy_vs_timesteps").pivot(index="timesteps", columns="model", values="accuracy")
          .to_string())
    save_result(result, args.out)
    return 0
