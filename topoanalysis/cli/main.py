"""``topoanalysis`` entry point: parses arguments and turns known errors into messages."""

from __future__ import annotations

import argparse
import logging
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


class _ConsoleHandler(logging.Handler):
    """The library's log as plain lines: info to the current stdout, warnings and errors to stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr if record.levelno >= logging.WARNING else sys.stdout, flush=True)


def _show_library_log() -> None:
    """Send the ``topoanalysis`` loggers' info lines to the console (once per process)."""
    package = logging.getLogger("topoanalysis")
    if not any(isinstance(handler, _ConsoleHandler) for handler in package.handlers):
        package.addHandler(_ConsoleHandler())
    package.setLevel(logging.INFO)


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
    _show_library_log()
    try:
        return int(args.run(args) or 0)
    except (FileNotFoundError, ValueError, ConnectionError) as exc:
        if args.debug:
            raise
        print(f"topoanalysis {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
