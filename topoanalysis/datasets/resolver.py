"""Where the toolkit's data sets are found: the one resolver every loader calls.

A data set is looked for, in order, at the path its caller gives (a command-line flag or a params
field), at ``$TOPOANALYSIS_DATA/<name>``, and at ``<name>`` in the shared data folder beside the
checkout. An explicit path is never replaced by a fallback, and an error names every place tried
and the fix. :func:`find_data_file` finds a file, :func:`find_data_dir` a folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..errors import DataNotFoundError, InputError
from ..paths import REPO_ROOT

DATA_ENV_VAR = "TOPOANALYSIS_DATA"
"""The environment variable that names a data folder, looked in before the shared one."""
SHARED_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
"""The read-only data folder beside the checkout (fLoc, CIFAR-10 zip, neural data)."""
DATA_SETS = {"cifar10": "cifar10-jpeg.zip", "floc": "floc", "rsa92": "rsa92", "ringach": "ringach2002",
             "v4": "v4_cowley2023"}
"""Every data set the toolkit reads -> its name in a data folder (``$TOPOANALYSIS_DATA`` or the shared one)."""


def default_data_path(data_set: str) -> Path:
    """Where ``data_set`` (a key of :data:`DATA_SETS`) is looked for when no path is given.

    ``$TOPOANALYSIS_DATA/<name>`` when that variable is set, else the shared data folder's.

    Examples
    --------
    >>> default_data_path("v4").name
    'v4_cowley2023'
    """
    if data_set not in DATA_SETS:
        raise InputError(f"unknown data set {data_set!r}; known: {', '.join(DATA_SETS)}")
    root = os.environ.get(DATA_ENV_VAR)
    return (Path(root).expanduser() if root else Path(SHARED_DATA_DIR)) / DATA_SETS[data_set]


def _fallbacks(relative: str) -> list[Path]:
    """``$TOPOANALYSIS_DATA/<relative>`` (when that variable is set), then the shared data folder's."""
    root = os.environ.get(DATA_ENV_VAR)
    places = [Path(root).expanduser() / relative] if root else []
    places.append(Path(SHARED_DATA_DIR) / relative)
    return places


def _unset_note(path) -> str:
    return "" if path is not None or os.environ.get(DATA_ENV_VAR) else f" (${DATA_ENV_VAR} is not set)"


def find_data_file(relative: str, path: str | os.PathLike | None = None, *, what: str, flag: str) -> Path:
    """Locate a data file: ``path``, else ``$TOPOANALYSIS_DATA/<relative>``, else the shared data folder.

    ``path`` may be the file itself, a folder holding it, or a data root holding
    ``relative``; an explicit ``path`` is never replaced by a fallback. The error names
    every place tried, ``what`` was looked for and the ``flag`` that fixes it. Module
    globals are read at call time, so tests can point them elsewhere.

    Examples
    --------
    >>> find_data_file("ringach2002/ringach_2002_db.mat", "/no/where", what="Ringach 2002", flag="--ringach")
    Traceback (most recent call last):
    ...
    topoanalysis.errors.DataNotFoundError: Ringach 2002 (ringach_2002_db.mat) not found; tried: /no/where. \
Fix: pass --ringach PATH (the file or its folder) or set TOPOANALYSIS_DATA to a data folder that holds \
ringach2002/ringach_2002_db.mat.
    """
    name = Path(relative).name
    if path is not None:
        given = Path(path).expanduser()
        tried = [given / name, given / relative] if given.is_dir() else [given]
    else:
        tried = _fallbacks(relative)
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise DataNotFoundError(f"{what} ({name}) not found; tried: {', '.join(map(str, tried))}{_unset_note(path)}. "
                            f"Fix: pass {flag} PATH (the file or its folder) or set {DATA_ENV_VAR} to a data folder "
                            f"that holds {relative}.")


def find_data_dir(data_set_or_relative: str, path: str | os.PathLike | None = None, *, what: str, flag: str,
                  holds: Callable[[Path], bool]) -> Path:
    """Locate a data folder: ``path``, else ``$TOPOANALYSIS_DATA/<name>``, else the shared data folder's.

    The lookup of :func:`find_data_file`, for a data set that is a folder. Module globals are read
    at call time, so tests can point them elsewhere.

    Parameters
    ----------
    data_set_or_relative : str
        A key of :data:`DATA_SETS` (``"floc"``), or the folder's path relative to a data folder.
    path : str or os.PathLike, optional
        The folder itself (not a data root holding it); it is never replaced by a fallback.
    what : str
        What is looked for, in words (the start of the error message).
    flag : str
        The command-line option that gives the folder (named in the fix).
    holds : callable
        ``holds(folder) -> bool``: whether an existing candidate folder holds the data.

    Returns
    -------
    pathlib.Path
        The first candidate that is a folder for which ``holds`` is true.

    Raises
    ------
    DataNotFoundError
        Naming every place tried, why each was refused, and the fix. When ``path`` is a data root
        whose ``<name>`` subfolder holds the data, the message says to pass that instead.

    Examples
    --------
    >>> find_data_dir("floc", "/no/where", what="fLoc images", flag="--stimuli", holds=lambda folder: True)
    Traceback (most recent call last):
    ...
    topoanalysis.errors.DataNotFoundError: fLoc images not found; tried: /no/where (no such folder). \
Fix: pass --stimuli DIR (the folder that holds them) or set TOPOANALYSIS_DATA to a data folder that \
holds floc/.
    """
    relative = DATA_SETS.get(data_set_or_relative, data_set_or_relative)
    tried = [Path(path).expanduser()] if path is not None else _fallbacks(relative)
    refused = []
    for candidate in tried:
        if candidate.is_dir() and holds(candidate):
            return candidate
        if not candidate.exists():
            why = "no such folder"
        elif not candidate.is_dir():
            why = "not a folder"
        else:
            why = "holds none of them"
            inner = candidate / relative
            if path is not None and inner.is_dir() and holds(inner):
                why += f"; its subfolder {inner} does: pass that instead"
        refused.append(f"{candidate} ({why})")
    raise DataNotFoundError(f"{what} not found; tried: {', '.join(refused)}{_unset_note(path)}. Fix: pass {flag} DIR "
                            f"(the folder that holds them) or set {DATA_ENV_VAR} to a data folder that holds "
                            f"{relative}/.")
