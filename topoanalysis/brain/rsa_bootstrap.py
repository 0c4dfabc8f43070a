"""Image-bootstrap replicates of the RSA benchmarks of :mod:`topoanalysis.brain.rsa`.

The 92 images are resampled with replacement, the same resamples for every model, layer and
benchmark, so topographic - baseline differences are paired (:data:`BOOTSTRAP_DESCRIPTION`).
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from .rsa import _N, _benchmark_data, _model_rdm, noise_ceiling, upper_triangle

BOOTSTRAP_DESCRIPTION = {
    "unit": "the 92 images",
    "resampling": "with replacement, the same resamples for every model, layer and benchmark (paired)",
    "pairs": "distinct original images only: entry (a, b), a < b, of a resampled RDM is kept when its images "
             "differ (i != j after resampling, rsatoolbox's convention for pattern bootstraps); Spearman ranks "
             "within each replicate's kept entries",
    "ceiling": "the Nili upper bound on the full image set, held fixed (not re-estimated per replicate)",
}
"""How :func:`rsa_benchmark_bootstrap` resamples, for results' records."""


def bootstrap_image_indices(n_bootstrap: int, rng: np.random.Generator, n_images: int = _N) -> np.ndarray:
    """Images drawn with replacement, one row per bootstrap replicate.

    Parameters
    ----------
    n_bootstrap : int
        Number of replicates, >= 0.
    rng : numpy.random.Generator
    n_images : int, default 92

    Returns
    -------
    numpy.ndarray
        ``(n_bootstrap, n_images)`` int64 indices in ``[0, n_images)``.

    Examples
    --------
    >>> bootstrap_image_indices(2, np.random.default_rng(0), 4).shape
    (2, 4)
    """
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        raise InputError(f"n_bootstrap must be an integer >= 0, got {n_bootstrap!r}")
    if n_images < 2:
        raise InputError(f"a bootstrap over images needs >= 2 images, got {n_images}")
    return rng.integers(0, n_images, size=(int(n_bootstrap), n_images), dtype=np.int64)


def _pair_counts(indices: np.ndarray, n: int) -> np.ndarray:
    """``(n_boot, n_pairs)`` int64: how often each original pair (i < j, upper-triangle order) is
    an entry of each replicate's resampled upper triangle. With image i drawn c_i times, the
    entries (a < b) holding images {i, j} number c_i c_j; an image paired with itself is left out."""
    iu, ju = np.triu_indices(n, k=1)
    draws = np.bincount((indices + n * np.arange(len(indices))[:, None]).ravel(), minlength=n * len(indices))
    draws = draws.reshape(len(indices), n)
    return draws[:, iu] * draws[:, ju]


def _sorted_ranks(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ranks of ``values`` in multisets holding ``weights[r, k]`` (int) copies of ``values[k]``.

    Returns the order sorting ``values``; the average ranks (ties share their mean rank, as
    :func:`scipy.stats.rankdata`) of ``values[order]``, ``(n_multisets, n_values)``; and per
    multiset the tie term ``sum over groups of equal values of t^3 - t`` (t: the group's size).
    """
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    new_group = np.r_[True, ranked[1:] != ranked[:-1]]
    totals = weights[:, order]
    if not new_group.all():
        totals = np.add.reduceat(totals, np.flatnonzero(new_group), axis=1)
    ranks = np.cumsum(totals, axis=1) - (totals - 1) / 2  # an int64 cumsum: fast and exact
    ties = (totals**3 - totals).sum(axis=1)
    return order, (ranks if new_group.all() else ranks[:, np.cumsum(new_group) - 1]), ties


def _weighted_spearman(x: np.ndarray, references: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Spearman rho of ``x`` with each row of ``references`` over the multisets in the rows of
    ``weights`` (int): ``(n_multisets, n_references)``; NaN where fewer than 3 entries or either
    side is constant. The n ranks of a multiset average (n + 1) / 2 and their sum of squared
    deviations is (n^3 - n - ties) / 12, exactly; the cross term runs in each reference's sorted
    order (a sum does not depend on it)."""
    n = weights.sum(axis=1)
    order, ranks, ties = _sorted_ranks(x, weights)
    sxx = (n**3 - n - ties) / 12
    wxc = np.empty(weights.shape)
    wxc[:, order] = weights[:, order] * (ranks - ((n + 1) / 2)[:, None])
    rho = np.empty((len(weights), len(references)))
    for s, reference in enumerate(references):
        order, ranks, ties = _sorted_ranks(reference, weights)
        syy = (n**3 - n - ties) / 12
        with np.errstate(invalid="ignore", divide="ignore"):
            rho[:, s] = np.einsum("rk,rk->r", wxc[:, order], ranks) / np.sqrt(sxx * syy)
        rho[(n < 3) | (sxx <= 0) | (syy <= 0), s] = np.nan
    return np.clip(rho, -1.0, 1.0)


def bootstrap_rsa_scores(model_rdm: np.ndarray, neural_rdms: np.ndarray, indices: np.ndarray, *,
                         ceiling: float | None = None, chunk: int = 32) -> np.ndarray:
    """A benchmark's score on image-bootstrap replicates of the RDMs, vectorised over replicates.

    Replicate ``r`` resamples the images as ``indices[r]`` (rows and columns of every RDM).
    Images drawn twice give entries comparing an image with itself; only entries of the
    resampled upper triangle whose two images differ are used (``indices[r, a] !=
    indices[r, b]``, rsatoolbox's convention), and Spearman's rho ranks within those, ties
    shared as in :func:`rsa_score`. Model pairs that are NaN are dropped, as there.

    Parameters
    ----------
    model_rdm : numpy.ndarray
        ``(n, n)`` model RDM.
    neural_rdms : numpy.ndarray
        ``(n, n)`` group RDM, or ``(n_subjects, n, n)`` subject RDMs (finite off the diagonal).
    indices : numpy.ndarray
        ``(n_boot, n)`` integers in ``[0, n)``, e.g. from :func:`bootstrap_image_indices`; all
        ``arange(n)`` rows reproduce the scores on the images as they are.
    ceiling : float, optional
        Divide by this (the benchmark's noise ceiling, computed once on the full image set and
        held fixed across replicates; re-estimating it per replicate would fold the ceiling's own
        sampling noise into every score). None: no ceiling.
    chunk : int, default 32
        Replicates computed at a time (bounds memory, not results).

    Returns
    -------
    numpy.ndarray
        ``(n_boot,)``: rho with the group RDM, or the mean over subjects of rho with each, over
        ``ceiling`` when given.

    Examples
    --------
    >>> a = np.array([[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]], float)
    >>> bootstrap_rsa_scores(a, a ** 2, np.array([[0, 1, 2, 3], [0, 0, 2, 3]])).tolist()
    [1.0, 1.0]
    """
    model = np.asarray(model_rdm, dtype=np.float64)
    neural = np.asarray(neural_rdms, dtype=np.float64)
    neural = neural[None] if neural.ndim == 2 else neural
    if model.ndim != 2 or model.shape[0] != model.shape[1] or neural.ndim != 3 or neural.shape[1:] != model.shape:
        raise InputError(f"model_rdm must be (n, n) and neural_rdms (n, n) or (n_subjects, n, n) of the same n: "
                         f"model {model.shape}, neural {np.shape(neural_rdms)}")
    n = model.shape[0]
    references = np.stack([upper_triangle(s) for s in neural])
    if not np.all(np.isfinite(references)):
        raise InputError("neural_rdms must be finite off the diagonal")
    idx = np.asarray(indices)
    if idx.ndim != 2 or idx.shape[1] != n or not np.issubdtype(idx.dtype, np.integer):
        raise InputError(f"indices must be an integer (n_boot, {n}) array, got {idx.dtype} {idx.shape}")
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise InputError(f"indices must lie in [0, {n}), got {idx.min()}..{idx.max()}")
    if ceiling is not None and not (np.isfinite(ceiling) and ceiling > 0):
        raise InputError(f"ceiling must be a finite number > 0 or None, got {ceiling!r}")
    if chunk < 1:
        raise InputError(f"chunk must be >= 1, got {chunk}")
    x = upper_triangle(model)
    keep = np.isfinite(x)
    x = np.where(keep, x, 0.0)
    scores = np.empty(len(idx))
    for start in range(0, len(idx), chunk):
        weights = _pair_counts(idx[start:start + chunk], n) * keep
        scores[start:start + chunk] = _weighted_spearman(x, references, weights).mean(axis=1)
    return scores / (1.0 if ceiling is None else ceiling)


def rsa_benchmark_bootstrap(name: str, model_rdm: np.ndarray, indices: np.ndarray,
                            path: str | os.PathLike | None = None) -> np.ndarray:
    """The ``score`` of :func:`rsa_benchmark` on each image-bootstrap replicate.

    Kiani 2007: rho with the monkey group RDM. The others: mean per-subject rho over the
    Nili upper bound, where the bound is :func:`noise_ceiling` on the full image set (the
    benchmark's own ``ceiling``), held fixed across replicates: the spread is that of the
    model's agreement with the data over images, not the ceiling's. Resampling and pairs as
    in :func:`bootstrap_rsa_scores` (see :data:`BOOTSTRAP_DESCRIPTION`).

    Parameters
    ----------
    name : str
        A key of :data:`RSA_BENCHMARKS`.
    model_rdm : numpy.ndarray
        ``(92, 92)``, rows in :func:`topoanalysis.stimuli.rsa92.load_rsa92` order.
    indices : numpy.ndarray
        ``(n_boot, 92)`` resampled image indices (:func:`bootstrap_image_indices`); the same
        array for every model and benchmark makes their replicates paired.
    path : str or os.PathLike, optional
        As in :func:`rsa_benchmark`.

    Returns
    -------
    numpy.ndarray
        ``(n_boot,)`` scores; all-``arange(92)`` rows give :func:`rsa_benchmark`'s ``score``.

    Examples
    --------
    >>> monkey = load_rsa92_rdms()["monkey_it"]  # doctest: +SKIP
    >>> rsa_benchmark_bootstrap("IT-RSA-Kiani2007", monkey, np.arange(92)[None]).tolist()  # doctest: +SKIP
    [1.0]
    """
    model = _model_rdm(model_rdm)
    group, subjects = _benchmark_data(name, path)
    if subjects is None:
        return bootstrap_rsa_scores(model, group, indices)
    return bootstrap_rsa_scores(model, subjects, indices, ceiling=noise_ceiling(subjects)[1])
