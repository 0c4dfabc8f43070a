"""``topoanalysis`` entry point: parses arguments and turns known errors into messages."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Sequence

from . import (
    brain,
    demo,
    importers,
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

COMMANDS = (demo, info, init_checkpoint, importers, record, swap_positions, train, v1_maps, it_patches, brain, temporal,
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


DEBUG_ENV_VAR = "TOPOANALYSIS_DEBUG"
ANTICIPATED = (FileNotFoundError, ValueError, ConnectionError, OSError)
"""Failures of input, files, data or devices: one line and exit status 2, not a traceback."""
BUG_REPORT = ("this is a bug in topoanalysis, not in your input: please report it with the command line and the "
              "traceback above")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in-process; returns the exit status.

    0: done; 2: bad input, unreadable data or an unavailable device (one line on stderr naming
    the fix; ``--debug`` or ``TOPOANALYSIS_DEBUG=1`` shows the traceback); 130: interrupted
    (finished outputs are kept); 1: a bug (the traceback and a request to report it).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _show_library_log()
    debug = args.debug or os.environ.get(DEBUG_ENV_VAR, "") not in ("", "0")
    try:
        return int(args.run(args) or 0)
    except ANTICIPATED as exc:
        if debug:
            raise
        print(f"topoanalysis {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"\ntopoanalysis {args.command}: interrupted; nothing half-written was kept (finished outputs and, for "
              "report, finished analyses are). Run the same command again to continue (train: add --resume "
              "OUT/checkpoint_last.pt).", file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print(f"topoanalysis {args.command}: internal error: {BUG_REPORT}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
