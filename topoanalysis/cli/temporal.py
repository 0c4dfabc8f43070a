"""``topoanalysis temporal``: spike timing and information over time (the paper's Figure 1).

For the checkpoint and its baseline, on images of the checkpoint's test data (CIFAR-10
test split for the bundled models): firing rate and spike-train entropy of every layer,
per timestep and over the window, at several inference T; the entropy shift topo -
baseline; accuracy vs T; Fisher information per timestep and block. Writes
``temporal_stats.csv``, ``entropy_shift.csv``, ``accuracy_vs_timesteps.csv``,
``fisher.csv``, ``temporal_results.json`` and ``temporal.png/.pdf``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from .. import __version__
from ..dynamics import accuracy_vs_timesteps, as_stimulus_set, fisher_information, layer_spike_statistics
from ..metrics.temporal import entropy_shift
from ..models.checkpoints import load_checkpoint
from ..outputs import save_figure, write_csv, write_json
from ..paths import REPORTS_DIR
from .common import (
    add_baseline_arg,
    add_checkpoint_args,
    add_device_args,
    add_evaluation_data_args,
    checkpoints_to_compare,
    evaluation_data,
)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("temporal", help="spike entropy, accuracy vs T, Fisher information (Fig. 1)")
    add_checkpoint_args(parser)
    add_device_args(parser)
    add_baseline_arg(parser)
    add_evaluation_data_args(parser, n_per_class=25)
    parser.add_argument("--timesteps", nargs="+", type=int, default=[1, 2, 4, 6, 8],
                        help="inference T values (default: %(default)s)")
    parser.add_argument("--fisher-images", type=int, default=64, help="images for the Fisher information")
    parser.add_argument("--fisher-batch-size", type=int, default=1,
                        help="1: per-image gradients, Eq. 8 exactly (default); larger: Kim et al.'s batch estimate")
    parser.add_argument("--out", default=str(REPORTS_DIR / "temporal"), help="output folder (default: %(default)s)")
    parser.set_defaults(run=run)


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting.temporal import temporal_figure

    out = Path(args.out)
    if min(args.timesteps) < 1:
        raise ValueError(f"--timesteps must be >= 1; got {args.timesteps}")
    stats, accuracy, fisher, infos = [], [], [], {}
    for name, path in checkpoints_to_compare(args).items():
        started = time.perf_counter()
        model, spec = load_checkpoint(path, arch=args.arch)
        data = evaluation_data(args, spec, model)
        stimuli = as_stimulus_set(data.images, "test", spec.visual_degrees)
        print(f"{name}: spike statistics for T = {args.timesteps} on {len(stimuli)} images")
        for steps in args.timesteps:
            stats.append(layer_spike_statistics(model, spec, stimuli, timesteps=steps, batch_size=args.batch_size,
                                                device=args.device).assign(model=name))
        accuracy.append(accuracy_vs_timesteps(model, spec, data.images, data.labels, args.timesteps,
                                              batch_size=args.batch_size, device=args.device).assign(model=name))
        n = min(args.fisher_images, len(data.labels))
        fisher.append(fisher_information(model, spec, data.images[:n], data.labels[:n],
                                         batch_size=args.fisher_batch_size, device=args.device,
                                         progress=True).assign(model=name))
        infos[name] = {"checkpoint": str(path), "checkpoint_sha256": spec.content_sha256, "data": data.source,
                       "n_images": len(data.labels), "seconds": round(time.perf_counter() - started, 2)}
    stats, accuracy, fisher = (pd.concat(t, ignore_index=True) for t in (stats, accuracy, fisher))
    names = list(infos)
    shift = None
    if len(names) > 1:
        shift = entropy_shift(stats[stats["model"] == names[0]], stats[stats["model"] == names[1]])
    written = [write_csv(stats, out / "temporal_stats.csv"), write_csv(accuracy, out / "accuracy_vs_timesteps.csv"),
               write_csv(fisher, out / "fisher.csv")]
    if shift is not None:
        written.append(write_csv(shift, out / "entropy_shift.csv"))
        print(shift.pivot(index="layer", columns="timesteps", values="entropy_shift_bits").round(4).to_string())
    print(accuracy.pivot(index="timesteps", columns="model", values="accuracy").to_string())
    figure = temporal_figure(stats, accuracy, fisher, shift)
    written += save_figure(figure, out, "temporal")
    plt.close(figure)
    written.append(write_json({
        "command": "temporal", "version": __version__, "timesteps": args.timesteps, "models": infos,
        "entropy": "binary entropy (bits) of each neuron's firing probability, mean over neurons; per timestep "
                   "and over the window (timestep = -1)",
        "fisher": f"Eq. 8, cumulative-mean logits up to t, per-block trace, batch size {args.fisher_batch_size} "
                  f"on {min(args.fisher_images, infos[names[0]]['n_images'])} images",
        "entropy_shift": None if shift is None else f"{names[0]} - {names[1]}",
    }, out / "temporal_results.json"))
    print(f"wrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written))
    return 0
