"""Writing results: tables, JSON and figures, each written atomically (temp name, then rename), and
output folders that are replaced whole (:func:`staged_folder`)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from .paths import atomic_path, current_umask

FIGURE_FORMATS = ("png", "pdf")


def _plain(value):
    """JSON-friendly version of numpy scalars/arrays and NaN (written as null)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json(data: dict, path: str | os.PathLike) -> Path:
    """Write ``data`` as indented JSON; numpy values become plain numbers, NaN becomes null."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_plain(data), indent=2) + "\n")
    return path


def write_csv(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``table`` as CSV without its index."""
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


def save_figure(fig, out_dir: str | os.PathLike, stem: str, formats: Sequence[str] = FIGURE_FORMATS,
                dpi: int = 150) -> list[Path]:
    """Save ``fig`` as ``out_dir/stem.<format>`` for each format (PNG for screens, PDF for print)."""
    paths = []
    for fmt in formats:
        path = Path(out_dir) / f"{stem}.{fmt}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format=fmt)
        paths.append(path)
    return paths


def _writable_parent(path: Path) -> Path:
    """The nearest existing folder above ``path``."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent


def check_output_folder(out: str | os.PathLike, marker: str, *, flag: str = "--out") -> Path:
    """Check, before any work, that ``out`` can become this command's output folder.

    It may be missing (created), empty, or a previous output of the same command (it holds
    ``marker``, e.g. ``v1_results.json``), which a successful run replaces as a whole; a file,
    a folder holding anything else, or a place that cannot be written is refused.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{flag} {out} is a file; pass a folder path")
    if out.is_dir() and any(out.iterdir()) and not (out / marker).is_file():
        raise ValueError(f"{flag} {out} already holds other files (no {marker}, so it is not an earlier output of "
                         "this command); pass a new or empty folder")
    parent = _writable_parent(out)
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {out}: cannot write in {parent} (read-only or not a folder); pass a folder you "
                         "can write to")
    return out


def check_output_file(out: str | os.PathLike, *, flag: str = "--out") -> Path:
    """Check, before any work, that the file ``out`` can be written (a missing folder above it is created)."""
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"{flag} {out} is a folder; pass a file path (e.g. {out / 'responses.nc'})")
    parent = _writable_parent(out)
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {out}: cannot write in {parent} (read-only or not a folder); pass a path you "
                         "can write to")
    return out


def _remove_stale_staging(out: Path) -> None:
    """Staging folders beside ``out`` left by runs that were killed (their process is gone)."""
    for folder in out.parent.glob(f".{out.name}.staging-*"):
        try:
            pid = int(folder.name.rsplit("staging-", 1)[1].split("-")[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # a live process of another user
            pass


@contextmanager
def staged_folder(out: str | os.PathLike, marker: str) -> Iterator[Path]:
    """A fresh folder to write into; on success it replaces ``out`` whole, on failure it is removed.

    So ``out`` only ever holds one complete run's files: never a half-written folder, never
    old and new files side by side, and of two concurrent runs the last to finish wins.
    ``out`` is checked as :func:`check_output_folder` does.
    """
    out = check_output_folder(out, marker)
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-{os.getpid()}-", dir=out.parent))
    try:
        yield staging
        os.chmod(staging, 0o777 & ~current_umask())
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.staging-{os.getpid()}-old"
            os.replace(out, old)
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
