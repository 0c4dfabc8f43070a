"""V1 maps (the paper's Figure 3): gratings recorded on each checkpoint's V1 layer, then
:func:`topoanalysis.metrics.v1.v1_analysis`.

Tables: ``tuning_<model>`` (one row per unit), ``smoothness``, ``difference_curves``,
``correlation_curves``, ``correlation_falloff``, ``pinwheels``, ``ringach`` and ``ringach_reference`` (the 308
macaque cells the Ringach panels draw); figures ``v1_maps`` and ``v1_summary``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..metrics.v1 import V1Params, v1_analysis
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

STACKED = ("smoothness", "difference_curves", "correlation_curves", "correlation_falloff", "pinwheels", "ringach")


@dataclass(frozen=True)
class V1MapsParams:
    """``metric``: the V1 metrics' parameters; ``layer``: None for the checkpoint's first V1
    layer; ``seed``: unit samples (every model gets a generator from the same seed, TDANN's
    424); ``ringach``: the Ringach 2002 database (None: the default data folder, skipped with
    a note when it is not there)."""

    metric: V1Params = field(default_factory=V1Params)
    layer: str | None = None
    seed: int = 424
    ringach: str | None = None

    def __post_init__(self) -> None:
        check_seed(self.seed)


@dataclass
class V1MapsResult(MapResult):
    """The V1 maps of every model: tuning per unit, smoothness with its position-shuffle chance, difference and
    correlation curves over distance, pinwheels and the Ringach comparison (tables stacked over models)."""

    analysis = "v1"

    @property
    def orientation_method(self) -> str:
        return self.record["orientation_method"]

    @property
    def ringach_similarity(self) -> str:
        """How the Ringach 2002 similarity is computed, in words."""
        return self.record["ringach_similarity"]

    @property
    def correlation_curves(self) -> pd.DataFrame:
        return self.table("correlation_curves")

    @property
    def correlation_falloff(self) -> pd.DataFrame:
        """Per model: the within-window fall-off ``r(near) - mean r(far)``, SEM over windows, and its chance."""
        return self.table("correlation_falloff")

    def tuning(self, model: str) -> pd.DataFrame:
        return self.table(f"tuning_{model}")

    def figures(self) -> dict:
        from ..plotting.v1 import v1_maps_figure, v1_summary_figure

        names = self.models
        pinwheels = self.table("pinwheels")
        maps = v1_maps_figure({name: self.tuning(name) for name in names},
                              {name: pinwheels[pinwheels["model"] == name].drop(columns="model")
                               if len(pinwheels.columns) else None for name in names}, layer=self.layer)
        ringach = None
        scores, reference = self.table("ringach"), self.table("ringach_reference")
        if len(scores.columns) and len(reference.columns):
            scored = list(dict.fromkeys(scores["model"]))
            responsive = {name: self.tuning(name)[self.tuning(name)["responsive"]] for name in scored}
            ringach = {"model_cv": {n: t["circular_variance"].to_numpy() for n, t in responsive.items()},
                       "model_bandwidth_deg": {n: t["bandwidth_deg"].to_numpy() for n, t in responsive.items()},
                       "ringach_cv": reference["circular_variance"].to_numpy(),
                       "ringach_bandwidth_deg": reference["bandwidth_deg"].to_numpy(), "scores": scores}
        summary = v1_summary_figure(self.table("smoothness"), self.table("difference_curves"),
                                    self.table("correlation_curves"), ringach, layer=self.layer)
        return {"v1_maps": maps, "v1_summary": summary}


def _ringach(path: str | None) -> pd.DataFrame | None:
    from ..datasets.ringach import load_ringach2002

    try:
        return load_ringach2002(path)
    except FileNotFoundError as exc:
        if path is not None:
            raise
        logger.warning(f"note: skipping the Ringach 2002 comparison: {exc}")
        return None


def _analyse(file: ModelFile, params: V1MapsParams, runtime: Runtime, reference: pd.DataFrame | None):
    from ..running.recording import record
    from ..stimuli import make_sine_gratings

    started = time.perf_counter()
    model, spec = file.load()
    layer = choose_layer(spec, params.layer, "V1")
    stimuli = make_sine_gratings(spec.input_size_px, spec.visual_degrees)
    ds = record(model, stimuli, [layer], spec=spec, **runtime.recording_options(spec))
    recorded = time.perf_counter()
    result = v1_analysis(ds, layer, params.metric, rng=np.random.default_rng(params.seed),
                         sheet_size_mm=spec.sheets[layer].sheet_size_mm, ringach=reference)
    done = time.perf_counter()
    info = {**checkpoint_info(file, spec), "arch": spec.arch, "input_size_px": spec.input_size_px,
            "timesteps": spec.timesteps, "n_gratings": len(stimuli), "device": ds.attrs["device"],
            "precision": runtime.precision,
            "seconds": {"forward": round(recorded - started, 3), "metrics": round(done - recorded, 3)}}
    return result, info


def check_data(params: V1MapsParams) -> None:
    """Fail before any work on a data path that is given but not there."""
    if params.ringach is not None:
        from ..datasets.ringach import find_ringach_file

        find_ringach_file(params.ringach)


def run(models: Models, params: V1MapsParams = V1MapsParams(), runtime: Runtime = Runtime()) -> V1MapsResult:
    """Record the gratings on each checkpoint and analyse its V1 layer."""
    check_data(params)
    files = model_files(models)
    reference = _ringach(params.ringach)
    results, infos = {}, {}
    for step, (name, file) in enumerate(files.items(), start=1):
        logger.info(f"[{step}/{len(files)}] {name}: recording gratings and analysing V1 ({file.label})")
        results[name], infos[name] = _analyse(file, params, runtime, reference)
        summary = results[name].summary
        logger.info(f"    {summary['n_units']} units, {summary['n_responsive']} responsive; smoothness orientation "
                    f"{summary['smoothness_orientation']:.3f}, SF {summary['smoothness_sf']:.3f}, colour "
                    f"{summary['smoothness_color']:.3f}; {summary['n_pinwheels']} pinwheels; "
                    f"{infos[name]['seconds']['forward']:.1f} s forward + {infos[name]['seconds']['metrics']:.1f} s "
                    "metrics")
    first = next(iter(results.values()))
    tables = {f"tuning_{name}": result.tuning for name, result in results.items()}
    tables.update({name: stacked_tables(results, name) for name in STACKED})
    if reference is not None:
        tables["ringach_reference"] = reference[["circular_variance", "bandwidth_deg"]]
    record = {
        "command": "v1-maps", "version": __version__, "layer": first.layer, "seed": params.seed,
        "parameters": first.parameters(),
        "orientation_method": params.metric.orientation_method,
        "ringach_similarity": "1 - two-sample KS distance, unbinned, no ceiling (responsive units)",
        "models": {name: {**infos[name], "summary": result.summary,
                          "smoothness": result.smoothness.to_dict(orient="records"),
                          "ringach": None if result.ringach is None else result.ringach.to_dict(orient="records")}
                   for name, result in results.items()},
    }
    return V1MapsResult(record, tables)


ANALYSIS = Analysis(name="v1", title="V1 maps (Figure 3)", params=V1MapsParams, result=V1MapsResult,
                    run=run, check_data=check_data,
                    data_sets=lambda params: [data_path(params.ringach, "ringach")],
                    cli="topoanalysis.cli.v1_maps", per_model=True)
