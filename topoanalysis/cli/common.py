"""Arguments and loading steps shared by several subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ..models import list_models
from ..models.checkpoints import load_checkpoint
from ..paths import CHECKPOINT_DIR, DEFAULT_CHECKPOINT

DEFAULT_BASELINE = CHECKPOINT_DIR / "sresnet18_cifar10_baseline.pt"


def add_checkpoint_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ckpt", default=str(DEFAULT_CHECKPOINT),
                        help="checkpoint file (default: the bundled %(default)s)")
    parser.add_argument("--arch", choices=list_models(),
                        help="architecture, required for plain state dicts without metadata")


def add_device_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA if available)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="forward-pass precision (default: %(default)s, the reference path)")
    parser.add_argument("--batch-size", type=int, default=64, help="images per batch (default: %(default)s)")


def load_from_args(args: argparse.Namespace):
    """``(model, spec)`` from ``--ckpt`` / ``--arch``."""
    return load_checkpoint(args.ckpt, arch=args.arch)


def add_baseline_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline", default="auto", metavar="PATH",
                        help="non-topographic checkpoint to compare with; 'auto' (default): the bundled "
                             "baseline when --ckpt is the bundled default; 'none': no comparison")


def checkpoints_to_compare(args: argparse.Namespace) -> dict[str, Path]:
    """``{name: path}`` of ``--ckpt`` and, unless ``--baseline none``, the baseline; names are file stems."""
    paths = {Path(args.ckpt).stem: Path(args.ckpt)}
    baseline = args.baseline
    if baseline == "auto":
        default = Path(args.ckpt).resolve() == DEFAULT_CHECKPOINT.resolve()
        baseline = str(DEFAULT_BASELINE) if default and DEFAULT_BASELINE.is_file() else "none"
    if baseline != "none":
        if Path(baseline).stem in paths:
            raise ValueError(f"--baseline {baseline} has the same name as --ckpt; rename one of them")
        paths[Path(baseline).stem] = Path(baseline)
    return paths


def choose_layer(spec, requested: str | None, default: str, area: str) -> str:
    """``requested`` if the checkpoint has a sheet for it; else ``default``, else the first ``area`` layer."""
    valid = list(spec.sheets)
    if requested is not None:
        if requested not in valid:
            raise ValueError(f"unknown layer {requested!r}; layers with a sheet: {', '.join(valid)}")
        return requested
    if default in valid:
        return default
    in_area = spec.layers_in(area)
    if not in_area:
        raise ValueError(f"the checkpoint maps no layer to {area}; pass --layer (one of: {', '.join(valid)})")
    return in_area[-1] if area == "IT" else in_area[0]


def stacked_tables(results: dict, attribute: str) -> pd.DataFrame:
    """One table of ``result.<attribute>`` over models, with a leading ``model`` column."""
    tables = [getattr(result, attribute).assign(model=name) for name, result in results.items()
              if getattr(result, attribute) is not None]
    if not tables:
        return pd.DataFrame()
    table = pd.concat(tables, ignore_index=True)
    return table[["model"] + [c for c in table.columns if c != "model"]]


def write_stacked_tables(results: dict, attributes, out: Path) -> list[Path]:
    """``out/<attribute>.csv`` for each attribute, stacked over models (an empty table keeps its header)."""
    from ..outputs import write_csv

    written = []
    for attribute in attributes:
        table = stacked_tables(results, attribute)
        if len(table.columns):
            written.append(write_csv(table, out / f"{attribute}.csv"))
    return written
