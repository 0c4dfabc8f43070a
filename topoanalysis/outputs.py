"""Writing results: tables, JSON and figures, each written atomically (temp name, then rename)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .paths import atomic_path

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
