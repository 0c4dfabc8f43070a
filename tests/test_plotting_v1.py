"""V1 topography figures on small synthetic tuning, smoothness and distance-curve tables."""

from __future__ import annotations

import matplotlib
import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from topoanalysis.plotting.v1 import (
    BANDWIDTH_BINS,
    RINGACH_LABEL,
    plot_correlation_vs_distance,
    plot_difference_over_distance,
    plot_orientation_map,
    plot_preference_map,
    plot_ringach_comparison,
    plot_smoothness_bars,
    v1_maps_figure,
    v1_summary_figure,
)

MODELS = ("topographic", "baseline")
N_UNITS = 200


def _tuning(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sf_index = rng.integers(0, 4, N_UNITS)
    return pd.DataFrame({
        "x_mm": rng.uniform(0, 5, N_UNITS),
        "y_mm": rng.uniform(0, 5, N_UNITS),
        "orientation_pref_deg": rng.uniform(0, 180, N_UNITS),
        "sf_pref_index": sf_index,
        "sf_pref_cpd": 0.5 * 2.0 ** sf_index,
        "color_pref": rng.integers(0, 2, N_UNITS),
        "orientation_mask": rng.random(N_UNITS) < 0.7,
        "sf_mask": rng.random(N_UNITS) < 0.6,
        "color_mask": rng.random(N_UNITS) < 0.5,
    })


def _pinwheels(n_pos: int, n_neg: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_pos + n_neg
    return pd.DataFrame({"x_mm": rng.uniform(0, 5, n), "y_mm": rng.uniform(0, 5, n),
                         "sign": [1] * n_pos + [-1] * n_neg})


@pytest.fixture
def tunings() -> dict[str, pd.DataFrame]:
    return {model: _tuning(seed) for seed, model in enumerate(MODELS)}


@pytest.fixture
def smoothness() -> pd.DataFrame:
    rows = []
    for i, model in enumerate(MODELS):
        for j, metric in enumerate(("color", "orientation", "sf")):  # deliberately out of order
            rows.append({"model": model, "metric": metric, "smoothness": 0.8 - 0.3 * i - 0.1 * j,
                         "sem": 0.02 + 0.01 * j, "chance": 0.05 * (j - 1), "chance_sem": 0.01})
    return pd.DataFrame(rows)


@pytest.fixture
def difference_curves() -> pd.DataFrame:
    rows = []
    for i, model in enumerate(MODELS):
        for metric in ("orientation", "sf"):
            for k, d in enumerate(np.arange(0.25, 3.0, 0.5)):
                mean = np.nan if k == 3 else 20 + 10 * d + 5 * i  # one empty bin
                rows.append({"model": model, "metric": metric, "distance_mm": d,
                             "mean_difference": mean, "sem": 1.5, "chance_mean_difference": 45.0})
    return pd.DataFrame(rows)


@pytest.fixture
def correlation_curves() -> pd.DataFrame:
    rows = []
    for i, model in enumerate(MODELS):
        for d in np.arange(0.25, 3.0, 0.5)[::-1]:  # unsorted distances
            r = 0.5 * np.exp(-d) + 0.1 * i
            rows.append({"model": model, "distance_mm": d, "mean_r": r, "ci_low": r - 0.05 - 0.01 * d,
                         "ci_high": r + 0.04 + 0.02 * d, "chance_mean_r": 0.02})
    return pd.DataFrame(rows)


@pytest.fixture
def ringach() -> dict:
    rng = np.random.default_rng(7)
    scores = pd.DataFrame({"model": [m for m in MODELS for _ in range(2)],
                           "property": ["circular_variance", "bandwidth_deg"] * 2,
                           "similarity": [0.83, 0.71, 0.64, 0.52]})
    return {"model_cv": {m: rng.uniform(0, 1, 150) for m in MODELS},
            "model_bandwidth_deg": {m: rng.uniform(2, 100, 150) for m in MODELS},
            "ringach_cv": np.append(rng.beta(2, 2, 300), np.nan),
            "ringach_bandwidth_deg": rng.gamma(4, 6, 300),
            "scores": scores}


def _axes():
    import matplotlib.pyplot as plt

    return plt.subplots()[1]


def _pinwheel_count(ax) -> int:
    return sum(len(c.get_offsets()) for c in ax.collections if c.get_label().startswith("pinwheel"))


def _save_and_check(fig, tmp_path, name: str) -> None:
    png, pdf = tmp_path / f"{name}.png", tmp_path / f"{name}.pdf"
    fig.savefig(png, dpi=30)
    fig.savefig(pdf)
    width, height = fig.get_size_inches() * 30
    image = matplotlib.image.imread(png)
    assert image.shape[:2] == (round(height), round(width))
    assert image.shape[2] in (3, 4)
    assert np.ptp(image[..., :3]) > 0  # not a blank canvas
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_orientation_map_scatter_and_pinwheels(tunings):
    tuning = tunings["topographic"]
    ax = _axes()
    mappable = plot_orientation_map(ax, tuning, pinwheels=_pinwheels(3, 2), title="ori")
    mask = tuning["orientation_mask"].to_numpy()
    assert len(mappable.get_offsets()) == mask.sum()
    np.testing.assert_allclose(mappable.get_array(), tuning["orientation_pref_deg"][mask])
    assert mappable.get_cmap().name == "hsv"
    assert mappable.get_clim() == (0.0, 180.0)
    grey = [c for c in ax.collections if c.get_label() == "_masked"]
    assert len(grey) == 1 and len(grey[0].get_offsets()) == (~mask).sum()
    assert _pinwheel_count(ax) == 5
    faces = {c.get_label(): c.get_facecolor()[0][:3].tolist() for c in ax.collections
             if c.get_label().startswith("pinwheel")}
    assert faces == {"pinwheel +1": [1.0, 1.0, 1.0], "pinwheel -1": [0.0, 0.0, 0.0]}
    assert ax.get_title() == "ori"


@pytest.mark.parametrize("pinwheels", [None, _pinwheels(0, 0)])
def test_orientation_map_without_pinwheels(tunings, pinwheels):
    ax = _axes()
    plot_orientation_map(ax, tunings["baseline"], pinwheels=pinwheels)
    assert _pinwheel_count(ax) == 0


def test_preference_map_masks_and_limits(tunings):
    tuning = tunings["baseline"].copy()
    tuning["color_mask"] = tuning["color_mask"].astype(object)
    tuning.loc[:9, "color_mask"] = None  # missing mask entries count as masked out
    ax = _axes()
    mappable = plot_preference_map(ax, tuning, "color_pref", "color_mask", cmap="viridis",
                                   vmin=-0.5, vmax=1.5)
    shown = tuning["color_mask"].eq(True).to_numpy()
    assert not shown[:10].any()
    assert len(mappable.get_offsets()) == shown.sum()
    assert mappable.get_clim() == (-0.5, 1.5)


def test_maps_figure_layout(tunings, tmp_path):
    pinwheels = {"topographic": _pinwheels(4, 3)}  # baseline missing: drawn without pinwheels
    fig = v1_maps_figure(tunings, pinwheels, layer="layer2")
    n_models = len(tunings)
    assert len(fig.axes) == 2 * 3 * n_models  # maps + one colorbar each
    maps = [ax for ax in fig.axes if ax.get_xlabel() == "x (mm)"]
    assert len(maps) == 3 * n_models
    assert [ax.get_title() for ax in maps[:3]] == [
        "topographic: orientation", "topographic: spatial frequency", "topographic: colour"]
    assert all(ax.get_aspect() == 1.0 for ax in maps)
    assert [_pinwheel_count(ax) for ax in maps] == [7, 0, 0, 0, 0, 0]
    colorbar_labels = [ax.get_ylabel() for ax in fig.axes if ax not in maps]
    assert colorbar_labels.count("preferred orientation (deg)") == n_models
    ori_bar = next(ax for ax in fig.axes if ax.get_ylabel() == "preferred orientation (deg)")
    np.testing.assert_allclose(ori_bar.get_yticks(), [0, 45, 90, 135, 180])
    sf_bar = next(ax for ax in fig.axes if ax.get_ylabel() == "preferred SF (cpd)")
    assert [t.get_text() for t in sf_bar.get_yticklabels()] == ["0.5", "1", "2", "4"]
    assert "layer2" in fig.get_suptitle()
    _save_and_check(fig, tmp_path, "maps")


def test_maps_figure_single_model_and_empty():
    fig = v1_maps_figure({"only": _tuning(3)})
    assert len(fig.axes) == 6
    with pytest.raises(ValueError):
        v1_maps_figure({})


def test_smoothness_bars(smoothness):
    ax = _axes()
    drawn = plot_smoothness_bars(ax, smoothness)
    assert list(drawn) == list(MODELS)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["orientation", "spatial frequency", "colour"]
    for model, artists in drawn.items():
        expected = smoothness[smoothness["model"] == model].set_index("metric").loc[
            ["orientation", "sf", "color"]]
        heights = [p.get_height() for p in artists["bars"].patches]
        np.testing.assert_allclose(heights, expected["smoothness"])
        assert artists["bars"].errorbar is not None
        segments = artists["bars"].errorbar.lines[2][0].get_segments()
        np.testing.assert_allclose([s[1, 1] - s[0, 1] for s in segments], 2 * expected["sem"])
        chance = artists["chance"].get_segments()
        np.testing.assert_allclose([s[0, 1] for s in chance], expected["chance"])
        assert artists["chance"].get_linestyle()[0][1] is not None  # dashed
    # bars of one metric group sit side by side around the group centre
    centres = [p.get_x() + p.get_width() / 2 for a in drawn.values() for p in a["bars"].patches]
    assert centres[0] < 0 < centres[3]
    lowest = min((smoothness["smoothness"] - smoothness["sem"]).min(),
                 (smoothness["chance"] - smoothness["chance_sem"]).min())
    assert lowest < 0
    assert ax.get_ylim()[0] == pytest.approx(lowest)
    assert ax.get_ylabel() == "smoothness"


def test_smoothness_bars_subset_of_metrics(smoothness):
    ax = _axes()
    drawn = plot_smoothness_bars(ax, smoothness[smoothness["metric"] != "sf"].assign(chance=0.1))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["orientation", "colour"]
    assert all(len(a["bars"].patches) == 2 for a in drawn.values())
    assert ax.get_ylim()[0] == 0.0


def test_difference_over_distance_with_empty_bin(difference_curves):
    ax = _axes()
    drawn = plot_difference_over_distance(ax, difference_curves, "orientation")
    assert list(drawn) == list(MODELS)
    for model, artists in drawn.items():
        sub = difference_curves[(difference_curves["model"] == model)
                                & (difference_curves["metric"] == "orientation")]
        np.testing.assert_array_equal(artists["line"].get_ydata(), sub["mean_difference"])
        assert np.isnan(artists["line"].get_ydata()).sum() == 1
        assert artists["chance"].get_linestyle() == "--"
    assert ax.get_xlabel() == "cortical distance (mm)"


def test_correlation_band_matches_ci(correlation_curves):
    ax = _axes()
    drawn = plot_correlation_vs_distance(ax, correlation_curves)
    assert ax.get_xlabel() == "cortical distance (mm)"
    assert ax.get_ylabel() == "response correlation (r)"
    for model, artists in drawn.items():
        sub = correlation_curves[correlation_curves["model"] == model].sort_values("distance_mm")
        np.testing.assert_allclose(artists["line"].get_xdata(), sub["distance_mm"])
        vertices = np.concatenate([p.vertices for p in artists["band"].get_paths()])
        for d, low, high in sub[["distance_mm", "ci_low", "ci_high"]].to_numpy():
            ys = vertices[np.isclose(vertices[:, 0], d), 1]
            assert ys.min() == pytest.approx(low) and ys.max() == pytest.approx(high)
        np.testing.assert_allclose(artists["chance"].get_ydata(), sub["chance_mean_r"])
        assert artists["chance"].get_linestyle() == "--"


def _polygon_area(patch) -> float:
    x, y = patch.get_xy().T
    return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


def test_ringach_comparison_density_and_titles(ringach):
    import matplotlib.pyplot as plt

    axes = plt.subplots(1, 2)[1]
    drawn = plot_ringach_comparison(axes, ringach["model_cv"], ringach["model_bandwidth_deg"],
                                    ringach["ringach_cv"], ringach["ringach_bandwidth_deg"],
                                    ringach["scores"])
    for prop in ("circular_variance", "bandwidth_deg"):
        assert list(drawn[prop]) == [RINGACH_LABEL, *MODELS]
        for patches in drawn[prop].values():  # density-normalised: each histogram integrates to 1
            assert _polygon_area(patches[0]) == pytest.approx(1.0)
    assert "topographic: 1 - KS = 0.83" in axes[0].get_title()
    assert "baseline: 1 - KS = 0.52" in axes[1].get_title()
    assert axes[1].get_xlim() == (BANDWIDTH_BINS[0], BANDWIDTH_BINS[-1])


def test_ringach_comparison_single_model_array(ringach):
    import matplotlib.pyplot as plt

    axes = plt.subplots(1, 2)[1]
    scores = pd.DataFrame({"property": ["circular_variance", "bandwidth_deg"], "similarity": [0.9, 0.456]})
    drawn = plot_ringach_comparison(axes, ringach["model_cv"]["topographic"],
                                    ringach["model_bandwidth_deg"]["baseline"],
                                    ringach["ringach_cv"], ringach["ringach_bandwidth_deg"], scores)
    assert len(drawn["circular_variance"]) == 2
    assert axes[0].get_title().endswith("1 - KS = 0.90")
    assert axes[1].get_title().endswith("1 - KS = 0.46")


@pytest.mark.parametrize("with_ringach", [False, True])
def test_summary_figure_panels(smoothness, difference_curves, correlation_curves, ringach,
                               with_ringach, tmp_path):
    fig = v1_summary_figure(smoothness, difference_curves, correlation_curves,
                            ringach if with_ringach else None, layer="layer2")
    assert len(fig.axes) == (5 if with_ringach else 3)
    assert "layer2" in fig.get_suptitle()
    titles = [ax.get_title() for ax in fig.axes]
    assert "orientation difference vs distance" in titles
    assert "response correlation vs distance" in titles
    assert any("1 - KS" in t for t in titles) == with_ringach
    _save_and_check(fig, tmp_path, f"summary_{with_ringach}")
