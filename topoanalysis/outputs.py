"""Writing results: tables, JSON and figures, each written atomically (temp name, then rename), and
output folders that are replaced whole (:func:`staged_folder`) and say what they hold (:data:`MANIFEST`)."""

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

from .errors import InputError
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


MANIFEST = ".topoanalysis-manifest.json"
"""Written last into every output folder: ``{"output": marker, "files": [relative paths]}``. A later
run of the same command may replace exactly those files; any other file in the folder is refused."""

OUTPUT_MARKERS = ("*_results.json", "index.html", "summary.json", "train_log.jsonl")
"""The file each command's output folder holds (``train`` writes ``train_log.jsonl``)."""

LEGACY_SUFFIXES = (".csv", ".json", ".png", ".pdf", ".nc", ".html", ".txt")
"""What the commands wrote before manifests: a folder with the marker and only such files is an earlier output."""


def folder_files(folder: str | os.PathLike) -> list[str]:
    """Every file under ``folder`` (symbolic links included) as sorted relative paths, without its manifest."""
    folder, found = Path(folder), []
    for root, dirs, files in os.walk(folder):
        links = [name for name in dirs if os.path.islink(os.path.join(root, name))]
        found += [Path(root, name).relative_to(folder).as_posix() for name in files + links]
    return sorted(name for name in found if name != MANIFEST)


def read_manifest(folder: str | os.PathLike) -> dict | None:
    """``folder``'s manifest (see :data:`MANIFEST`), or None when it has none."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
        return {"output": str(manifest["output"]), "files": [str(name) for name in manifest["files"]]}
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{path} is not a topoanalysis manifest; pass another output folder or delete that file",
                         parameter="out") from None


def write_manifest(folder: str | os.PathLike, marker: str, files: Sequence[str] | None = None) -> Path:
    """Record that ``folder`` is an output holding ``marker``; ``files`` default to every file in it."""
    files = folder_files(folder) if files is None else sorted(files)
    return write_json({"output": marker, "files": files}, Path(folder) / MANIFEST)


def other_output(folder: str | os.PathLike, marker: str) -> str | None:
    """A file of ``folder`` showing that another command's output (not ``marker``'s) is there, or None."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    if manifest is not None:
        return None if manifest["output"] == marker else manifest["output"]
    for pattern in OUTPUT_MARKERS:
        for path in sorted(folder.glob(pattern)):
            if path.name != marker and path.is_file():
                return path.name
    return None


def foreign_file(folder: str | os.PathLike, marker: str) -> str | None:
    """The first file in ``folder`` that a new output with ``marker`` may not replace; None when none.

    Replaceable: the files its manifest lists, when the manifest names ``marker``; in a folder
    without a manifest (written before manifests), every file when ``marker`` is there and all are
    of the kinds the commands write (:data:`LEGACY_SUFFIXES`).
    """
    other = other_output(folder, marker)
    if other is not None:
        return other
    files, manifest = folder_files(folder), read_manifest(folder)
    if manifest is not None:
        listed = set(manifest["files"])
        return next((name for name in files if name not in listed), None)
    if marker in files:
        return next((name for name in files if Path(name).suffix not in LEGACY_SUFFIXES), None)
    return files[0] if files else None


def _refusal(out: Path, marker: str, foreign: str) -> InputError:
    whose = "another command's output" if other_output(out, marker) else "not written by this command"
    return InputError(f"output folder {out} already holds other files ({foreign}: {whose}, which a new run must "
                      "not delete); pass another, new or empty folder", parameter="out")


def check_output_folder(out: str | os.PathLike, marker: str) -> Path:
    """Check, before any work, that ``out`` can become this command's output folder.

    It may be missing (created), empty, or an earlier output of the same command (its manifest
    names ``marker``, e.g. ``v1_results.json``), whose listed files a successful run replaces;
    a file, a folder holding any other file (:func:`foreign_file`), or a place that cannot be
    written is refused.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"output folder {out} is a file; pass a folder path", parameter="out")
    if out.is_dir():
        foreign = foreign_file(out, marker)
        if foreign is not None:
            raise _refusal(out, marker, foreign)
    parent = _writable_parent(out)
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"output folder {out}: cannot write in {parent} (read-only or not a folder); pass a folder "
                         "you can write to", parameter="out")
    return out


def check_output_file(out: str | os.PathLike, *, parameter: str = "out") -> Path:
    """Check, before any work, that the file ``out`` can be written (a missing folder above it is created);
    ``parameter`` names the argument it came from in the error."""
    out = Path(out)
    if out.is_dir():
        raise InputError(f"output file {out} is a folder; pass a file path (e.g. {out / 'responses.nc'})",
                         parameter=parameter)
    parent = _writable_parent(out)
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"output file {out}: cannot write in {parent} (read-only or not a folder); pass a path "
                         "you can write to", parameter=parameter)
    return out


def _clean_staging(out: Path) -> None:
    """Staging folders beside ``out`` left by runs that were killed (their process is gone).

    An earlier output set aside (``-old``) by a run killed before it put the new one in place
    is restored when ``out`` is missing; everything else is removed (a symbolic link as a link,
    never what it points to).
    """
    for folder in sorted(out.parent.glob(f".{out.name}.staging-*")):
        try:
            os.kill(int(folder.name.rsplit("staging-", 1)[1].split("-")[0]), 0)
            continue  # its run is still going
        except (ValueError, IndexError, ProcessLookupError):
            pass
        except PermissionError:  # a live process of another user
            continue
        if folder.name.endswith("-old") and not os.path.lexists(out):
            os.replace(folder, out)
        elif folder.is_symlink():
            folder.unlink()
        else:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def staged_folder(out: str | os.PathLike, marker: str) -> Iterator[Path]:
    """A fresh folder to write into; on success it replaces ``out``, on failure it is removed.

    So ``out`` only ever holds one complete run's files: never a half-written folder, never
    old and new files side by side, and of two concurrent runs the last to finish wins. The new
    folder gets a manifest of its files (:data:`MANIFEST`). ``out`` is checked as
    :func:`check_output_folder` does, before and again at the swap: a file that appeared in the
    meantime keeps the earlier output in place and the run fails. ``out`` may be a symbolic link
    to a folder: the folder it points to is replaced, the link kept.
    """
    given = Path(out)
    out = check_output_folder(Path(os.path.realpath(given)) if given.is_symlink() else given, marker)
    out.parent.mkdir(parents=True, exist_ok=True)
    for path in {given, out}:
        _clean_staging(path)
    check_output_folder(out, marker)  # again: an earlier output may have been restored
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-{os.getpid()}-", dir=out.parent))
    try:
        yield staging
        write_manifest(staging, marker)
        os.chmod(staging, 0o777 & ~current_umask())
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.staging-{os.getpid()}-old"
            os.replace(out, old)  # a kill from here to the next rename leaves old for the next run to restore
            foreign = foreign_file(old, marker)
            if foreign is not None:
                os.replace(old, out)
                raise InputError(f"output folder {out}: {foreign} appeared there while this command ran; nothing "
                                 "was replaced; move it elsewhere and rerun, or pass another folder", parameter="out")
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
