"""Where the project's bundled files live, and atomic writing of outputs."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import DataNotFoundError, InputError

REPO_ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT_DIR = REPO_ROOT / "checkpoints"
DEFAULT_CHECKPOINT = CHECKPOINT_DIR / "tsresnet18_cifar10_a05b05.pt"
REPORTS_DIR = REPO_ROOT / "reports"
DATA_ENV_VAR = "TOPOANALYSIS_DATA"
SHARED_DATA_DIR = REPO_ROOT.parent / "shared" / "data"
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
"""The read-only data folder beside the checkout (fLoc, CIFAR-10 zip, neural data)."""


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
        tried = [Path(os.environ[DATA_ENV_VAR]).expanduser() / relative] if os.environ.get(DATA_ENV_VAR) else []
        tried.append(Path(SHARED_DATA_DIR) / relative)
    for candidate in tried:
        if candidate.is_file():
            return candidate
    unset = "" if path is not None or os.environ.get(DATA_ENV_VAR) else f" (${DATA_ENV_VAR} is not set)"
    raise DataNotFoundError(f"{what} ({name}) not found; tried: {', '.join(map(str, tried))}{unset}. Fix: pass "
                            f"{flag} PATH (the file or its folder) or set {DATA_ENV_VAR} to a data folder that "
                            f"holds {relative}.")


def current_umask() -> int:
    """The process umask (read without changing it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only on success.

    Examples
    --------
    >>> with atomic_path("/tmp/example.txt") as tmp:
    ...     _ = tmp.write_text("done")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
