"""Category-patch detection: smoothing, alpha shapes, planted patches with known areas, errors."""

from __future__ import annotations

import numpy as np
import pytest

from topoanalysis.metrics import patches as patches_module
from topoanalysis.metrics.activity import SilentLayerError
from topoanalysis.metrics.patches import PatchParams, alpha_shape, find_patches, smooth_on_grid

COLUMNS = ["patch", "area_mm2", "centroid_x_mm", "centroid_y_mm", "n_units", "n_pixels"]
SHEET = 70.0
CENTRES = np.array([[20.0, 25.0], [50.0, 45.0]])
BLOB_SIGMA, BLOB_PEAK = 4.0, 12.0


def _blobs(x: np.ndarray, y: np.ndarray, sign: float = 1.0) -> np.ndarray:
    return sign * sum(BLOB_PEAK * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * BLOB_SIGMA ** 2))
                      for cx, cy in CENTRES)


def _planted(seed: int = 0, n: int = 6000):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, SHEET, (2, n))
    t = _blobs(x, y) + rng.normal(0, 0.3, n)
    silent = rng.choice(n, 150, replace=False)
    t[silent] = np.nan
    return x, y, t, silent


# ---------------------------------------------------------------- smoothing


@pytest.mark.parametrize("chunk", [7, 8192])
def test_smoothing_equals_brute_force(monkeypatch, chunk):
    monkeypatch.setattr(patches_module, "_CHUNK_UNITS", chunk)
    rng = np.random.default_rng(1)
    n = 60
    x, y = rng.uniform(3, 23, n), rng.uniform(-5, 7, n)
    t = rng.normal(0, 3, n)
    t[rng.choice(n, 10, replace=False)] = np.nan
    m = smooth_on_grid(x, y, t, sigma_mm=2.4, n_grid=9)
    expected = np.empty((9, 9))
    for iy, ay in enumerate(m.y_centers_mm):
        for ix, ax in enumerate(m.x_centers_mm):
            num = den = 0.0
            for u in range(n):
                if np.isnan(t[u]):
                    continue
                w = np.exp(-((x[u] - ax) ** 2 + (y[u] - ay) ** 2) / (2 * 2.4 ** 2))
                num += w * t[u]
                den += w
            expected[iy, ix] = num / den
    np.testing.assert_allclose(m.values, expected, rtol=1e-10, atol=1e-10)


def test_smoothing_grid_spans_positions_and_constant_is_preserved():
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-4, 30, 500), rng.uniform(10, 17, 500)
    t = np.full(500, 3.7)
    t[::7] = np.nan
    m = smooth_on_grid(x, y, t, sigma_mm=1.5, n_grid=40)
    assert m.values.shape == (40, 40) and m.sigma_mm == 1.5
    assert m.x_centers_mm[0] == x.min() and m.x_centers_mm[-1] == x.max()
    assert m.y_centers_mm[0] == y.min() and m.y_centers_mm[-1] == y.max()
    np.testing.assert_allclose(np.diff(m.x_centers_mm), (x.max() - x.min()) / 39)
    np.testing.assert_allclose(m.values, 3.7, rtol=1e-12)


def test_smoothing_is_indexed_y_then_x_and_underflow_gives_nan():
    # two responsive units 1000 mm apart: the middle anchor's weight underflows to 0
    x, y, t = np.array([0.0, 1000.0, 500.0]), np.array([0.0, 4.0, 2.0]), np.array([1.0, 5.0, np.nan])
    m = smooth_on_grid(x, y, t, sigma_mm=1.0, n_grid=3)
    np.testing.assert_allclose(m.values[:, 0], 1.0)
    np.testing.assert_allclose(m.values[:, 2], 5.0)
    assert np.isnan(m.values[:, 1]).all()


# ---------------------------------------------------------------- alpha shapes


def _outline_length(outline: np.ndarray) -> float:
    return float(np.linalg.norm(outline[:, 1] - outline[:, 0], axis=1).sum())


def test_alpha_shape_of_rectangle():
    xx, yy = np.meshgrid(np.linspace(0, 10, 41), np.linspace(0, 20, 81))
    area, outline = alpha_shape(np.column_stack([xx.ravel(), yy.ravel()]), 0.1)
    assert area == pytest.approx(200.0, rel=0.01)
    assert outline.ndim == 3 and outline.shape[1:] == (2, 2)
    assert _outline_length(outline) == pytest.approx(60.0, rel=0.01)
    on_border = (np.isclose(outline[..., 0], 0) | np.isclose(outline[..., 0], 10)
                 | np.isclose(outline[..., 1], 0) | np.isclose(outline[..., 1], 20))
    assert on_border.all()


def test_alpha_shape_of_disc():
    rng = np.random.default_rng(3)
    r, phi = 8.0 * np.sqrt(rng.uniform(0, 1, 5000)), rng.uniform(0, 2 * np.pi, 5000)
    area, outline = alpha_shape(np.column_stack([r * np.cos(phi), r * np.sin(phi)]), 0.1)
    assert area == pytest.approx(np.pi * 64, rel=0.03)
    assert _outline_length(outline) == pytest.approx(2 * np.pi * 8, rel=0.03)


def _square(x0: float) -> np.ndarray:
    xx, yy = np.meshgrid(np.linspace(x0, x0 + 10, 21), np.linspace(0, 10, 21))
    return np.column_stack([xx.ravel(), yy.ravel()])


def test_alpha_shape_does_not_bridge_far_apart_squares():
    two = np.vstack([_square(0.0), _square(35.0)])  # gap 25 mm > 2 / alpha = 20 mm
    area, outline = alpha_shape(two, 0.1)
    assert area == pytest.approx(200.0, rel=1e-9)
    assert _outline_length(outline) == pytest.approx(80.0, rel=1e-9)
    # the criterion matters: a larger radius (alpha = 0.01) bridges the gap, a close pair is bridged
    assert alpha_shape(two, 0.01)[0] == pytest.approx(450.0, rel=0.01)
    assert alpha_shape(np.vstack([_square(0.0), _square(15.0)]), 0.1)[0] == pytest.approx(250.0, rel=0.01)


@pytest.mark.parametrize("points", [np.empty((0, 2)), np.array([[0.0, 0.0], [1.0, 1.0]]),
                                    np.column_stack([np.arange(6.0), 2 * np.arange(6.0) + 1])])
def test_alpha_shape_degenerate(points):
    area, outline = alpha_shape(points, 0.1)
    assert area == 0.0 and isinstance(area, float)
    assert outline.shape == (0, 2, 2)


def test_alpha_shape_errors():
    with pytest.raises(ValueError, match="points_xy must have shape"):
        alpha_shape(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="alpha must be a positive"):
        alpha_shape(np.zeros((4, 2)), 0.0)


# ---------------------------------------------------------------- planted patches


def test_two_planted_patches():
    x, y, t, silent = _planted()
    params = PatchParams()
    p = find_patches(x, y, t, params)
    assert list(p.table.columns) == COLUMNS
    assert len(p.table) == 2 and len(p.outlines) == 2 and len(p.members) == 2
    assert p.table["patch"].tolist() == [0, 1]
    step = SHEET / 99
    got = p.table[["centroid_x_mm", "centroid_y_mm"]].to_numpy()
    order = np.argmin(np.linalg.norm(got[:, None] - CENTRES[None], axis=2), axis=1)
    assert sorted(order) == [0, 1]
    assert np.all(np.linalg.norm(got - CENTRES[order], axis=1) < step)
    # smoothed blob: Gaussian of sigma_s and peak A b^2 / sigma_s^2, crossing the threshold at r;
    # members reach ~unit_radius beyond. The alpha shape of random points misses the outer rim of
    # the disc: by Efron's identity and Renyi-Sulanke, ~3.38 n^(-2/3) of the area for n points.
    sigma_s = np.hypot(BLOB_SIGMA, params.sigma_mm)
    peak = BLOB_PEAK * BLOB_SIGMA ** 2 / sigma_s ** 2
    r = sigma_s * np.sqrt(2 * np.log(peak / params.threshold))
    disc = np.pi * (r + params.unit_radius_mm) ** 2
    n_expected = disc * x.size / SHEET ** 2
    predicted = disc * (1 - 3.38 * n_expected ** (-2 / 3))
    np.testing.assert_allclose(p.table["area_mm2"], predicted, rtol=0.15)
    pixel_area = np.diff(p.smoothed.x_centers_mm)[0] * np.diff(p.smoothed.y_centers_mm)[0]
    np.testing.assert_allclose(p.table["n_pixels"] * pixel_area, np.pi * r ** 2, rtol=0.1)
    # members: exactly the responsive units within unit_radius of an on-anchor near each blob
    gx, gy = np.meshgrid(p.smoothed.x_centers_mm, p.smoothed.y_centers_mm)
    on = p.smoothed.values >= params.threshold
    for k, c in zip(range(2), CENTRES[order]):
        anchors = np.column_stack([gx[on], gy[on]])
        anchors = anchors[np.linalg.norm(anchors - c, axis=1) < 15]
        assert len(anchors) == p.table["n_pixels"][k]
        d = np.min(np.hypot(x[:, None] - anchors[None, :, 0], y[:, None] - anchors[None, :, 1]), axis=1)
        expected = np.flatnonzero((d <= params.unit_radius_mm) & ~np.isnan(t))
        np.testing.assert_array_equal(p.members[k], expected)
        assert p.table["n_units"][k] == expected.size
        assert not np.isin(silent, p.members[k]).any()
        assert np.isin(silent, np.flatnonzero(d <= params.unit_radius_mm)).any()  # silent ones were in reach
        assert p.table["centroid_x_mm"][k] == pytest.approx(x[expected].mean())
        assert p.outlines[k].shape[1:] == (2, 2) and len(p.outlines[k]) > 10


def _assert_empty(p):
    assert list(p.table.columns) == COLUMNS and len(p.table) == 0
    assert p.outlines == [] and p.members == []


def test_area_and_unit_limits_remove_patches():
    x, y, t, _ = _planted()
    _assert_empty(find_patches(x, y, t, PatchParams(min_area_mm2=400.0)))
    _assert_empty(find_patches(x, y, t, PatchParams(max_area_mm2=150.0)))
    _assert_empty(find_patches(x, y, t, PatchParams(min_units=1000)))
    assert len(find_patches(x, y, t, PatchParams(min_area_mm2=150.0, max_area_mm2=400.0)).table) == 2


def test_noise_and_negative_blobs_give_no_patch():
    rng = np.random.default_rng(4)
    x, y = rng.uniform(0, SHEET, (2, 6000))
    noise = rng.uniform(-1.5, 1.5, 6000)
    p = find_patches(x, y, noise)
    _assert_empty(p)
    assert np.nanmax(np.abs(p.smoothed.values)) < 1.5
    _assert_empty(find_patches(x, y, _blobs(x, y, sign=-1.0) + 0.1 * noise))
    assert len(find_patches(x, y, _blobs(x, y) + 0.1 * noise).table) == 2  # same sheet, positive: found


def test_eight_connectivity_and_inclusive_radius():
    # one unit on each anchor of a 5 x 5 grid; sigma so small that the map equals t at the anchors
    yy, xx = np.mgrid[0:5, 0:5].astype(float)
    x, y = np.append(xx.ravel(), 1.0), np.append(yy.ravel(), 0.5)
    t = np.zeros(26)
    diagonal = [6, 12, 18]  # (1, 1), (2, 2), (3, 3): connected only through corners
    t[diagonal] = 10.0
    t[25] = np.nan  # extra unit at (1, 0.5): within reach of (1, 1) but silent
    params = PatchParams(sigma_mm=0.1, n_grid=5, unit_radius_mm=1.0, min_area_mm2=0.0, min_units=1,
                         min_component_units=1)
    p = find_patches(x, y, t, params)
    assert len(p.table) == 1 and p.table["n_pixels"][0] == 3
    # diagonal units plus their 4-neighbours at exactly 1 mm, except the silent one
    np.testing.assert_array_equal(p.members[0], [1, 5, 6, 7, 11, 12, 13, 17, 18, 19, 23])
    assert p.table["area_mm2"][0] == pytest.approx(6.0)  # hull (1,0), (4,3), (3,4), (1,2), (0,1)


# ---------------------------------------------------------------- errors


def test_input_errors():
    x, y, t = np.arange(5.0), np.arange(5.0), np.ones(5)
    with pytest.raises(ValueError, match="t has 4 values but x_mm has 5"):
        find_patches(x, y, t[:4])
    with pytest.raises(ValueError, match="y_mm has 3 values"):
        find_patches(x, y[:3], t)
    with pytest.raises(ValueError, match="x_mm is empty"):
        find_patches(np.array([]), np.array([]), np.array([]))
    with pytest.raises(SilentLayerError, match="no responsive unit: the layer is silent"):
        find_patches(x, y, np.full(5, np.nan))
    with pytest.raises(ValueError, match="y_mm contains NaN"):
        find_patches(x, np.array([0, 1, np.nan, 3, 4.0]), t)
    with pytest.raises(ValueError, match="t contains inf"):
        find_patches(x, y, np.array([0, 1, np.inf, 3, 4.0]))
    with pytest.raises(ValueError, match="x_mm must be 1-D"):
        find_patches(np.ones((5, 1)), y, t)
    with pytest.raises(ValueError, match="sigma_mm must be a positive"):
        smooth_on_grid(x, y, t, sigma_mm=0.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"sigma_mm": 0.0}, "sigma_mm must be positive"),
    ({"unit_radius_mm": -1.0}, "unit_radius_mm must be positive"),
    ({"alpha": np.inf}, "alpha must be positive and finite"),
    ({"n_grid": 1}, "n_grid must be at least 2"),
    ({"n_grid": 2.5}, "n_grid must be an integer"),
    ({"threshold": np.nan}, "threshold must be a number"),
    ({"min_area_mm2": 500.0, "max_area_mm2": 400.0}, "max_area_mm2 .* must be >= min_area_mm2"),
    ({"min_area_mm2": -1.0}, "min_area_mm2 must be >= 0"),
    ({"min_units": -1}, "min_units must be >= 0"),
    ({"min_component_units": True}, "min_component_units must be an integer"),
])
def test_params_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PatchParams(**kwargs)
