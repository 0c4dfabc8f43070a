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


def parse_device(text: str) -> str:
    """``--device``: a torch device this machine has (an argparse type: a bad one is a usage error)."""
    import torch

    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(f"{text}: CUDA is not available on this machine; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise argparse.ArgumentTypeError(f"{text}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                                             f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    elif device.type != "cpu":
        raise argparse.ArgumentTypeError(f"device {text!r} is not supported; use cpu or cuda")
    return text


def add_device_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", type=parse_device, default=None,
                        help="cpu, cuda, cuda:1 ... (default: CUDA if available)")
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


def choose_layer(spec, requested: str | None, area: str) -> str:
    """``requested`` if the checkpoint has a sheet for it; else the layer standing for ``area``."""
    valid = list(spec.sheets)
    if requested is not None:
        if requested not in valid:
            raise ValueError(f"unknown layer {requested!r}; layers with a sheet: {', '.join(valid)}")
        return requested
    layer = spec.layer_for(area)
    if layer is None:
        raise ValueError(f"the checkpoint maps no layer to {area}; pass --layer (one of: {', '.join(valid)})")
    if layer not in valid:
        raise ValueError(f"{area}'s layer {layer} has no sheet in this checkpoint; pass --layer (one of: "
                         f"{', '.join(valid)})")
    return layer


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


def add_evaluation_data_args(parser: argparse.ArgumentParser, n_per_class: int) -> None:
    parser.add_argument("--data", choices=("cifar10", "imagefolder"), default="cifar10",
                        help="test images: the CIFAR-10 test split (bundled models) or an ImageFolder's val split")
    parser.add_argument("--data-path", default=None, metavar="PATH",
                        help="cifar10-jpeg.zip (default: $TOPOANALYSIS_DATA or ../shared/data) or the ImageFolder root")
    parser.add_argument("--n-per-class", type=int, default=n_per_class,
                        help="test images per class (default: %(default)s)")


def evaluation_data(args: argparse.Namespace, spec, model):
    """Labelled test images for the checkpoint's classifier, checking the class count matches."""
    import numpy as np

    from ..training.data import ImageArrays, ImageFolder, load_cifar10_zip

    if args.n_per_class < 1:
        raise ValueError(f"--n-per-class must be >= 1, got {args.n_per_class}")
    if args.data == "cifar10":
        data = load_cifar10_zip(args.data_path, "test", limit_per_class=args.n_per_class, flag="--data-path")
    else:
        if args.data_path is None:
            raise ValueError("--data imagefolder needs --data-path ROOT (a folder of <class>/<image> files, or "
                             "one holding val/<class>/<image>)")
        root = Path(args.data_path)
        folder = ImageFolder(root / "val" if (root / "val").is_dir() else root, spec.input_size_px)
        chosen = [i for label in range(len(folder.classes))
                  for i in [j for j, (_, y) in enumerate(folder.samples) if y == label][:args.n_per_class]]
        items = [folder[i] for i in chosen]
        data = ImageArrays(np.stack([image for image, _ in items]), np.array([y for _, y in items], dtype=np.int64),
                           folder.classes, tuple(spec.mean), tuple(spec.std), f"{folder.root}")
    n_classes = getattr(getattr(model, "fc", None), "out_features", None)
    if n_classes is not None and n_classes != len(data.classes):
        raise ValueError(f"the checkpoint classifies {n_classes} classes but {data.source} has {len(data.classes)} "
                         f"({', '.join(data.classes[:5])}{' ...' if len(data.classes) > 5 else ''}); pass the data "
                         "it was trained on: --data cifar10 for CIFAR-10 checkpoints, --data imagefolder --data-path "
                         "ROOT for others")
    return data
