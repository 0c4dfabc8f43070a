"""The errors the library raises on bad input, missing data or unusable checkpoints.

Every class derives from :class:`TopoanalysisError` and from the built-in a Python caller would
expect (``ValueError``, ``FileNotFoundError``), so ``except ValueError`` keeps working. The
command line turns these (and operating-system errors such as a full disk) into one line and exit
status 2; any other exception is a bug and keeps its traceback (exit status 1).

* :class:`InputError` - a bad argument, parameter or input file;
* :class:`CheckpointError` - a checkpoint that cannot be loaded as it claims (damaged, foreign, edited);
* :class:`UnsafePickleError` - a pickle that names code to run;
* :class:`DataNotFoundError` - a file or data set that is not where it was looked for;
* :class:`SilentLayerError` - a layer that never responds to the probe, so it cannot be analysed.
"""

from __future__ import annotations

__all__ = ["TopoanalysisError", "InputError", "CheckpointError", "UnsafePickleError", "DataNotFoundError",
           "SilentLayerError"]


class TopoanalysisError(Exception):
    """Base class of the library's errors. ``parameter``, when given, names the argument at fault (the command
    line adds the matching option to its message)."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class InputError(TopoanalysisError, ValueError):
    """A bad argument, parameter or input file."""


class CheckpointError(InputError):
    """A checkpoint that cannot be loaded as what it claims to be."""


class UnsafePickleError(CheckpointError):
    """A pickle named a global outside the allowed set (it may try to run code)."""


class DataNotFoundError(TopoanalysisError, FileNotFoundError):
    """A file or data set that is not where it was looked for; the message says where and how to fix it."""


class SilentLayerError(InputError):
    """A layer produced no spikes (or no activation) for any stimulus."""
