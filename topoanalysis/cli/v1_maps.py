"""``topoanalysis v1-maps``: the paper's Figure 3 for a checkpoint, optionally against a baseline.

For each checkpoint: render the sine gratings at its input size, record the V1 layer,
and run :func:`topoanalysis.metrics.v1.v1_analysis`. Writes under ``--out``:

* ``v1_results.json`` - parameters (with the widths applied), per-model summaries,
  smoothness, Ringach similarity, checkpoints and timings;
* ``tuning_<model>.csv`` (one row per unit), ``smoothness.csv``, ``difference_curves.csv``,
  ``correlation_curves.csv``, ``pinwheels.csv``, ``ringach.csv``;
* ``v1_maps.png/.pdf`` (orientation, SF and colour maps) and ``v1_summary.png/.pdf``
  (smoothness bars, distance curves, Ringach distributions).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..metrics.ringach import load_ringach2002
from ..metrics.tuning import ORIENTATION_METHODS
from ..metrics.v1 import MASK_RULES, V1Params, v1_analysis
from ..models.checkpoints import load_checkpoint
from ..outputs import save_figure, write_csv, write_json
from ..paths import REPORTS_DIR
from ..recording import record
from ..stimuli import make_sine_gratings
from .common import (
    add_baseline_arg,
    add_checkpoint_args,
    add_device_args,
    checkpoints_to_compare,
    choose_layer,
    stacked_tables,
    write_stacked_tables,
)

DEFAULT_SEED = 424


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("v1-maps", help="V1 orientation/SF/colour maps, smoothness, pinwheels "
                                   "(paper Fig. 3)")
    add_checkpoint_args(parser)
    add_device_args(parser)
    add_baseline_arg(parser)
    parser.add_argument("--layer", default=None,
                        help="layer to analyse (default: the checkpoint's first V1 layer, layer2.0 by default)")
    parser.add_argument("--out", default=str(REPORTS_DIR / "v1_maps"), help="output folder (default: %(default)s)")
    parser.add_argument("--orientation-method", choices=ORIENTATION_METHODS, default="vector_sum",
                        help="vector_sum (TDSNN, default) or von_mises (TDANN)")
    parser.add_argument("--tdann-interpolation", action="store_true",
                        help="von Mises fit on TDANN's 50-point interpolated curve, preference on its grid")
    parser.add_argument("--mask-rule", choices=MASK_RULES, default="ptp_percentile",
                        help="ptp_percentile: tuning depth above --ptp-percentile (TDANN, default); "
                             "response_floor: mean response above --response-floor-sps")
    parser.add_argument("--ptp-percentile", type=float, default=75.0)
    parser.add_argument("--response-floor-sps", type=float, default=1.0,
                        help="responsive units: mean response above this, in Ringach-scaled spikes/s")
    parser.add_argument("--hcw-mm", type=float, default=3.5, help="hypercolumn width (TDANN: 3.5 mm)")
    parser.add_argument("--no-scale-widths", action="store_true",
                        help="use TDANN's widths as they are, even for layers with fewer units")
    parser.add_argument("--n-samples", type=int, default=20, help="random unit samples for smoothness")
    parser.add_argument("--sample-size", type=int, default=1000, help="units per sample")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="rng seed (TDANN: %(default)s)")
    parser.add_argument("--ringach", default=None, metavar="PATH",
                        help="Ringach 2002 database (default: $TOPOANALYSIS_DATA or ../shared/data)")
    parser.set_defaults(run=run)


def _params(args) -> V1Params:
    return V1Params(orientation_method=args.orientation_method, tdann_interpolation=args.tdann_interpolation,
                    mask_rule=args.mask_rule, ptp_percentile=args.ptp_percentile,
                    response_floor_sps=args.response_floor_sps, hypercolumn_width_mm=args.hcw_mm,
                    scale_widths=not args.no_scale_widths, n_samples=args.n_samples,
                    sample_size=args.sample_size)


def _ringach(path: str | None) -> pd.DataFrame | None:
    try:
        return load_ringach2002(path)
    except FileNotFoundError as exc:
        if path is not None:
            raise
        print(f"note: skipping the Ringach 2002 comparison: {exc}", file=sys.stderr)
        return None


def analyse_checkpoint(path: Path, args, params: V1Params, ringach: pd.DataFrame | None):
    """Record the gratings on one checkpoint and analyse its V1 layer; returns (result, info)."""
    started = time.perf_counter()
    model, spec = load_checkpoint(path, arch=args.arch)
    layer = choose_layer(spec, args.layer, "V1")
    stimuli = make_sine_gratings(spec.input_size_px, spec.visual_degrees)
    ds = record(model, stimuli, [layer], spec=spec, batch_size=args.batch_size, device=args.device,
                precision=args.precision, progress=True)
    recorded = time.perf_counter()
    result = v1_analysis(ds, layer, params, rng=np.random.default_rng(args.seed),
                         sheet_size_mm=spec.sheets[layer].sheet_size_mm, ringach=ringach)
    done = time.perf_counter()
    info = {"checkpoint": str(path), "checkpoint_sha256": spec.content_sha256, "arch": spec.arch,
            "input_size_px": spec.input_size_px, "timesteps": spec.timesteps, "n_gratings": len(stimuli),
            "device": ds.attrs["device"], "precision": args.precision,
            "seconds": {"forward": round(recorded - started, 3), "metrics": round(done - recorded, 3)}}
    return result, info


def write_figures(results: dict, out: Path, reference: pd.DataFrame | None = None) -> list[Path]:
    """The maps figure and the summary figure, PNG and PDF."""
    import matplotlib.pyplot as plt

    from ..plotting.v1 import v1_maps_figure, v1_summary_figure

    layer = next(iter(results.values())).layer
    maps = v1_maps_figure({name: r.tuning for name, r in results.items()},
                          {name: r.pinwheels for name, r in results.items()}, layer=layer)
    ringach = None
    scored = {name: r for name, r in results.items() if r.ringach is not None}
    if scored and reference is not None:
        responsive = {name: r.tuning[r.tuning["responsive"]] for name, r in scored.items()}
        ringach = {"model_cv": {n: t["circular_variance"].to_numpy() for n, t in responsive.items()},
                   "model_bandwidth_deg": {n: t["bandwidth_deg"].to_numpy() for n, t in responsive.items()},
                   "ringach_cv": reference["circular_variance"].to_numpy(),
                   "ringach_bandwidth_deg": reference["bandwidth_deg"].to_numpy(),
                   "scores": stacked_tables(scored, "ringach")}
    summary = v1_summary_figure(stacked_tables(results, "smoothness"), stacked_tables(results, "difference_curves"),
                                stacked_tables(results, "correlation_curves"), ringach, layer=layer)
    paths = save_figure(maps, out, "v1_maps") + save_figure(summary, out, "v1_summary")
    plt.close(maps)
    plt.close(summary)
    return paths


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    out = Path(args.out)
    params = _params(args)
    checkpoints = checkpoints_to_compare(args)
    reference = _ringach(args.ringach)
    results, infos = {}, {}
    for step, (name, path) in enumerate(checkpoints.items(), start=1):
        print(f"[{step}/{len(checkpoints)}] {name}: recording gratings and analysing V1 ({path})")
        results[name], infos[name] = analyse_checkpoint(path, args, params, reference)
        summary = results[name].summary
        print(f"    {summary['n_units']} units, {summary['n_responsive']} responsive; smoothness orientation "
              f"{summary['smoothness_orientation']:.3f}, SF {summary['smoothness_sf']:.3f}, colour "
              f"{summary['smoothness_color']:.3f}; {summary['n_pinwheels']} pinwheels; "
              f"{infos[name]['seconds']['forward']:.1f} s forward + {infos[name]['seconds']['metrics']:.1f} s metrics")
    first = next(iter(results.values()))
    written = [write_csv(result.tuning, out / f"tuning_{name}.csv") for name, result in results.items()]
    written += write_stacked_tables(
        results, ("smoothness", "difference_curves", "correlation_curves", "pinwheels", "ringach"), out)
    print("drawing figures")
    written += write_figures(results, out, reference)
    report = {
        "command": "v1-maps", "version": __version__, "layer": first.layer, "seed": args.seed,
        "parameters": first.parameters(),
        "orientation_method": params.orientation_method,
        "ringach_similarity": "1 - two-sample KS distance, unbinned, no ceiling (responsive units)",
        "models": {name: {**infos[name], "summary": result.summary,
                          "smoothness": result.smoothness.to_dict(orient="records"),
                          "ringach": None if result.ringach is None else result.ringach.to_dict(orient="records")}
                   for name, result in results.items()},
    }
    written.append(write_json(report, out / "v1_results.json"))
    print(f"wrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written))
    return 0
