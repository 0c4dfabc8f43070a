"""``topoanalysis swap-positions``: pre-optimise unit positions on a non-topographic model.

TDSNN's step 2 (METHODS 1.1, 2.3): record the firing rates of a model trained without
the topographic loss to the sine gratings, then swap unit positions within random
neighbourhoods whenever that lowers the spatial loss. The sheets are saved for training
a new model from scratch (``topoanalysis train --positions``); optionally the input
checkpoint is re-saved with them (weights unchanged) so topographic and baseline models
share one layout.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..analyses.base import check_seed
from ..errors import InputError
from ..models.checkpoints import save_checkpoint
from ..outputs import check_output_file
from ..responses import layer_responses
from ..running.recording import record
from ..sheets import save_sheets, swap_optimize_sheets
from ..stimuli import make_sine_gratings
from .common import add_checkpoint_args, add_device_args, batch_size_for, load_from_args


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("swap-positions", help="swap-optimise sheet positions on grating responses")
    add_checkpoint_args(parser)
    add_device_args(parser)
    parser.add_argument("--out", required=True, help="output sheets file (.npz)")
    parser.add_argument("--neighborhoods", type=int, default=2000,
                        help="neighbourhoods per layer (default: %(default)s; TDANN used 100,000)")
    parser.add_argument("--steps", type=int, default=500, help="swap attempts per neighbourhood (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=424)
    parser.add_argument("--write-ckpt", default=None,
                        help="also save the input checkpoint with the optimised sheets to this path")
    parser.set_defaults(run=run)


def run(args) -> int:
    check_output_file(args.out)
    if args.write_ckpt:
        check_output_file(args.write_ckpt, parameter="write_ckpt")
    check_seed(args.seed)
    for flag, value in (("--neighborhoods", args.neighborhoods), ("--steps", args.steps)):
        if value < 1:
            raise InputError(f"{flag} must be >= 1, got {value}")
    model, spec = load_from_args(args)
    gratings = make_sine_gratings(spec.input_size_px, spec.visual_degrees)
    layers = list(spec.sheets)
    ds = record(model, gratings, layers, spec=spec, batch_size=batch_size_for(args, spec), device=args.device,
                precision=args.precision, progress=True)
    responses = {name: layer_responses(ds, name).values for name in layers}
    sheets, reports = swap_optimize_sheets(spec.sheets, responses, rng=np.random.default_rng(args.seed),
                                           n_neighborhoods=args.neighborhoods, steps_per_neighborhood=args.steps,
                                           progress=True)
    save_sheets(args.out, sheets)
    print(f"wrote {args.out}")
    if args.write_ckpt:
        note = (f"swap-optimised on sine-grating rates of this model ({args.neighborhoods} neighbourhoods x "
                f"{args.steps} steps, seed {args.seed})")
        new_spec = replace(spec, sheets={**spec.sheets, **sheets}, provenance={**spec.provenance, "sheets": note})
        new_spec = save_checkpoint(args.write_ckpt, model, new_spec)
        print(f"wrote {args.write_ckpt}  sha256 {new_spec.content_sha256}")
    return 0
