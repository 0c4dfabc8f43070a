"""``topoanalysis brain``: how brain-like is a checkpoint (the paper's Table 1)?

Without ``--benchmark``: every offline benchmark on real data (V1 Ringach 2002, V4
Cowley 2023 PLS, IT/EVC RSA on the 92 images) over every layer, for the checkpoint and
its baseline. Writes ``brain_scores.csv`` (benchmark x layer), ``brain_table.csv`` (per
benchmark: the committed layer's score and the best layer), ``brain_results.json`` and
``brain_layer_sweep.png/.pdf``.

With ``--benchmark ID``: offline benchmarks by name, or an official Brain-Score benchmark
(e.g. ``MajajHong2015public.IT-pls``), which needs Brain-Score's data: downloaded when
there is a network, or already in its cache (``$TOPOANALYSIS_BRAINSCORE_HOME``).
"""

from __future__ import annotations

import argparse

import pandas as pd

from ..analyses.brain import BrainParams
from ..brain.benchmarks import BENCHMARKS as OFFLINE_BENCHMARKS
from ..brain.v4 import PLS_METHODS
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

DEFAULTS = BrainParams()


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("brain", help="brain benchmarks: offline real-data suite, or Brain-Score's")
    add_checkpoint_args(parser)
    add_device_args(parser)
    add_baseline_arg(parser)
    parser.add_argument("--benchmark", nargs="+", default=DEFAULTS.benchmarks, metavar="ID",
                        help=f"offline ({', '.join(OFFLINE_BENCHMARKS)}) or official Brain-Score benchmark ids "
                             "(default: every offline benchmark)")
    parser.add_argument("--layers", nargs="+", default=DEFAULTS.layers,
                        help="layers to sweep (default: every sheet layer)")
    parser.add_argument("--out", default=str(REPORTS_DIR / "brain"), help="output folder (default: %(default)s)")
    parser.add_argument("--v4-data", default=DEFAULTS.v4_data, metavar="DIR", help="Cowley 2023 V4 folder")
    parser.add_argument("--rsa92", default=DEFAULTS.rsa92, metavar="PATH", help="the 92-image set folder")
    parser.add_argument("--ringach", default=DEFAULTS.ringach, metavar="PATH", help="Ringach 2002 database")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="rng seed for splits (default %(default)s)")
    parser.add_argument("--pls-method", choices=PLS_METHODS, default=DEFAULTS.pls_method,
                        help="V4 PLS: the exact kernel solution (default) or Brain-Score's own NIPALS fit (slow)")
    parser.set_defaults(run=run)


def params_from_args(args: argparse.Namespace) -> BrainParams:
    return BrainParams(benchmarks=None if args.benchmark is None else tuple(args.benchmark),
                       layers=None if args.layers is None else tuple(args.layers), v4_data=args.v4_data,
                       rsa92=args.rsa92, ringach=args.ringach, seed=args.seed, pls_method=args.pls_method)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from ..analyses import brain

    check_out(args, brain.BrainResult)
    params = params_from_args(args)
    brain.check_data(params)  # data and benchmark ids first: an unknown id fails before any checkpoint loads
    result = brain.run(checkpoints_to_compare(args), params, runtime_from_args(args))
    if len(result.region_scores.columns):
        print(result.region_scores.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if result.record.get("official"):
        print(pd.DataFrame(result.record["official"]).to_string(index=False))
    save_result(result, args.out)
    return 0
