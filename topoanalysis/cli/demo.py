"""``topoanalysis demo``: the main job on the bundled default checkpoint.

Loads the checkpoint, renders the sine gratings at its input size, records every
topographic layer, and writes under ``--out``: the responses (NetCDF), per-layer
activity (CSV, flagging silent layers), the model card, a figure of mean responses on
each cortical sheet (PNG and PDF) and a JSON summary of what was run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from .. import __version__
from ..metrics.activity import layer_activity
from ..outputs import check_output_folder, save_figure, staged_folder, write_csv, write_json
from ..paths import REPORTS_DIR
from ..plotting.sheets import sheet_activity_figure
from ..responses import save_responses
from ..running.recording import record
from ..stimuli import make_sine_gratings
from .common import add_checkpoint_args, add_device_args, batch_size_for, load_from_args


def _write(out: Path, ds, activity, spec, summary: dict, ckpt: str) -> None:
    import matplotlib.pyplot as plt

    save_responses(ds, out / "responses_gratings.nc")
    write_csv(activity, out / "layer_activity.csv")
    (out / "model_card.txt").write_text(f"checkpoint {ckpt}\n{spec.model_card()}\n")
    fig = sheet_activity_figure(ds, list(spec.sheets), spec.layer_areas)
    save_figure(fig, out, "sheet_activity")
    plt.close(fig)
    write_json(summary, out / "summary.json")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="record the bundled checkpoint's sheets (main job)")
    add_checkpoint_args(parser)
    add_device_args(parser)
    parser.add_argument("--out", default=str(REPORTS_DIR / "demo"), help="output folder (default: %(default)s)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    out = check_output_folder(args.out, "summary.json")
    started = time.perf_counter()
    model, spec = load_from_args(args)
    print(spec.model_card())
    stimuli = make_sine_gratings(spec.input_size_px, spec.visual_degrees)
    layers = list(spec.sheets)
    ds = record(model, stimuli, layers, spec=spec, batch_size=batch_size_for(args, spec), device=args.device,
                precision=args.precision, compile=args.compile, progress=True)
    activity = layer_activity(ds)
    activity.insert(1, "area", [spec.layer_areas.get(name, "") for name in activity["layer"]])

    summary = {"checkpoint": str(args.ckpt), "checkpoint_sha256": spec.content_sha256,
               "stimuli": {"name": stimuli.name, "n": len(stimuli), "image_size_px": spec.input_size_px,
                           "degrees": spec.visual_degrees},
               "layers": layers, "silent_layers": activity.loc[activity["silent_layer"], "layer"].tolist(),
               "device": ds.attrs["device"], "precision": args.precision,
               "seconds": round(time.perf_counter() - started, 2),
               "versions": {"topoanalysis": __version__, "torch": torch.__version__}}
    with staged_folder(out, "summary.json") as staging:
        _write(staging, ds, activity, spec, summary, args.ckpt)
    print(activity.to_string(index=False))
    if summary["silent_layers"]:
        print(f"warning: silent layers (no response to any grating): {', '.join(summary['silent_layers'])}")
    print(f"wrote {out}/ (responses_gratings.nc, layer_activity.csv, model_card.txt, "
          f"sheet_activity.png/.pdf, summary.json) in {summary['seconds']} s")
    return 0
