"""Model orientation tuning compared with macaque V1 (Ringach, Shapley & Hawken 2002).

Model distributions of circular variance and orientation bandwidth are compared with those of
the 308 V1 cells of Ringach, Shapley & Hawken (2002), J Neurosci 22(13):5639, the reference
behind Brain-Score's V1 orientation benchmarks (Marques et al. 2021). The database is loaded by
:func:`topoanalysis.datasets.ringach.load_ringach2002` (its module describes the file's
conventions).

Similarity score. Brain-Score's Marques 2020 benchmarks bin both distributions,
compute a KS-based similarity of the binned distributions, and normalise it by a
ceiling from split halves of the neural data. We do neither: we report the raw,
unbinned ``1 - D``, with ``D`` the two-sample Kolmogorov-Smirnov statistic (the
largest gap between the empirical CDFs). Values are comparable across our models but
are not equal to Brain-Score's published scores.

Untuned units. The file codes untuned cells' bandwidth as 180 deg (four cells). Model units
with no measurable bandwidth must be coded as 180 deg too, not dropped or set to NaN, or the
comparison is biased towards sharp tuning.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..datasets.ringach import load_ringach2002
from ..errors import InputError

RINGACH_MEDIAN_MAXDC_SPS: float = 33.3868065
"""Median peak mean firing rate (``maxdc``) of the 308 cells, spikes/s."""

_PROPERTIES = ("circular_variance", "bandwidth_deg")


def _clean(values: np.ndarray | pd.Series | list, side: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[~np.isnan(values)]
    if values.size == 0:
        raise InputError(f"{side} values are empty after dropping NaNs")
    return values


def _ks(a_sorted: np.ndarray, b_sorted: np.ndarray) -> float:
    pooled = np.concatenate([a_sorted, b_sorted])
    cdf_a = np.searchsorted(a_sorted, pooled, side="right") / a_sorted.size
    cdf_b = np.searchsorted(b_sorted, pooled, side="right") / b_sorted.size
    return float(np.max(np.abs(cdf_a - cdf_b)))


def ks_similarity(model_values: np.ndarray | pd.Series | list,
                  reference_values: np.ndarray | pd.Series | list) -> float:
    """``1 - D``, with ``D`` the two-sample Kolmogorov-Smirnov statistic; NaNs dropped.

    1 means identical empirical distributions, 0 means disjoint supports.

    Raises
    ------
    ValueError
        If either side is empty after dropping NaNs.

    Examples
    --------
    >>> ks_similarity([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    >>> ks_similarity([1.0, 2.0], [5.0, 6.0])
    0.0
    """
    a = np.sort(_clean(model_values, "model"))
    b = np.sort(_clean(reference_values, "reference"))
    return 1.0 - _ks(a, b)


def compare_with_ringach(circular_variance: np.ndarray | pd.Series | list,
                         bandwidth_deg: np.ndarray | pd.Series | list,
                         reference: pd.DataFrame | None = None, *, n_bootstrap: int = 0,
                         rng: np.random.Generator | None = None) -> pd.DataFrame:
    """Compare model circular variances and bandwidths with Ringach et al. (2002).

    Parameters
    ----------
    circular_variance, bandwidth_deg
        One value per model unit; NaNs are dropped. Untuned units must carry a
        bandwidth of 180 deg, as in Ringach's data.
    reference
        A table as returned by :func:`topoanalysis.datasets.ringach.load_ringach2002` (loaded when None).
    n_bootstrap
        When positive, resample the model units this many times and add the 2.5 and
        97.5 percentiles of the similarity as ``similarity_ci_low/high``. Resampling
        adds noise, so bootstrap similarities lean low and the point estimate can sit
        at the upper edge of this interval.
    rng
        Random generator for the bootstrap; required when ``n_bootstrap > 0``.

    Returns
    -------
    pandas.DataFrame
        One row per property: ``property, similarity, ks_statistic, model_median,
        ringach_median, n_model, n_ringach`` (and the CI columns).

    Examples
    --------
    >>> ref = pd.DataFrame({"circular_variance": [0.2, 0.5, 0.8], "bandwidth_deg": [15.0, 25.0, 180.0]})
    >>> compare_with_ringach([0.2, 0.5, 0.8], [15.0, 25.0, 180.0], ref)["similarity"].tolist()
    [1.0, 1.0]
    """
    if n_bootstrap < 0:
        raise InputError(f"n_bootstrap must be >= 0, got {n_bootstrap}")
    if n_bootstrap > 0 and rng is None:
        raise InputError("n_bootstrap > 0 needs rng (e.g. np.random.default_rng(0))")
    if reference is None:
        reference = load_ringach2002()
    rows = []
    for prop, values in zip(_PROPERTIES, (circular_variance, bandwidth_deg)):
        model = np.sort(_clean(values, f"model {prop}"))
        ref = np.sort(_clean(reference[prop].to_numpy(), f"Ringach {prop}"))
        ks = _ks(model, ref)
        row = {"property": prop, "similarity": 1.0 - ks, "ks_statistic": ks,
               "model_median": float(np.median(model)), "ringach_median": float(np.median(ref)),
               "n_model": int(model.size), "n_ringach": int(ref.size)}
        if n_bootstrap > 0:
            sims = np.array([1.0 - _ks(np.sort(model[rng.integers(0, model.size, model.size)]), ref)
                             for _ in range(n_bootstrap)])
            row["similarity_ci_low"], row["similarity_ci_high"] = np.percentile(sims, [2.5, 97.5])
        rows.append(row)
    return pd.DataFrame(rows)
