"""Square neighbourhoods / clusters on a sheet."""

from __future__ import annotations

import numpy as np
import pytest

from topoanalysis.sheets import (
    LayerPositions,
    retinotopic_positions,
    sample_neighborhoods,
    square_cluster,
)
from topoanalysis.sheets.neighborhoods import _window_members


@pytest.fixture(scope="module")
def v1_small() -> LayerPositions:
    return retinotopic_positions("layer2.0", (32, 16, 16), 36.75, 5.0,
                                 rng=np.random.default_rng(0), area="V1")


def test_rows_equal_size_sorted_unique_and_inside_a_window(v1_small):
    width = 5.0
    nb = sample_neighborhoods(v1_small, 400, rng=np.random.default_rng(1), max_units=100)
    assert nb.dtype == np.int64 and nb.ndim == 2
    n_rows, q = nb.shape
    assert 0.9 * 400 <= n_rows <= 400 and 25 <= q <= 100
    assert nb.min() >= 0 and nb.max() < v1_small.n_units
    assert np.all(np.diff(nb, axis=1) > 0)  # sorted, hence no duplicates within a row
    xy = v1_small.xy_mm.astype(np.float64)[nb]  # (P, Q, 2)
    extent = xy.max(axis=1) - xy.min(axis=1)
    assert np.all(extent <= width + 1e-9)


def test_quantile_trim_and_caps(v1_small):
    # windows of ~150 units: Q is the 5th-percentile size (below max_units)
    nb = sample_neighborhoods(v1_small, 300, rng=np.random.default_rng(2), max_units=500)
    assert 25 <= nb.shape[1] < 500
    # with a small cap every row has exactly max_units
    assert sample_neighborhoods(v1_small, 50, rng=np.random.default_rng(2),
                                max_units=30).shape[1] == 30


def test_deterministic_given_rng(v1_small):
    a = sample_neighborhoods(v1_small, 100, rng=np.random.default_rng(3))
    b = sample_neighborhoods(v1_small, 100, rng=np.random.default_rng(3))
    c = sample_neighborhoods(v1_small, 100, rng=np.random.default_rng(4))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_width_larger_than_sheet_uses_whole_sheet():
    p = retinotopic_positions("tiny", (4, 8, 8), 2.4, 0.0475, rng=np.random.default_rng(0))
    nb = sample_neighborhoods(p, 5, rng=np.random.default_rng(0), width_mm=10.0)
    assert nb.shape == (5, p.n_units)
    assert np.all(nb == np.arange(p.n_units))


def test_too_few_units_error_message():
    p = retinotopic_positions("tiny", (4, 8, 8), 2.4, 0.0475, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"'tiny'.*0.0475 mm.*256 units.*larger width_mm"):
        sample_neighborhoods(p, 50, rng=np.random.default_rng(0))


def _brute_force(xy: np.ndarray, centre, width) -> list[int]:
    half = width / 2
    out = []
    for i, (x, y) in enumerate(xy.tolist()):
        if abs(x - centre[0]) <= half and abs(y - centre[1]) <= half:
            out.append(i)
    return out


def test_square_cluster_matches_brute_force_loop():
    rng = np.random.default_rng(5)
    # a grid on 0.25 mm steps puts many units exactly on window borders
    g = np.arange(0, 4.01, 0.25)
    grid = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)[:288]
    xy = np.concatenate([grid, rng.uniform(0, 4, size=(96, 2))])
    p = LayerPositions("grid", (3, 8, 16), xy, 4.0, 1.0)
    centres = [(1.0, 1.0), (2.0, 0.5), (0.0, 0.0), (3.3, 2.7)]
    centres += [tuple(c) for c in rng.uniform(0, 4, size=(20, 2))]
    for centre in centres:
        for width in (0.5, 1.0, 1.7):
            got = square_cluster(p, centre, width)
            assert got.dtype == np.int64
            assert got.tolist() == _brute_force(p.xy_mm.astype(np.float64), centre, width)


@pytest.mark.parametrize("budget", [64, 1 << 21])
def test_chunked_membership_matches_square_cluster(v1_small, budget):
    rng = np.random.default_rng(6)
    xy = v1_small.xy_mm.astype(np.float64)
    centres = rng.uniform(0, 36.75, size=(300, 2))
    centres[:3] = xy[:3]  # windows centred on units
    sizes, members = _window_members(xy, centres, 2.5, 40, rng, max_chunk_elements=budget)
    for j, centre in enumerate(centres):
        full = square_cluster(v1_small, centre, 5.0)
        assert sizes[j] == len(full)
        picked = members[j][members[j] >= 0]
        assert len(picked) == min(len(full), 40)
        assert len(np.unique(picked)) == len(picked) and np.isin(picked, full).all()


def test_bad_arguments(v1_small):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="width_mm"):
        sample_neighborhoods(v1_small, 10, rng=rng, width_mm=0)
    with pytest.raises(ValueError, match="keep_fraction"):
        sample_neighborhoods(v1_small, 10, rng=rng, keep_fraction=0)
    with pytest.raises(ValueError, match="n_neighborhoods"):
        sample_neighborhoods(v1_small, 0, rng=rng)
    with pytest.raises(ValueError, match="width"):
        square_cluster(v1_small, (1.0, 1.0), -1.0)
