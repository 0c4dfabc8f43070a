"""Tuning metrics: planted curves give back their preferences exactly."""

import numpy as np
import pytest

from topoanalysis.metrics.tuning import (
    argmax_preference,
    circular_variance,
    fit_von_mises,
    orientation_bandwidth_deg,
    orientation_preference_vector_sum,
    orientation_von_mises,
    peak_to_peak,
    ptp_percentile_mask,
    spikes_per_s_factor,
    tuning_curves,
)

ANGLES = np.arange(8) * 22.5


def von_mises_curves(pref_deg, kappa=2.0, amplitude=1.0):
    theta = np.deg2rad(ANGLES)[:, None]
    return amplitude * np.exp(kappa * (np.cos(2 * (theta - np.deg2rad(pref_deg))) - 1))


def circular_error(a, b):
    return np.abs((np.asarray(a) - np.asarray(b) + 90) % 180 - 90)


def test_tuning_curves_average_over_other_factors():
    rng = np.random.default_rng(0)
    responses = rng.random((12, 5))
    levels = np.repeat([30.0, 0.0, 60.0], 4)
    unique, curves = tuning_curves(responses, levels)
    assert unique.tolist() == [0.0, 30.0, 60.0]
    np.testing.assert_allclose(curves[0], responses[4:8].mean(0))
    np.testing.assert_allclose(curves[2], responses[8:].mean(0))
    with pytest.raises(ValueError, match="one level per stimulus"):
        tuning_curves(responses, levels[:5])


def test_vector_sum_exact_for_cosine_tuning_at_any_angle():
    pref = np.random.default_rng(1).uniform(0, 180, 500)
    curves = 1 + 0.8 * np.cos(np.deg2rad(2 * (ANGLES[:, None] - pref)))
    assert circular_error(orientation_preference_vector_sum(curves, ANGLES), pref).max() < 1e-9


def test_both_methods_exact_on_sampled_orientations():
    pref = np.tile(ANGLES, 10)
    curves = von_mises_curves(pref, kappa=1.5)
    assert circular_error(orientation_preference_vector_sum(curves, ANGLES), pref).max() < 1e-9
    fitted, kappa = orientation_von_mises(curves, ANGLES)
    assert circular_error(fitted, pref).max() < 1e-6
    np.testing.assert_allclose(kappa, 1.5, atol=1e-6)


def test_von_mises_fit_exact_at_any_angle_and_scale():
    rng = np.random.default_rng(2)
    pref, kappa, amplitude = rng.uniform(0, 180, 300), rng.uniform(0.3, 6, 300), rng.uniform(0.1, 5, 300)
    curves = von_mises_curves(pref, kappa, amplitude)
    fitted, fitted_kappa = orientation_von_mises(curves, ANGLES)
    assert circular_error(fitted, pref).max() < 1e-6
    np.testing.assert_allclose(fitted_kappa, kappa, rtol=1e-6)
    x = np.deg2rad(2 * ANGLES - 180)
    params = fit_von_mises(x, curves.T)
    np.testing.assert_allclose(params[:, 0], amplitude, rtol=1e-6)


def test_von_mises_tdann_interpolation_lands_on_its_grid():
    pref = np.array([0.0, 45.0, 90.0, 101.0])
    fitted, _ = orientation_von_mises(von_mises_curves(pref, 3.0), ANGLES, tdann_interpolation=True)
    grid = np.linspace(0, 180, 50)
    assert np.all(np.isclose(fitted[:, None], grid[None, :]).any(axis=1) | np.isclose(fitted, 0.0))
    assert circular_error(fitted, pref).max() <= 180 / 49  # one grid step


def test_silent_units_give_nan_not_zero():
    curves = np.zeros((8, 2))
    curves[:, 1] = von_mises_curves(np.array([45.0]))[:, 0]
    assert np.isnan(orientation_preference_vector_sum(curves, ANGLES)[0])
    assert np.isnan(circular_variance(curves, ANGLES)[0])
    pref, kappa = orientation_von_mises(curves, ANGLES)
    assert np.isnan(pref[0]) and np.isnan(kappa[0]) and abs(pref[1] - 45) < 1e-6


def test_circular_variance_limits_and_brute_force():
    rng = np.random.default_rng(3)
    curves = rng.random((8, 50))
    expected = [1 - abs(sum(r * np.exp(2j * np.deg2rad(a)) for r, a in zip(curves[:, u], ANGLES)))
                / curves[:, u].sum() for u in range(50)]
    np.testing.assert_allclose(circular_variance(curves, ANGLES), expected)
    one_hot = np.eye(8)[:, :1]
    np.testing.assert_allclose(circular_variance(one_hot, ANGLES), 0.0, atol=1e-12)
    np.testing.assert_allclose(circular_variance(np.ones((8, 1)), ANGLES), 1.0, atol=1e-12)


def test_bandwidth_is_half_width_at_inverse_sqrt2():
    kappa = np.array([0.5, 1.0, 3.0, 10.0])
    width = orientation_bandwidth_deg(kappa)
    value = np.exp(kappa * (np.cos(np.deg2rad(2 * width)) - 1))
    np.testing.assert_allclose(value, 1 / np.sqrt(2), rtol=1e-9)
    assert orientation_bandwidth_deg(np.array([0.1]))[0] == 180.0
    assert np.isnan(orientation_bandwidth_deg(np.array([np.nan]))[0])


def test_peak_to_peak_mask_and_scale():
    curves = np.array([[0.0, 1.0, 2.0, 4.0], [1.0, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(peak_to_peak(curves), [1.0, 0.0, 2.0, 4.0])
    assert ptp_percentile_mask(np.arange(100.0), 75).sum() == 25  # above 74.25
    assert not ptp_percentile_mask(np.zeros(10), 0).any()
    with pytest.raises(ValueError, match="percentile"):
        ptp_percentile_mask(np.arange(3.0), 100)
    assert spikes_per_s_factor(np.array([0.0, 2.0, 4.0, 6.0]), 33.0) == pytest.approx(33.0 / 4.0)
    with pytest.raises(ValueError, match="no unit responded"):
        spikes_per_s_factor(np.zeros(5), 33.0)


def test_spike_count_ties_are_exact_and_go_to_the_first_level():
    """Rates are multiples of 1/T: two levels with the same responses in another order must tie exactly."""
    rng = np.random.default_rng(0)
    rates = (rng.integers(0, 5, size=(37, 2000)) / 4).astype(np.float32)  # T = 4
    order = rng.permutation(37)
    responses = np.concatenate([rates, rates[order], rates[::-1] * 0.5])  # levels 0 and 1 hold the same values
    levels = np.repeat([0, 1, 2], 37)
    _, curves = tuning_curves(responses, levels)
    assert curves.dtype == np.float64
    assert np.array_equal(curves[0], curves[1])
    peaked = curves[0] > curves[2]
    assert peaked.any() and (argmax_preference(curves)[peaked] == 0).all()
