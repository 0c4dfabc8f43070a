"""The Cowley 2023 V4 benchmark: loading, split-half ceiling and PLS predictivity (exact and Brain-Score's)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from topoanalysis.brain.v4 import (
    CEILING_SESSION,
    V4_SESSIONS,
    brainscore_ceiling,
    ceiling_value,
    load_v4_repeats,
    load_v4_session,
    pls_predictivity,
    split_half_ceiling,
    split_half_reliabilities,
)
from topoanalysis.datasets.resolver import SHARED_DATA_DIR

DATA = SHARED_DATA_DIR / "v4_cowley2023"
needs_data = pytest.mark.skipif(not (DATA / f"responses_{CEILING_SESSION}.npy").is_file(),
                                reason=f"V4 data not available at {DATA}")


@pytest.fixture(scope="module")
def brainscore():
    """Import brainscore_vision once for the module (the first import is slow)."""
    os.environ.setdefault("BS_INSTALL_DEPENDENCIES", "no")
    return pytest.importorskip("brainscore_vision")


def _noisy_repeats(rng, signal_sd, noise_sd, n_neurons=20, n_images=1000, n_repeats=8):
    signal = rng.normal(0.0, signal_sd, size=(n_neurons, n_images, 1))
    return signal + rng.normal(0.0, noise_sd, size=(n_neurons, n_images, n_repeats))


@needs_data
def test_load_session_real():
    stimuli, responses = load_v4_session(CEILING_SESSION)
    assert len(stimuli) == 640 and responses.shape == (640, 50) and responses.dtype == np.float64
    assert stimuli.images.dtype == np.uint8 and stimuli.images.shape == (640, 112, 112, 3)
    assert stimuli.labels.stimulus_id.iloc[0] == "v4-210325-0001"
    assert stimuli.labels.image_index.tolist() == list(range(640))
    assert (stimuli.labels.session == CEILING_SESSION).all() and stimuli.degrees > 0
    np.testing.assert_allclose(responses, np.nanmean(load_v4_repeats(), axis=2).T)
    small, same = load_v4_session(int(CEILING_SESSION), image_size_px=32)
    assert small.images.shape == (640, 32, 32, 3)
    np.testing.assert_array_equal(same, responses)


def test_load_session_errors(tmp_path):
    with pytest.raises(ValueError, match="210325"):
        load_v4_session("999999", tmp_path)
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        load_v4_session(CEILING_SESSION, missing)
    with pytest.raises(ValueError, match="image_size_px"):
        load_v4_session(CEILING_SESSION, missing, image_size_px=0)
    assert len(V4_SESSIONS) == 12 and CEILING_SESSION in V4_SESSIONS


def test_split_half_ceiling_matches_spearman_brown():
    rng = np.random.default_rng(0)
    signal_var, noise_var, n_repeats = 1.0, 4.0, 8
    expected = signal_var / (signal_var + noise_var / n_repeats)
    raw = _noisy_repeats(rng, signal_var ** 0.5, noise_var ** 0.5, n_repeats=n_repeats)
    table = split_half_ceiling(raw, rng=rng, n_splits=50)
    assert table.columns.tolist() == ["neuron", "reliability"] and len(table) == 20
    assert abs(table.reliability.mean() - expected) < 0.03
    assert np.all(np.abs(table.reliability - expected) < 0.1)
    assert abs(ceiling_value(table) - expected) < 0.04

    noise = split_half_ceiling(_noisy_repeats(rng, 0.0, 1.0), rng=rng, n_splits=50)
    assert abs(noise.reliability.mean()) < 0.03 and np.all(np.abs(noise.reliability) < 0.2)


def test_split_half_ceiling_handles_nan_repeats():
    rng = np.random.default_rng(1)
    raw = np.concatenate([_noisy_repeats(rng, 1.0, 2.0, n_repeats=8), np.full((20, 1000, 2), np.nan)], axis=2)
    drop = rng.random(raw.shape) < 0.1  # missing repeats anywhere, not only at the end
    raw[drop] = np.nan
    raw[:, :5, 1:] = np.nan  # images with a single repeat are left out
    table = split_half_ceiling(raw, rng=rng, n_splits=30)
    n_eff = 8 * 0.9
    assert np.isfinite(table.reliability).all()
    assert abs(table.reliability.mean() - 1.0 / (1.0 + 4.0 / n_eff)) < 0.03
    again = split_half_ceiling(raw, rng=np.random.default_rng(5), n_splits=5)
    assert again.equals(split_half_ceiling(raw, rng=np.random.default_rng(5), n_splits=5))
    with pytest.raises(ValueError):
        split_half_ceiling(raw[0], rng=rng)


@needs_data
def test_split_half_ceiling_real():
    table = split_half_ceiling(load_v4_repeats(), rng=np.random.default_rng(0), n_splits=20)
    assert len(table) == 50 and 0.0 < ceiling_value(table) < 1.0


def _linear_population(rng, n_stimuli=300, n_features=40, n_neurons=30):
    features = rng.normal(size=(n_stimuli, n_features))
    neural = features @ rng.normal(size=(n_features, n_neurons)) + 0.1 * rng.normal(size=(n_stimuli, n_neurons))
    return features, neural, [f"s{i:04d}" for i in range(n_stimuli)]


def test_pls_predictivity_linear_population():
    rng = np.random.default_rng(0)
    features, neural, ids = _linear_population(rng)
    out = pls_predictivity(features, neural, ids, rng=3)
    assert out["raw"] > 0.9 and out["metric"].startswith("exact kernel PLS")
    assert out["n_neurons"] == 30 and out["n_images"] == 300 and out["n_components"] == 25
    assert out["per_neuron"].shape == (30,) and np.all(out["per_neuron"] > 0.8)
    again = pls_predictivity(features, neural, ids, rng=3, device="cpu")
    assert again["raw"] == out["raw"]
    np.testing.assert_array_equal(again["per_neuron"], out["per_neuron"])
    shuffled = pls_predictivity(features[rng.permutation(300)], neural, ids, rng=3)
    assert shuffled["raw"] < 0.2


def test_pls_predictivity_exact_agrees_with_brainscore(brainscore):
    """Same splits, same statistic: the exact fit and Brain-Score's NIPALS (tolerance 1e-6) agree."""
    rng = np.random.default_rng(0)
    features, neural, ids = _linear_population(rng)
    exact = pls_predictivity(features, neural, ids, rng=3)
    reference = pls_predictivity(features, neural, ids, rng=3, method="brainscore")
    assert reference["metric"] == "brainscore_vision pls" and reference["random_state"] == exact["random_state"]
    assert abs(exact["raw"] - reference["raw"]) < 1e-3
    np.testing.assert_allclose(exact["per_neuron"], reference["per_neuron"], atol=2e-3)
    wide = rng.normal(size=(120, 500))  # more features than images, fewer components
    neural = wide[:, :10] @ rng.normal(size=(10, 8)) + rng.normal(size=(120, 8))
    ids = [f"w{i}" for i in range(120)]
    exact = pls_predictivity(wide, neural, ids, rng=1, n_splits=3, n_components=5)
    reference = pls_predictivity(wide, neural, ids, rng=1, n_splits=3, n_components=5, method="brainscore")
    assert exact["n_components"] == reference["n_components"] == 5
    np.testing.assert_allclose(exact["per_neuron"], reference["per_neuron"], atol=2e-3)


def test_pls_predictivity_few_features_and_errors():
    rng = np.random.default_rng(1)
    features, neural, ids = _linear_population(rng, n_features=6, n_neurons=5)
    out = pls_predictivity(features.reshape(300, 2, 3), neural, ids, rng=np.random.default_rng(0), n_splits=3)
    assert out["n_components"] == 6 and out["raw"] > 0.9
    duplicated = np.concatenate([features, features[:, :2] + features[:, 2:4]], axis=1)  # rank stays 6
    assert pls_predictivity(duplicated, neural, ids, rng=0, n_splits=2)["n_components"] == 6
    with pytest.raises(ValueError, match="unique"):
        pls_predictivity(features, neural, ["a"] * 300, rng=0)
    with pytest.raises(ValueError, match="constant"):
        pls_predictivity(np.ones((300, 4)), neural, ids, rng=0)
    with pytest.raises(ValueError, match="unknown PLS method 'nipals'.*exact, brainscore"):
        pls_predictivity(features, neural, ids, rng=0, method="nipals")
    with pytest.raises(ValueError, match="n_splits"):
        pls_predictivity(features, neural, ids, rng=0, n_splits=0)


def test_the_ceiling_aggregates_in_brainscores_order():
    """Median over neurons per split, then mean over splits; not the median of the split means."""
    reliabilities = np.array([[0.0, 0.2, 1.0], [0.9, 0.6, 0.3]])  # split medians 0.2 and 0.6
    assert brainscore_ceiling(reliabilities) == pytest.approx(0.4)
    table = pd.DataFrame({"neuron": [0, 1, 2], "reliability": reliabilities.mean(0)})  # 0.45, 0.4, 0.65
    assert ceiling_value(table) == pytest.approx(0.45)
    rng = np.random.default_rng(3)
    raw = rng.normal(size=(4, 30, 1)) + rng.normal(size=(4, 30, 6))
    per_split = split_half_reliabilities(raw, rng=np.random.default_rng(1), n_splits=7)
    assert per_split.shape == (7, 4)
    np.testing.assert_allclose(split_half_ceiling(raw, rng=np.random.default_rng(1), n_splits=7)["reliability"],
                               per_split.mean(0))
