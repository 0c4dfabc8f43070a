"""``topoanalysis record``: layer responses to a stimulus set, saved as NetCDF."""

from __future__ import annotations

import argparse

from ..outputs import check_output_file
from ..responses import save_responses
from ..running.recording import record as record_responses
from ..stimuli import load_floc, make_sine_gratings
from .common import add_checkpoint_args, add_device_args, batch_size_for, load_from_args

STIMULUS_SETS = ("gratings", "floc")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("record", help="record layer responses to a stimulus set (NetCDF)")
    add_checkpoint_args(parser)
    add_device_args(parser)
    parser.add_argument("--stimulus-set", choices=STIMULUS_SETS, default="gratings",
                        help="gratings: rendered at the checkpoint's input size; floc: the fLoc images")
    parser.add_argument("--stimuli", default=None, metavar="DIR",
                        help="fLoc folder (default: $TOPOANALYSIS_DATA/floc or ../shared/data/floc)")
    parser.add_argument("--layers", nargs="+", default=None,
                        help="layers to record (default: every layer with a sheet)")
    parser.add_argument("--reduce", choices=("rate", "none"), default="rate",
                        help="rate: mean over time (default); none: keep every timestep")
    parser.add_argument("--out", required=True, help="output file (.nc)")
    parser.set_defaults(run=run)


def load_stimuli(name: str, spec, stimuli_dir: str | None = None):
    """The named stimulus set rendered or resized for the checkpoint's input."""
    if name == "gratings":
        return make_sine_gratings(spec.input_size_px, spec.visual_degrees)
    return load_floc(stimuli_dir, image_size_px=spec.input_size_px)


def run(args: argparse.Namespace) -> int:
    check_output_file(args.out)
    model, spec = load_from_args(args)
    stimuli = load_stimuli(args.stimulus_set, spec, args.stimuli)
    layers = args.layers or list(spec.sheets)
    ds = record_responses(model, stimuli, layers, spec=spec, reduce=args.reduce, batch_size=batch_size_for(args, spec),
                          device=args.device, precision=args.precision, compile=args.compile, progress=True)
    save_responses(ds, args.out)
    print(f"wrote {args.out}: {ds.sizes['stimulus']} stimuli x {ds.sizes['unit']} units")
    return 0
