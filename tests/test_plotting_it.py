"""IT topography figures on small synthetic t-value, patch, overlap and curve tables."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.container import BarContainer

from topoanalysis.plotting.it import (
    DOMAINS,
    T_LABEL,
    it_summary_figure,
    overlap_figure,
    overlap_range,
    plot_domain_smoothness_bars,
    plot_generalization_bars,
    plot_overlap_matrix,
    plot_selectivity_vs_distance,
    plot_tmap,
    tmaps_figure,
)

MODELS = ("topographic", "baseline")
METHODS = ("colocalization", "tmap_pearson")
N_UNITS = 300


def _tvalues(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    silent = rng.random(N_UNITS) < 0.2
    df = pd.DataFrame({"x_mm": rng.uniform(0, 10, N_UNITS), "y_mm": rng.uniform(0, 10, N_UNITS)})
    for domain in DOMAINS:
        df[f"t_{domain}"] = np.where(silent, np.nan, rng.normal(0, 8, N_UNITS))
    df["silent"] = silent
    return df


def _square(cx: float, cy: float, r: float) -> np.ndarray:
    corners = np.array([[cx - r, cy - r], [cx + r, cy - r], [cx + r, cy + r], [cx - r, cy + r]])
    return np.stack([corners, np.roll(corners, -1, axis=0)], axis=1)  # (4, 2, 2)


def _patches() -> tuple[pd.DataFrame, list[np.ndarray]]:
    domains = ["faces", "faces", "bodies", "places"]
    outlines = [_square(2, 2, 1), _square(7, 7, 0.5)[:3], _square(5, 2, 1), _square(2, 8, 1)]
    patches = pd.DataFrame({"patch": range(4), "domain": domains,
                            "area_mm2": [4.0, 1.0, 4.0, 4.0], "centroid_x_mm": [2, 7, 5, 2],
                            "centroid_y_mm": [2, 7, 2, 8], "n_units": [12, 3, 11, 10]})
    return patches, outlines


@pytest.fixture
def tvalues() -> dict[str, pd.DataFrame]:
    return {model: _tvalues(seed) for seed, model in enumerate(MODELS)}


@pytest.fixture
def overlap() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for model in MODELS:
        for method in METHODS:
            low = 0.0 if method == "colocalization" else -1.0
            for a in DOMAINS:
                for b in DOMAINS:
                    rows.append((model, method, a, b, 1.0 if a == b else rng.uniform(low, 1)))
    return pd.DataFrame(rows, columns=["model", "method", "domain_a", "domain_b", "value"])


@pytest.fixture
def curves() -> pd.DataFrame:
    rng = np.random.default_rng(4)
    d = np.linspace(0.5, 5, 10)
    frames = [pd.DataFrame({"model": model, "domain": domain, "distance_mm": d,
                            "mean_difference": 2 + d * (i + 1) + rng.normal(0, 0.1, d.size),
                            "sem": rng.uniform(0.1, 0.3, d.size),
                            "chance_mean_difference": np.full(d.size, 9.0),
                            "chance_sem": np.full(d.size, 0.1)})
              for i, model in enumerate(MODELS) for domain in DOMAINS]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def smoothness() -> pd.DataFrame:
    rows = [(model, domain, 0.1 * (j + 1) + 0.5 * i, 0.02, 0.05 * i, 0.01)
            for i, model in enumerate(MODELS) for j, domain in enumerate(reversed(DOMAINS))]
    return pd.DataFrame(rows, columns=["model", "domain", "smoothness", "sem", "chance",
                                       "chance_sem"])


@pytest.fixture
def generalization() -> pd.DataFrame:
    rows = [(model, domain, 0.9 - 0.1 * j - 0.3 * i, 240)
            for i, model in enumerate(MODELS) for j, domain in enumerate(DOMAINS)]
    return pd.DataFrame(rows, columns=["model", "domain", "correlation", "n_units"])


def _line_collections(ax) -> list[LineCollection]:
    return [c for c in ax.collections if isinstance(c, LineCollection)
            and c.get_label().endswith("patches")]


def test_tmap_colours_points_and_outlines(tvalues):
    import matplotlib.pyplot as plt

    df = tvalues["topographic"]
    patches, outlines = _patches()
    fig, ax = plt.subplots()
    mappable = plot_tmap(ax, df, "faces", patches=patches, outlines=outlines, title="faces")
    assert mappable.get_cmap().name == "RdBu_r"
    assert mappable.get_clim() == (-15.0, 15.0)
    assert len(mappable.get_offsets()) == int((~df["silent"]).sum())
    np.testing.assert_allclose(mappable.get_array(), df.loc[~df["silent"], "t_faces"])
    grey = [c for c in ax.collections if c.get_label() == "_masked"]
    assert len(grey) == 1 and len(grey[0].get_offsets()) == int(df["silent"].sum())
    (lines,) = _line_collections(ax)
    assert len(lines.get_segments()) == 4 + 3  # the two faces patches only
    np.testing.assert_allclose(lines.get_segments()[0], outlines[0][0])
    assert ax.get_title() == "faces"


def test_tmap_without_or_with_empty_patches(tvalues):
    import matplotlib.pyplot as plt

    df = tvalues["baseline"]
    patches, outlines = _patches()
    fig, axes = plt.subplots(1, 4)
    plot_tmap(axes[0], df, "objects", vlim=5.0, patches=patches, outlines=outlines)
    plot_tmap(axes[1], df, "faces", patches=patches.iloc[:0], outlines=[])
    plot_tmap(axes[2], df, "faces")
    for ax in axes[:3]:
        assert _line_collections(ax) == []
    assert axes[0].collections[-1].get_clim() == (-5.0, 5.0)
    with pytest.raises(ValueError, match="outlines"):
        plot_tmap(axes[3], df, "faces", patches=patches, outlines=outlines[:2])


def test_tmaps_figure_layout(tvalues, tmp_path):
    patches = {"topographic": _patches()}  # baseline has no patches
    fig = tmaps_figure({"topographic": tvalues["topographic"], "missing": None,
                        "baseline": tvalues["baseline"]}, patches, layer="layer4")
    colorbars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    maps = [ax for ax in fig.axes if ax not in colorbars]
    assert len(maps) == 2 * len(DOMAINS) and len(colorbars) == 1
    assert colorbars[0].get_ylabel() == T_LABEL
    assert [ax.get_title() for ax in maps] == [f"{m}: {d}" for m in MODELS for d in DOMAINS]
    assert [len(_line_collections(ax)) for ax in maps[:3]] == [1, 1, 0]
    assert all(_line_collections(ax) == [] for ax in maps[len(DOMAINS):])
    assert "layer4" in fig.get_suptitle()
    reversed_fig = tmaps_figure({"baseline": tvalues["baseline"],
                                 "topographic": tvalues["topographic"]})
    assert reversed_fig.axes[0].get_title() == "baseline: faces"
    for ext in ("png", "pdf"):
        fig.savefig(tmp_path / f"tmaps.{ext}", dpi=50)
    image = matplotlib.image.imread(tmp_path / "tmaps.png")
    assert image.ndim == 3 and image[..., :3].std() > 0.01
    assert (tmp_path / "tmaps.pdf").stat().st_size > 1000
    with pytest.raises(ValueError):
        tmaps_figure({"missing": None})


@pytest.mark.parametrize("method, clim", [("colocalization", (0.0, 1.0)),
                                          ("tmap_pearson", (-1.0, 1.0))])
def test_overlap_matrix(overlap, method, clim):
    import matplotlib.pyplot as plt

    shuffled = overlap.sample(frac=1.0, random_state=0)  # order must come from DOMAINS
    fig, ax = plt.subplots()
    image = plot_overlap_matrix(ax, shuffled, "baseline", method)
    rows = overlap[(overlap["model"] == "baseline") & (overlap["method"] == method)]
    expected = rows.pivot(index="domain_a", columns="domain_b", values="value")
    expected = expected.loc[list(DOMAINS), list(DOMAINS)].to_numpy()
    np.testing.assert_allclose(image.get_array(), expected)
    assert image.get_clim() == clim
    assert len(ax.texts) == 25
    assert ax.texts[1].get_text() == f"{expected[0, 1]:.2f}"
    assert [t.get_text() for t in ax.get_yticklabels()] == list(DOMAINS)


def test_overlap_matrix_missing_cells_and_range():
    import matplotlib.pyplot as plt

    df = pd.DataFrame({"model": "m", "method": "other", "domain_a": ["faces", "faces"],
                       "domain_b": ["faces", "bodies"], "value": [0.2, 0.7]})
    fig, ax = plt.subplots()
    image = plot_overlap_matrix(ax, df, "m", "other")
    assert image.get_clim() == (0.0, 1.0)  # unknown method with values in [0, 1]
    assert len(ax.texts) == 25 and sum(t.get_text() == "n/a" for t in ax.texts) == 23
    assert overlap_range("other", [-0.5, 0.3]) == (-1.0, 1.0)
    assert overlap_range("tmap_pearson", [0.2, 0.3]) == (-1.0, 1.0)
    assert overlap_range("fraction_spearman", [0.2, 0.3]) == (-1.0, 1.0)


def test_overlap_figure(overlap, tmp_path):
    fig = overlap_figure(overlap)
    colorbars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    panels = [ax for ax in fig.axes if ax not in colorbars]
    assert len(panels) == len(METHODS) * len(MODELS) and len(colorbars) == len(METHODS)
    assert [ax.get_title() for ax in panels] == [f"{m}: {meth}" for meth in METHODS
                                                 for m in MODELS]
    assert [ax.images[0].get_clim() for ax in panels[::2]] == [(0.0, 1.0), (-1.0, 1.0)]
    fig.savefig(tmp_path / "overlap.png", dpi=50)
    assert matplotlib.image.imread(tmp_path / "overlap.png")[..., :3].std() > 0.01


def test_smoothness_bars_heights(smoothness):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    drawn = plot_domain_smoothness_bars(ax, smoothness)
    assert list(drawn) == list(MODELS)
    assert [t.get_text() for t in ax.get_xticklabels()] == list(DOMAINS)
    for model, parts in drawn.items():
        rows = smoothness[smoothness["model"] == model].set_index("domain").loc[list(DOMAINS)]
        heights = [bar.get_height() for bar in parts["bars"]]
        np.testing.assert_allclose(heights, rows["smoothness"])
        np.testing.assert_allclose(parts["chance"].get_segments()[0][:, 1], rows["chance"].iloc[0])
        assert parts["chance"].get_linestyle()[0][1] is not None  # dashed


def test_selectivity_curves_band_and_nan(curves):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    drawn = plot_selectivity_vs_distance(axes[0], curves, "bodies")
    assert list(drawn) == list(MODELS)
    sub = curves[(curves["model"] == "baseline") & (curves["domain"] == "bodies")]
    mean, sem = sub["mean_difference"].to_numpy(), sub["sem"].to_numpy()
    vertices = np.concatenate([p.vertices for p in drawn["baseline"]["band"].get_paths()])
    ys = {round(v, 9) for v in vertices[:, 1]}
    assert {round(v, 9) for v in np.r_[mean - sem, mean + sem]} <= ys
    assert max(ys) == pytest.approx((mean + sem).max())
    assert min(ys) == pytest.approx((mean - sem).min())
    np.testing.assert_allclose(drawn["baseline"]["line"].get_ydata(), mean)
    chance = drawn["baseline"]["chance"]
    assert chance.get_linestyle() == "--"
    assert chance.get_color() == drawn["baseline"]["line"].get_color()
    holes = curves.copy()
    holes.loc[holes.index[::3], ["mean_difference", "sem", "chance_mean_difference"]] = np.nan
    drawn = plot_selectivity_vs_distance(axes[1], holes, "faces")
    assert len(drawn) == 2
    fig.canvas.draw()


def test_generalization_bars(generalization):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    drawn = plot_generalization_bars(ax, generalization)
    heights = [bar.get_height() for bar in drawn["baseline"]]
    np.testing.assert_allclose(heights, generalization.loc[generalization["model"] == "baseline",
                                                           "correlation"])


def test_it_summary_figure(smoothness, curves, generalization, tmp_path):
    fig = it_summary_figure(smoothness, curves, layer="layer4")
    assert len(fig.axes) == 3
    assert [ax.get_title() for ax in fig.axes[1:]] == ["faces selectivity vs distance",
                                                       "bodies selectivity vs distance"]
    fig = it_summary_figure(smoothness[smoothness["model"] == "baseline"], curves,
                            generalization, domains=("bodies", "objects"))
    assert len(fig.axes) == 4
    assert fig.axes[2].get_title() == "objects selectivity vs distance"
    assert fig.axes[3].get_title() == "fLoc vs 92-image t-maps"
    (bars,) = [c for c in fig.axes[0].containers if isinstance(c, BarContainer)]
    assert len(bars) == len(DOMAINS)  # one model
    for ext in ("png", "pdf"):
        fig.savefig(tmp_path / f"summary.{ext}", dpi=50)
    assert matplotlib.image.imread(tmp_path / "summary.png")[..., :3].std() > 0.01
    assert (tmp_path / "summary.pdf").stat().st_size > 1000
