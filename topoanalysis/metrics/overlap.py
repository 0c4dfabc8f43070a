"""Overlap between category maps (METHODS 2.10, and the plain correlation TDSNN reports).

Three measures, each a symmetric domain x domain matrix:

* ``colocalization`` (TDANN): place non-overlapping windows on the sheet (7 mm, more
  than 5 units; ``placement="tdann"``: TDANN's ``floor(extent / 7)`` evenly spread windows
  per axis, ``"grid"``: adjacent tiles from 0), take each window's fraction of units with t
  above 4 for each domain, and map the Spearman rho between two domains' fractions to
  ``(1 + rho) / 2``; 1 = the same places, chance 0.5.
* ``fraction_spearman``: that rho itself; chance 0.
* ``tmap_pearson``: the Pearson correlation of the two t-maps across units; chance 0.
  TDSNN's overlap numbers (0.63 vs 0.15 faces-bodies) fit a plain correlation with chance
  near 0 better than the TDANN form (METHODS 1.4, [I]).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from .spatial import spaced_windows, square_windows

OVERLAP_METHODS = ("colocalization", "fraction_spearman", "tmap_pearson")
OVERLAP_CHANCE = {"colocalization": 0.5, "fraction_spearman": 0.0, "tmap_pearson": 0.0}
WINDOW_PLACEMENTS = {"tdann": spaced_windows, "grid": square_windows}


def window_fractions(t_values: np.ndarray, xy_mm: np.ndarray, *, window_mm: float = 7.0,
                     min_units: int = 6, threshold: float = 4.0, placement: str = "tdann") -> np.ndarray:
    """``(n_windows, n_domains)`` fraction of units with t above ``threshold`` per window.

    Windows are non-overlapping ``window_mm`` squares placed as ``placement`` says (see the
    module docstring) with at least ``min_units`` units (TDANN keeps windows with more than
    5). NaN t-values (silent units) count as units that are not selective.
    """
    if placement not in WINDOW_PLACEMENTS:
        raise InputError(f"unknown window placement {placement!r}; valid: {', '.join(WINDOW_PLACEMENTS)}")
    t_values = np.asarray(t_values, dtype=np.float64)
    windows = WINDOW_PLACEMENTS[placement](np.asarray(xy_mm, dtype=np.float64), window_mm, min_units=min_units)
    if len(windows) < 3:
        raise InputError(f"only {len(windows)} windows of {window_mm:g} mm hold {min_units} units or more; "
                         "co-localisation needs at least 3 - use a larger window or fewer units per window")
    with np.errstate(invalid="ignore"):
        selective = t_values > threshold
    return np.stack([selective[members].mean(axis=0) for members in windows])


def _correlation_matrix(columns: np.ndarray, method: str) -> np.ndarray:
    """Pairwise correlation of columns; NaN where a column is constant."""
    values = stats.rankdata(columns, axis=0) if method == "spearman" else columns
    centred = values - values.mean(axis=0)
    norm = np.sqrt((centred**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = centred / np.where(norm > 0, norm, np.nan)
    return np.clip(z.T @ z, -1.0, 1.0)


def overlap_matrix(t_values: np.ndarray, xy_mm: np.ndarray, method: str = "colocalization", *,
                   window_mm: float = 7.0, min_units: int = 6, threshold: float = 4.0,
                   placement: str = "tdann") -> np.ndarray:
    """Domain x domain overlap of t-maps (columns of ``t_values``) by one of :data:`OVERLAP_METHODS`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform(0, 70, (3000, 2))
    >>> face = 10 * np.exp(-((xy - 20) ** 2).sum(1) / 50)
    >>> t = np.stack([face, face, rng.normal(0, 3, 3000)], axis=1)
    >>> overlap_matrix(t, xy).round(1)[0, :2].tolist()  # the same map twice; the third is noise
    [1.0, 1.0]
    """
    if method not in OVERLAP_METHODS:
        raise InputError(f"unknown overlap method {method!r}; valid: {', '.join(OVERLAP_METHODS)}")
    t_values = np.asarray(t_values, dtype=np.float64)
    if method == "tmap_pearson":
        responsive = ~np.isnan(t_values).any(axis=1)
        return _correlation_matrix(t_values[responsive], "pearson")
    fractions = window_fractions(t_values, xy_mm, window_mm=window_mm, min_units=min_units, threshold=threshold,
                                 placement=placement)
    rho = _correlation_matrix(fractions, "spearman")
    return (1.0 + rho) / 2.0 if method == "colocalization" else rho


def overlap_table(t_values: pd.DataFrame, xy_mm: np.ndarray, domains, *, methods=OVERLAP_METHODS,
                  **window_options) -> pd.DataFrame:
    """Long table ``method, domain_a, domain_b, value, chance`` of every method's full matrix."""
    columns = np.stack([t_values[f"t_{name}"].to_numpy() for name in domains], axis=1)
    rows = []
    for method in methods:
        matrix = overlap_matrix(columns, xy_mm, method, **window_options)
        rows += [{"method": method, "domain_a": a, "domain_b": b, "value": matrix[i, j],
                  "chance": OVERLAP_CHANCE[method]}
                 for i, a in enumerate(domains) for j, b in enumerate(domains)]
    return pd.DataFrame(rows)


CONTRAST_PAIRS = (("faces", "bodies"), ("characters", "places"))
"""The paper's overlap claim (Fig. 4): face-body maps overlap more than character-place maps."""


def _pair_columns(domains, pairs=CONTRAST_PAIRS) -> list[tuple[int, int]]:
    index = {name: i for i, name in enumerate(domains)}
    missing = [name for pair in pairs for name in pair if name not in index]
    if missing:
        raise InputError(f"overlap contrast needs the domains {', '.join(missing)}; have {', '.join(domains)}")
    return [(index[a], index[b]) for a, b in pairs]


def _spearman_pairs(fractions: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """``(..., n_pairs)`` Spearman rho of the window fractions of each pair of columns.

    ``fractions`` is ``(..., n_windows, n_domains)``; NaN where a column is constant.
    """
    ranks = stats.rankdata(fractions, axis=-2)
    centred = ranks - ranks.mean(axis=-2, keepdims=True)
    norm = np.sqrt((centred**2).sum(axis=-2))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = centred / np.where(norm > 0, norm, np.nan)[..., None, :]
    return np.stack([(z[..., a] * z[..., b]).sum(axis=-1) for a, b in pairs], axis=-1)


def colocalization_contrast(t_values: np.ndarray, xy_mm: np.ndarray, domains, *, rng: np.random.Generator,
                            n_bootstrap: int = 1000, n_shuffles: int = 200, window_mm: float = 7.0,
                            min_units: int = 6, threshold: float = 4.0, placement: str = "tdann") -> dict:
    """Face-body minus character-place co-localisation, with a window bootstrap and a position-shuffle null.

    The statistic is ``coloc(faces, bodies) - coloc(characters, places)`` (TDANN's
    ``(1 + rho) / 2``). ``bootstrap`` resamples the windows with replacement (the windows
    are the sampling unit of the Spearman rho), ``shuffle`` permutes the t-values over the
    units' positions and recomputes everything with the same windows: the chance of a sheet
    without a map, by the same code.

    Returns
    -------
    dict
        ``value``, ``bootstrap`` ``(n_bootstrap,)``, ``shuffle`` ``(n_shuffles,)``,
        ``pairs`` ``(2,)`` (the two co-localisations), ``n_windows`` and ``mapless``: for each domain of the
        pairs whose fraction is the same in every window (no map, so its rho and the value are NaN), why.

    Examples
    --------
    Face and body units (different units) share one region, character and place units do not:

    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform(0, 70, (3000, 2))
    >>> blob, even = 10 * np.exp(-((xy - 20) ** 2).sum(1) / 200), np.arange(3000) % 2 == 0
    >>> t = np.stack([blob * even, blob * ~even, blob[::-1] * even, rng.normal(0, 3, 3000)], axis=1)
    >>> out = colocalization_contrast(t, xy, ["faces", "bodies", "characters", "places"], rng=rng,
    ...                               n_bootstrap=50, n_shuffles=20)
    >>> bool(out["value"] > 0.3 and abs(out["shuffle"].mean()) < 0.1)
    True

    The null is not always about 0: units selective for two domains at once make their
    fractions correlate across windows wherever the units sit, which the shuffle keeps.
    """
    t_values = np.asarray(t_values, dtype=np.float64)
    xy_mm = np.asarray(xy_mm, dtype=np.float64)
    domains = list(domains)
    pairs = _pair_columns(domains)
    if placement not in WINDOW_PLACEMENTS:
        raise InputError(f"unknown window placement {placement!r}; valid: {', '.join(WINDOW_PLACEMENTS)}")
    windows = WINDOW_PLACEMENTS[placement](xy_mm, window_mm, min_units=min_units)
    if len(windows) < 3:
        raise InputError(f"only {len(windows)} windows of {window_mm:g} mm hold {min_units} units or more; "
                         "co-localisation needs at least 3 - use a larger window")
    with np.errstate(invalid="ignore"):
        selective = (t_values > threshold).astype(np.float64)
    membership = np.zeros((len(windows), len(t_values)))  # 0/1, so that counts are exact and equal fractions tie
    for row, members in enumerate(windows):
        membership[row, members] = 1.0
    sizes = membership.sum(axis=1, keepdims=True)
    fractions = membership @ selective / sizes

    def contrast(rho: np.ndarray) -> np.ndarray:
        coloc = (1.0 + rho) / 2.0
        return coloc[..., 0] - coloc[..., 1]

    observed = _spearman_pairs(fractions, pairs)
    boot_rows = rng.integers(0, len(windows), (n_bootstrap, len(windows)))
    bootstrap = contrast(_spearman_pairs(fractions[boot_rows], pairs))
    shuffled = np.stack([membership @ selective[rng.permutation(len(selective))] / sizes for _ in range(n_shuffles)]) \
        if n_shuffles else np.empty((0, len(windows), selective.shape[1]))
    shuffle = contrast(_spearman_pairs(shuffled, pairs)) if n_shuffles else np.empty(0)
    used = sorted({column for pair in pairs for column in pair})
    mapless = [f"{domains[c]}: {'no unit' if not selective[:, c].any() else 'the same fraction of units'} with t "
               f"above {threshold:g} in every window" for c in used if np.ptp(fractions[:, c]) == 0]
    return {"value": float(contrast(observed)), "pairs": (1.0 + observed) / 2.0, "bootstrap": bootstrap,
            "shuffle": shuffle, "n_windows": len(windows), "mapless": mapless}


def _weighted_t(responses: np.ndarray, squares: np.ndarray, counts: np.ndarray, ddof: int) -> np.ndarray:
    """``(n_units, n_domains)`` Welch t of each domain against all other images, with images counted
    ``counts[d, i]`` times in domain ``d`` (a bootstrap's multiplicities, or 0/1 labels): the same
    statistic as :func:`~topoanalysis.metrics.selectivity.welch_t`, zero where the scale is zero."""
    n_on = counts.sum(axis=1, keepdims=True)
    n_off = n_on.sum() - n_on
    sum_on, sq_on = counts @ responses, counts @ squares
    sum_off, sq_off = sum_on.sum(axis=0) - sum_on, sq_on.sum(axis=0) - sq_on
    mean_on, mean_off = sum_on / n_on, sum_off / n_off
    var_on = np.maximum(sq_on - n_on * mean_on**2, 0.0) / (n_on - ddof)
    var_off = np.maximum(sq_off - n_off * mean_off**2, 0.0) / (n_off - ddof)
    scale = np.sqrt(var_on / n_on + var_off / n_off)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, (mean_on - mean_off) / np.where(scale > 0, scale, 1.0), 0.0).T


def tmap_correlation_contrast(responses: np.ndarray, domains: np.ndarray, contrasts, *,
                              rng: np.random.Generator, n_bootstrap: int = 200, n_shuffles: int = 200,
                              ddof: int = 0) -> dict:
    """Face-body minus character-place correlation of t-maps across units: a non-spatial companion.

    It ignores positions (shuffling them leaves it unchanged), so it says nothing about
    topography. ``bootstrap`` resamples the images with replacement within each domain
    (the stimuli are its sampling unit); ``label_shuffle`` permutes the domain labels over
    the images: the value for selectivity with no category structure. ``responses`` is
    ``(n_stimuli, n_units)`` with every stimulus in one of ``contrasts`` (silent units are
    left out, as the overlap table does).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> domains = np.repeat(["faces", "bodies", "characters", "places"], 20)
    >>> drive = {d: rng.random(50) for d in ["faces", "characters", "places"]}
    >>> drive["bodies"] = drive["faces"]  # face and body images drive the same units
    >>> x = rng.random((80, 50)) + np.stack([drive[d] for d in domains])
    >>> out = tmap_correlation_contrast(x, domains, ["faces", "bodies", "characters", "places"], rng=rng,
    ...                                 n_bootstrap=20, n_shuffles=20)
    >>> bool(out["value"] > 1 > out["label_shuffle"].max())
    True
    """
    from .selectivity import silent_units

    responses = np.asarray(responses, dtype=np.float64)
    domains = np.asarray(domains).astype(str)
    contrasts = list(contrasts)
    pairs = _pair_columns(contrasts)
    outside = sorted(set(domains) - set(contrasts))
    if outside:
        raise InputError(f"every stimulus must belong to one of {', '.join(contrasts)}; found {', '.join(outside)}")
    responses = responses[:, ~silent_units(responses)]
    squares = responses**2

    def statistic(counts: np.ndarray) -> float:
        r = _correlation_matrix(_weighted_t(responses, squares, counts, ddof), "pearson")
        return float(r[pairs[0]] - r[pairs[1]])

    labels = np.stack([domains == name for name in contrasts]).astype(np.float64)
    value = statistic(labels)
    groups = [np.flatnonzero(row) for row in labels.astype(bool)]
    bootstrap = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        counts = np.zeros_like(labels)
        for d, members in enumerate(groups):
            counts[d] = np.bincount(rng.choice(members, len(members)), minlength=len(domains))
        bootstrap[b] = statistic(counts)
    shuffle = np.array([statistic(labels[:, rng.permutation(len(domains))]) for _ in range(n_shuffles)])
    return {"value": value, "bootstrap": bootstrap, "label_shuffle": shuffle}
