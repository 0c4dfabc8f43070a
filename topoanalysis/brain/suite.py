"""The offline brain benchmarks, run over every layer of a checkpoint (a layer sweep).

Each benchmark scores each recorded layer; the region's committed layer (from the
checkpoint's layer -> area map, as the Brain-Score adapter commits it) is marked, and
:func:`region_table` gives the paper's Table 1 view: per region, the committed layer's
score and the best layer's.

The benchmarks (all on real data in ``../shared/data``) are the entries of
:data:`topoanalysis.brain.benchmarks.BENCHMARKS`; benchmarks that show the same stimuli share one
recording.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import InputError
from ..responses import layer_responses
from ..running.recording import record
from .adapter import default_region_layer_map
from .benchmarks import BENCHMARKS
from .v4 import PLS_METHODS

if TYPE_CHECKING:
    from torch import nn

    from ..models.checkpoints import CheckpointSpec

logger = logging.getLogger(__name__)

SCORE_COLUMNS = ("benchmark", "region", "layer", "raw", "subject_mean", "ceiling_lower", "ceiling_upper", "ceiling",
                 "ceiled", "score", "score_rule", "committed", "note")
BOOTSTRAP_COLUMNS = ("benchmark", "region", "layer", "replicate", "score")
"""Columns of the RSA bootstrap table: one row per (benchmark, committed layer, replicate)."""


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
        Identifiers from :data:`~topoanalysis.brain.benchmarks.BENCHMARKS` (default: all).
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
    names = list(benchmarks or BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        raise InputError(f"unknown offline benchmark(s) {unknown}; valid: {', '.join(BENCHMARKS)}")
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
    committed = default_region_layer_map(spec)
    rows: list[dict] = []
    boots: list[pd.DataFrame] = []
    recordings: dict[str, object] = {}  # benchmarks showing the same stimuli share one recording
    last_use = {BENCHMARKS[name].data_set: i for i, name in enumerate(names)}  # then it is freed: one held at once
    for i, name in enumerate(names):
        entry = BENCHMARKS[name]
        prepared = entry.prepare(data.get(entry.data_set), spec, rng, device)
        key = prepared.stimuli.name
        if key not in recordings:
            log(f"{name}: recording {len(prepared.stimuli)} {key} images")
            recordings[key] = record(model, prepared.stimuli, layers, spec=spec, **options)
        for layer in layers:
            features = layer_responses(recordings[key], layer)
            row = entry.score_layer(features, prepared.context, rng, {"pls_method": pls_method, "device": device})
            rows.append({"benchmark": name, "layer": layer, **row})
            if bootstrap_indices is not None and entry.bootstrap is not None and committed.get(entry.region) == layer:
                boots.append(pd.DataFrame({"benchmark": name, "region": entry.region, "layer": layer,
                                           "replicate": np.arange(len(bootstrap_indices)),
                                           "score": entry.bootstrap(features, bootstrap_indices, prepared.context)}))
        if last_use[entry.data_set] == i:
            del recordings[key]
    table = pd.DataFrame(rows)
    for column in ("subject_mean", "ceiling_lower", "ceiling_upper", "ceiling", "score"):
        table[column] = table[column].astype(float) if column in table else np.nan
    table["ceiled"] = table["ceiled"].fillna(False).astype(bool) if "ceiled" in table else False
    table["note"] = table["note"].fillna("") if "note" in table else ""
    table.insert(1, "region", [BENCHMARKS[name].region for name in table["benchmark"]])
    table["score_rule"] = [BENCHMARKS[name].score_rule for name in table["benchmark"]]
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
