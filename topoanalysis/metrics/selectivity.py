"""Category selectivity as t-values (METHODS 2.8): one contrast, or every fLoc domain at once.

For a unit with responses ``x_on`` to the contrast's images and ``x_off`` to all others,

    t = (mean(x_on) - mean(x_off)) / sqrt(s_on^2 / n_on + s_off^2 / n_off)

with TDANN's population standard deviation (``ddof = 0``) by default (Welch's form, no
degrees of freedom). A unit whose responses do not vary gets t = 0 (TDANN); a unit that
never responds at all is *silent* and gets NaN, so it is never mistaken for an
unselective one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..stimuli.floc import FLOC_DOMAINS


def welch_t(responses: np.ndarray, on: np.ndarray, *, ddof: int = 0) -> np.ndarray:
    """t-value of every unit (column) for the stimuli in ``on`` against all the others.

    Parameters
    ----------
    responses : numpy.ndarray
        ``(n_stimuli, n_units)``.
    on : numpy.ndarray
        Boolean ``(n_stimuli,)``: the contrast's stimuli.
    ddof : int
        0 (TDANN, population std) or 1 (sample std, as ``scipy.stats.ttest_ind``).

    Examples
    --------
    >>> responses = np.array([[2.0, 1.0], [4.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    >>> welch_t(responses, np.array([True, True, False, False])).round(4).tolist()
    [2.8284, 0.0]
    """
    responses = np.asarray(responses, dtype=np.float64)
    on = np.asarray(on, dtype=bool)
    if on.shape != (responses.shape[0],):
        raise InputError(f"`on` must flag each of the {responses.shape[0]} stimuli; got shape {on.shape}")
    n_on, n_off = int(on.sum()), int((~on).sum())
    if min(n_on, n_off) <= ddof:
        raise InputError(f"the contrast needs more than {ddof} stimuli on each side; got {n_on} on and "
                         f"{n_off} off")
    a, b = responses[on], responses[~on]
    difference = a.mean(axis=0) - b.mean(axis=0)
    scale = np.sqrt(a.var(axis=0, ddof=ddof) / n_on + b.var(axis=0, ddof=ddof) / n_off)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, difference / np.where(scale > 0, scale, 1.0), 0.0)


def silent_units(responses: np.ndarray) -> np.ndarray:
    """Units whose response is zero for every stimulus."""
    return ~np.any(np.asarray(responses) != 0, axis=0)


def domain_t_values(responses: np.ndarray, domains: np.ndarray, *, contrasts=tuple(FLOC_DOMAINS),
                    ddof: int = 0) -> pd.DataFrame:
    """t-value of every unit for each domain against all other images (fLoc contrasts).

    Parameters
    ----------
    responses : numpy.ndarray
        ``(n_stimuli, n_units)``.
    domains : numpy.ndarray
        The domain of each stimulus (``"faces"``, ``"bodies"`` ...).
    contrasts : sequence of str
        Domains to contrast, each against all the other stimuli.

    Returns
    -------
    pandas.DataFrame
        Columns ``t_<domain>`` (NaN for silent units) and ``silent``.
    """
    domains = np.asarray(domains).astype(str)
    missing = [name for name in contrasts if name not in set(domains)]
    if missing:
        raise InputError(f"no stimuli of domain(s) {', '.join(missing)}; present: "
                         f"{', '.join(sorted(set(domains)))}")
    silent = silent_units(responses)
    table = pd.DataFrame({f"t_{name}": np.where(silent, np.nan, welch_t(responses, domains == name, ddof=ddof))
                          for name in contrasts})
    table["silent"] = silent
    return table
