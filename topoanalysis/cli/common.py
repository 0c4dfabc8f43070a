"""Arguments and loading steps shared by several subcommands."""

from __future__ import annotations

import argparse

from ..models import list_models
from ..models.checkpoints import load_checkpoint
from ..paths import DEFAULT_CHECKPOINT


def add_checkpoint_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", default=str(DEFAULT_CHECKPOINT),
                        help="checkpoint file (default: the bundled %(default)s)")
    parser.add_argument("--arch", choices=list_models(),
                        help="architecture, required for plain state dicts without metadata")


def add_device_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA if available)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="forward-pass precision (default: %(default)s, the reference path)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per batch (default: %(default)s)")


def load_from_args(args: argparse.Namespace):
    """``(model, spec)`` from ``--ckpt`` / ``--arch``."""
    return load_checkpoint(args.ckpt, arch=args.arch)
