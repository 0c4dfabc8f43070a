"""LayerPositions, retinotopic initialisation and sheet storage."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
import torch

from topoanalysis.sheets import (
    AREA_NEIGHBORHOOD_WIDTH_MM,
    AREA_SHEET_SIZE_MM,
    LayerPositions,
    default_sheets,
    load_sheets,
    retinotopic_positions,
    rf_overlap,
    save_sheets,
)
from topoanalysis.sheets.init import scaled_neighborhood_width_mm


def _sheet(shape=(4, 8, 8), seed=0, **kw) -> LayerPositions:
    kw.setdefault("area", "V1")
    return retinotopic_positions("tiny", shape, 2.4, 0.0475, rng=np.random.default_rng(seed), **kw)


def _torch_chw_of_flat_units(c: int, h: int, w: int) -> tuple[np.ndarray, ...]:
    """(channel, row, col) of every unit in torch.flatten(x, 1) order, computed by torch."""
    flat_index = torch.flatten(torch.arange(c * h * w).reshape(1, c, h, w), 1)[0]
    grids = torch.meshgrid(torch.arange(c), torch.arange(h), torch.arange(w), indexing="ij")
    chw = [torch.flatten(g.reshape(1, c, h, w), 1)[0].numpy() for g in grids]
    # unit i of the flattened map is element flat_index[i] of the C-order (c, h, w) grid
    assert np.array_equal(flat_index.numpy(), np.arange(c * h * w))
    return tuple(chw)


@pytest.mark.parametrize(
    "layer, shape, area",
    [("layer2.0", (128, 28, 28), "V1"), ("tiny", (4, 8, 8), "retina")],
)
def test_retinotopic_shape_dtype_bounds(layer, shape, area):
    size = AREA_SHEET_SIZE_MM[area]
    p = retinotopic_positions(layer, shape, size, AREA_NEIGHBORHOOD_WIDTH_MM[area],
                              rng=np.random.default_rng(1), area=area)
    n = int(np.prod(shape))
    assert p.xy_mm.shape == (n, 2) and p.xy_mm.dtype == np.float32
    assert p.n_units == n and p.shape_chw == shape
    assert p.layer == layer and p.area == area and p.sheet_size_mm == size
    assert p.xy_mm.min() >= 0.0 and p.xy_mm.max() <= np.float32(size)
    assert not p.xy_mm.flags.writeable
    with pytest.raises(ValueError):
        p.xy_mm[0, 0] = 1.0


@pytest.mark.parametrize("shape", [(3, 5, 7), (128, 28, 28), (2, 1, 1)])
def test_ordering_matches_torch_flatten(shape):
    c, h, w = shape
    size = 36.75
    p = retinotopic_positions("l", shape, size, 1.6, rng=np.random.default_rng(2), jitter_mm=0)
    overlap = min(0.1 * 56 / w, 1.0)
    rf_radius = size / (w - w * overlap + overlap) / 2
    centre_x = np.linspace(rf_radius, size - rf_radius, w)
    centre_y = np.linspace(rf_radius, size - rf_radius, h)
    ch, row, col = _torch_chw_of_flat_units(c, h, w)
    tol = 1e-4
    assert np.all(np.abs(p.xy_mm[:, 0] - centre_x[col]) <= rf_radius + tol)
    assert np.all(np.abs(p.xy_mm[:, 1] - centre_y[row]) <= rf_radius + tol)
    # channels at one tap are scattered independently, not stacked
    if c > 1:
        assert not np.allclose(p.xy_mm[ch == 0], p.xy_mm[ch == 1])


def test_channel_row_col_agree_with_torch():
    p = _sheet((3, 5, 7))
    ch, row, col = _torch_chw_of_flat_units(3, 5, 7)
    assert np.array_equal(p.channel, ch)
    assert np.array_equal(p.row, row)
    assert np.array_equal(p.col, col)
    # and with an actual feature map
    fmap = torch.randn(2, 3, 5, 7)
    flat = torch.flatten(fmap, 1)
    assert torch.equal(flat[:, 40], fmap[:, p.channel[40], p.row[40], p.col[40]])


def test_retinotopy_mean_x_grows_with_w_and_mean_y_with_h():
    p = retinotopic_positions("layer2.0", (128, 28, 28), 36.75, 1.626,
                              rng=np.random.default_rng(3))  # default jitter 0.3 mm
    mean_x = np.array([p.xy_mm[p.col == w, 0].mean() for w in range(28)])
    mean_y = np.array([p.xy_mm[p.row == h, 1].mean() for h in range(28)])
    assert np.all(np.diff(mean_x) > 0) and np.all(np.diff(mean_y) > 0)


def test_determinism():
    a, b, c = _sheet(seed=5), _sheet(seed=5), _sheet(seed=6)
    assert np.array_equal(a.xy_mm, b.xy_mm) and a == b
    assert not np.array_equal(a.xy_mm, c.xy_mm)


def test_jitter_moves_units_but_keeps_range():
    shape = (16, 14, 14)
    plain = retinotopic_positions("l", shape, 35.0, 3.977, rng=np.random.default_rng(7), jitter_mm=0)
    fuzzy = retinotopic_positions("l", shape, 35.0, 3.977, rng=np.random.default_rng(7))
    # offsets are drawn before the jitter, so `plain` is exactly the pre-jitter layout
    assert not np.allclose(plain.xy_mm, fuzzy.xy_mm)
    np.testing.assert_allclose(fuzzy.xy_mm.min(0), plain.xy_mm.min(0), atol=1e-5)
    np.testing.assert_allclose(fuzzy.xy_mm.max(0), plain.xy_mm.max(0), atol=1e-5)


def test_rf_overlap_and_bad_arguments():
    assert [rf_overlap(w) for w in (56, 28, 14, 7, 1)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0])
    with pytest.raises(ValueError, match="width_px"):
        rf_overlap(0)
    with pytest.raises(ValueError, match="overlap"):
        _sheet(overlap=1.5)
    with pytest.raises(ValueError, match="jitter_mm"):
        _sheet(jitter_mm=-1)


def test_default_sheets_uses_area_tables_and_validates():
    shapes = {"layer2.0": (8, 4, 4), "layer4.1": (16, 2, 2)}
    areas = {"layer2.0": "V1", "layer4.1": "IT"}
    sheets = default_sheets(shapes, areas, rng=np.random.default_rng(0))
    assert list(sheets) == ["layer2.0", "layer4.1"]
    assert sheets["layer4.1"].sheet_size_mm == 70.0
    assert sheets["layer4.1"].neighborhood_width_mm == 70.0  # widened for 64 units, capped at the sheet
    assert sheets["layer2.0"].area == "V1"
    tdann = default_sheets(shapes, areas, rng=np.random.default_rng(0), scale_neighborhoods=False)
    assert tdann["layer4.1"].neighborhood_width_mm == 31.818
    assert tdann["layer2.0"].neighborhood_width_mm == 1.626
    # a V1 layer with 1/12.25 of the reference units gets a window 3.5x as wide: same expected count
    assert scaled_neighborhood_width_mm("V1", 128 * 28 * 28 // 49 * 4, 36.75) == pytest.approx(1.626 * 3.5)
    assert scaled_neighborhood_width_mm("IT", 512 * 7 * 7 * 4, 70.0) == 31.818
    with pytest.raises(ValueError, match=r"'V3'.*retina.*V1.*V2.*V4.*IT"):
        default_sheets(shapes, {**areas, "layer4.1": "V3"}, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="layer4.1"):
        default_sheets(shapes, {"layer2.0": "V1"}, rng=np.random.default_rng(0))


def test_to_from_arrays_and_weights_only_checkpoint():
    p = _sheet()
    d = p.to_arrays()
    assert set(d) == {"layer", "shape_chw", "xy_mm", "sheet_size_mm",
                      "neighborhood_width_mm", "area"}
    q = LayerPositions.from_arrays(d)
    assert q == p and np.array_equal(q.xy_mm, p.xy_mm) and q.shape_chw == p.shape_chw
    # numpy arrays are refused by weights_only loading; tensors are not
    ckpt = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in d.items()}
    buf = io.BytesIO()
    torch.save({"sheets": {"tiny": ckpt}}, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)["sheets"]["tiny"]
    assert LayerPositions.from_arrays(loaded) == p


def test_save_load_round_trip(tmp_path):
    p = _sheet()
    path = tmp_path / "tiny.npz"
    p.save(path)
    q = LayerPositions.load(path)
    assert q == p and q.xy_mm.dtype == np.float32 and q.area == "V1"
    assert os.listdir(tmp_path) == ["tiny.npz"]  # no temporary file left behind


def test_save_load_sheets_round_trip(tmp_path):
    sheets = default_sheets({"layer3.1": (4, 2, 2), "layer1.0": (2, 4, 4)},
                            {"layer3.1": "V4", "layer1.0": "retina"},
                            rng=np.random.default_rng(4))
    path = tmp_path / "sheets.npz"
    save_sheets(path, sheets)
    back = load_sheets(path)
    assert list(back) == ["layer3.1", "layer1.0"]
    assert all(back[k] == sheets[k] for k in sheets)
    assert sorted(os.listdir(tmp_path)) == ["sheets.npz"]
    with pytest.raises(ValueError, match="differs"):
        save_sheets(path, {"other": sheets["layer1.0"]})


def _xy(n, size=2.0):
    return np.stack([np.linspace(0, size, n), np.linspace(0, size / 2, n)], axis=1)


@pytest.mark.parametrize(
    "xy, size, match",
    [
        (_xy(5), 2.0, r"'bad'.*\(6, 2\)"),
        (np.where(np.arange(12).reshape(6, 2) == 3, np.nan, _xy(6)), 2.0, r"'bad'.*non-finite"),
        (_xy(6, size=3.0), 2.0, r"'bad'.*within \[0, 2.0\]"),
        (np.concatenate([_xy(5), _xy(5)[:1]]), 2.0, r"'bad'.*injective"),
        (_xy(6), -1.0, r"'bad'.*sheet_size_mm"),
    ],
    ids=["wrong_n", "nan", "out_of_bounds", "duplicates", "negative_size"],
)
def test_validation_errors_name_the_layer(xy, size, match):
    with pytest.raises(ValueError, match=match):
        LayerPositions("bad", (1, 2, 3), xy, size, 0.5)


def test_validation_of_shape_and_with_xy():
    with pytest.raises(ValueError, match=r"'bad'.*shape_chw"):
        LayerPositions("bad", (6, 0, 1), _xy(6), 2.0, 0.5)
    p = LayerPositions("ok", (1, 2, 3), _xy(6), 2.0, 0.5)
    src = _xy(6)[::-1].copy()
    q = p.with_xy(src)
    src[0] = 0.0  # the copy must not follow the caller's array
    assert np.array_equal(q.xy_mm, _xy(6)[::-1].astype(np.float32)) and q.layer == "ok"
    with pytest.raises(ValueError, match="'ok'.*injective"):
        p.with_xy(np.zeros((6, 2)))


def test_load_errors_name_the_path(tmp_path):
    missing = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        LayerPositions.load(missing)
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_sheets(missing)
    partial = tmp_path / "partial.npz"
    np.savez(partial, xy_mm=_xy(6))
    with pytest.raises(ValueError, match=r"partial.npz.*missing keys"):
        LayerPositions.load(partial)
    with pytest.raises(ValueError, match=r"partial.npz.*__layers__"):
        load_sheets(partial)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="junk.npz"):
        LayerPositions.load(junk)
