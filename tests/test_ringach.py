"""Tests of the Ringach 2002 loader (topoanalysis.datasets.ringach) and the KS-based comparison
(topoanalysis.metrics.ringach)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.stats

from topoanalysis.datasets import resolver
from topoanalysis.datasets.ringach import RINGACH_FILENAME, find_ringach_file, load_ringach2002
from topoanalysis.metrics import ringach
from topoanalysis.metrics.ringach import RINGACH_MEDIAN_MAXDC_SPS, compare_with_ringach, ks_similarity

REAL_FILE = resolver.SHARED_DATA_DIR / RINGACH_FILENAME
needs_real = pytest.mark.skipif(not REAL_FILE.is_file(), reason=f"Ringach 2002 file not at {REAL_FILE}")


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    if not REAL_FILE.is_file():
        pytest.skip(f"Ringach 2002 file not at {REAL_FILE}")
    return load_ringach2002(REAL_FILE)


def _write_db(path, n: int = 3, drop: tuple[str, ...] = ()) -> None:
    fields = {"orivar": np.linspace(0.2, 0.8, n), "bw": np.array([20.0, 30.0, 180.0][:n]),
              "po": np.full(n, 0.1), "maxdc": np.full(n, 30.0), "mindc": np.full(n, 1.0),
              "maxfirst": np.full(n, 10.0), "spont": np.full(n, 0.5), "animal": np.array(["MA1"] * n, dtype=object),
              "unit": np.arange(n, dtype=np.uint8), "expt": np.zeros(n, np.uint8), "chan": np.ones(n, np.uint8)}
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"db": {k: v for k, v in fields.items() if k not in drop}})


@needs_real
def test_loader_on_real_file(real):
    assert len(real) == 308
    assert {"circular_variance", "bandwidth_deg", "orthogonal_preferred_ratio", "maxdc_sps", "mindc_sps",
            "maxfirst_sps", "spont_sps", "animal", "unit"} <= set(real.columns)
    assert "preferred_orientation_deg" not in real.columns
    assert real["circular_variance"].between(0, 1, inclusive="neither").all()
    assert real["bandwidth_deg"].median() == 23.5
    assert (real["bandwidth_deg"] == 180).sum() == 4
    assert real["orthogonal_preferred_ratio"].between(0, 1, inclusive="left").all()
    assert (real["mindc_sps"] <= real["maxdc_sps"]).all()
    assert real["animal"].map(type).eq(str).all() and real["animal"].str.match(r"^M[A-Z]\d$").all()
    assert real["unit"].dtype == np.int64
    for col in ("circular_variance", "bandwidth_deg", "maxdc_sps", "spont_sps"):
        assert real[col].dtype == np.float64


@needs_real
def test_median_maxdc_constant_matches_file(real):
    assert abs(RINGACH_MEDIAN_MAXDC_SPS - real["maxdc_sps"].median()) < 1e-6


def test_find_explicit_file_and_folders(tmp_path):
    file = tmp_path / "elsewhere" / "ringach_2002_db.mat"
    _write_db(file)
    assert find_ringach_file(file) == file
    assert find_ringach_file(file.parent) == file
    nested = tmp_path / RINGACH_FILENAME
    _write_db(nested)
    assert find_ringach_file(tmp_path) == nested


def test_find_env_var_before_shared(tmp_path, monkeypatch):
    monkeypatch.setenv(resolver.DATA_ENV_VAR, str(tmp_path))
    _write_db(tmp_path / RINGACH_FILENAME)
    assert find_ringach_file() == tmp_path / RINGACH_FILENAME
    assert list(load_ringach2002()["bandwidth_deg"]) == [20.0, 30.0, 180.0]


def test_find_missing_lists_places_tried(tmp_path, monkeypatch):
    monkeypatch.setenv(resolver.DATA_ENV_VAR, str(tmp_path / "env"))
    monkeypatch.setattr(resolver, "SHARED_DATA_DIR", tmp_path / "shared")
    with pytest.raises(FileNotFoundError, match="TOPOANALYSIS_DATA") as info:
        find_ringach_file()
    assert str(tmp_path / "env" / RINGACH_FILENAME) in str(info.value)
    assert str(tmp_path / "shared" / RINGACH_FILENAME) in str(info.value)
    with pytest.raises(FileNotFoundError, match="--ringach PATH"):
        find_ringach_file(tmp_path / "nope.mat")


def test_file_without_db_or_fields(tmp_path):
    bad = tmp_path / "bad.mat"
    scipy.io.savemat(bad, {"other": np.arange(3.0)})
    with pytest.raises(ValueError, match="bad.mat.*'db'"):
        load_ringach2002(bad)
    partial = tmp_path / "partial.mat"
    _write_db(partial, drop=("bw", "spont"))
    with pytest.raises(ValueError, match=r"partial.mat.*\['bw', 'spont'\]"):
        load_ringach2002(partial)


def test_ks_similarity_matches_scipy_with_ties():
    rng = np.random.default_rng(1)
    for _ in range(20):
        a = rng.integers(0, 8, size=rng.integers(5, 60)).astype(float)
        b = rng.integers(2, 10, size=rng.integers(5, 60)).astype(float)
        assert ks_similarity(a, b) == pytest.approx(1 - scipy.stats.ks_2samp(a, b).statistic, abs=1e-12)


def test_ks_similarity_known_values():
    x = np.array([0.3, 0.1, 0.1, 0.7])
    assert ks_similarity(x, x[::-1]) == 1.0
    assert ks_similarity([1.0, 2.0], [3.0, 4.0]) == 0.0
    assert ks_similarity([1.0, 2.0], [2.0, 3.0]) == 0.5
    assert ks_similarity([1.0, np.nan, 2.0], [1.0, 2.0, np.nan]) == 1.0
    with pytest.raises(ValueError, match="model"):
        ks_similarity([np.nan], [1.0])
    with pytest.raises(ValueError, match="reference"):
        ks_similarity([1.0], [])


@needs_real
def test_compare_own_values_and_shifted(real):
    own = compare_with_ringach(real["circular_variance"], real["bandwidth_deg"])
    assert list(own["property"]) == ["circular_variance", "bandwidth_deg"]
    assert own["similarity"].tolist() == [1.0, 1.0]
    assert own["n_model"].tolist() == [308, 308] and own["n_ringach"].tolist() == [308, 308]
    assert own.loc[1, "ringach_median"] == 23.5
    far = compare_with_ringach(real["circular_variance"] + 5, real["bandwidth_deg"] + 1000, real)
    assert far["similarity"].tolist() == [0.0, 0.0] and far["ks_statistic"].tolist() == [1.0, 1.0]
    assert "similarity_ci_low" not in far.columns


def test_compare_bootstrap_brackets_and_is_reproducible():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"circular_variance": rng.uniform(0, 1, 300), "bandwidth_deg": rng.gamma(4, 7, 300)})
    cv, bw = rng.uniform(0.1, 1, 200), rng.gamma(4, 8, 200)
    a = compare_with_ringach(cv, bw, ref, n_bootstrap=200, rng=np.random.default_rng(7))
    b = compare_with_ringach(cv, bw, ref, n_bootstrap=200, rng=np.random.default_rng(7))
    c = compare_with_ringach(cv, bw, ref, n_bootstrap=200, rng=np.random.default_rng(8))
    pd.testing.assert_frame_equal(a, b)
    assert not np.array_equal(a["similarity_ci_low"], c["similarity_ci_low"])
    # resampling adds noise, so bootstrap similarities lean low: the point may sit on the upper edge
    assert (a["similarity_ci_low"] < a["similarity"]).all() and (a["similarity"] <= a["similarity_ci_high"]).all()
    assert (a["similarity_ci_low"] < a["similarity_ci_high"]).all() and (a["similarity_ci_high"] <= 1).all()
    plain = compare_with_ringach(cv, bw, ref)
    np.testing.assert_array_equal(plain["similarity"], a["similarity"])
    with pytest.raises(ValueError, match="rng"):
        compare_with_ringach(cv, bw, ref, n_bootstrap=10)


def test_compare_drops_nans_and_uses_default_reference(monkeypatch):
    ref = pd.DataFrame({"circular_variance": [0.2, 0.4, 0.6], "bandwidth_deg": [10.0, 20.0, 180.0]})
    monkeypatch.setattr(ringach, "load_ringach2002", lambda path=None: ref)
    out = compare_with_ringach([0.2, np.nan, 0.4, 0.6], [10.0, 20.0, 180.0])
    assert out["n_model"].tolist() == [3, 3] and out["similarity"].tolist() == [1.0, 1.0]
    assert out["model_median"].tolist() == [0.4, 20.0]
