"""``topoanalysis info``: print a checkpoint's model card."""

from __future__ import annotations

from .common import add_checkpoint_args, load_from_args


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("info", help="print a checkpoint's model card")
    add_checkpoint_args(parser)
    parser.set_defaults(run=run)


def run(args) -> int:
    model, spec = load_from_args(args)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"checkpoint       {args.ckpt}")
    print(f"parameters       {n_params:,}")
    print(spec.model_card())
    return 0
