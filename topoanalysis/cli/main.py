"""``topoanalysis`` entry point: parses arguments and turns known errors into messages.

A Ctrl-C while the command modules (and torch) load, before :func:`main` runs, ends in one
line and exit status 130 too.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import re
import sys
import traceback
from collections.abc import Sequence

from ..errors import TopoanalysisError

INTERRUPTED_AT_START = "\ntopoanalysis: interrupted while starting; nothing was written"

try:
    from ..analyses import registry
    from . import demo, export, importers, info, init_checkpoint, record, report, swap_positions, train
except KeyboardInterrupt:  # the first seconds of a command, before main's own handler is in place
    print(INTERRUPTED_AT_START, file=sys.stderr)
    sys.exit(130)

COMMANDS = (demo, info, init_checkpoint, importers, export, record, swap_positions, train)
"""The commands that are not analyses; each registered analysis adds its own (:func:`commands`)."""


def commands() -> tuple:
    """Every command module: the fixed ones, one per registered analysis (its entry's ``cli``), then ``report``."""
    return (*COMMANDS, *(entry.cli_module() for entry in registry.analyses().values()), report)


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


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line and a pointer to ``--help`` (not the usage block).

    ``add_subparsers`` makes its subparsers of the same class, so every subcommand has it.
    """

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="topoanalysis",
        description="Topographic analysis of deep spiking neural networks against the ventral stream.")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands():
        command.add_parser(subparsers)
    parser.set_defaults(subcommands=subparsers.choices)
    return parser


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """``argv`` parsed; an unknown option is reported by its subcommand's parser (pointing at its ``--help``)."""
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        args.subcommands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


DEBUG_ENV_VAR = "TOPOANALYSIS_DEBUG"
ANTICIPATED = (TopoanalysisError, ConnectionError, OSError)
"""Failures of input, files, data or devices (the library's :mod:`topoanalysis.errors` and the operating system's):
one line and exit status 2, not a traceback. Any other exception, a ``ValueError`` from inside a metric included,
is a bug: its traceback and a request to report it, exit status 1."""
BUG_REPORT = ("this is a bug in topoanalysis, not in your input: please report it with the command line and the "
              "traceback above")
ERRNO_WORDS = {
    errno.ENOSPC: "the disk is full; free some space or write to another disk",
    errno.EDQUOT: "the disk quota is used up; free some space or write to another disk",
    errno.EEXIST: "it already exists; remove it or choose another path",
    errno.EACCES: "permission denied; pass a path you may use",
    errno.EPERM: "not permitted; pass a path you may use",
    errno.EROFS: "the file system is read-only; pass a path you can write to",
    errno.EISDIR: "it is a folder, where a file was needed",
    errno.ENOTDIR: "a part of the path is a file, where a folder was needed",
    errno.ENOENT: "no such file or folder",
    errno.ENAMETOOLONG: "the name is too long",
    errno.EIO: "the disk reported an input/output error; check the disk",
}
"""Plain words for the ``[Errno N] ...`` texts of the OS errors a command can meet."""


OPTION_OF = {"pairs": "--baseline-of", "groups": "--group", "data": "--data", "data_path": "--data-path",
             "clusters_per_layer": "--clusters", "out_dir": "--out", "image_size_px": "--image-size",
             "benchmarks": "--benchmark", "arch_kwargs": "--arch-kwarg",
             "neuron_kind": "--neuron"}
"""The command-line option of a library parameter where it is not ``--`` and the parameter's name with dashes."""


def plain_message(exc: BaseException) -> str:
    """``exc``'s message with any raw ``[Errno N] text`` in it put in plain words, and for an error that names
    the parameter at fault (:attr:`~topoanalysis.errors.TopoanalysisError.parameter`) the option that sets it."""
    def words(match: re.Match) -> str:
        return ERRNO_WORDS.get(int(match.group(1)), match.group(2))

    text = re.sub(r"\[Errno (\d+)\] ([^:(]*[^:( ])", words, str(exc))
    if isinstance(exc, OSError) and str(exc).startswith("[Errno") and exc.filename is not None:
        files = " -> ".join(str(name) for name in (exc.filename, exc.filename2) if name is not None)
        text = f"{files}: {ERRNO_WORDS.get(exc.errno, exc.strerror)}"
    parameter = getattr(exc, "parameter", None)
    if parameter:
        text += f" (option {OPTION_OF.get(parameter, '--' + parameter.replace('_', '-'))})"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI in-process; returns the exit status.

    0: done; 2: bad input, unreadable data or an unavailable device (one line on stderr naming
    the fix; ``--debug`` or ``TOPOANALYSIS_DEBUG=1`` shows the traceback); 130: interrupted
    (finished outputs are kept); 1: a bug (the traceback and a request to report it).
    """
    name, debug = "topoanalysis", os.environ.get(DEBUG_ENV_VAR, "") not in ("", "0")
    try:
        args = parse_arguments(argv)
        name, debug = f"topoanalysis {args.command}", debug or args.debug
        _show_library_log()
        return int(args.run(args) or 0)
    except ANTICIPATED as exc:
        if debug:
            raise
        print(f"{name}: error: {plain_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"\n{name}: interrupted; nothing half-written was kept (finished outputs and, for report, finished "
              "analyses are). Run the same command again to continue (train: add --resume OUT/checkpoint_last.pt).",
              file=sys.stderr)
        return 130
    except Exception:
        traceback.print_exc()
        print(f"{name}: internal error: {BUG_REPORT}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
