"""Pinwheel detection: window statistics, winding numbers, planted pinwheels, density."""

from __future__ import annotations

import numpy as np
import pytest

from topoanalysis.metrics.pinwheels import (
    OrientationGrid,
    find_pinwheels,
    pinwheel_density,
    smoothed_orientation_map,
    winding_numbers,
)

SHEET = 20.0


def _sheet(rng: np.random.Generator, n_side: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Dense jittered grid of units over a SHEET x SHEET mm sheet."""
    step = SHEET / n_side
    yy, xx = (np.mgrid[0:n_side, 0:n_side] + 0.5) * step
    jitter = rng.uniform(-0.4 * step, 0.4 * step, size=(2, n_side * n_side))
    return xx.ravel() + jitter[0], yy.ravel() + jitter[1]


def _polar_deg(x: np.ndarray, y: np.ndarray, cx: float, cy: float) -> np.ndarray:
    return 0.5 * np.degrees(np.arctan2(y - cy, x - cx))


def _brute_force(x, y, pref, w, centers, width):
    """Plain loop over windows with the documented inclusive membership rule."""
    n = centers.size
    angle, r, count = np.full((n, n), np.nan), np.full((n, n), np.nan), np.zeros((n, n), int)
    for iy, cy in enumerate(centers):
        for ix, cx in enumerate(centers):
            inside = (np.abs(x - cx) <= width / 2) & (np.abs(y - cy) <= width / 2)
            count[iy, ix] = inside.sum()
            if inside.any():
                z = np.sum(w[inside] * np.exp(2j * np.deg2rad(pref[inside])))
                angle[iy, ix] = np.degrees(np.angle(z)) / 2 % 180
                r[iy, ix] = abs(z) / w[inside].sum()
    return angle, r, count


@pytest.mark.parametrize("width", [0.5, 1.0, 1.7, 3.0])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("scale", [1.0, 13.7])  # large coordinates round the window edges more
def test_vectorised_windows_match_brute_force(width, weighted, scale):
    rng = np.random.default_rng(int(width * 10) + weighted)
    width, extent, stride = width * scale, 5.0 * scale, 0.3 * scale
    x, y = rng.uniform(0, extent, size=(2, 300))
    pref = rng.uniform(0, 180, 300)
    w = rng.uniform(0.1, 2.0, 300) if weighted else np.ones(300)
    grid = smoothed_orientation_map(x, y, pref, width_mm=width, stride_mm=stride, extent_mm=extent,
                                    weights=w if weighted else None)
    centers = grid.x_centers_mm
    # put units on window edges, and one ulp either side, so the inclusive boundary and the
    # floating-point rounding of the edges are exercised on both sides of the window
    edge = centers[rng.integers(0, centers.size, 240)] + np.repeat([width / 2, -width / 2], 120)
    edge = np.nextafter(edge, edge + rng.choice([-1.0, 0.0, 1.0], 240))
    edge = rng.permutation(edge)
    x[:120], y[60:180] = edge[:120], edge[120:]
    grid = smoothed_orientation_map(x, y, pref, width_mm=width, stride_mm=stride, extent_mm=extent,
                                    weights=w if weighted else None)
    angle, r, count = _brute_force(x, y, pref, w, centers, width)

    np.testing.assert_array_equal(grid.y_centers_mm, centers)
    np.testing.assert_array_equal(grid.n_units, count)
    np.testing.assert_array_equal(np.isnan(grid.angle_deg), count == 0)
    diff = (grid.angle_deg - angle + 90) % 180 - 90
    assert np.nanmax(np.abs(diff)) < 1e-9
    np.testing.assert_allclose(grid.resultant_length, r, atol=1e-9, rtol=0)
    expected_std = np.sqrt(-2 * np.log(np.clip(r, 0, 1))) / 2
    np.testing.assert_allclose(grid.circular_std_rad, expected_std, atol=1e-7, rtol=1e-7)


def test_membership_is_exact_near_window_edges():
    # units a few ulps around every window edge, at awkward sizes (including a single window
    # wider than the sheet, whose edges straddle 0): counts must match the documented predicate
    # |x - c| <= width / 2 evaluated in floating point
    rng = np.random.default_rng(5)
    for width, stride, extent in rng.uniform([0.5, 0.3, 0.2], [4.0, 3.0, 60.0], size=(300, 3)):
        extent = extent if extent > 10 else extent / 20  # a third of the sheets are tiny
        c = smoothed_orientation_map([0.0], [0.0], [0.0], width_mm=width, stride_mm=stride,
                                     extent_mm=extent).x_centers_mm
        edges = np.concatenate([c - width / 2, c + width / 2])
        x = np.concatenate([edges + k * np.spacing(edges) for k in range(-3, 4)])
        y = np.resize(c, x.size)
        grid = smoothed_orientation_map(x, y, np.zeros_like(x), width_mm=width, stride_mm=stride,
                                        extent_mm=extent)
        in_x = (np.abs(x[:, None] - c[None, :]) <= width / 2).astype(float)
        in_y = (np.abs(y[:, None] - c[None, :]) <= width / 2).astype(float)
        np.testing.assert_array_equal(grid.n_units, in_y.T @ in_x)


def test_grid_layout_and_window_statistics():
    # two units at 10 and 170 deg: mean 0 deg, R = cos(20 deg)
    grid = smoothed_orientation_map([1.0, 1.2], [1.0, 1.2], [10.0, 170.0], width_mm=2.0,
                                    stride_mm=1.0, extent_mm=4.0)
    assert isinstance(grid, OrientationGrid)
    np.testing.assert_allclose(grid.x_centers_mm, [1.0, 2.0, 3.0])
    assert grid.angle_deg.shape == (3, 3)
    assert grid.n_units[0, 0] == 2 and grid.n_units[2, 2] == 0
    assert np.isnan(grid.angle_deg[2, 2]) and np.isnan(grid.resultant_length[2, 2])
    assert min(grid.angle_deg[0, 0], 180 - grid.angle_deg[0, 0]) < 1e-9
    assert grid.resultant_length[0, 0] == pytest.approx(np.cos(np.radians(20)))
    assert grid.circular_std_rad[0, 0] == pytest.approx(np.sqrt(-2 * np.log(np.cos(np.radians(20)))) / 2)
    # default extent: largest coordinate rounded up; too-small extent gives one centred window
    assert smoothed_orientation_map([0.2, 3.4], [0.1, 0.3], [0, 0], stride_mm=0.5).x_centers_mm[-1] == 3.25
    single = smoothed_orientation_map([0.2], [0.3], [45.0], width_mm=5.0)
    np.testing.assert_allclose(single.x_centers_mm, [0.5])
    assert single.angle_deg[0, 0] == pytest.approx(45.0)


@pytest.mark.parametrize("handedness", [1, -1])
def test_single_planted_pinwheel(handedness):
    x, y = _sheet(np.random.default_rng(1))
    pref = (handedness * _polar_deg(x, y, 10.0, 10.0)) % 180
    grid = smoothed_orientation_map(x, y, pref, extent_mm=SHEET)
    found = find_pinwheels(grid)
    assert len(found) == 1
    row = found.iloc[0]
    assert row["sign"] == handedness
    assert np.hypot(row["x_mm"] - 10, row["y_mm"] - 10) <= grid.stride_mm
    wn = winding_numbers(grid.angle_deg)
    assert np.nansum(wn == 0.5 * handedness) == row["n_px"]


def test_two_pinwheels_of_opposite_sign():
    x, y = _sheet(np.random.default_rng(2))
    pref = (_polar_deg(x, y, 6.0, 9.0) - _polar_deg(x, y, 14.0, 12.0)) % 180
    grid = smoothed_orientation_map(x, y, pref, extent_mm=SHEET)
    found = find_pinwheels(grid).sort_values("x_mm").reset_index(drop=True)
    assert found["sign"].tolist() == [1, -1]
    assert np.hypot(found.x_mm[0] - 6, found.y_mm[0] - 9) <= grid.stride_mm
    assert np.hypot(found.x_mm[1] - 14, found.y_mm[1] - 12) <= grid.stride_mm


@pytest.mark.parametrize("kind", ["linear", "constant"])
def test_smooth_maps_have_no_pinwheels(kind):
    x, y = _sheet(np.random.default_rng(3))
    pref = (9.0 * x) % 180 if kind == "linear" else np.full_like(x, 37.0)
    grid = smoothed_orientation_map(x, y, pref, extent_mm=SHEET)
    wn = winding_numbers(grid.angle_deg)
    assert np.isnan(wn[0]).all() and np.isnan(wn[:, -1]).all()
    np.testing.assert_array_equal(wn[1:-1, 1:-1], 0.0)
    found = find_pinwheels(grid)
    assert list(found.columns) == ["x_mm", "y_mm", "sign", "n_px"] and len(found) == 0


def test_salt_and_pepper_gives_many_pinwheels():
    rng = np.random.default_rng(4)
    x, y = _sheet(rng)
    grid = smoothed_orientation_map(x, y, rng.uniform(0, 180, x.size), extent_mm=SHEET)
    found = find_pinwheels(grid)
    density = pinwheel_density(len(found), SHEET, 3.5)
    assert len(found) >= 20 and density > 0.5
    assert set(found["sign"]) == {1, -1}
    # the per-pixel circular-std criterion can only remove pinwheels; a tiny bound removes all
    assert len(find_pinwheels(grid, max_circular_std_rad=0.5)) <= len(found)
    assert len(find_pinwheels(grid, max_circular_std_rad=1e-6)) == 0
    assert len(find_pinwheels(grid, min_island_px=1)) >= len(found)


def test_winding_numbers_on_small_maps():
    yy, xx = np.mgrid[-2:3, -2:3].astype(float)
    wn = winding_numbers(np.degrees(np.arctan2(yy, xx)) / 2 % 180)
    assert wn[2, 2] == 0.5 and np.isnan(wn[0, 0])
    np.testing.assert_array_equal(wn[1:-1, 1:-1][[0, 0, 2, 2], [0, 2, 0, 2]], 0.0)
    wn_rev = winding_numbers(-np.degrees(np.arctan2(yy, xx)) / 2 % 180)
    assert wn_rev[2, 2] == -0.5
    holed = np.degrees(np.arctan2(yy, xx)) / 2 % 180
    holed[1, 2] = np.nan
    out = winding_numbers(holed)
    assert np.isnan(out[2, 2]) and np.isnan(out[1, 1]) and out[3, 3] == 0.0
    assert np.isnan(winding_numbers(np.zeros((2, 5)))).all()


def test_islands_are_8_connected_and_signed(monkeypatch):
    import topoanalysis.metrics.pinwheels as pw

    wn = np.zeros((6, 7))
    wn[1, 1] = wn[2, 2] = wn[3, 3] = 0.5  # one diagonal (8-connected) positive island
    wn[3, 4] = wn[4, 4] = -0.5  # touching negative island, labelled separately
    wn[1, 5] = 0.5  # singleton: dropped by min_island_px=2
    monkeypatch.setattr(pw, "winding_numbers", lambda angle: wn)
    centers = np.arange(7) * 0.5
    grid = OrientationGrid(centers, centers[:6], np.zeros((6, 7)), np.ones((6, 7)),
                           np.zeros((6, 7)), np.ones((6, 7), int), 1.0, 0.5)
    found = pw.find_pinwheels(grid)
    assert found.to_dict("records") == [dict(x_mm=1.0, y_mm=1.0, sign=1, n_px=3),
                                        dict(x_mm=2.0, y_mm=1.75, sign=-1, n_px=2)]
    assert len(pw.find_pinwheels(grid, min_island_px=1)) == 3
    assert len(pw.find_pinwheels(grid, min_abs_winding=0.6)) == 0


def test_pinwheel_density_arithmetic():
    assert pinwheel_density(32, 14.0, 3.5) == pytest.approx(2.0)
    assert pinwheel_density(0, 10.0, 3.5) == 0.0
    assert pinwheel_density(5, 3.5, 3.5) == pytest.approx(5.0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(y_mm=[0.0, 1.0]), "y_mm has 2 values but x_mm has 3"),
    (dict(pref_deg=[0.0]), "pref_deg has 1 values"),
    (dict(weights=[1.0, 1.0]), "weights has 2 values"),
    (dict(weights=[1.0, -1.0, 1.0]), "weights must be non-negative"),
    (dict(width_mm=0.0), "width_mm must be > 0"),
    (dict(stride_mm=-1.0), "stride_mm must be > 0"),
    (dict(pref_deg=[0.0, np.nan, 1.0]), "pref_deg contains NaN"),
    (dict(x_mm=[], y_mm=[], pref_deg=[]), "x_mm is empty"),
    (dict(x_mm=[[0.0, 1.0, 2.0]]), "x_mm must be 1-D"),
])
def test_errors_name_the_argument(kwargs, match):
    args = dict(x_mm=[0.0, 1.0, 2.0], y_mm=[0.0, 1.0, 2.0], pref_deg=[0.0, 45.0, 90.0])
    args.update(kwargs)
    x, y, pref = args.pop("x_mm"), args.pop("y_mm"), args.pop("pref_deg")
    with pytest.raises(ValueError, match=match):
        smoothed_orientation_map(x, y, pref, **args)


def test_other_errors():
    with pytest.raises(ValueError, match="extent_mm must be > 0"):
        smoothed_orientation_map([-1.0], [-1.0], [0.0])
    with pytest.raises(ValueError, match="angle_deg must be a 2-D"):
        winding_numbers(np.zeros(5))
    with pytest.raises(ValueError, match="hypercolumn_width_mm must be > 0"):
        pinwheel_density(3, 10.0, 0.0)
    with pytest.raises(ValueError, match="sheet_size_mm must be > 0"):
        pinwheel_density(3, -1.0, 3.5)
    with pytest.raises(ValueError, match="n_pinwheels must be >= 0"):
        pinwheel_density(-1, 10.0, 3.5)
