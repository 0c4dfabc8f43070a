"""``topoanalysis it-patches``: the paper's Figure 4 for a checkpoint, optionally against a baseline.

For each checkpoint: record the fLoc images (scrambled excluded) and the 92-image set at
its input size on the IT layer, and run :func:`topoanalysis.metrics.it.it_analysis`.
Writes under ``--out``:

* ``it_results.json`` - parameters, per-model summaries (patch counts, fractions of
  selective units, smoothness), overlap, generalisation, checkpoints and timings;
* ``tvalues_<model>.csv`` (one row per unit), ``patches.csv`` and ``patch_outlines.json``,
  ``overlap.csv``, ``smoothness.csv``, ``selectivity_curves.csv``, ``generalization.csv``;
* ``it_tmaps.png/.pdf`` (t-maps per domain with patch outlines), ``it_overlap.png/.pdf``
  and ``it_summary.png/.pdf`` (smoothness, selectivity vs distance, generalisation).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..metrics.it import ITParams, it_analysis
from ..metrics.overlap import OVERLAP_CHANCE
from ..metrics.patches import PatchParams
from ..models.checkpoints import load_checkpoint
from ..outputs import save_figure, write_csv, write_json
from ..paths import REPORTS_DIR
from ..recording import record
from ..stimuli import load_floc, load_rsa92
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
    parser = subparsers.add_parser("it-patches", help="IT category t-maps, patches, overlap (paper Fig. 4)")
    add_checkpoint_args(parser)
    add_device_args(parser)
    add_baseline_arg(parser)
    parser.add_argument("--stimuli", default=None, metavar="DIR",
                        help="fLoc folder (default: $TOPOANALYSIS_DATA/floc or ../shared/data/floc)")
    parser.add_argument("--rsa92", default=None, metavar="PATH",
                        help="the 92-image set .mat for the generalisation check (default: "
                             "$TOPOANALYSIS_DATA/rsa92 or ../shared/data/rsa92); 'none' skips it")
    parser.add_argument("--layer", default=None,
                        help="layer to analyse (default: the checkpoint's last IT layer, layer4.1 by default)")
    parser.add_argument("--out", default=str(REPORTS_DIR / "it_patches"), help="output folder (default: %(default)s)")
    parser.add_argument("--t-ddof", type=int, choices=(0, 1), default=0,
                        help="std in the t-value: 0 = population (TDANN, default), 1 = sample")
    parser.add_argument("--sigma-mm", type=float, default=2.4, help="patch smoothing sigma (TDANN: 2.4 mm)")
    parser.add_argument("--patch-threshold", type=float, default=2.0, help="smoothed-t threshold (TDANN: 2)")
    parser.add_argument("--min-area-mm2", type=float, default=100.0)
    parser.add_argument("--max-area-mm2", type=float, default=4500.0)
    parser.add_argument("--n-samples", type=int, default=25, help="random unit samples for smoothness")
    parser.add_argument("--sample-size", type=int, default=500, help="units per sample")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="rng seed (TDANN: %(default)s)")
    parser.add_argument("--max-per-category", type=int, default=None,
                        help="use only the first N fLoc images of each category (quick runs)")
    parser.set_defaults(run=run)


def _params(args) -> ITParams:
    patch = PatchParams(sigma_mm=args.sigma_mm, threshold=args.patch_threshold, min_area_mm2=args.min_area_mm2,
                        max_area_mm2=args.max_area_mm2)
    return ITParams(patch=patch, t_ddof=args.t_ddof, n_samples=args.n_samples, sample_size=args.sample_size)


def _load_rsa92(args, image_size_px: int):
    if args.rsa92 == "none":
        return None
    try:
        return load_rsa92(args.rsa92, image_size_px=image_size_px)
    except FileNotFoundError as exc:
        if args.rsa92 is not None:
            raise
        print(f"note: skipping the 92-image generalisation check: {exc}", file=sys.stderr)
        return None


def analyse_checkpoint(path: Path, args, params: ITParams):
    """Record fLoc (and the 92-image set) on one checkpoint and analyse its IT layer."""
    started = time.perf_counter()
    model, spec = load_checkpoint(path, arch=args.arch)
    layer = choose_layer(spec, args.layer, "IT")
    floc = load_floc(args.stimuli, image_size_px=spec.input_size_px, max_per_category=args.max_per_category)
    options = dict(spec=spec, batch_size=args.batch_size, device=args.device, precision=args.precision,
                   progress=True)
    ds = record(model, floc, [layer], **options)
    rsa92_stimuli = _load_rsa92(args, spec.input_size_px)
    rsa92 = record(model, rsa92_stimuli, [layer], **options) if rsa92_stimuli is not None else None
    recorded = time.perf_counter()
    result = it_analysis(ds, layer, params, rng=np.random.default_rng(args.seed), rsa92=rsa92)
    done = time.perf_counter()
    info = {"checkpoint": str(path), "checkpoint_sha256": spec.content_sha256, "arch": spec.arch,
            "input_size_px": spec.input_size_px, "timesteps": spec.timesteps, "n_floc_images": len(floc),
            "n_rsa92_images": 0 if rsa92_stimuli is None else len(rsa92_stimuli), "device": ds.attrs["device"],
            "precision": args.precision,
            "seconds": {"forward": round(recorded - started, 3), "metrics": round(done - recorded, 3)}}
    return result, info


def write_figures(results: dict, out: Path) -> list[Path]:
    """t-maps with patch outlines, overlap matrices and the summary figure, PNG and PDF."""
    import matplotlib.pyplot as plt

    from ..plotting.it import it_summary_figure, overlap_figure, tmaps_figure

    layer = next(iter(results.values())).layer
    figures = {
        "it_tmaps": tmaps_figure({name: r.tvalues for name, r in results.items()},
                                 {name: (r.patches, r.outlines) for name, r in results.items()}, layer=layer),
        "it_overlap": overlap_figure(stacked_tables(results, "overlap")),
        "it_summary": it_summary_figure(stacked_tables(results, "smoothness"),
                                        stacked_tables(results, "selectivity_curves"),
                                        stacked_tables(results, "generalization"), layer=layer),
    }
    paths = []
    for stem, figure in figures.items():
        paths += save_figure(figure, out, stem)
        plt.close(figure)
    return paths


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    out = Path(args.out)
    params = _params(args)
    checkpoints = checkpoints_to_compare(args)
    results, infos = {}, {}
    for step, (name, path) in enumerate(checkpoints.items(), start=1):
        print(f"[{step}/{len(checkpoints)}] {name}: recording fLoc and analysing IT ({path})")
        results[name], infos[name] = analyse_checkpoint(path, args, params)
        summary = results[name].summary
        patches = ", ".join(f"{d} {summary[f'n_patches_{d}']}" for d in ("faces", "bodies", "characters", "places",
                                                                        "objects"))
        print(f"    {summary['n_units']} units ({summary['n_silent']} silent); patches: {patches}; "
              f"smoothness faces {summary['smoothness_faces']:.3f}; {infos[name]['seconds']['forward']:.1f} s "
              f"forward + {infos[name]['seconds']['metrics']:.1f} s metrics")
    first = next(iter(results.values()))
    written = [write_csv(result.tvalues, out / f"tvalues_{name}.csv") for name, result in results.items()]
    written += write_stacked_tables(
        results, ("patches", "overlap", "smoothness", "selectivity_curves", "generalization"), out)
    outlines = {name: [segments.round(4).tolist() for segments in result.outlines] for name, result in results.items()}
    written.append(write_json({"units": "mm", "format": "per model, per patch row: list of [[x0, y0], [x1, y1]] "
                               "boundary segments", "outlines": outlines}, out / "patch_outlines.json"))
    print("drawing figures")
    written += write_figures(results, out)
    report = {
        "command": "it-patches", "version": __version__, "layer": first.layer, "seed": args.seed,
        "parameters": first.parameters(), "t_value": f"Welch form, ddof={params.t_ddof}, each domain vs the "
        "other fLoc images (scrambled excluded); silent units NaN",
        "overlap_methods": {method: f"chance {chance}" for method, chance in OVERLAP_CHANCE.items()},
        "models": {name: {**infos[name], "summary": result.summary,
                          "smoothness": result.smoothness.to_dict(orient="records"),
                          "generalization": None if result.generalization is None
                          else result.generalization.to_dict(orient="records")}
                   for name, result in results.items()},
    }
    written.append(write_json(report, out / "it_results.json"))
    print(f"wrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written))
    return 0
