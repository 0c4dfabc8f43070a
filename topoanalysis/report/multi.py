"""Several models through the same probes: the multi-model Table 1, Fig. 1 right and Fig. 5a.

:func:`compare_models` runs (or reuses, through the report's cache) the V1, IT and brain
analyses on each model alone, then writes ``table1_models.csv`` (rows = models),
``topography_cost.csv`` (accuracy change per topographic / baseline pair, by family),
``models_points.csv`` and ``accuracy_vs_smoothness_models.png/.pdf``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from .. import __version__
from ..analyses.base import ModelFile, Runtime, check_models
from ..findings import binomial_se
from ..outputs import check_output_folder, save_figure, staged_folder, write_csv
from ..paths import REPORTS_DIR
from .build import ReportParams, card_accuracy, data_paths, fingerprint, run_cached
from .comparison import accuracy_vs_smoothness_models_figure, region_table, topography_cost

logger = logging.getLogger(__name__)

ANALYSES = ("v1", "it", "brain")


def _point(name: str, family: str, v1, it, accuracy: tuple[float, int] | None) -> dict:
    orientation = v1.smoothness[v1.smoothness["metric"] == "orientation"].iloc[0]
    faces = it.smoothness[it.smoothness["domain"] == "faces"].iloc[0]
    value, se = (math.nan, math.nan) if accuracy is None else (accuracy[0], binomial_se(*accuracy))
    return {"model": name, "family": family, "accuracy": value, "accuracy_se": se,
            "v1_smoothness": orientation["smoothness"], "v1_sem": orientation["sem"],
            "it_smoothness": faces["smoothness"], "it_sem": faces["sem"]}


def compare_models(models: dict[str, str | os.PathLike], families: dict[str, str], pairs: list[tuple[str, str]],
                   out: str | os.PathLike | None = None, *, params: ReportParams = ReportParams(),
                   runtime: Runtime = Runtime(), cache_dir: str | os.PathLike | None = None, force: bool = False,
                   log=logger.info) -> Path:
    """Compare ``models`` (name -> checkpoint); ``families`` names each one's family (e.g. spiking, ReLU) and
    ``pairs`` lists ``(topographic, baseline)`` names. Returns the output folder."""
    files = {name: ModelFile(Path(path)) for name, path in models.items()}
    unknown = sorted({name for pair in pairs for name in pair} - set(files)) + sorted(set(files) - set(families))
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: every pair member must be a model and every model needs a family")
    out = check_output_folder(out if out is not None else REPORTS_DIR / "models", "table1_models.csv")
    cache_dir = Path(cache_dir) if cache_dir is not None else REPORTS_DIR / ".cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    specs = dict(zip(files, check_models(files, flags=tuple(f"--models {name}" for name in files))))
    results: dict[str, dict] = {}
    for name, file in files.items():
        results[name] = {}
        for analysis in ANALYSES:
            analysis_params = params.for_analysis(analysis, specs[name])
            key_parts = {"analysis": analysis, "params": asdict(analysis_params),
                         "checkpoints": {name: specs[name].content_sha256},
                         "data": fingerprint(*data_paths(analysis, analysis_params)),
                         "precision": runtime.precision, "version": __version__}
            results[name][analysis], _ = run_cached(analysis, {name: file}, analysis_params, key_parts, cache_dir,
                                                    runtime=runtime, force=force, log=log)
    accuracy = {name: card_accuracy(spec) for name, spec in specs.items()}
    table1 = region_table(pd.concat([results[name]["brain"].region_scores for name in files], ignore_index=True),
                          accuracy)
    cost = topography_cost([(f"{families[topo]}", topo, base) for topo, base in pairs], accuracy)
    points = pd.DataFrame([_point(name, families[name], results[name]["v1"], results[name]["it"], accuracy[name])
                           for name in files])
    with staged_folder(out, "table1_models.csv") as staging:
        for stem, frame in (("table1_models", table1), ("topography_cost", cost), ("models_points", points)):
            write_csv(frame, staging / f"{stem}.csv")
        import matplotlib.pyplot as plt

        figure = accuracy_vs_smoothness_models_figure(points)
        save_figure(figure, staging, "accuracy_vs_smoothness_models")
        plt.close(figure)
        (staging / "models.json").write_text(json.dumps(
            {"models": {n: {"path": str(f.path), "sha256": specs[n].content_sha256, "family": families[n]}
                        for n, f in files.items()}, "pairs": pairs, "version": __version__}, indent=2))
    log(f"wrote {out}/: table1_models.csv, topography_cost.csv, models_points.csv, accuracy_vs_smoothness_models")
    return out
