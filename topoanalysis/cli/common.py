"""Arguments and loading steps shared by several subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
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


def parse_arch_kwarg(text: str) -> tuple[str, object]:
    """``--arch-kwarg KEY=VALUE``: a constructor argument the other options do not cover (e.g. ``depth=2``,
    ``embed_dim=128``); VALUE is read as a number, true/false/none, or else kept as text (an argparse type)."""
    key, sep, value = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, e.g. depth=2, got {text!r}")
    value = value.strip()
    words = {"true": True, "false": False, "none": None}
    if value.lower() in words:
        return key, words[value.lower()]
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def add_arch_kwarg_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch-kwarg", type=parse_arch_kwarg, action="append", default=[], metavar="KEY=VALUE",
                        help="another constructor argument of the architecture (repeatable), e.g. depth=2 "
                             "embed_dim=128 for spikformer, neuron_kind=plif, norm=batch")


def add_device_args(parser: argparse.ArgumentParser, *, records: bool = True) -> None:
    """``--device``, ``--precision``, ``--batch-size``, and ``--compile`` for commands that record layers."""
    parser.add_argument("--device", type=parse_device, default=None,
                        help="cpu, cuda, cuda:1 ... (default: CUDA if available)")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                        help="forward-pass precision (default: %(default)s, the reference path)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="images per batch (default: 64, fewer for large inputs: 16 at 224 px and T = 4, so that "
                             "T x batch x pixels stays within 16 x 4 x 224^2)")
    if not records:
        return
    parser.add_argument("--compile", action="store_true",
                        help="record through torch.compile with the plain-ops LIF (fast on a GPU; the first batch "
                             "pays the compilation)")


def runtime_from_args(args: argparse.Namespace):
    """The :class:`~topoanalysis.analyses.base.Runtime` of ``--device``, ``--precision``, ``--batch-size``."""
    from ..analyses.base import Runtime

    return Runtime(device=args.device, precision=args.precision, batch_size=args.batch_size,
                   compile=getattr(args, "compile", False))


def batch_size_for(args: argparse.Namespace, spec) -> int:
    """``--batch-size``, or the default for the checkpoint's input size and T."""
    return runtime_from_args(args).batch_size_for(spec)


def check_out(args: argparse.Namespace, result_class) -> None:
    """Refuse an ``--out`` that cannot hold this analysis's results, before any work."""
    from ..outputs import check_output_folder

    check_output_folder(args.out, f"{result_class.analysis}_results.json")


def save_result(result, out: str | Path) -> None:
    """Save ``result`` into a staged folder that replaces ``out`` whole, and say what was written."""
    from ..outputs import staged_folder

    with staged_folder(out, f"{result.analysis}_results.json") as staging:
        written = result.save(staging)
    print(f"wrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written))


def load_from_args(args: argparse.Namespace):
    """``(model, spec)`` from ``--ckpt`` / ``--arch``."""
    return load_checkpoint(args.ckpt, arch=args.arch)


def add_baseline_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline", default="auto", metavar="PATH",
                        help="non-topographic checkpoint to compare with; 'auto' (default): the bundled "
                             "baseline when --ckpt is the bundled default; 'none': no comparison")


def checkpoints_to_compare(args: argparse.Namespace) -> dict:
    """``{name: ModelFile}`` of ``--ckpt`` and, unless ``--baseline none``, the baseline; names are file stems.

    Each is loaded once here, so a bad baseline fails before any work on the first model.
    """
    from ..analyses.base import ModelFile, check_models

    paths = {Path(args.ckpt).stem: Path(args.ckpt)}
    baseline = args.baseline
    if baseline == "auto":
        default = Path(args.ckpt).resolve() == DEFAULT_CHECKPOINT.resolve()
        baseline = str(DEFAULT_BASELINE) if default and DEFAULT_BASELINE.is_file() else "none"
    if baseline != "none":
        if Path(baseline).stem in paths:
            raise InputError(f"--baseline {baseline} has the same name as --ckpt; rename one of them")
        paths[Path(baseline).stem] = Path(baseline)
    files = {name: ModelFile(path, arch=args.arch) for name, path in paths.items()}
    check_models(files)
    return files


def add_evaluation_data_args(parser: argparse.ArgumentParser, defaults) -> None:
    """``--data``, ``--data-path``, ``--n-per-class``, defaulting to ``defaults`` (a params dataclass)."""
    parser.add_argument("--data", choices=("cifar10", "imagefolder"), default=defaults.data,
                        help="test images: the CIFAR-10 test split (bundled models) or an ImageFolder's val split")
    parser.add_argument("--data-path", default=None, metavar="PATH",
                        help="cifar10-jpeg.zip (default: $TOPOANALYSIS_DATA or ../shared/data) or the ImageFolder root")
    parser.add_argument("--n-per-class", type=int, default=defaults.n_per_class,
                        help="test images per class (default: %(default)s)")
