"""``topoanalysis init-checkpoint``: save a freshly initialised model with its sheets."""

from __future__ import annotations

import datetime
import platform

import numpy as np
import torch

from .. import __version__
from ..errors import InputError
from ..models import list_models
from ..models.checkpoints import IMAGENET_MEAN, IMAGENET_STD, check_spec_numbers, save_checkpoint
from ..models.fresh import fresh_checkpoint
from ..models.registry import check_arch_kwargs
from ..outputs import check_output_file
from ..running.inputs import preprocess
from ..stimuli import make_sine_gratings
from .common import add_arch_kwarg_arg


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("init-checkpoint", help="save a freshly initialised model and its sheets")
    parser.add_argument("--arch", choices=list_models(), default="spiking_resnet18")
    parser.add_argument("--stem", choices=("imagenet", "cifar"), default="cifar")
    parser.add_argument("--width", type=float, default=None,
                        help="channel multiplier (default: the architecture's, 1/16 for the tiny ones, else 1)")
    parser.add_argument("--num-classes", type=int, default=10)
    parser.add_argument("--timesteps", type=int, default=None, help="T (default: the architecture's)")
    add_arch_kwarg_arg(parser)
    parser.add_argument("--input-size", type=int, default=32, help="input size in px (default: %(default)s)")
    parser.add_argument("--visual-degrees", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibrate-bn", type=int, default=0, metavar="N",
                        help="calibrate batch norm on N random sine gratings (default: off)")
    parser.add_argument("--out", required=True, help="output checkpoint path (.pt)")
    parser.set_defaults(run=run)


def run(args) -> int:
    check_output_file(args.out)
    arch_kwargs = {"stem": args.stem, "num_classes": args.num_classes, **dict(args.arch_kwarg)}
    for key, value in (("width", args.width), ("timesteps", args.timesteps)):
        if value is not None:
            arch_kwargs[key] = value
    try:
        check_spec_numbers(input_size_px=args.input_size, visual_degrees=args.visual_degrees)
        check_arch_kwargs(args.arch, arch_kwargs, as_flags=True)
    except ValueError as exc:
        raise InputError(f"{exc}; see topoanalysis init-checkpoint --help") from None
    if args.calibrate_bn < 0:
        raise InputError(f"--calibrate-bn must be 0 (off) or a number of gratings, got {args.calibrate_bn}")
    calibration = None
    if args.calibrate_bn > 0:
        gratings = make_sine_gratings(args.input_size, args.visual_degrees)
        pick = np.random.default_rng(args.seed).choice(len(gratings), args.calibrate_bn, replace=False)
        calibration = preprocess(gratings.batch(np.sort(pick)), args.input_size, IMAGENET_MEAN, IMAGENET_STD)
    model, spec = fresh_checkpoint(
        args.arch, seed=args.seed, input_size_px=args.input_size, arch_kwargs=arch_kwargs,
        visual_degrees=args.visual_degrees, calibration_images=calibration,
        provenance={"created": datetime.date.today().isoformat(), "trained": "no",
                    "topoanalysis": __version__, "torch": torch.__version__,
                    "python": platform.python_version()})
    spec = save_checkpoint(args.out, model, spec)
    print(f"wrote {args.out}  sha256 {spec.content_sha256}")
    return 0
