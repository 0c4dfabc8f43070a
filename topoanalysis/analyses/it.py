"""IT patches (the paper's Figure 4): fLoc (scrambled excluded) and the 92-image set recorded
on each checkpoint's IT layer, then :func:`topoanalysis.metrics.it.it_analysis`.

Tables: ``tvalues_<model>`` (one row per unit), ``patches``, ``overlap``, ``overlap_contrast``, ``smoothness``,
``selectivity_curves``, ``generalization``; ``patch_outlines.json`` (patch boundaries in mm);
figures ``it_tmaps``, ``it_overlap`` and ``it_summary``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import InputError
from ..metrics.it import DOMAINS, ITParams, it_analysis
from ..metrics.overlap import OVERLAP_CHANCE
from ..outputs import write_json
from .base import (
    MapResult,
    ModelFile,
    Models,
    Runtime,
    check_seed,
    checkpoint_info,
    choose_layer,
    data_path,
    model_files,
    stacked_tables,
)
from .registry import Analysis

logger = logging.getLogger(__name__)

STACKED = ("patches", "overlap", "overlap_contrast", "smoothness", "selectivity_curves", "generalization")


@dataclass(frozen=True)
class ITPatchesParams:
    """``metric``: the IT metrics' parameters; ``layer``: None for the checkpoint's last IT
    layer; ``seed``: unit samples (each model gets a generator from the same seed, TDANN's
    424); ``floc``: the fLoc folder and ``rsa92`` the 92-image set (None: the default data
    folder; ``rsa92="none"`` or a missing default skips the generalisation check);
    ``max_per_category``: only the first N fLoc images of each category (quick runs)."""

    metric: ITParams = field(default_factory=ITParams)
    layer: str | None = None
    seed: int = 424
    floc: str | None = None
    rsa92: str | None = None
    max_per_category: int | None = None

    def __post_init__(self) -> None:
        check_seed(self.seed)
        if self.max_per_category is not None and self.max_per_category < 1:
            raise InputError(f"max_per_category must be >= 1, got {self.max_per_category}",
                             parameter="max_per_category")


@dataclass
class ITPatchesResult(MapResult):
    """The IT maps of every model: category t-values per unit, t-map smoothness with chance, patches and their
    outlines (mm), the overlap of domain maps and its contrasts (tables stacked over models)."""

    outlines: dict[str, list] = field(default_factory=dict)
    """Per model, per patch row: ``[n_segments, 2, 2]`` boundary segments in mm."""

    analysis = "it"

    @property
    def t_value(self) -> str:
        """How the t-values are computed, in words."""
        return self.record["t_value"]

    @property
    def overlap_methods(self) -> dict[str, str]:
        return self.record["overlap_methods"]

    @property
    def overlap(self) -> pd.DataFrame:
        return self.table("overlap")

    @property
    def overlap_contrast(self) -> pd.DataFrame:
        """Per model: face-body minus character-place overlap, spatial (co-localisation) and not (t-map
        correlation), each with a bootstrap interval and its null."""
        return self.table("overlap_contrast")

    def tvalues(self, model: str) -> pd.DataFrame:
        return self.table(f"tvalues_{model}")

    def figures(self) -> dict:
        from ..plotting.it import it_summary_figure, overlap_figure, tmaps_figure

        patches = self.table("patches")
        by_model = {name: (patches[patches["model"] == name].drop(columns="model").reset_index(drop=True)
                           if len(patches.columns) else patches, self.outlines.get(name, []))
                    for name in self.models}
        return {
            "it_tmaps": tmaps_figure({name: self.tvalues(name) for name in self.models}, by_model, layer=self.layer),
            "it_overlap": overlap_figure(self.table("overlap")),
            "it_summary": it_summary_figure(self.table("smoothness"), self.table("selectivity_curves"),
                                            self.table("generalization"), layer=self.layer),
        }

    def _save_extra(self, out: Path) -> list[Path]:
        outlines = {name: [np.asarray(segments).round(4).tolist() for segments in patches]
                    for name, patches in self.outlines.items()}
        return [write_json({"units": "mm", "format": "per model, per patch row: list of [[x0, y0], [x1, y1]] "
                            "boundary segments", "outlines": outlines}, out / "patch_outlines.json")]

    @classmethod
    def _load_extra(cls, folder: Path) -> dict:
        saved = json.loads((folder / "patch_outlines.json").read_text())["outlines"]
        return {"outlines": {name: [np.asarray(segments, dtype=float).reshape(-1, 2, 2) for segments in patches]
                             for name, patches in saved.items()}}


def _load_rsa92(path: str | None, image_size_px: int):
    from ..stimuli import load_rsa92

    if path == "none":
        return None
    try:
        return load_rsa92(path, image_size_px=image_size_px)
    except FileNotFoundError as exc:
        if path is not None:
            raise
        logger.warning(f"note: skipping the 92-image generalisation check: {exc}")
        return None


def _analyse(file: ModelFile, params: ITPatchesParams, runtime: Runtime):
    from ..running.recording import record
    from ..stimuli import load_floc

    started = time.perf_counter()
    model, spec = file.load()
    layer = choose_layer(spec, params.layer, "IT")
    floc = load_floc(params.floc, image_size_px=spec.input_size_px, max_per_category=params.max_per_category)
    options = dict(spec=spec, **runtime.recording_options(spec))
    ds = record(model, floc, [layer], **options)
    rsa92_stimuli = _load_rsa92(params.rsa92, spec.input_size_px)
    rsa92 = record(model, rsa92_stimuli, [layer], **options) if rsa92_stimuli is not None else None
    recorded = time.perf_counter()
    result = it_analysis(ds, layer, params.metric, rng=np.random.default_rng(params.seed), rsa92=rsa92)
    done = time.perf_counter()
    info = {**checkpoint_info(file, spec), "arch": spec.arch, "input_size_px": spec.input_size_px,
            "timesteps": spec.timesteps, "n_floc_images": len(floc),
            "n_rsa92_images": 0 if rsa92_stimuli is None else len(rsa92_stimuli), "device": ds.attrs["device"],
            "precision": runtime.precision,
            "seconds": {"forward": round(recorded - started, 3), "metrics": round(done - recorded, 3)}}
    return result, info


def check_data(params: ITPatchesParams) -> None:
    """Fail before any work when fLoc, or a 92-image set that is asked for by path, is not there."""
    from ..stimuli import find_floc_dir
    from ..stimuli.rsa92 import find_rsa92_file

    find_floc_dir(params.floc)
    if params.rsa92 not in (None, "none"):
        find_rsa92_file(params.rsa92)


def run(models: Models, params: ITPatchesParams = ITPatchesParams(),
        runtime: Runtime = Runtime()) -> ITPatchesResult:
    """Record fLoc (and the 92-image set) on each checkpoint and analyse its IT layer."""
    check_data(params)
    files = model_files(models)
    results, infos = {}, {}
    for step, (name, file) in enumerate(files.items(), start=1):
        logger.info(f"[{step}/{len(files)}] {name}: recording fLoc and analysing IT ({file.label})")
        results[name], infos[name] = _analyse(file, params, runtime)
        summary = results[name].summary
        patches = ", ".join(f"{d} {summary[f'n_patches_{d}']}" for d in DOMAINS)
        logger.info(f"    {summary['n_units']} units ({summary['n_silent']} silent); patches: {patches}; "
                    f"smoothness faces {summary['smoothness_faces']:.3f}; {infos[name]['seconds']['forward']:.1f} s "
                    f"forward + {infos[name]['seconds']['metrics']:.1f} s metrics")
    first = next(iter(results.values()))
    tables = {f"tvalues_{name}": result.tvalues for name, result in results.items()}
    tables.update({name: stacked_tables(results, name) for name in STACKED})
    record = {
        "command": "it-patches", "version": __version__, "layer": first.layer, "seed": params.seed,
        "parameters": first.parameters(), "t_value": f"Welch form, ddof={params.metric.t_ddof}, each domain vs the "
        "other fLoc images (scrambled excluded); silent units NaN",
        "overlap_methods": {method: f"chance {chance}" for method, chance in OVERLAP_CHANCE.items()},
        "models": {name: {**infos[name], "summary": result.summary,
                          "smoothness": result.smoothness.to_dict(orient="records"),
                          "generalization": None if result.generalization is None
                          else result.generalization.to_dict(orient="records")}
                   for name, result in results.items()},
    }
    return ITPatchesResult(record, tables, {name: list(result.outlines) for name, result in results.items()})


ANALYSIS = Analysis(name="it", title="IT patches (Figure 4)", params=ITPatchesParams, result=ITPatchesResult,
                    run=run, check_data=check_data,
                    data_sets=lambda params: [data_path(params.floc, "floc"), data_path(params.rsa92, "rsa92")],
                    cli="topoanalysis.cli.it_patches", per_model=True)
