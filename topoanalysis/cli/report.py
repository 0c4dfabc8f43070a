"""``topoanalysis report``: every paper figure and table for a checkpoint and its baseline, in one page.

Runs (or reuses from the cache) the v1, it, brain, temporal and robustness analyses, then
writes ``OUT/index.html`` (self-contained), ``OUT/figures/*.png|pdf`` and the tables as CSV.
With ``--models A.pt B.pt ... [--baseline-of A.pt=B.pt ...] [--group NAME=A.pt,A2.pt,...]`` it
reports on several models instead: one pair report per ``--baseline-of`` under ``OUT/pairs/``,
seed-level findings per ``--group`` (seeds of one condition), and a page putting every model side
by side (Table 1 over models, the accuracy cost of topography per family, Fig. 5a).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from ..errors import InputError
from ..models import list_models
from ..paths import DEFAULT_CHECKPOINT
from ..report import ReportParams, build_models_report, build_report
from .common import DEFAULT_BASELINE, add_device_args, runtime_from_args

DEFAULTS = ReportParams()


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("report", help="rebuild the paper's figures and tables into one HTML report")
    parser.add_argument("--ckpt", default=None, help=f"topographic checkpoint (default: {DEFAULT_CHECKPOINT})")
    parser.add_argument("--baseline", default=None, help=f"non-topographic checkpoint (default: {DEFAULT_BASELINE})")
    parser.add_argument("--models", nargs="+", metavar="CKPT",
                        help="report on several checkpoints instead of --ckpt/--baseline (see --baseline-of)")
    parser.add_argument("--baseline-of", action="append", default=[], metavar="TOPO=BASELINE", type=_pair,
                        help="with --models: BASELINE is TOPO's non-topographic baseline (both among --models); "
                             "repeat for each pair")
    parser.add_argument("--group", action="append", default=[], metavar="NAME=TOPO1,TOPO2,...", type=_group,
                        help="with --models: these topographic models are seeds of one condition, each paired by "
                             "--baseline-of with its own seed's baseline; the page adds seed-level findings")
    parser.add_argument("--arch", choices=list_models(),
                        help="architecture, required for plain state dicts without metadata")
    parser.add_argument("--out", default=None,
                        help="output folder (default: reports/<checkpoint name>, with --models reports/models)")
    parser.add_argument("--force", action="store_true", help="recompute every analysis, ignoring the cache")
    parser.add_argument("--cache-dir", default=None, help="analysis cache (default: reports/.cache)")
    add_device_args(parser)
    parser.add_argument("--n-per-class", type=int, default=DEFAULTS.temporal.n_per_class,
                        help="test images per class for temporal and robustness (default: %(default)s)")
    parser.add_argument("--timesteps", nargs="+", type=int, default=list(DEFAULTS.temporal.timesteps),
                        help="inference T values for the temporal analysis (default: %(default)s)")
    parser.add_argument("--fisher-images", type=int, default=DEFAULTS.temporal.fisher_images,
                        help="images for the Fisher information (default: %(default)s)")
    parser.add_argument("--pgd-steps", type=int, default=DEFAULTS.robustness.pgd_steps,
                        help="PGD iterations (default: %(default)s)")
    parser.add_argument("--brain-layers", choices=("committed", "all"), default=DEFAULTS.brain_layers,
                        help="score only the committed layers (default) or sweep every layer")
    parser.set_defaults(run=run)


def _pair(text: str) -> tuple[str, str]:
    topo, sep, base = text.partition("=")
    if not (sep and topo and base):
        raise argparse.ArgumentTypeError(f"{text!r}: expected TOPO=BASELINE, e.g. topo.pt=baseline.pt")
    return topo, base


def _group(text: str) -> tuple[str, list[str]]:
    name, sep, members = text.partition("=")
    listed = [member for member in members.split(",") if member]
    if not (sep and name and listed):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=TOPO1,TOPO2,..., e.g. relu=a.pt,a_seed1.pt")
    return name, listed


def params_from_args(args: argparse.Namespace) -> ReportParams:
    defaults = ReportParams()  # every analysis registered now
    temporal = replace(defaults.temporal, n_per_class=args.n_per_class, timesteps=tuple(args.timesteps),
                       fisher_images=args.fisher_images)
    robustness = replace(defaults.robustness, n_per_class=args.n_per_class, pgd_steps=args.pgd_steps)
    return replace(defaults, temporal=temporal, robustness=robustness, brain_layers=args.brain_layers)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    options = {"params": params_from_args(args), "runtime": runtime_from_args(args), "arch": args.arch,
               "force": args.force, "cache_dir": args.cache_dir}
    if args.models is None:
        if args.baseline_of or args.group:
            raise InputError("--baseline-of and --group name models listed under --models; pass --models too")
        build_report(args.ckpt or DEFAULT_CHECKPOINT, args.baseline or DEFAULT_BASELINE, args.out, **options)
        return 0
    if args.ckpt is not None or args.baseline is not None:
        raise InputError("--models replaces --ckpt and --baseline: list every checkpoint under --models and pair "
                         "them with --baseline-of TOPO=BASELINE")
    groups = dict(args.group)
    if len(groups) < len(args.group):
        raise InputError("--group: each group needs its own name")
    build_models_report(args.models, args.baseline_of, args.out, groups=groups, **options)
    return 0
