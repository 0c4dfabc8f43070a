"""Tuning to sine gratings: preferences, selectivity and unit masks (METHODS 1.4, 2.5).

Everything here works on plain arrays, one column per unit, so it is vectorised over
tens of thousands of units: tuning curves are one matrix product, and the von Mises fit
is a batched Levenberg-Marquardt solve over all units at once.

Orientation angles are in degrees with period 180. The vector sum (Bosking et al. 1997,
used by TDSNN) gives ``theta_pref = 1/2 arg sum_k R(theta_k) exp(2 i theta_k)``; the von
Mises fit (TDANN) gives the peak of ``A exp(kappa (cos(2 (theta - theta_pref)) - 1))``.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

ORIENTATION_METHODS = ("vector_sum", "von_mises")

_TDANN_DENSE_POINTS = 50
_LOG_SQRT2 = 0.5 * np.log(2.0)


_UNITS_PER_BLOCK = 16384


def tuning_curves(responses: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean response per level of one stimulus factor, averaged over all other factors.

    Summed in float64 whatever the input type, then divided by the count, so levels whose
    responses sum to the same value (common with spike counts, multiples of 1/T) tie
    exactly, and ties resolve to the first level (:func:`argmax_preference`) rather than by
    round-off.

    Parameters
    ----------
    responses : numpy.ndarray
        ``(n_stimuli, n_units)`` responses.
    levels : numpy.ndarray
        ``(n_stimuli,)`` level of the factor for each stimulus (e.g. its orientation).

    Returns
    -------
    tuple of numpy.ndarray
        The sorted unique levels and the ``(n_levels, n_units)`` mean responses.

    Examples
    --------
    >>> levels, curves = tuning_curves(np.array([[1.0], [3.0], [5.0]]), np.array([0, 0, 90]))
    >>> levels.tolist(), curves.ravel().tolist()
    ([0, 90], [2.0, 5.0])
    """
    responses = np.asarray(responses)
    levels = np.asarray(levels)
    if responses.ndim != 2 or len(levels) != responses.shape[0]:
        raise InputError(f"responses must be (n_stimuli, n_units) with one level per stimulus; got "
                         f"responses {responses.shape} and {len(levels)} levels")
    unique, codes = np.unique(levels, return_inverse=True)
    indicator = np.zeros((len(unique), len(levels)))
    indicator[codes, np.arange(len(levels))] = 1.0
    counts = indicator.sum(axis=1, keepdims=True)
    curves = np.empty((len(unique), responses.shape[1]))
    for start in range(0, responses.shape[1], _UNITS_PER_BLOCK):  # float64 in blocks: bounded memory
        block = slice(start, start + _UNITS_PER_BLOCK)
        curves[:, block] = (indicator @ responses[:, block].astype(np.float64)) / counts  # sum, then divide
    return unique, curves


def _orientation_resultant(curves: np.ndarray, orientations_deg: np.ndarray) -> np.ndarray:
    phases = np.exp(2j * np.deg2rad(np.asarray(orientations_deg, dtype=np.float64)))
    return phases @ curves


def orientation_preference_vector_sum(curves: np.ndarray, orientations_deg: np.ndarray) -> np.ndarray:
    """Preferred orientation (deg, in [0, 180)) by vector summation; NaN for silent units.

    Examples
    --------
    >>> angles = np.arange(8) * 22.5
    >>> curve = 1 + np.cos(np.deg2rad(2 * (angles - 30.0)))
    >>> orientation_preference_vector_sum(curve[:, None], angles).round(6).tolist()
    [30.0]
    """
    resultant = _orientation_resultant(curves, orientations_deg)
    preference = np.rad2deg(np.angle(resultant) / 2.0) % 180.0
    return np.where(np.abs(curves).sum(axis=0) > 0, preference, np.nan)


def circular_variance(curves: np.ndarray, orientations_deg: np.ndarray) -> np.ndarray:
    """``1 - |sum_k R_k exp(2 i theta_k)| / sum_k R_k`` (Ringach et al. 2002); NaN for silent units.

    Examples
    --------
    >>> circular_variance(np.array([[1.0, 1.0], [0.0, 1.0]]), np.array([0.0, 90.0])).round(6).tolist()
    [0.0, 1.0]
    """
    total = curves.sum(axis=0)
    resultant = np.abs(_orientation_resultant(curves, orientations_deg))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, 1.0 - resultant / total, np.nan)


def _von_mises(x: np.ndarray, params: np.ndarray) -> np.ndarray:
    amplitude, kappa, mu = params[..., 0:1], params[..., 1:2], params[..., 2:3]
    return amplitude * np.exp(kappa * (np.cos(x - mu) - 1.0))


def _jacobian(x: np.ndarray, params: np.ndarray) -> np.ndarray:
    amplitude, kappa, mu = params[:, 0:1], params[:, 1:2], params[:, 2:3]
    cosine, sine = np.cos(x - mu), np.sin(x - mu)
    shape = np.exp(kappa * (cosine - 1.0))
    return np.stack([shape, amplitude * shape * (cosine - 1.0), amplitude * shape * kappa * sine], axis=-1)


def fit_von_mises(x: np.ndarray, y: np.ndarray, *, n_iterations: int = 60) -> np.ndarray:
    """Least-squares fit of ``A exp(kappa (cos(x - mu) - 1))`` to every row of ``y`` at once.

    Batched Levenberg-Marquardt: one 3 x 3 solve per unit and iteration, all units
    together, with per-unit damping; ``kappa`` is kept non-negative.

    Parameters
    ----------
    x : numpy.ndarray
        ``(n_points,)`` angles in radians on a full circle.
    y : numpy.ndarray
        ``(n_units, n_points)`` values to fit.

    Returns
    -------
    numpy.ndarray
        ``(n_units, 3)``: amplitude ``A``, concentration ``kappa``, peak ``mu`` (radians).
    """
    x = np.asarray(x, dtype=np.float64)[None, :]
    y = np.asarray(y, dtype=np.float64)
    resultant = (y * np.exp(1j * x)).sum(axis=1)
    total = np.maximum(y.sum(axis=1), 1e-12)
    length = np.clip(np.abs(resultant) / total, 0.0, 0.95)
    kappa = length * (2.0 - length**2) / (1.0 - length**2)  # Best & Fisher's approximation
    params = np.stack([y.max(axis=1), kappa, np.angle(resultant)], axis=1)
    damping = np.full(len(y), 1e-3)
    cost = ((y - _von_mises(x, params)) ** 2).sum(axis=1)
    active = np.flatnonzero(np.abs(y).sum(axis=1) > 0)
    eye = np.eye(3)
    for _ in range(n_iterations):
        if active.size == 0:
            break
        p, target = params[active], y[active]
        jac = _jacobian(x, p)
        normal = np.einsum("upi,upj->uij", jac, jac)
        gradient = np.einsum("upi,up->ui", jac, target - _von_mises(x, p))
        diagonal = np.einsum("uii->ui", normal)[:, :, None] * eye
        system = normal + damping[active, None, None] * diagonal + 1e-12 * eye
        step = np.linalg.solve(system, gradient[:, :, None])[:, :, 0]
        trial = p + step
        trial[:, 1] = np.maximum(trial[:, 1], 0.0)
        trial_cost = ((target - _von_mises(x, trial)) ** 2).sum(axis=1)
        better = trial_cost < cost[active]
        improvement = np.where(better, cost[active] - trial_cost, 0.0)
        params[active[better]], cost[active[better]] = trial[better], trial_cost[better]
        damping[active] = np.where(better, damping[active] / 3.0, damping[active] * 4.0)
        converged = (better & (improvement <= 1e-12 * (cost[active] + 1e-30))) | (damping[active] > 1e10)
        active = active[~converged]
    params[:, 2] = np.angle(np.exp(1j * params[:, 2]))
    return params


def _linear_interpolation_matrix(x_from: np.ndarray, x_to: np.ndarray) -> np.ndarray:
    """``(len(x_to), len(x_from))`` weights that interpolate linearly from ``x_from`` (ascending)."""
    right = np.clip(np.searchsorted(x_from, x_to, side="right"), 1, len(x_from) - 1)
    left = right - 1
    fraction = (x_to - x_from[left]) / (x_from[right] - x_from[left])
    weights = np.zeros((len(x_to), len(x_from)))
    rows = np.arange(len(x_to))
    weights[rows, left] = 1.0 - fraction
    weights[rows, right] += fraction
    return weights


def orientation_von_mises(curves: np.ndarray, orientations_deg: np.ndarray, *,
                          tdann_interpolation: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Preferred orientation and concentration from a von Mises fit to each tuning curve.

    Orientation ``theta`` in [0, 180) maps to ``x = 2 theta - 180`` degrees (TDANN fits on
    ``x`` in [-pi, pi]). By default the fit uses the measured points and the preference is
    the fitted peak, so a von Mises tuning curve gives back its exact preference.

    Parameters
    ----------
    curves : numpy.ndarray
        ``(n_orientations, n_units)`` orientation tuning curves.
    orientations_deg : numpy.ndarray
        The orientations of the rows, in [0, 180).
    tdann_interpolation : bool
        Reproduce TDANN (``smooth_orientation_tuning_curves``): append the 0 deg value at
        180 deg, interpolate linearly to 50 points on [0, 180], fit there and take the
        best of those 50 angles (a 3.67 deg grid) as the preference.

    Returns
    -------
    tuple of numpy.ndarray
        Preference in degrees (NaN for silent units) and ``kappa`` (per doubled angle).

    Examples
    --------
    >>> angles = np.arange(8) * 22.5
    >>> curve = np.exp(2.0 * (np.cos(np.deg2rad(2 * (angles - 100.0))) - 1))
    >>> pref, kappa = orientation_von_mises(curve[:, None], angles)
    >>> pref.round(4).tolist(), kappa.round(4).tolist()
    ([100.0], [2.0])
    """
    orientations_deg = np.asarray(orientations_deg, dtype=np.float64)
    order = np.argsort(orientations_deg)
    angles, values = orientations_deg[order], np.asarray(curves, dtype=np.float64)[order]
    if tdann_interpolation:
        dense_deg = np.linspace(0.0, 180.0, _TDANN_DENSE_POINTS)
        closed_deg = np.append(angles, angles[0] + 180.0)
        closed = np.vstack([values, values[:1]])
        values = _linear_interpolation_matrix(closed_deg, dense_deg) @ closed
        angles = dense_deg
    x = np.deg2rad(2.0 * angles - 180.0)
    params = fit_von_mises(x, values.T)
    preference = ((np.rad2deg(params[:, 2]) + 180.0) / 2.0) % 180.0
    if tdann_interpolation:
        fitted = _von_mises(x[None, :], params)
        preference = angles[np.argmax(fitted, axis=1)] % 180.0
    silent = np.abs(curves).sum(axis=0) == 0
    return np.where(silent, np.nan, preference), np.where(silent, np.nan, params[:, 1])


def orientation_bandwidth_deg(kappa: np.ndarray) -> np.ndarray:
    """Half-width at ``1/sqrt(2)`` of the peak of a fitted von Mises (Ringach et al. 2002).

    ``exp(kappa (cos(2 w) - 1)) = 1/sqrt(2)`` gives ``w = arccos(1 - ln 2 / (2 kappa)) / 2``.
    A curve that never falls to ``1/sqrt(2)`` of its peak (``kappa < ln 2 / 4``) is untuned
    and gets 180 deg, the code Ringach's database uses for untuned cells.

    Examples
    --------
    >>> orientation_bandwidth_deg(np.array([0.1, 1.0, 1e6])).round(2).tolist()
    [180.0, 24.6, 0.02]
    """
    kappa = np.asarray(kappa, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        cosine = 1.0 - _LOG_SQRT2 / kappa
        half_width = np.rad2deg(np.arccos(np.clip(cosine, -1.0, 1.0))) / 2.0
    return np.where(np.isnan(kappa), np.nan, np.where(cosine < -1.0, 180.0, half_width))


def argmax_preference(curves: np.ndarray) -> np.ndarray:
    """Index of the level with the largest mean response (SF or colour preference); -1 if silent.

    Exact ties go to the first (lowest) level.

    Examples
    --------
    >>> argmax_preference(np.array([[0.5, 0.0], [0.5, 0.0]])).tolist()
    [0, -1]
    """
    return np.where(np.abs(curves).sum(axis=0) > 0, np.argmax(curves, axis=0), -1)


def peak_to_peak(curves: np.ndarray) -> np.ndarray:
    """Tuning depth: largest minus smallest mean response per unit."""
    return curves.max(axis=0) - curves.min(axis=0)


def spikes_per_s_factor(peak_responses: np.ndarray, median_peak_sps: float) -> float:
    """Factor that makes the median unit's peak response ``median_peak_sps`` (TDANN, METHODS 2.5).

    TDANN scales model responses so that their median peak matches the median ``maxdc`` of
    Ringach's macaque V1 cells; only absolute thresholds (the response floor) depend on
    it. The median is taken over units that respond at all, so a half-silent layer still
    scales sensibly. Shift responses with negative values to a minimum of 0 first.

    Examples
    --------
    >>> spikes_per_s_factor(np.array([0.0, 0.25, 0.5, 0.75]), 10.0)
    20.0
    """
    peaks = np.asarray(peak_responses, dtype=np.float64)
    active = peaks[peaks > 0]
    if active.size == 0:
        raise InputError("no unit responded to any stimulus: there is nothing to scale")
    return float(median_peak_sps / np.median(active))


def ptp_percentile_mask(ptp: np.ndarray, percentile: float = 75.0) -> np.ndarray:
    """Units whose tuning depth is above the given percentile of all units' (TDANN's mask).

    Examples
    --------
    >>> ptp_percentile_mask(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), 50).tolist()
    [False, False, False, True, True]
    """
    if not 0 <= percentile < 100:
        raise InputError(f"percentile must be in [0, 100); got {percentile}")
    return (ptp > np.percentile(ptp, percentile)) & (ptp > 0)
