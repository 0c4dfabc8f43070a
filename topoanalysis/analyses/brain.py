"""Brain benchmarks (the paper's Table 1) for each checkpoint.

Offline benchmarks on real data (:mod:`topoanalysis.brain.suite`: V1 Ringach 2002, V4
Cowley 2023 PLS, IT/EVC RSA on the 92 images) swept over layers, and official Brain-Score
benchmarks by id (their data is fetched from Brain-Score's storage). Tables ``brain_scores``
(benchmark x layer), ``brain_table`` (per benchmark: the committed layer's score and the
best layer's) and ``rsa_bootstrap`` (each RSA benchmark's committed-layer score on image-bootstrap
replicates, the same resamples for every model, so model differences are paired); official
scores in the record; figure ``brain_layer_sweep``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import __version__
from ..brain.benchmarks import BENCHMARKS
from ..brain.rsa_bootstrap import BOOTSTRAP_DESCRIPTION, bootstrap_image_indices
from ..brain.suite import region_table, run_offline_suite
from ..brain.v4 import PLS_METHODS
from ..errors import InputError
from .base import Models, Result, Runtime, check_seed, checkpoint_info, data_path, model_files, model_first
from .registry import Analysis

logger = logging.getLogger(__name__)

RDM_DESCRIPTION = ("1 - Pearson r between the 92 images' response patterns; units whose response is the same for "
                   "every image are dropped first (their correlation is undefined); an image no remaining unit "
                   "responds to has a NaN row, left out of the RSA")
BOOTSTRAP_STREAM = 1
"""The image bootstrap draws from ``default_rng([BOOTSTRAP_STREAM, seed])``, a stream of its own
(not the cross-validation splits'), once per run: every model and benchmark gets the same resamples."""


@dataclass(frozen=True)
class BrainParams:
    """``benchmarks``: offline names or official Brain-Score ids (None: every offline one);
    ``layers``: layers to sweep (None: every layer with a sheet); ``v4_data``, ``rsa92``,
    ``ringach``: data paths (None: the default data folder); ``seed``: cross-validation
    splits and the V4 ceiling's split halves (and, through its own stream, the image bootstrap);
    ``pls_method``: the exact kernel PLS or Brain-Score's own NIPALS fit; ``n_bootstrap``:
    image-bootstrap replicates of the RSA benchmarks' committed-layer scores (0: none)."""

    benchmarks: tuple[str, ...] | None = None
    layers: tuple[str, ...] | None = None
    v4_data: str | None = None
    rsa92: str | None = None
    ringach: str | None = None
    seed: int = 0
    pls_method: str = "exact"
    n_bootstrap: int = 1000

    def __post_init__(self) -> None:
        check_seed(self.seed)
        if self.pls_method not in PLS_METHODS:
            raise InputError(f"unknown PLS method {self.pls_method!r}; valid: {', '.join(PLS_METHODS)}")
        if isinstance(self.n_bootstrap, bool) or not isinstance(self.n_bootstrap, int) or self.n_bootstrap < 0:
            raise InputError(f"n_bootstrap must be an integer >= 0 (0 turns the RSA bootstrap off), "
                             f"got {self.n_bootstrap!r}")

    def offline(self) -> list[str]:
        return [name for name in (self.benchmarks or BENCHMARKS) if name in BENCHMARKS]

    def official(self) -> list[str]:
        return [name for name in (self.benchmarks or ()) if name not in BENCHMARKS]


@dataclass
class BrainResult(Result):
    """Brain benchmark scores of every model: each benchmark over the swept layers, the committed layer's and the
    best layer's score per benchmark, and the RSA image bootstrap."""

    analysis = "brain"

    @property
    def scores(self) -> pd.DataFrame:
        return self.table("brain_scores")

    @property
    def region_scores(self) -> pd.DataFrame:
        """Per model and benchmark: the committed layer's score and the best layer's."""
        return self.table("brain_table")

    @property
    def rsa_bootstrap(self) -> pd.DataFrame:
        """Per model, RSA benchmark and replicate: the committed layer's score on that image resample
        (``model, benchmark, region, layer, replicate, score``); empty when the bootstrap was off."""
        return self.table("rsa_bootstrap")

    def figures(self) -> dict:
        from ..plotting.brain import layer_sweep_figure

        return {"brain_layer_sweep": layer_sweep_figure(self.scores)} if len(self.scores.columns) else {}


def check_data(params: BrainParams) -> None:
    """Fail before any work when the data of an offline benchmark asked for is not there (each entry's own check),
    or an official benchmark id is not registered in brainscore_vision."""
    from ..brain.official import check_registered

    paths = {"ringach": params.ringach, "v4": params.v4_data, "rsa92": params.rsa92}
    for name in params.offline():
        entry = BENCHMARKS[name]
        entry.check_data(paths[entry.data_set])
    for benchmark_id in params.official():  # an unknown id fails before any model loads
        check_registered(benchmark_id)


def run(models: Models, params: BrainParams = BrainParams(), runtime: Runtime = Runtime()) -> BrainResult:
    """Score each checkpoint on the offline benchmarks (a layer sweep) and any official ones."""
    check_data(params)
    from ..brain.adapter import brain_model
    from ..brain.official import official_benchmark

    offline, official = params.offline(), params.official()
    data = {"v4": params.v4_data, "rsa92": params.rsa92, "ringach": params.ringach}
    bootstrap = None
    if params.n_bootstrap and any(BENCHMARKS[name].bootstrap is not None for name in offline):
        bootstrap = bootstrap_image_indices(params.n_bootstrap, np.random.default_rng([BOOTSTRAP_STREAM, params.seed]))
    sweeps, boots, official_scores, infos = [], [], [], {}
    for name, file in model_files(models).items():
        started = time.perf_counter()
        model, spec = file.load()
        options = dict(batch_size=runtime.batch_size_for(spec), device=runtime.device, precision=runtime.precision)
        recording = dict(options, compile=runtime.compile)
        for benchmark_id in official:
            logger.info(f"{name}: Brain-Score benchmark {benchmark_id}")
            score = official_benchmark(benchmark_id, brain_model(model, spec, identifier=name, **options))
            official_scores.append({"model": name, "benchmark": benchmark_id, "score": float(score),
                                    "raw": float(score.attrs["raw"]) if "raw" in score.attrs else np.nan})
        if offline:
            logger.info(f"{name}: offline benchmarks over {len(params.layers or spec.sheets)} layers")
            scores = run_offline_suite(model, spec, rng=np.random.default_rng(params.seed), layers=params.layers,
                                       benchmarks=offline, data=data, progress=runtime.progress,
                                       pls_method=params.pls_method, bootstrap_indices=bootstrap,
                                       log=lambda line: logger.info(f"    {line}"), **recording)
            if bootstrap is not None:
                scores, replicates = scores
                boots.append(replicates.assign(model=name))
            sweeps.append(scores.assign(model=name))
        infos[name] = {**checkpoint_info(file, spec), "batch_size": options["batch_size"],
                       "seconds": round(time.perf_counter() - started, 2)}
    record = {"command": "brain", "version": __version__, "seed": params.seed, "pls_method": params.pls_method,
              "models": infos, "rdm": RDM_DESCRIPTION,
              "score_rules": {name: entry.score_rule for name, entry in BENCHMARKS.items()},
              "v4_ceiling": "split-half reliability, Spearman-Brown corrected; median over neurons per split, "
                            "mean over splits (Brain-Score's order)",
              "rsa_bootstrap": {"n": params.n_bootstrap, **BOOTSTRAP_DESCRIPTION,
                                "layers": "each region's committed layer", "seed": [BOOTSTRAP_STREAM, params.seed]}}
    tables = {}
    if sweeps:
        scores = model_first(pd.concat(sweeps, ignore_index=True))
        table = model_first(pd.concat([region_table(part).assign(model=model)
                                             for model, part in scores.groupby("model", sort=False)],
                                            ignore_index=True))
        tables = {"brain_scores": scores, "brain_table": table}
        if boots:
            tables["rsa_bootstrap"] = model_first(pd.concat(boots, ignore_index=True))
        record["table"] = table.to_dict(orient="records")
    if official_scores:
        record["official"] = official_scores
    return BrainResult(record, tables)


ANALYSIS = Analysis(name="brain", title="Brain benchmarks (Table 1)", params=BrainParams, result=BrainResult,
                    run=run, check_data=check_data,
                    data_sets=lambda params: [data_path(params.v4_data, "v4"), data_path(params.rsa92, "rsa92"),
                                             data_path(params.ringach, "ringach")],
                    cli="topoanalysis.cli.brain", per_model=True)
