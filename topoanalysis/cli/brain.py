"""``topoanalysis brain``: how brain-like is a checkpoint (the paper's Table 1)?

Without ``--benchmark``: every offline benchmark on real data (V1 Ringach 2002, V4
Cowley 2023 PLS, IT/EVC RSA on the 92 images) over every layer, for the checkpoint and
its baseline. Writes ``brain_scores.csv`` (benchmark x layer), ``brain_table.csv`` (per
benchmark: the committed layer's score and the best layer), ``brain_results.json`` and
``brain_layer_sweep.png/.pdf``.

With ``--benchmark ID``: offline benchmarks by name, or an official Brain-Score benchmark
(e.g. ``MajajHong2015public.IT-pls``), which needs Brain-Score's data: downloaded when
there is a network, or already in its cache (``$TOPOANALYSIS_BRAINSCORE_HOME``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..brain.adapter import brain_model, configure_brainscore
from ..brain.suite import OFFLINE_BENCHMARKS, region_table, run_offline_suite
from ..brain.v4 import PLS_METHODS
from ..models.checkpoints import load_checkpoint
from ..outputs import save_figure, write_csv, write_json
from ..paths import REPORTS_DIR
from .common import add_baseline_arg, add_checkpoint_args, add_device_args, checkpoints_to_compare

DEFAULT_SEED = 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("brain", help="brain benchmarks: offline real-data suite, or Brain-Score's")
    add_checkpoint_args(parser)
    add_device_args(parser)
    add_baseline_arg(parser)
    parser.add_argument("--benchmark", nargs="+", default=None, metavar="ID",
                        help=f"offline ({', '.join(OFFLINE_BENCHMARKS)}) or official Brain-Score benchmark ids "
                             "(default: every offline benchmark)")
    parser.add_argument("--layers", nargs="+", default=None, help="layers to sweep (default: every sheet layer)")
    parser.add_argument("--out", default=str(REPORTS_DIR / "brain"), help="output folder (default: %(default)s)")
    parser.add_argument("--v4-data", default=None, metavar="DIR", help="Cowley 2023 V4 folder")
    parser.add_argument("--rsa92", default=None, metavar="PATH", help="the 92-image set folder")
    parser.add_argument("--ringach", default=None, metavar="PATH", help="Ringach 2002 database")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="rng seed for splits (default %(default)s)")
    parser.add_argument("--pls-method", choices=PLS_METHODS, default="exact",
                        help="V4 PLS: the exact kernel solution (default) or Brain-Score's own NIPALS fit (slow)")
    parser.set_defaults(run=run)


def _is_fetch_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or its cause) comes from fetching Brain-Score's data (no network, no credentials)."""
    while exc is not None:
        if isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in ("botocore", "boto3", "urllib3"):
            return True
        if "EndpointConnectionError" in str(exc) or "NoCredentialsError" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def official_benchmark(benchmark_id: str, candidate):
    """Run an official Brain-Score benchmark; a clear error when its data cannot be had."""
    configure_brainscore()
    from brainscore_vision import load_benchmark

    try:
        return load_benchmark(benchmark_id)(candidate)
    except AssertionError as exc:
        if "No registrations found" not in str(exc):
            raise
        raise ValueError(f"unknown benchmark {benchmark_id!r}: neither offline ({', '.join(OFFLINE_BENCHMARKS)}) "
                         "nor registered in brainscore_vision (ids like 'MajajHong2015public.IT-pls')") from exc
    except Exception as exc:
        if not _is_fetch_error(exc):
            raise
        raise ConnectionError(
            f"cannot run the Brain-Score benchmark {benchmark_id!r} here: its stimuli and neural data are fetched "
            "from Brain-Score's storage at run time and could not be downloaded (no network?). Run it on a machine "
            "with a network connection, or copy its cached data into $TOPOANALYSIS_BRAINSCORE_HOME; the offline "
            f"benchmarks ({', '.join(OFFLINE_BENCHMARKS)}) need no network") from exc


def _sweep_figure(scores: pd.DataFrame):
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(scores["benchmark"]))
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.2), squeeze=False, layout="constrained")
    for ax, name in zip(axes[0], names):
        part = scores[scores["benchmark"] == name]
        for i, (model, rows) in enumerate(part.groupby("model", sort=False)):
            ax.plot(rows["layer"], rows["score"].astype(float), marker="o", color=f"C{i}", label=model)
            committed = rows[rows["committed"]]
            ax.plot(committed["layer"], committed["score"].astype(float), marker="*", markersize=12,
                    color=f"C{i}", linestyle="none")
        ax.set_title(f"{name} ({part['region'].iloc[0]})", fontsize=8)
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax.set_ylabel("score")
    axes[0][0].legend(fontsize=6, frameon=False)
    fig.suptitle("layer sweep (star: the region's committed layer)")
    return fig


def run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    out = Path(args.out)
    requested = args.benchmark or list(OFFLINE_BENCHMARKS)
    offline = [name for name in requested if name in OFFLINE_BENCHMARKS]
    official = [name for name in requested if name not in OFFLINE_BENCHMARKS]
    data = {"v4": args.v4_data, "rsa92": args.rsa92, "ringach": args.ringach}
    tables, official_scores, infos = [], [], {}
    for name, path in checkpoints_to_compare(args).items():
        started = time.perf_counter()
        model, spec = load_checkpoint(path, arch=args.arch)
        options = dict(batch_size=args.batch_size, device=args.device, precision=args.precision)
        for benchmark_id in official:
            print(f"{name}: Brain-Score benchmark {benchmark_id}")
            score = official_benchmark(benchmark_id, brain_model(model, spec, identifier=name, **options))
            official_scores.append({"model": name, "benchmark": benchmark_id, "score": float(score),
                                    "raw": float(score.attrs["raw"]) if "raw" in score.attrs else np.nan})
        if offline:
            print(f"{name}: offline benchmarks over {len(args.layers or spec.sheets)} layers")
            scores = run_offline_suite(model, spec, rng=np.random.default_rng(args.seed), layers=args.layers,
                                       benchmarks=offline, data=data, progress=True, pls_method=args.pls_method,
                                       log=lambda line: print(f"    {line}"), **options)
            tables.append(scores.assign(model=name))
        infos[name] = {"checkpoint": str(path), "checkpoint_sha256": spec.content_sha256,
                       "seconds": round(time.perf_counter() - started, 2)}
    written = []
    report = {"command": "brain", "version": __version__, "seed": args.seed, "pls_method": args.pls_method,
              "models": infos}
    if tables:
        scores = pd.concat(tables, ignore_index=True)
        scores = scores[["model"] + [c for c in scores.columns if c != "model"]]
        table = pd.concat([region_table(part).assign(model=model)
                           for model, part in scores.groupby("model", sort=False)], ignore_index=True)
        table = table[["model"] + [c for c in table.columns if c != "model"]]
        written += [write_csv(scores, out / "brain_scores.csv"), write_csv(table, out / "brain_table.csv")]
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        report["table"] = table.to_dict(orient="records")
        import matplotlib.pyplot as plt

        figure = _sweep_figure(scores)
        written += save_figure(figure, out, "brain_layer_sweep")
        plt.close(figure)
    if official_scores:
        report["official"] = official_scores
        print(pd.DataFrame(official_scores).to_string(index=False))
    written.append(write_json(report, out / "brain_results.json"))
    print(f"wrote {len(written)} files to {out}/: " + ", ".join(p.name for p in written))
    return 0
