"""``topoanalysis`` entry point: parses arguments and turns known errors into messages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import (
    brain,
    demo,
    info,
    init_checkpoint,
    it_patches,
    record,
    report,
    robustness,
    swap_positions,
    temporal,
    train,
    v1_maps,
)

COMMANDS = (demo, info, init_checkpoint, record, swap_positions, train, v1_maps, it_patches, brain, temporal,
            robustness, report)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="topoanalysis",
        description="Topographic analysis of deep spiking neural networks against the ventral stream.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in-process; returns the exit status (0 ok, 2 bad input or data out of reach)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except (FileNotFoundError, ValueError, ConnectionError) as exc:
        if args.debug:
            raise
        print(f"topoanalysis {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
