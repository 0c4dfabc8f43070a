"""The offline brain benchmarks, run over every layer of a checkpoint (a layer sweep).

Each benchmark scores each recorded layer; the region's committed layer (from the
checkpoint's layer -> area map, as the Brain-Score adapter commits it) is marked, and
:func:`region_table` gives the paper's Table 1 view: per region, the committed layer's
score and the best layer's.

Benchmarks (all on real data in ``../shared/data``):

* ``V1-Ringach2002``: circular variance and orientation bandwidth of the layer's
  responsive units vs 308 macaque V1 cells; score = mean of the two ``1 - KS`` similarities.
* ``V4-Cowley2023``: cross-validated PLS (Brain-Score's metric) from the layer to 50
  macaque V4 neurons of session 210325; score = r^2 / split-half ceiling (Brain-Score's
  ``explained_variance``).
* ``IT-RSA-Kiani2007``, ``IT-RSA-Kriegeskorte2008``, ``IT-RSA-Algonauts2019``,
  ``EVC-RSA-Algonauts2019``: Spearman RSA of the layer's RDM on the 92 images, divided
  by the Nili upper noise bound where subjects allow one. Given resampled image indices,
  the committed layer's RSA scores are also computed on each image-bootstrap replicate
  (:func:`topoanalysis.brain.rsa_bootstrap.rsa_benchmark_bootstrap`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError
from ..metrics.ringach import compare_with_ringach, load_ringach2002
from ..metrics.v1 import V1Params, grating_tuning
from ..recording import record
from ..responses import layer_responses
from ..stimuli import load_rsa92, make_sine_gratings
from .adapter import default_region_layer_map
from .rsa import RSA_BENCHMARKS, rdm, rsa_benchmark
from .rsa_bootstrap import rsa_benchmark_bootstrap
from .v4 import (
    CEILING_SESSION,
    PLS_METHODS,
    brainscore_ceiling,
    load_v4_repeats,
    load_v4_session,
    pls_predictivity,
    split_half_reliabilities,
)

if TYPE_CHECKING:
    from torch import nn

    from ..models.checkpoints import CheckpointSpec

logger = logging.getLogger(__name__)

OFFLINE_BENCHMARKS = {"V1-Ringach2002": "V1", "V4-Cowley2023": "V4",
                      **{name: ("V1" if spec["region"] == "EVC" else spec["region"])
                         for name, spec in RSA_BENCHMARKS.items()}}
"""Benchmark -> the model region it tests (EVC is compared with V1 layers)."""


SCORE_RULES = {"V1-Ringach2002": "raw (mean of the two 1 - KS similarities; no ceiling)",
               "V4-Cowley2023": "raw^2 / ceiling (PLS r squared over the split-half ceiling)",
               "IT-RSA-Kiani2007": "raw (Spearman rho with the monkey group RDM; no subjects, no ceiling)",
               **{name: "subject_mean / ceiling_upper (mean per-subject rho over the Nili upper bound)"
                  for name in RSA_BENCHMARKS if name != "IT-RSA-Kiani2007"}}
"""How each benchmark's ``score`` is built from the other columns."""
SCORE_COLUMNS = ("benchmark", "region", "layer", "raw", "subject_mean", "ceiling_lower", "ceiling_upper", "ceiling",
                 "ceiled", "score", "score_rule", "committed", "note")
BOOTSTRAP_COLUMNS = ("benchmark", "region", "layer", "replicate", "score")
"""Columns of the RSA bootstrap table: one row per (benchmark, committed layer, replicate)."""


def _record_all(model, spec, stimuli, layers, options):
    return record(model, stimuli, layers, spec=spec, **options)


def _ringach_rows(model, spec, layers, options, data) -> list[dict]:
    ds = _record_all(model, spec, make_sine_gratings(spec.input_size_px, spec.visual_degrees), layers, options)
    reference = load_ringach2002(data.get("ringach"))
    rows = []
    for layer in layers:
        responses = layer_responses(ds, layer)
        if not np.any(responses.values):
            rows.append({"layer": layer, "raw": np.nan, "note": "silent layer"})
            continue
        tuning = grating_tuning(responses, V1Params())
        responsive = tuning["responsive"].to_numpy()
        if responsive.sum() < 2:
            rows.append({"layer": layer, "raw": np.nan, "note": "fewer than 2 responsive units"})
            continue
        table = compare_with_ringach(tuning["circular_variance"].to_numpy()[responsive],
                                     tuning["bandwidth_deg"].to_numpy()[responsive], reference)
        rows.append({"layer": layer, "raw": float(table["similarity"].mean()), "ceiled": False,
                     "score": float(table["similarity"].mean())})
    return [{"benchmark": "V1-Ringach2002", **row} for row in rows]


def _v4_rows(model, spec, layers, options, data, rng, pls_method) -> list[dict]:
    stimuli, neural = load_v4_session(CEILING_SESSION, data.get("v4"), image_size_px=spec.input_size_px)
    ceiling = brainscore_ceiling(split_half_reliabilities(load_v4_repeats(data.get("v4")), rng=rng))
    ds = _record_all(model, spec, stimuli, layers, options)
    ids = stimuli.labels["stimulus_id"].to_numpy()
    rows = []
    for layer in layers:
        features = layer_responses(ds, layer).values
        informative = features.std(axis=0) > 0
        if informative.sum() < 2:
            rows.append({"benchmark": "V4-Cowley2023", "layer": layer, "raw": np.nan, "ceiling": ceiling,
                         "score": np.nan, "note": "silent layer"})
            continue
        raw = pls_predictivity(features[:, informative], neural, ids, rng=rng, method=pls_method,
                               device=options["device"])["raw"]
        rows.append({"benchmark": "V4-Cowley2023", "layer": layer, "raw": raw, "ceiling": ceiling, "ceiled": True,
                     "score": raw**2 / ceiling})
    return rows


def _rsa_rows(model, spec, layers, options, data, names, bootstrap_indices) -> tuple[list[dict], list[pd.DataFrame]]:
    """Score rows per (benchmark, layer), and bootstrap tables for each benchmark's committed layer."""
    ds = _record_all(model, spec, load_rsa92(data.get("rsa92"), image_size_px=spec.input_size_px), layers, options)
    committed = default_region_layer_map(spec)
    rows, boots = [], []
    for layer in layers:
        features = layer_responses(ds, layer).values
        try:
            model_rdm = rdm(features)
        except ValueError as exc:
            model_rdm = None
            rows += [{"benchmark": name, "layer": layer, "raw": np.nan, "note": str(exc)} for name in names]
        for name in names:
            if model_rdm is not None:
                result = rsa_benchmark(name, model_rdm, data.get("rsa92"))
                rows.append({"benchmark": name, "layer": layer, "raw": result["raw"],
                             "subject_mean": result["subject_mean"], "ceiling_lower": result["ceiling_lower"],
                             "ceiling_upper": result["ceiling_upper"], "ceiling": result["ceiling"],
                             "ceiled": result["ceiling"] is not None, "score": result["score"]})
            if bootstrap_indices is not None and committed.get(OFFLINE_BENCHMARKS[name]) == layer:
                n_boot = len(bootstrap_indices)
                scores = (np.full(n_boot, np.nan) if model_rdm is None
                          else rsa_benchmark_bootstrap(name, model_rdm, bootstrap_indices, data.get("rsa92")))
                boots.append(pd.DataFrame({"benchmark": name, "region": OFFLINE_BENCHMARKS[name], "layer": layer,
                                           "replicate": np.arange(n_boot), "score": scores}))
    return rows, boots


def run_offline_suite(model: nn.Module, spec: CheckpointSpec, *, rng: np.random.Generator, layers=None,
                      benchmarks=None, data=None, batch_size: int = 64, device=None, precision: str = "fp32",
                      compile: bool = False, progress: bool = False, pls_method: str = "exact",
                      bootstrap_indices: np.ndarray | None = None,
                      log=logger.info) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Score every layer on every offline benchmark; one row per (benchmark, layer).

    Parameters
    ----------
    layers : sequence of str, optional
        Layers to sweep (default: every layer with a sheet).
    benchmarks : sequence of str, optional
        Names from :data:`OFFLINE_BENCHMARKS` (default: all).
    data : dict, optional
        Paths overriding the default data locations: keys ``ringach``, ``v4``, ``rsa92``.
    pls_method : {"exact", "brainscore"}, default "exact"
        How V4's PLS regression is solved (see :func:`topoanalysis.brain.v4.pls_predictivity`).
    bootstrap_indices : numpy.ndarray, optional
        ``(n_boot, 92)`` resampled images (:func:`topoanalysis.brain.rsa_bootstrap.bootstrap_image_indices`):
        also score each RSA benchmark's committed layer on every replicate. Pass the same array
        for every model to pair their replicates.

    Returns
    -------
    pandas.DataFrame, or a tuple of two when ``bootstrap_indices`` is given
        :data:`SCORE_COLUMNS`: ``raw`` is the benchmark's unceiled measure (RSA: rho with the
        group-mean RDM; V4: PLS r; V1: similarity), ``subject_mean`` the mean per-subject rho,
        ``ceiling_lower``/``ceiling_upper`` the Nili bounds, ``ceiling`` the one applied
        (``ceiled`` says whether one was), and ``score_rule`` how ``score`` follows from them.
        With ``bootstrap_indices``, second a :data:`BOOTSTRAP_COLUMNS` table: the score of each
        RSA benchmark's committed layer (if swept) on each replicate; ceilings are those of the
        full image set, held fixed (NaN scores where the layer's RDM is undefined).
    """
    layers = list(layers or spec.sheets)
    names = list(benchmarks or OFFLINE_BENCHMARKS)
    unknown = [name for name in names if name not in OFFLINE_BENCHMARKS]
    if unknown:
        raise InputError(f"unknown offline benchmark(s) {unknown}; valid: {', '.join(OFFLINE_BENCHMARKS)}")
    if pls_method not in PLS_METHODS:
        raise InputError(f"unknown PLS method {pls_method!r}; valid: {', '.join(PLS_METHODS)}")
    if bootstrap_indices is not None:
        bootstrap_indices = np.asarray(bootstrap_indices)
        if (bootstrap_indices.ndim != 2 or bootstrap_indices.shape[1] != 92
                or not np.issubdtype(bootstrap_indices.dtype, np.integer)):
            raise InputError(f"bootstrap_indices must be an integer (n_boot, 92) array of the 92 images, got "
                             f"{bootstrap_indices.dtype} {bootstrap_indices.shape}")
    data = dict(data or {})
    options = dict(batch_size=batch_size, device=device, precision=precision, compile=compile, progress=progress)
    rows: list[dict] = []
    if "V1-Ringach2002" in names:
        log("V1-Ringach2002: gratings")
        rows += _ringach_rows(model, spec, layers, options, data)
    if "V4-Cowley2023" in names:
        log("V4-Cowley2023: 640 natural images, PLS per layer")
        rows += _v4_rows(model, spec, layers, options, data, rng, pls_method)
    rsa_names = [name for name in names if name in RSA_BENCHMARKS]
    boots: list[pd.DataFrame] = []
    if rsa_names:
        log(f"{', '.join(rsa_names)}: the 92 images")
        rsa_rows, boots = _rsa_rows(model, spec, layers, options, data, rsa_names, bootstrap_indices)
        rows += rsa_rows
    table = pd.DataFrame(rows)
    for column in ("subject_mean", "ceiling_lower", "ceiling_upper", "ceiling", "score"):
        table[column] = table[column].astype(float) if column in table else np.nan
    table["ceiled"] = table["ceiled"].fillna(False).astype(bool) if "ceiled" in table else False
    table["note"] = table["note"].fillna("") if "note" in table else ""
    table.insert(1, "region", table["benchmark"].map(OFFLINE_BENCHMARKS))
    table["score_rule"] = table["benchmark"].map(SCORE_RULES)
    committed = default_region_layer_map(spec)
    table["committed"] = [committed.get(region) == layer for region, layer in zip(table["region"], table["layer"])]
    if bootstrap_indices is None:
        return table[list(SCORE_COLUMNS)]
    bootstrap = pd.concat(boots, ignore_index=True) if boots else pd.DataFrame(columns=list(BOOTSTRAP_COLUMNS))
    return table[list(SCORE_COLUMNS)], bootstrap[list(BOOTSTRAP_COLUMNS)]


def region_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per benchmark: the committed layer's score and the best layer with its score."""
    rows = []
    for name, group in scores.groupby("benchmark", sort=False):
        committed = group[group["committed"]]
        finite = group[np.isfinite(group["score"].astype(float))]
        best = finite.loc[finite["score"].astype(float).idxmax()] if len(finite) else None
        rows.append({"benchmark": name, "region": group["region"].iloc[0],
                     "committed_layer": committed["layer"].iloc[0] if len(committed) else "",
                     "committed_score": float(committed["score"].iloc[0]) if len(committed) else np.nan,
                     "best_layer": best["layer"] if best is not None else "",
                     "best_score": float(best["score"]) if best is not None else np.nan})
    return pd.DataFrame(rows)
