"""Distance metrics: vectorised binning equals brute force; smooth vs shuffled maps."""

import numpy as np
import pytest

from topoanalysis.metrics.spatial import (
    binned_pair_means,
    correlation_over_distance,
    difference_over_distance,
    pairwise_correlations,
    smoothness,
    smoothness_index,
    square_windows,
)


def brute_force_difference(values, xy, edges, period=None):
    sums, counts = np.zeros(len(edges) - 1), np.zeros(len(edges) - 1)
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            d = np.hypot(*(xy[i] - xy[j]))
            diff = abs(values[i] - values[j])
            if period is not None:
                diff = min(diff % period, period - diff % period)
            for k in range(len(edges) - 1):
                last = k == len(edges) - 2
                if edges[k] <= d < edges[k + 1] or (last and d == edges[-1]):
                    sums[k] += diff
                    counts[k] += 1
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)


@pytest.mark.parametrize("period", [None, 180.0])
def test_difference_over_distance_equals_brute_force(period):
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 5, (120, 2))
    values = rng.uniform(0, 180, 120)
    edges = np.linspace(0, 3, 8)
    np.testing.assert_allclose(difference_over_distance(values, xy, edges, period=period),
                               brute_force_difference(values, xy, edges, period), equal_nan=True)


def test_binned_pair_means_edges_and_empty_bins():
    means, counts = binned_pair_means(np.array([0.0, 1.0, 2.0, 2.5]), np.array([1.0, 2.0, 3.0, np.nan]),
                                      np.array([0.0, 1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_equal(counts, [1, 1, 1, 0])
    np.testing.assert_equal(means, [1.0, 2.0, 3.0, np.nan])


def test_smoothness_index_formula():
    np.testing.assert_allclose(smoothness_index(np.array([2.0, 6.0, 8.0])), 0.75)
    assert smoothness_index(np.array([3.0, 3.0])) == 1.0
    assert np.isnan(smoothness_index(np.array([np.nan, np.nan])))
    np.testing.assert_allclose(smoothness_index(np.array([np.nan, 1.0, 2.0, np.nan, 9.0])), 0.5)
    np.testing.assert_allclose(smoothness_index(np.array([[1.0, 4.0, np.nan, 100.0]])), [0.75])


def smooth_sheet(n=1500, size=10.0, seed=0):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, size, (n, 2))
    return xy, (xy[:, 0] / size) * 180.0


def test_smooth_map_near_one_and_shuffled_near_zero():
    xy, pref = smooth_sheet()
    edges = np.linspace(0, 3.3, 10)
    smooth = smoothness(pref, xy, edges, rng=np.random.default_rng(1), n_samples=5, sample_size=800, period=180.0)
    shuffled_pref = np.random.default_rng(2).permutation(pref)
    shuffled = smoothness(shuffled_pref, xy, edges, rng=np.random.default_rng(1), n_samples=5,
                          sample_size=800, period=180.0)
    assert smooth.summary()["smoothness"] > 0.85
    assert shuffled.summary()["smoothness"] < 0.15
    assert smooth.summary()["chance"] < 0.15  # the within-sample shuffle is the chance level
    assert smooth.curves.shape == (5, 9) and smooth.summary()["sem"] >= 0
    assert np.all(np.diff(np.nanmean(smooth.curves, 0)) > 0)  # difference grows with distance


def test_smoothness_samples_are_reproducible_and_errors():
    xy, pref = smooth_sheet(300)
    edges = np.linspace(0, 3, 5)
    a = smoothness(pref, xy, edges, rng=np.random.default_rng(5), n_samples=3, sample_size=100)
    b = smoothness(pref, xy, edges, rng=np.random.default_rng(5), n_samples=3, sample_size=100)
    np.testing.assert_array_equal(a.curves, b.curves)
    with pytest.raises(ValueError, match="at least 2 units"):
        smoothness(pref[:1], xy[:1], edges, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="xy_mm"):
        smoothness(pref, xy[:10], edges, rng=np.random.default_rng(0))


def test_pairwise_correlations_match_numpy():
    rng = np.random.default_rng(0)
    responses = rng.random((40, 30))
    responses[:, 4] = 1.0  # constant unit: its pairs are NaN
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.corrcoef(responses.T)[np.triu_indices(30, 1)]
    np.testing.assert_allclose(pairwise_correlations(responses), expected, equal_nan=True)


def test_square_windows_partition_units():
    xy = np.array([[0.5, 0.5], [1.5, 0.5], [0.2, 0.9], [1.2, 1.8], [1.9, 1.9]])
    groups = square_windows(xy, 1.0, min_units=1)
    assert sorted(map(sorted, (g.tolist() for g in groups))) == [[0, 2], [1], [3, 4]]
    assert [len(g) for g in square_windows(xy, 1.0, min_units=2)] == [2, 2]
    with pytest.raises(ValueError, match="positive"):
        square_windows(xy, 0.0)


def test_correlation_decays_on_smooth_sheet_and_is_flat_when_shuffled():
    xy, pref = smooth_sheet(2000, seed=3)
    theta = np.deg2rad(np.repeat(np.arange(8) * 22.5, 5))[:, None]
    noise = np.random.default_rng(4).normal(0, 0.05, (40, 2000))
    responses = np.exp(2 * (np.cos(2 * (theta - np.deg2rad(pref))) - 1)) + noise
    result = correlation_over_distance(responses, xy, 5.0, rng=np.random.default_rng(0), n_bins=8)
    table = result.summary_table()
    near, far = table["mean_r"].iloc[0], table["mean_r"].iloc[-2]
    assert near > 0.9 and far < near - 0.5
    assert np.all(table["ci_low"] <= table["mean_r"]) and np.all(table["mean_r"] <= table["ci_high"])
    chance = table["chance_mean_r"].to_numpy()
    assert np.nanmax(chance) - np.nanmin(chance) < 0.15  # flat
    shuffled = correlation_over_distance(responses[:, np.random.default_rng(9).permutation(2000)], xy, 5.0,
                                         rng=np.random.default_rng(0), n_bins=8).summary_table()
    assert np.nanmax(shuffled["mean_r"]) - np.nanmin(shuffled["mean_r"]) < 0.15


def test_correlation_needs_populated_windows():
    xy = np.array([[0.1, 0.1], [5.0, 5.0]])
    with pytest.raises(ValueError, match="wider"):
        correlation_over_distance(np.random.default_rng(0).random((5, 2)), xy, 1.0, rng=np.random.default_rng(0))
