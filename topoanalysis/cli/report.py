"""``topoanalysis report``: every paper figure and table for a checkpoint and its baseline, in one page.

Runs (or reuses from the cache) v1-maps, it-patches, brain, temporal and robustness, then
writes ``OUT/index.html`` (self-contained), ``OUT/figures/*.png|pdf`` and the tables as CSV.
"""

from __future__ import annotations

from ..paths import DEFAULT_CHECKPOINT
from ..report import ReportParams, build_report
from .common import DEFAULT_BASELINE, parse_device


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("report", help="rebuild the paper's figures and tables into one HTML report")
    parser.add_argument("--ckpt", default=str(DEFAULT_CHECKPOINT), help="topographic checkpoint (default: %(default)s)")
    parser.add_argument("--baseline", default=str(DEFAULT_BASELINE),
                        help="non-topographic checkpoint (default: %(default)s)")
    parser.add_argument("--out", default=None, help="output folder (default: reports/<checkpoint name>)")
    parser.add_argument("--force", action="store_true", help="recompute every analysis, ignoring the cache")
    parser.add_argument("--cache-dir", default=None, help="analysis cache (default: reports/.cache)")
    parser.add_argument("--device", type=parse_device, default=None, help="cpu, cuda ... (default: CUDA if available)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-per-class", type=int, default=ReportParams.n_per_class,
                        help="test images per class for temporal and robustness (default: %(default)s)")
    parser.add_argument("--timesteps", nargs="+", type=int, default=list(ReportParams.timesteps),
                        help="inference T values for the temporal analysis (default: %(default)s)")
    parser.add_argument("--fisher-images", type=int, default=ReportParams.fisher_images)
    parser.add_argument("--pgd-steps", type=int, default=ReportParams.pgd_steps)
    parser.add_argument("--brain-layers", choices=("committed", "all"), default=ReportParams.brain_layers,
                        help="score only the committed layers (default) or sweep every layer")
    parser.set_defaults(run=run)


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    params = ReportParams(n_per_class=args.n_per_class, timesteps=tuple(args.timesteps),
                          fisher_images=args.fisher_images, pgd_steps=args.pgd_steps, brain_layers=args.brain_layers,
                          device=args.device, batch_size=args.batch_size)
    build_report(args.ckpt, args.baseline, args.out, params=params, force=args.force, cache_dir=args.cache_dir)
    return 0
