"""Swap-based pre-optimisation of unit positions (METHODS 2.3)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import pearsonr

from topoanalysis.sheets import LayerPositions
from topoanalysis.sheets.swapopt import (
    _pick_disjoint,
    _run_steps,
    _standardize,
    _window_corr,
    pair_loss,
    swap_optimize,
    swap_optimize_sheets,
    window_spatial_loss,
)

SIDE = 12  # units per axis of the planted grid, 1 mm apart on a 12 mm sheet
FAST = dict(n_neighborhoods=60, steps_per_neighborhood=150, width_mm=6.0)


def _grid_sheet(layer: str = "toy", perm: np.ndarray | None = None) -> LayerPositions:
    g = np.arange(SIDE) + 0.5
    xy = np.stack(np.meshgrid(g, g, indexing="xy"), axis=-1).reshape(-1, 2)
    if perm is not None:
        xy = xy[perm]
    return LayerPositions(layer, (1, SIDE, SIDE), xy, float(SIDE), 6.0)


def _tuned_responses(xy: np.ndarray, n_stimuli: int = 40, noise: float = 0.05,
                     seed: int = 0) -> np.ndarray:
    """Orientation tuning whose preferred orientation varies smoothly over the sheet."""
    theta = 0.5 * np.pi * (xy[:, 0] + xy[:, 1]) / SIDE
    phi = np.linspace(0.0, np.pi, n_stimuli, endpoint=False)
    resp = 1.0 + np.cos(2.0 * (phi[:, None] - theta[None, :]))
    return resp + noise * np.random.default_rng(seed).standard_normal(resp.shape)


def _eval(p: LayerPositions, resp: np.ndarray) -> float:
    return window_spatial_loss(p, resp, rng=np.random.default_rng(99), n_windows=100,
                               width_mm=6.0)


# ------------------------------------------------------------------------- pair_loss
def test_pair_loss_matches_scipy_and_batches():
    rng = np.random.default_rng(0)
    corr, dist = rng.uniform(-1, 1, (3, 2, 30)), rng.uniform(0, 10, (3, 2, 30))
    for c, d in zip(corr, dist):
        ref = 0.5 * (1.0 - pearsonr(c.ravel(), 1.0 / (d.ravel() + 1.0))[0])
        assert pair_loss(c, d) == pytest.approx(ref, abs=1e-12)
        assert isinstance(pair_loss(c, d), float)
    batched = pair_loss(corr, dist)
    assert batched.shape == (3,)
    np.testing.assert_allclose(batched, [pair_loss(c, d) for c, d in zip(corr, dist)])


def test_pair_loss_zero_variance_and_shape_mismatch():
    assert pair_loss(np.full((2, 5), 0.3), np.arange(10.0).reshape(2, 5)) == 0.5
    assert pair_loss(np.arange(10.0).reshape(2, 5), np.full((2, 5), 2.0)) == 0.5
    with pytest.raises(ValueError, match="shape"):
        pair_loss(np.zeros((2, 5)), np.zeros((2, 4)))


def test_window_corr_is_corrcoef_with_nan_as_zero():
    rng = np.random.default_rng(1)
    resp = rng.random((20, 8))
    resp[:, 3] = 0.0  # a silent unit
    resp[:, 5] = 2.5  # a constant unit
    units = np.array([0, 3, 5, 7, 2])
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = np.nan_to_num(np.corrcoef(resp[:, units].T), nan=0.0)
    np.testing.assert_allclose(_window_corr(_standardize(resp), units), ref, atol=1e-6)


# ------------------------------------------------------------------------- inner loop
def _naive_steps(corr: np.ndarray, pos: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Literal METHODS 2.3 loop: pair_loss before / after, undo unless strictly lower."""
    pos = pos.copy()
    for a, b in pairs:
        before = pair_loss(corr[[a, b]], cdist(pos[[a, b]], pos))
        pos[[a, b]] = pos[[b, a]]
        if not pair_loss(corr[[a, b]], cdist(pos[[a, b]], pos)) < before:
            pos[[a, b]] = pos[[b, a]]
    return pos


def test_lockstep_steps_equal_the_literal_loop_with_padding():
    rng = np.random.default_rng(2)
    sizes, steps = [30, 18], 200
    q = max(sizes)
    corr = np.zeros((2, q, q), dtype=np.float32)
    z = np.zeros((2, q), dtype=np.complex128)
    pos, pairs = [], np.zeros((steps, 2, 2), dtype=np.int64)
    for k, n in enumerate(sizes):
        units = rng.choice(40, n, replace=False)
        corr[k, :n, :n] = _window_corr(_standardize(rng.random((25, 40))), units)
        pos.append(rng.uniform(0, 5, (n, 2)))
        z[k, :n] = pos[-1][:, 0] + 1j * pos[-1][:, 1]
        a = rng.integers(0, n, steps)
        pairs[:, k] = np.stack([a, (a + 1 + rng.integers(0, n - 1, steps)) % n], axis=1)
    where, accepted = _run_steps(corr, z, pairs)
    assert accepted > 0
    for k, n in enumerate(sizes):
        ref = _naive_steps(corr[k, :n, :n].astype(np.float64), pos[k], pairs[:, k])
        np.testing.assert_allclose(np.stack([z[k, :n].real, z[k, :n].imag], 1), ref)
        np.testing.assert_array_equal(pos[k][where[k, :n]], ref)  # unit i -> slot where[i]


def test_picked_windows_are_disjoint_and_greedy():
    rng = np.random.default_rng(3)
    windows = [rng.choice(200, rng.integers(5, 40), replace=False) for _ in range(300)]
    queue = list(rng.permutation(300))
    picked = _pick_disjoint(windows, queue, 200, 6)
    assert 1 <= len(picked) <= 6 and picked[0] == queue[0]
    members = np.concatenate([windows[w] for w in picked])
    assert len(np.unique(members)) == len(members)
    for w in queue[:queue.index(picked[-1])]:  # every skipped window clashes with a pick
        assert w in picked or np.intersect1d(windows[w], members).size > 0


# ------------------------------------------------------------------------- swap_optimize
def test_planted_problem_is_largely_recovered():
    true = _grid_sheet()
    resp = _tuned_responses(true.xy_mm)
    scrambled = true.with_xy(true.xy_mm[np.random.default_rng(4).permutation(SIDE * SIDE)])
    new, report = swap_optimize(scrambled, resp, rng=np.random.default_rng(5), **FAST)
    loss_true, loss_scr, loss_new = _eval(true, resp), _eval(scrambled, resp), _eval(new, resp)
    assert loss_true < loss_scr - 0.1
    assert loss_scr - loss_new > 0.3 * (loss_scr - loss_true)
    assert report["loss_after"] < report["loss_before"]
    assert report["n_neighborhoods_used"] == 60 and report["n_steps"] == 60 * 150
    assert 0 < report["n_swaps_accepted"] <= report["n_steps"]
    np.testing.assert_array_equal(np.unique(new.xy_mm, axis=0), np.unique(true.xy_mm, axis=0))
    assert new.layer == true.layer and new.shape_chw == true.shape_chw


def test_optimal_arrangement_is_not_made_worse():
    sheet = _grid_sheet()
    resp = _tuned_responses(sheet.xy_mm, noise=0.0)
    _, report = swap_optimize(sheet, resp, rng=np.random.default_rng(6), **FAST)
    assert report["loss_after"] <= report["loss_before"] + 1e-3


def test_deterministic_for_a_seed_and_inputs_untouched():
    sheet = _grid_sheet(perm=np.random.default_rng(7).permutation(SIDE * SIDE))
    resp = _tuned_responses(_grid_sheet().xy_mm)
    xy0, resp0 = sheet.xy_mm.copy(), resp.copy()
    kw = dict(FAST, n_neighborhoods=20)
    a, rep_a = swap_optimize(sheet, resp, rng=np.random.default_rng(8), **kw)
    b, rep_b = swap_optimize(sheet, resp, rng=np.random.default_rng(8), progress=True, **kw)
    assert a == b and rep_a == rep_b
    np.testing.assert_array_equal(sheet.xy_mm, xy0)
    np.testing.assert_array_equal(resp, resp0)


def test_bad_inputs():
    sheet = _grid_sheet()
    rng = np.random.default_rng(9)
    with pytest.raises(ValueError, match=r"\(40, 143\).*144.*\(144, 2\)"):
        swap_optimize(sheet, np.zeros((40, 143)), rng=rng)
    with pytest.raises(ValueError, match="2 stimuli"):
        swap_optimize(sheet, np.zeros((1, 144)), rng=rng)
    with pytest.raises(ValueError, match="'missing'"):
        swap_optimize_sheets({"toy": sheet, "missing": _grid_sheet("missing")},
                             {"toy": np.zeros((40, 144))}, rng=rng)


def test_sheets_runs_every_layer_and_logs_one_line_each():
    sheets = {name: _grid_sheet(name) for name in ("layer2.0", "layer2.1")}
    resp = _tuned_responses(sheets["layer2.0"].xy_mm)
    lines: list[str] = []
    out, reports = swap_optimize_sheets(sheets, {**dict.fromkeys(sheets, resp), "extra": resp},
                                        rng=np.random.default_rng(10), log=lines.append,
                                        **dict(FAST, n_neighborhoods=10))
    assert list(out) == list(sheets) and [r["layer"] for r in reports] == list(sheets)
    pattern = (r"^layer2\.[01]: spatial loss \d\.\d{4} -> \d\.\d{4} "
               r"\(\d+ swaps accepted, 10 neighbourhoods\)$")
    assert len(lines) == 2 and all(re.match(pattern, line) for line in lines)
