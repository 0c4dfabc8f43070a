"""V1 analysis on planted sheets whose answers are known."""

import numpy as np
import pytest

from topoanalysis.datasets.ringach import load_ringach2002
from topoanalysis.metrics.activity import SilentLayerError
from topoanalysis.metrics.v1 import V1Params, grating_tuning, v1_analysis
from topoanalysis.testing import planted_v1_recording

SIZE_MM = 10.0
PARAMS = V1Params(scale_widths=False, hypercolumn_width_mm=2.0, n_samples=4, sample_size=600)


def grid_positions(n_side=40):
    coords = (np.arange(n_side) + 0.5) * SIZE_MM / n_side
    x, y = np.meshgrid(coords, coords)
    return np.stack([x.ravel(), y.ravel()], axis=1)


def banded_sheet():
    """Orientation steps with x, SF index with y, colour with the diagonal."""
    xy = grid_positions()
    pref = 22.5 * np.floor(8 * xy[:, 0] / SIZE_MM)
    sf_index = 2 * np.floor(4 * xy[:, 1] / SIZE_MM).astype(int)
    color = (xy.sum(axis=1) > SIZE_MM).astype(int)
    return xy, pref, sf_index, color


@pytest.mark.parametrize("method", ["vector_sum", "von_mises"])
def test_planted_preferences_come_back_exactly(method):
    xy, pref, sf_index, color = banded_sheet()
    ds = planted_v1_recording(pref, xy, sf_pref_index=sf_index, color_pref=color)
    tuning = grating_tuning(ds["responses"], V1Params(orientation_method=method))
    error = np.abs((tuning["orientation_pref_deg"] - pref + 90) % 180 - 90)
    assert error.max() < 1e-4
    np.testing.assert_array_equal(tuning["sf_pref_index"], sf_index)
    np.testing.assert_array_equal(tuning["color_pref"], color)
    cpd = np.sort(np.unique(ds["sf_cpd"].values))
    np.testing.assert_allclose(tuning["sf_pref_cpd"], cpd[sf_index])
    np.testing.assert_allclose(tuning[["x_mm", "y_mm"]].to_numpy(), xy)
    np.testing.assert_allclose(tuning["von_mises_kappa"], 2.0, rtol=1e-4)


def test_continuous_map_with_von_mises():
    xy = grid_positions(20)
    pref = (xy[:, 0] / SIZE_MM) * 180.0
    tuning = grating_tuning(planted_v1_recording(pref, xy)["responses"], V1Params(orientation_method="von_mises"))
    assert np.abs((tuning["orientation_pref_deg"] - pref + 90) % 180 - 90).max() < 1e-4
    # the vector sum of a sampled von Mises curve is close but not exact off the sampled angles
    assert np.abs((tuning["orientation_pref_vector_sum_deg"] - pref + 90) % 180 - 90).max() < 3.0


def test_masks_follow_the_rules():
    xy, pref, sf_index, color = banded_sheet()
    ds = planted_v1_recording(pref, xy, sf_pref_index=sf_index, color_pref=color)
    responses = ds["responses"].copy()
    responses[:, :400] = responses[:, :400] * 0.1  # a weakly tuned quarter
    ptp = grating_tuning(responses, V1Params())
    assert not ptp["orientation_mask"][:400].any() and ptp["orientation_mask"][400:].mean() > 0.3
    floor = grating_tuning(responses, V1Params(mask_rule="response_floor", response_floor_sps=2.0))
    assert floor["orientation_mask"].equals(floor["responsive"])
    assert floor["responsive"][400:].all() and not floor["responsive"][:400].any()


def smooth_recording(shuffle=False, seed=0):
    xy = grid_positions(40)
    pref = (xy[:, 0] / SIZE_MM) * 180.0
    sf_index = np.floor(8 * xy[:, 1] / SIZE_MM).astype(int)
    color = (xy[:, 0] > SIZE_MM / 2).astype(int)
    if shuffle:
        xy = np.random.default_rng(seed).permutation(xy)
    return planted_v1_recording(pref, xy, sf_pref_index=sf_index, color_pref=color)


def test_smooth_sheet_scores_high_and_shuffled_low():
    smooth = v1_analysis(smooth_recording(), "V1", PARAMS, rng=np.random.default_rng(0))
    shuffled = v1_analysis(smooth_recording(shuffle=True), "V1", PARAMS, rng=np.random.default_rng(0))
    table, shuffled_table = smooth.smoothness.set_index("metric"), shuffled.smoothness.set_index("metric")
    for metric in ("orientation", "sf", "color"):
        assert table.loc[metric, "smoothness"] > 0.75, metric
        assert table.loc[metric, "chance"] < 0.25, metric
        assert shuffled_table.loc[metric, "smoothness"] < 0.25, metric
    curve = smooth.correlation_curves["mean_r"].dropna().to_numpy()  # grid: the nearest bins are empty
    assert curve[0] > curve[len(curve) // 2] + 0.3  # correlation falls with distance
    flat = shuffled.correlation_curves["mean_r"].to_numpy()
    assert np.nanmax(flat) - np.nanmin(flat) < 0.15
    assert set(smooth.difference_curves["metric"]) == {"orientation", "sf", "color"}
    assert smooth.summary["n_units"] == 1600 and smooth.summary["smoothness_orientation"] > 0.75


def test_planted_pinwheel_is_found():
    xy = grid_positions(60)
    pref = 0.5 * np.degrees(np.arctan2(xy[:, 1] - 5.2, xy[:, 0] - 4.9)) % 180
    result = v1_analysis(planted_v1_recording(pref, xy), "V1",
                         V1Params(scale_widths=False, mask_rule="response_floor", n_samples=2, sample_size=200),
                         rng=np.random.default_rng(0), sheet_size_mm=SIZE_MM)
    assert len(result.pinwheels) == 1
    assert np.hypot(result.pinwheels["x_mm"][0] - 4.9, result.pinwheels["y_mm"][0] - 5.2) < 0.5
    assert result.summary["pinwheel_density_per_hypercolumn2"] == pytest.approx(1 / (SIZE_MM / 3.5) ** 2)


def test_ringach_comparison_is_attached():
    ringach = load_ringach2002()
    result = v1_analysis(smooth_recording(), "V1", PARAMS, rng=np.random.default_rng(0), ringach=ringach)
    assert list(result.ringach["property"]) == ["circular_variance", "bandwidth_deg"]
    assert result.ringach["similarity"].between(0, 1).all()


def test_width_scaling_and_parameters():
    params = V1Params()
    assert params.width_scale(128 * 28 * 28) == 1.0
    assert params.width_scale(32 * 16 * 16) == pytest.approx(3.5)
    assert V1Params(scale_widths=False).width_scale(10) == 1.0
    with pytest.raises(ValueError, match="orientation_method"):
        V1Params(orientation_method="fourier")
    with pytest.raises(ValueError, match="hypercolumn_width_mm"):
        V1Params(hypercolumn_width_mm=0)


def test_bad_inputs_are_named():
    ds = smooth_recording()
    silent = ds.copy(deep=True)
    silent["responses"][:] = 0
    with pytest.raises(SilentLayerError, match="V1 is silent"):
        v1_analysis(silent, "V1", PARAMS, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="recorded layers: V1"):
        v1_analysis(ds, "layer9", PARAMS, rng=np.random.default_rng(0))
    unplaced = ds.assign_coords(x_mm=("unit", np.full(ds.sizes["unit"], np.nan)))
    with pytest.raises(ValueError, match="no sheet positions"):
        v1_analysis(unplaced, "V1", PARAMS, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="grating labels"):
        grating_tuning(ds["responses"].drop_vars("orientation_deg"))
    untuned = ds.copy(deep=True)
    untuned["responses"][:] = 1.0
    with pytest.raises(ValueError, match="pass the orientation mask"):
        v1_analysis(untuned, "V1", PARAMS, rng=np.random.default_rng(0))
