"""Overlap of category maps: self-overlap is maximal, independent maps sit at chance."""

import numpy as np
import pandas as pd
import pytest

from topoanalysis.metrics.overlap import colocalization_contrast, overlap_matrix, overlap_table, window_fractions


def blob_map(xy, centre, amplitude=10.0, width_mm=8.0):
    return amplitude * np.exp(-((xy - centre) ** 2).sum(1) / (2 * width_mm**2))


@pytest.fixture(scope="module")
def sheet():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 70, (6000, 2)), rng


def test_self_overlap_is_maximal(sheet):
    xy, rng = sheet
    face = blob_map(xy, (20, 20)) + rng.normal(0, 1, len(xy))
    t = np.stack([face, face], axis=1)
    for method, top in (("colocalization", 1.0), ("fraction_spearman", 1.0), ("tmap_pearson", 1.0)):
        assert overlap_matrix(t, xy, method)[0, 1] == pytest.approx(top), method


def test_independent_maps_sit_at_chance_and_separate_maps_below(sheet):
    xy, rng = sheet
    values = {"colocalization": [], "fraction_spearman": [], "tmap_pearson": []}
    for _ in range(5):
        a, b = rng.normal(0, 3, (2, len(xy)))  # spatially independent, many units above t = 4
        for method in values:
            values[method].append(overlap_matrix(np.stack([a, b], 1), xy, method)[0, 1])
    assert np.mean(values["colocalization"]) == pytest.approx(0.5, abs=0.06)
    assert np.mean(values["fraction_spearman"]) == pytest.approx(0.0, abs=0.12)
    assert np.mean(values["tmap_pearson"]) == pytest.approx(0.0, abs=0.03)
    apart = np.stack([blob_map(xy, (15, 15)), blob_map(xy, (55, 55))], 1)
    assert overlap_matrix(apart, xy, "tmap_pearson")[0, 1] < 0.0


def test_window_fractions_brute_force():
    xy = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 1.0], [8.0, 1.0], [9.0, 2.0], [10.0, 3.0], [1.0, 9.0],
                   [2.0, 10.0], [3.0, 12.0]])
    t = np.array([[5.0, 0.0], [5.0, 5.0], [0.0, 5.0], [5.0, 0.0], [0.0, 0.0], [np.nan, 0.0], [5.0, 5.0],
                  [5.0, 5.0], [5.0, 5.0]])
    fractions = window_fractions(t, xy, window_mm=7.0, min_units=3, placement="grid")  # tiles from 0
    expected = {(2 / 3, 2 / 3), (1 / 3, 0.0), (1.0, 1.0)}
    assert {tuple(np.round(row, 6)) for row in fractions} == {tuple(np.round(e, 6)) for e in expected}
    with pytest.raises(ValueError, match="larger window"):
        window_fractions(t, xy, window_mm=50.0, min_units=3, placement="grid")


def test_overlap_table_is_full_and_labelled(sheet):
    xy, rng = sheet
    table = pd.DataFrame({f"t_{d}": rng.normal(0, 3, len(xy)) for d in ("faces", "bodies", "places")})
    long = overlap_table(table, xy, ("faces", "bodies", "places"))
    assert len(long) == 3 * 9 and set(long["method"]) == {"colocalization", "fraction_spearman", "tmap_pearson"}
    diagonal = long[long["domain_a"] == long["domain_b"]]
    assert np.allclose(diagonal["value"], 1.0)
    assert set(long.loc[long["method"] == "colocalization", "chance"]) == {0.5}
    with pytest.raises(ValueError, match="unknown overlap method"):
        overlap_matrix(np.zeros((4, 2)), np.zeros((4, 2)), "jaccard")


def test_tdann_windows_spread_from_the_sheet_minimum_with_gaps():
    from topoanalysis.metrics.spatial import spaced_windows, square_windows

    # units over 0.5 .. 16.5 mm: floor(16 / 7) = 2 windows per axis, corners at 0.5 and 9.5 (a gap), not 0 and 7
    xy = np.array([[x, y] for x in np.arange(0.5, 17, 1.0) for y in np.arange(0.5, 17, 1.0)])
    windows = spaced_windows(xy, 7.0, min_units=1)
    assert len(windows) == 4
    corners = sorted(tuple(xy[w].min(axis=0)) for w in windows)
    assert corners == [(0.5, 0.5), (0.5, 9.5), (9.5, 0.5), (9.5, 9.5)]  # units span 0.5 .. 16.5
    # 7 units per axis in [0.5, 7.5), 8 in the last window [9.5, 16.5] (closed); the 7.5 and 8.5 rows are in none
    assert sorted(len(w) for w in windows) == [49, 56, 56, 64]
    assert len(square_windows(xy, 7.0, min_units=1)) == 9  # the grid tiles everything from 0


def test_window_placement_is_an_option_of_the_overlap():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 40, (4000, 2))
    face = 10 * np.exp(-((xy - 12) ** 2).sum(1) / 60)
    t = np.stack([face, face + rng.normal(0, 2, 4000), rng.normal(0, 3, 4000)], axis=1)
    tdann = overlap_matrix(t, xy, "fraction_spearman")
    grid = overlap_matrix(t, xy, "fraction_spearman", placement="grid")
    assert tdann[0, 1] > 0.5 and grid[0, 1] > 0.5 and tdann[0, 1] != grid[0, 1]
    with pytest.raises(ValueError, match="unknown window placement 'hex'"):
        overlap_matrix(t, xy, placement="hex")


def test_a_domain_without_selective_units_has_no_co_localisation_and_says_why():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 70, (2000, 2))
    t = rng.normal(0, 3, (2000, 4)) + 3.0
    t[:, 3] = 0.0  # no place-selective unit anywhere
    out = colocalization_contrast(t, xy, ["faces", "bodies", "characters", "places"], rng=rng, n_bootstrap=5,
                                  n_shuffles=3)
    assert np.isnan(out["value"]) and out["mapless"] == ["places: no unit with t above 4 in every window"]
    t[:, 3] = 5.0  # every unit selective: the same fraction (1) in every window, no map either
    out = colocalization_contrast(t, xy, ["faces", "bodies", "characters", "places"], rng=rng, n_bootstrap=5,
                                  n_shuffles=3)
    assert out["mapless"] == ["places: the same fraction of units with t above 4 in every window"]
    t[:, 3] = rng.normal(0, 3, 2000) + 3.0
    out = colocalization_contrast(t, xy, ["faces", "bodies", "characters", "places"], rng=rng, n_bootstrap=5,
                                  n_shuffles=3)
    assert np.isfinite(out["value"]) and out["mapless"] == []
