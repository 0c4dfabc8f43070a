"""``topoanalysis import``: checkpoints the toolkit did not train, written in its own format.

``import tdann --weights FILE --positions DIR --out X.pt``: a TDANN (VISSL) checkpoint and its
positions directory. ``import state-dict --weights FILE --arch A --positions FILE.npz --out
X.pt [--neuron --tau --v-threshold --surrogate --timesteps --connect]``: a plain state dict of a registered
architecture (spikingjelly / torchvision key names: ResNet-18/34/50, SEW ResNet-18/34/50, VGG-11-BN; CORnet-RT's)
with positions from a file; the settings no tensor records are given by those options, read from the file
where it can say (PLIF neurons hold a learnable ``w``) or assumed, and the card says which.
See :mod:`topoanalysis.models.importers` for the formats.
"""

from __future__ import annotations

import argparse

from ..errors import InputError
from ..models import list_models
from ..models.lif import SPIKING_NEURONS
from ..outputs import check_output_file


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("import", help="write a TDANN checkpoint or a plain state dict with positions "
                                                  "in the toolkit's format")
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    tdann = kinds.add_parser("tdann", help="a TDANN (VISSL) checkpoint and its positions directory")
    tdann.add_argument("--weights", required=True, metavar="FILE", help="TDANN's checkpoint (.torch)")
    tdann.add_argument("--positions", required=True, metavar="DIR",
                       help="TDANN's positions directory (one .npz or .pkl per ResNet-18 block)")
    tdann.add_argument("--input-size", type=int, default=224, help="input size in px (default: %(default)s)")
    tdann.add_argument("--out", required=True, help="checkpoint to write (.pt)")
    plain = kinds.add_parser("state-dict", help="a plain state dict of a registered architecture, with positions")
    plain.add_argument("--weights", required=True, metavar="FILE", help="the state dict (.pt / .pth)")
    plain.add_argument("--arch", required=True, metavar="ARCH",
                       help="its architecture: " + ", ".join(_supported()) + " (tiny_* test models too)")
    plain.add_argument("--positions", required=True, metavar="FILE",
                       help=".npz: a save_sheets file, or one (N, 2) array in mm per layer name")
    plain.add_argument("--input-size", type=int, default=None,
                       help="input size in px (default: 224 for an ImageNet stem, 32 for a CIFAR stem)")
    plain.add_argument("--out", required=True, help="checkpoint to write (.pt)")
    settings = plain.add_argument_group("what the tensors cannot say (each recorded on the card as given or assumed)")
    settings.add_argument("--neuron", choices=SPIKING_NEURONS, default=None,
                          help="spiking architectures' neurons: spikingjelly's LIFNode, IFNode or ParametricLIFNode "
                               "(default: plif when the file holds PLIF time constants, else lif)")
    settings.add_argument("--tau", type=float, default=None,
                          help="LIF membrane time constant (default: 2.0; not used by IF neurons, nor by PLIF "
                               "neurons, whose w in the file sets it)")
    settings.add_argument("--v-threshold", type=float, default=None, help="firing threshold (default: 1.0)")
    settings.add_argument("--surrogate", choices=("atan", "sigmoid"), default=None,
                          help="surrogate gradient (default: atan)")
    settings.add_argument("--timesteps", type=int, default=None, help="T (default: the architecture's)")
    settings.add_argument("--connect", choices=("ADD", "AND", "IAND"), default=None,
                          help="SEW ResNet connect function (sew_* architectures; default: ADD)")
    parser.set_defaults(run=run)


def _given_settings(args: argparse.Namespace) -> dict:
    """The settings given on the command line, as constructor arguments."""
    given = {"neuron_kind": args.neuron, "tau": args.tau, "v_threshold": args.v_threshold,
             "surrogate_name": args.surrogate, "timesteps": args.timesteps, "connect": args.connect}
    return {key: value for key, value in given.items() if value is not None}


def _supported() -> list[str]:
    """The registered architectures a user's file can be, the tiny test models left out."""
    return [name for name in list_models() if not name.startswith("tiny_")]


def run(args: argparse.Namespace) -> int:
    from ..models.checkpoints import save_checkpoint
    from ..models.importers import import_state_dict, import_tdann

    check_output_file(args.out)
    if args.input_size is not None and args.input_size < 16:
        raise InputError(f"--input-size must be >= 16 px, got {args.input_size}")
    if args.kind == "state-dict" and args.arch not in list_models():
        raise InputError(f"unknown architecture {args.arch!r}; supported: {', '.join(_supported())}",
                         parameter="arch")
    if args.kind == "tdann":
        model, spec = import_tdann(args.weights, args.positions, input_size_px=args.input_size)
    else:
        model, spec = import_state_dict(args.weights, args.arch, args.positions, input_size_px=args.input_size,
                                        arch_kwargs=_given_settings(args))
    spec = save_checkpoint(args.out, model, spec)
    print(f"wrote {args.out} ({spec.arch}, {spec.input_size_px} px, {len(spec.sheets)} sheets)  "
          f"sha256 {spec.content_sha256}")
    return 0
