"""The offline brain benchmarks: one :class:`Benchmark` entry each, read by the suite, the brain analysis and the CLI.

A benchmark is its identifier, the model region it scores, the data set it reads, how its score
is built, and three functions: ``prepare`` (its stimuli and whatever it needs once per model: neural
data, ceilings), ``score_layer`` (one layer's responses to those stimuli -> a score row) and
``check_data`` (fail before any work when its data are missing). Benchmarks that show the same
stimuli share one recording. Adding a benchmark is one entry here (or :func:`register`).

* ``V1-Ringach2002``: circular variance and orientation bandwidth of the layer's responsive units
  vs 308 macaque V1 cells; score = mean of the two ``1 - KS`` similarities.
* ``V4-Cowley2023``: cross-validated PLS (Brain-Score's metric) from the layer to 50 macaque V4
  neurons of session 210325; score = r^2 / split-half ceiling (Brain-Score's ``explained_variance``).
* ``IT-RSA-Kiani2007``, ``IT-RSA-Kriegeskorte2008``, ``IT-RSA-Algonauts2019``,
  ``EVC-RSA-Algonauts2019``: Spearman RSA of the layer's RDM on the 92 images, divided by the Nili
  upper noise bound where subjects allow one; their committed layer is also scored on image-bootstrap
  replicates (:func:`topoanalysis.brain.rsa_bootstrap.rsa_benchmark_bootstrap`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class Prepared:
    """What a benchmark records (``stimuli``) and what its scoring reads (``context``), for one model."""

    stimuli: object
    context: dict


@dataclass(frozen=True)
class Benchmark:
    """One offline benchmark.

    Attributes
    ----------
    identifier : str
        Its name in tables, e.g. ``"V4-Cowley2023"``.
    region : str
        The model region whose committed layer it scores (EVC is compared with V1 layers).
    data_set : str
        The data it reads: ``"ringach"``, ``"v4"`` or ``"rsa92"`` (the brain params' path for it, else the
        default data folder's).
    score_rule : str
        How ``score`` follows from the other columns.
    prepare : callable
        ``prepare(path, spec, rng, device) -> Prepared``.
    score_layer : callable
        ``score_layer(features, context, rng, options) -> row`` for ``features`` the layer's responses (an
        ``xarray.DataArray``, stimulus x unit) and ``options`` the run's ``pls_method`` and ``device``; the row
        has ``raw`` and ``score`` and may have ``subject_mean``, ``ceiling_lower``, ``ceiling_upper``,
        ``ceiling``, ``ceiled``, ``note``.
    check_data : callable
        ``check_data(path)``.
    bootstrap : callable, optional
        ``bootstrap(features, indices, context) -> scores``: the score on image-bootstrap replicates.
    """

    identifier: str
    region: str
    data_set: str
    score_rule: str
    prepare: Callable
    score_layer: Callable
    check_data: Callable
    bootstrap: Callable | None = None


def _ringach_prepare(path, spec, rng, device) -> Prepared:
    from ..datasets.ringach import load_ringach2002
    from ..stimuli import make_sine_gratings

    return Prepared(make_sine_gratings(spec.input_size_px, spec.visual_degrees),
                    {"reference": load_ringach2002(path)})


def _ringach_score(features, context, rng, options) -> dict:
    from ..metrics.ringach import compare_with_ringach
    from ..metrics.v1 import V1Params, grating_tuning

    if not np.any(features.values):
        return {"raw": np.nan, "note": "silent layer"}
    tuning = grating_tuning(features, V1Params())
    responsive = tuning["responsive"].to_numpy()
    if responsive.sum() < 2:
        return {"raw": np.nan, "note": "fewer than 2 responsive units"}
    table = compare_with_ringach(tuning["circular_variance"].to_numpy()[responsive],
                                 tuning["bandwidth_deg"].to_numpy()[responsive], context["reference"])
    similarity = float(table["similarity"].mean())
    return {"raw": similarity, "ceiled": False, "score": similarity}


def _ringach_check(path) -> None:
    from ..datasets.ringach import load_ringach2002

    load_ringach2002(path)  # small: read whole, so a damaged file fails here


def _v4_prepare(path, spec, rng, device) -> Prepared:
    from .v4 import CEILING_SESSION, brainscore_ceiling, load_v4_repeats, load_v4_session, split_half_reliabilities

    stimuli, neural = load_v4_session(CEILING_SESSION, path, image_size_px=spec.input_size_px)
    ceiling = brainscore_ceiling(split_half_reliabilities(load_v4_repeats(path), rng=rng))
    return Prepared(stimuli, {"neural": neural, "ceiling": ceiling,
                              "ids": stimuli.labels["stimulus_id"].to_numpy()})


def _v4_score(features, context, rng, options) -> dict:
    from .v4 import pls_predictivity

    values = features.values
    informative = values.std(axis=0) > 0
    if informative.sum() < 2:
        return {"raw": np.nan, "ceiling": context["ceiling"], "score": np.nan, "note": "silent layer"}
    raw = pls_predictivity(values[:, informative], context["neural"], context["ids"], rng=rng,
                           method=options["pls_method"], device=options["device"])["raw"]
    return {"raw": raw, "ceiling": context["ceiling"], "ceiled": True, "score": raw**2 / context["ceiling"]}


def _v4_check(path) -> None:
    from .v4 import load_v4_repeats

    load_v4_repeats(path)


def _rsa_prepare(name, path, spec, rng, device) -> Prepared:
    from ..stimuli import load_rsa92

    return Prepared(load_rsa92(path, image_size_px=spec.input_size_px), {"name": name, "path": path})


def _model_rdm(features) -> tuple[np.ndarray | None, str]:
    from .rsa import rdm

    try:
        return rdm(features.values), ""
    except ValueError as exc:  # a degenerate layer (every unit constant): no RDM
        return None, str(exc)


def _rsa_score(features, context, rng, options) -> dict:
    from .rsa import rsa_benchmark

    model_rdm, note = _model_rdm(features)
    if model_rdm is None:
        return {"raw": np.nan, "note": note}
    result = rsa_benchmark(context["name"], model_rdm, context["path"])
    return {"raw": result["raw"], "subject_mean": result["subject_mean"], "ceiling_lower": result["ceiling_lower"],
            "ceiling_upper": result["ceiling_upper"], "ceiling": result["ceiling"],
            "ceiled": result["ceiling"] is not None, "score": result["score"]}


def _rsa_bootstrap(features, indices, context) -> np.ndarray:
    from .rsa_bootstrap import rsa_benchmark_bootstrap

    model_rdm, _ = _model_rdm(features)
    if model_rdm is None:
        return np.full(len(indices), np.nan)
    return rsa_benchmark_bootstrap(context["name"], model_rdm, indices, context["path"])


def _rsa_check(name, path) -> None:
    from ..datasets.resolver import find_data_file
    from ..stimuli.rsa92 import find_rsa92_file
    from .rsa import ALGONAUTS_FILENAME, HUMAN_IT_FILENAME, RSA_BENCHMARKS

    find_rsa92_file(path)
    files = {"human_it": (HUMAN_IT_FILENAME, "Kriegeskorte 2008 subject RDMs"),
             "algonauts": (ALGONAUTS_FILENAME, "Algonauts 2019 92-image fMRI RDMs")}
    data = RSA_BENCHMARKS[name]["data"]
    if data in files:
        find_data_file(files[data][0], path, what=files[data][1], flag="--rsa92")


def _rsa_entry(name: str, region: str, score_rule: str) -> Benchmark:
    return Benchmark(name, region, "rsa92", score_rule, partial(_rsa_prepare, name), _rsa_score,
                     partial(_rsa_check, name), _rsa_bootstrap)


_CEILED_RSA = "subject_mean / ceiling_upper (mean per-subject rho over the Nili upper bound)"
BENCHMARKS: dict[str, Benchmark] = {entry.identifier: entry for entry in (
    Benchmark("V1-Ringach2002", "V1", "ringach", "raw (mean of the two 1 - KS similarities; no ceiling)",
              _ringach_prepare, _ringach_score, _ringach_check),
    Benchmark("V4-Cowley2023", "V4", "v4", "raw^2 / ceiling (PLS r squared over the split-half ceiling)",
              _v4_prepare, _v4_score, _v4_check),
    _rsa_entry("IT-RSA-Kiani2007", "IT", "raw (Spearman rho with the monkey group RDM; no subjects, no ceiling)"),
    _rsa_entry("IT-RSA-Kriegeskorte2008", "IT", _CEILED_RSA),
    _rsa_entry("IT-RSA-Algonauts2019", "IT", _CEILED_RSA),
    _rsa_entry("EVC-RSA-Algonauts2019", "V1", _CEILED_RSA),
)}
"""Every offline benchmark by identifier, in the order the suite runs them."""


def register(entry: Benchmark) -> Benchmark:
    """Add ``entry`` (after the built-ins); its identifier must be new."""
    if entry.identifier in BENCHMARKS:
        raise InputError(f"a benchmark named {entry.identifier!r} is already registered; pick another name")
    BENCHMARKS[entry.identifier] = entry
    return entry


def unregister(identifier: str) -> None:
    """Remove a benchmark added with :func:`register`."""
    BENCHMARKS.pop(identifier, None)
