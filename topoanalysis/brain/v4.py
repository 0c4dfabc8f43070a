"""Macaque V4 responses to natural images (Cowley, Stan, Pillow & Smith 2023) as a benchmark.

The data (GPL-3.0) live in ``v4_cowley2023/`` under the shared data folder (see
:func:`topoanalysis.datasets.resolver.find_data_file`): per session ``responses_<session>.npy``
(``(n_neurons, n_images)`` repeat-averaged spike counts in 100 ms bins) and
``images_<session>.zip`` (112 x 112 RGB JPEGs ``image0001.jpg`` ... in column order),
plus ``responses_raw_210325.npy`` (``(neurons, images, repeats)``, NaN-padded) for the
noise ceiling. Model features are scored with Brain-Score's ``"pls"`` metric: its splits and
statistic, with the regression solved exactly in kernel form (:mod:`.pls`) or, as the
reference, by Brain-Score itself.

Examples
--------
>>> stimuli, responses = load_v4_session("210325", image_size_px=32)  # doctest: +SKIP
>>> stimuli.images.shape, responses.shape  # doctest: +SKIP
((640, 32, 32, 3), (640, 50))
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..datafiles import decode_image, open_zip, read_member
from ..datasets.resolver import DATA_SETS, find_data_file
from ..errors import InputError
from ..stimuli.base import StimulusSet, rgb_array
from .pls import kernel_pls_predict, pearson_columns

V4_SESSIONS = ("190923", "190925", "190927", "190928", "190929", "201025",
               "210224", "210225", "210305", "210322", "210325", "210621")
"""Sessions present; 190923, 201025, 210225, 210325 were the paper's test sessions, 210224 validation."""
CEILING_SESSION = "210325"
"""The one session with single-repeat responses, hence the only one with a noise ceiling."""
DATA_FOLDER = DATA_SETS["v4"]
DEFAULT_DEGREES = 8.0
_FLAG = "--v4-data"
_IMAGE_RE = re.compile(r"(?:^|/)image(\d+)\.jpg$")


def _check_session(session: str | int) -> str:
    session = str(session)
    if session not in V4_SESSIONS:
        raise InputError(f"unknown V4 session {session!r}; valid sessions are {list(V4_SESSIONS)}")
    return session


def _responses_file(session: str, path) -> Path:
    return find_data_file(f"{DATA_FOLDER}/responses_{session}.npy", path,
                          what=f"Cowley 2023 V4 responses of session {session}", flag=_FLAG)


def load_v4_session(session: str | int, path: str | os.PathLike | None = None, *,
                    image_size_px: int | None = None,
                    degrees: float = DEFAULT_DEGREES) -> tuple[StimulusSet, np.ndarray]:
    """Load one session's images (decoded straight from its zip) and repeat-averaged responses.

    Parameters
    ----------
    session : str or int
        One of :data:`V4_SESSIONS`.
    path : str or os.PathLike, optional
        The responses file, its folder, or a data root holding ``v4_cowley2023/``; the
        image zip is looked up beside the responses file.
    image_size_px : int, optional
        Resize every image to this square size (PIL bicubic); default keeps 112 px.
    degrees : float, default 8.0
        Visual degrees spanned by the image width. The data's readme does not state the
        presentation size, so 8 degrees (Brain-Score's convention) is an assumption [I].

    Returns
    -------
    stimuli : StimulusSet
        Named ``"v4_<session>"``; labels ``stimulus_id`` (``"v4-210325-0001"``),
        ``session`` and ``image_index`` (0-based column of the responses file).
    responses : numpy.ndarray
        ``float64`` ``(n_images, n_neurons)``, spike counts per 100 ms averaged over repeats.

    Examples
    --------
    >>> stimuli, responses = load_v4_session("210325")  # doctest: +SKIP
    >>> len(stimuli), responses.shape  # doctest: +SKIP
    (640, (640, 50))
    """

    session = _check_session(session)
    if image_size_px is not None and (int(image_size_px) != image_size_px or image_size_px < 1):
        raise InputError(f"image_size_px must be a positive integer, got {image_size_px!r}")
    responses_path = _responses_file(session, path)
    responses = np.load(responses_path).astype(np.float64)
    if responses.ndim != 2:
        raise InputError(f"{responses_path}: expected (n_neurons, n_images), got shape {responses.shape}")
    n_images = responses.shape[1]
    zip_path = find_data_file(f"{DATA_FOLDER}/images_{session}.zip", responses_path.parent,
                              what=f"Cowley 2023 V4 images of session {session}", flag=_FLAG)
    arrays = []
    with open_zip(zip_path, what=f"Cowley 2023 V4 images of session {session}") as archive:
        members = {int(m.group(1)): name for name in archive.namelist() if (m := _IMAGE_RE.search(name))}
        if sorted(members) != list(range(1, n_images + 1)):
            raise InputError(f"{zip_path}: expected image0001.jpg ... image{n_images:04d}.jpg to match the "
                             f"{n_images} response columns, found {len(members)} numbered images")
        for number in range(1, n_images + 1):
            image = decode_image(read_member(archive, members[number]), name=f"{zip_path}:{members[number]}")
            arrays.append(rgb_array(image, image_size_px))
    if len({a.shape for a in arrays}) > 1:
        raise InputError(f"images in {zip_path} differ in size; pass image_size_px to resize them")
    labels = pd.DataFrame({"stimulus_id": [f"v4-{session}-{i:04d}" for i in range(1, n_images + 1)],
                           "session": session, "image_index": np.arange(n_images)})
    return StimulusSet(f"v4_{session}", np.stack(arrays), labels, float(degrees)), responses.T.copy()


def load_v4_repeats(path: str | os.PathLike | None = None) -> np.ndarray:
    """Single-repeat responses of :data:`CEILING_SESSION`: ``(neurons, images, repeats)``, NaN-padded.

    Examples
    --------
    >>> load_v4_repeats().shape  # doctest: +SKIP
    (50, 640, 10)
    """
    file = find_data_file(f"{DATA_FOLDER}/responses_raw_{CEILING_SESSION}.npy", path,
                          what="Cowley 2023 V4 single-repeat responses", flag=_FLAG)
    return np.load(file).astype(np.float64)


def _rowwise_pearson(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Pearson r per row over the columns where ``weight`` is True (NaN if degenerate)."""
    n = weight.sum(1)
    a, b = np.where(weight, a, 0.0), np.where(weight, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        da = np.where(weight, a - (a * weight).sum(1, keepdims=True) / n[:, None], 0.0)
        db = np.where(weight, b - (b * weight).sum(1, keepdims=True) / n[:, None], 0.0)
        r = (da * db).sum(1) / np.sqrt((da ** 2).sum(1) * (db ** 2).sum(1))
    return np.where(n >= 3, r, np.nan)


def split_half_ceiling(raw: np.ndarray, *, rng: np.random.Generator, n_splits: int = 100) -> pd.DataFrame:
    """Split-half reliability per neuron, Spearman-Brown corrected, averaged over random splits.

    The per-split values are :func:`split_half_reliabilities`; the benchmark's ceiling is
    :func:`brainscore_ceiling` of those (Brain-Score's order of aggregation).

    In each split, every image's available (non-NaN) repeats are shuffled and divided into
    halves of ``floor(k/2)`` and ``ceil(k/2)`` repeats (all repeats are used, so halves differ
    by one when ``k`` is odd); one random order per image is shared by all neurons, as the
    neurons were recorded together. The half means are correlated across images (Pearson;
    images with fewer than two repeats are left out) and corrected to the full set of
    repeats with ``2r / (1 + r)``; the corrected values are averaged over splits. Negative
    ``r`` stays negative; a neuron with constant half means gets NaN.

    Parameters
    ----------
    raw : numpy.ndarray
        ``(n_neurons, n_images, n_repeats)`` responses, NaN for missing repeats.
    rng : numpy.random.Generator
        Source of the random splits.
    n_splits : int, default 100
        Number of random splits.

    Returns
    -------
    pandas.DataFrame
        Columns ``neuron`` (row index into ``raw``) and ``reliability``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> raw = rng.normal(size=(1, 200, 1)) + rng.normal(size=(1, 200, 8))
    >>> round(float(split_half_ceiling(raw, rng=rng, n_splits=10).reliability[0]), 1)
    0.9
    """
    reliabilities = split_half_reliabilities(raw, rng=rng, n_splits=n_splits)
    return pd.DataFrame({"neuron": np.arange(reliabilities.shape[1]), "reliability": reliabilities.mean(0)})


def split_half_reliabilities(raw: np.ndarray, *, rng: np.random.Generator, n_splits: int = 100) -> np.ndarray:
    """``(n_splits, n_neurons)`` Spearman-Brown corrected split-half reliabilities (see :func:`split_half_ceiling`)."""
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim != 3:
        raise InputError(f"raw must be (n_neurons, n_images, n_repeats), got shape {raw.shape}")
    if n_splits < 1:
        raise InputError(f"n_splits must be >= 1, got {n_splits}")
    valid = ~np.isnan(raw)
    filled = np.where(valid, raw, 0.0)
    counts = valid.sum(-1)
    first = counts // 2
    usable = first >= 1
    corrected = np.empty((n_splits, raw.shape[0]))
    for split in range(n_splits):
        keys = np.where(valid, rng.random(raw.shape[1:])[None], np.inf)
        rank = keys.argsort(-1).argsort(-1)  # missing repeats rank last
        in_a = rank < first[..., None]
        in_b = valid & ~in_a
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_a = (filled * in_a).sum(-1) / first
            mean_b = (filled * in_b).sum(-1) / (counts - first)
            r = _rowwise_pearson(mean_a, mean_b, usable)
            corrected[split] = 2 * r / (1 + r)
    return corrected


def brainscore_ceiling(reliabilities: np.ndarray) -> float:
    """The ceiling as Brain-Score aggregates it: the median over neurons in each split, then the
    mean over splits (NaN neurons ignored).

    Examples
    --------
    >>> brainscore_ceiling(np.array([[0.1, 0.5, 0.9], [0.7, 0.8, 0.0]]))  # medians 0.5 and 0.7
    0.6
    """
    return float(np.mean(np.nanmedian(np.asarray(reliabilities, dtype=float), axis=1)))


def ceiling_value(table: pd.DataFrame) -> float:
    """Median over neurons (NaN ignored) of :func:`split_half_ceiling`'s split-averaged ``reliability``.

    The median of split means; Brain-Score takes the mean of split medians
    (:func:`brainscore_ceiling`), which the V4 benchmark uses.

    Examples
    --------
    >>> ceiling_value(pd.DataFrame({"neuron": [0, 1, 2], "reliability": [0.2, 0.5, 0.9]}))
    0.5
    """
    return float(np.nanmedian(table["reliability"].to_numpy(dtype=float)))


PLS_METHODS = ("exact", "brainscore")
"""``exact``: :mod:`topoanalysis.brain.pls` (kernel form, torch); ``brainscore``: Brain-Score's own metric."""


def _feature_rank(gram: np.ndarray, n_features: int) -> int:
    """Numerical rank of centred features from their Gram matrix (eigenvalues > max * max(n, p) * eps)."""
    eigenvalues = np.linalg.eigvalsh(gram)
    tolerance = max(eigenvalues[-1], 0.0) * max(len(gram), n_features) * np.finfo(np.float64).eps
    return int((eigenvalues > tolerance).sum()) if eigenvalues[-1] > 0 else 0


def pls_predictivity(model_features: np.ndarray, neural: np.ndarray, stimulus_ids: Sequence[str], *,
                     rng: np.random.Generator | int, n_splits: int = 10, n_components: int = 25,
                     method: str = "exact", device=None) -> dict:
    """Cross-validated PLS predictivity, Brain-Score's ``"pls"`` metric.

    The metric fits ``PLSRegression(n_components, scale=False)`` on 90 % of the stimuli
    (scikit-learn ``ShuffleSplit``, ``n_splits`` splits, ``random_state`` as given; no
    stratification since the images have no object labels), takes Pearson r per neuron on
    the held-out 10 %, the median over neurons per split (NaN neurons skipped), and the mean
    over splits. ``n_components`` is lowered to the numerical rank of the centred features
    when that is smaller (scikit-learn refuses more components than feature columns, and
    surplus components of rank-deficient features only fit noise); the rank counts the
    eigenvalues of the centred Gram matrix above ``max * max(n_images, n_features) * eps``.

    ``method="exact"`` (default) computes the same splits and the same statistic with
    :func:`topoanalysis.brain.pls.kernel_pls_predict`, the exact fixed point of the NIPALS
    iterations, from one images x images Gram matrix (seconds instead of minutes for
    thousands of units; runs on ``device``). ``method="brainscore"`` calls
    ``brainscore_vision.load_metric("pls")`` itself, the reference. They agree to round-off
    where NIPALS converges; where NIPALS stops at its 500-iteration limit (scikit-learn's
    ConvergenceWarning) Brain-Score's score carries that truncation and the two differ by it.

    Parameters
    ----------
    model_features : numpy.ndarray
        ``(n_images, ...)`` model activations; trailing axes are flattened.
    neural : numpy.ndarray
        ``(n_images, n_neurons)`` responses in the same image order.
    stimulus_ids : sequence of str
        Unique id per image.
    rng : numpy.random.Generator or int
        An int is used as the splits' ``random_state``; a generator draws one.
    n_splits : int, default 10
        Number of train/test splits.
    n_components : int, default 25
        PLS components (Brain-Score's default), capped at the feature rank.
    method : {"exact", "brainscore"}, default "exact"
        See above.
    device : torch.device or str, optional
        Where the exact path computes (default CPU).

    Returns
    -------
    dict
        ``raw`` (mean over splits of the median-over-neurons r), ``per_neuron`` (r per
        neuron averaged over splits, in column order), ``n_neurons``, ``n_images``,
        ``n_components``, ``random_state`` and ``metric``.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(100, 30))
    >>> out = pls_predictivity(x, x[:, :5], [str(i) for i in range(100)], rng=0)
    >>> out["raw"] > 0.99
    True
    """
    if method not in PLS_METHODS:
        raise InputError(f"unknown PLS method {method!r}; valid: {', '.join(PLS_METHODS)}")
    features = np.asarray(model_features, dtype=np.float64)
    features = features.reshape(len(features), -1)
    neural = np.asarray(neural, dtype=np.float64)
    ids = np.asarray([str(s) for s in stimulus_ids])
    if neural.ndim != 2 or not len(features) == len(neural) == len(ids):
        raise InputError(f"need features (n_images, ...), neural (n_images, n_neurons) and n_images ids; got "
                         f"{features.shape}, {neural.shape} and {len(ids)} ids")
    if len(set(ids)) != len(ids):
        raise InputError("stimulus_ids must be unique")
    if not (np.isfinite(features).all() and np.isfinite(neural).all()):
        raise InputError("model_features and neural must be finite")
    if int(n_splits) < 1 or int(n_components) < 1:
        raise InputError(f"n_splits and n_components must be >= 1, got {n_splits} and {n_components}")
    centred = torch.as_tensor(features - features.mean(0), device=device)
    gram = centred @ centred.T
    rank = _feature_rank(gram.cpu().numpy(), features.shape[1])
    if rank < 1:
        raise InputError("model_features are constant across images; PLS needs at least one varying feature")
    components = min(int(n_components), rank)
    seed = int(rng.integers(2 ** 31 - 1)) if isinstance(rng, np.random.Generator) else int(rng)
    n_images, n_neurons = neural.shape
    if method == "exact":
        per_split = _exact_pls_scores(gram, neural, int(n_splits), seed, components)
        metric = "exact kernel PLS (brainscore_vision pls splits and statistic)"
    else:
        per_split = _brainscore_pls_scores(features, neural, ids, int(n_splits), seed, components)
        metric = "brainscore_vision pls"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices stay NaN
        raw = float(np.nanmean(np.nanmedian(per_split, axis=1)))
        per_neuron = np.nanmean(per_split, axis=0)
    return {"raw": raw, "per_neuron": per_neuron, "n_neurons": n_neurons, "n_images": n_images,
            "n_components": components, "random_state": seed, "metric": metric}


def _exact_pls_scores(gram: torch.Tensor, neural: np.ndarray, n_splits: int, seed: int,
                      components: int) -> np.ndarray:
    """``(n_splits, n_neurons)`` held-out Pearson r on Brain-Score's splits, by kernel PLS."""
    from sklearn.model_selection import ShuffleSplit

    targets = torch.as_tensor(neural, device=gram.device)
    splitter = ShuffleSplit(n_splits=n_splits, train_size=0.9, test_size=None, random_state=seed)
    rows = []
    for train, test in splitter.split(np.zeros(len(neural))):
        train_t, test_t = torch.as_tensor(train, device=gram.device), torch.as_tensor(test, device=gram.device)
        prediction = kernel_pls_predict(gram, targets, train_t, test_t, n_components=components)
        rows.append(pearson_columns(prediction, targets[test_t]))
    return torch.stack(rows).cpu().numpy()


def _brainscore_pls_scores(features: np.ndarray, neural: np.ndarray, ids: np.ndarray, n_splits: int, seed: int,
                           components: int) -> np.ndarray:
    """``(n_splits, n_neurons)`` held-out Pearson r from ``brainscore_vision.load_metric("pls")``."""
    os.environ.setdefault("BS_INSTALL_DEPENDENCIES", "no")
    from brainscore_vision import load_metric
    from brainscore_vision.metrics.regression_correlation.metric import pls_regression

    from .adapter import neuroid_assembly

    n_images, n_neurons = neural.shape
    presentation = {"stimulus_id": ids, "object_name": np.full(n_images, "none")}
    source = neuroid_assembly(features, presentation, {"neuroid_id": np.arange(features.shape[1]),
                                                       "region": np.full(features.shape[1], "model")})
    target = neuroid_assembly(neural, presentation, {"neuroid_id": np.arange(n_neurons),
                                                     "region": np.full(n_neurons, "V4")})
    metric = load_metric("pls", crossvalidation_kwargs=dict(splits=n_splits, random_state=seed,
                                                             stratification_coord=None))
    if components != 25:  # the registered "pls" always builds PLSRegression(n_components=25)
        metric.regression = pls_regression(regression_kwargs=dict(n_components=components))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        score = metric(source, target)
    raw = score.raw.transpose("split", "neuroid")
    per_split = np.full((n_splits, n_neurons), np.nan)
    per_split[:, raw["neuroid_id"].values] = raw.values
    return per_split
