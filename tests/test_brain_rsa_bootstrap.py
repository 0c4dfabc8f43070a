"""Image-bootstrap replicates of the RSA benchmarks, on the real RDMs in ../shared/data/rsa92."""

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from topoanalysis.brain.rsa import (
    RSA_BENCHMARKS,
    load_algonauts_rdms,
    load_human_it_subject_rdms,
    noise_ceiling,
    rsa_benchmark,
    upper_triangle,
)
from topoanalysis.brain.rsa_bootstrap import bootstrap_image_indices, bootstrap_rsa_scores, rsa_benchmark_bootstrap
from topoanalysis.datasets import resolver

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rsa92"
FILES = ["Kriegeskorte_Neuron2008_supplementalData.mat", "92_brainRDMs.mat", "algonauts2019_target_fmri_92.mat"]
MISSING = [f for f in FILES if not (DATA / f).is_file()]


@pytest.fixture(autouse=True)
def _no_env_var(monkeypatch):
    monkeypatch.delenv(resolver.DATA_ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def rdms():
    if MISSING:
        pytest.skip(f"real RSA data not present in {DATA}: {MISSING}")
    from topoanalysis.stimuli.rsa92 import load_rsa92_rdms

    return load_rsa92_rdms(DATA)


def _noisy(rdm, scale, rng):
    """``rdm`` plus symmetric Gaussian noise of ``scale`` times its upper triangle's SD."""
    noise = np.triu(rng.standard_normal(rdm.shape), 1)
    return rdm + scale * np.std(upper_triangle(rdm)) * (noise + noise.T)


def _with_nan_image(rdm, image):
    """``rdm`` with one image's row and column undefined, as :func:`rdm` gives for a flat pattern."""
    out = rdm.copy()
    out[image, :] = out[:, image] = np.nan
    return out


def _brute_force(name, model, indices):
    """A benchmark's score on one resample, written out: the resampled upper triangle's entries whose
    two images differ, NaN model pairs dropped, scipy's Spearman per reference RDM."""
    a, b = np.triu_indices(92, 1)
    i, j = indices[a], indices[b]
    distinct = i != j
    i, j = i[distinct], j[distinct]
    if name == "IT-RSA-Kiani2007":
        from topoanalysis.stimuli.rsa92 import load_rsa92_rdms

        references, ceiling = [load_rsa92_rdms(DATA)["monkey_it"]], 1.0
    else:
        references = (load_human_it_subject_rdms(DATA) if "Kriegeskorte" in name
                      else load_algonauts_rdms(RSA_BENCHMARKS[name]["region"], DATA))
        ceiling = noise_ceiling(references)[1]
    x = model[i, j]
    keep = np.isfinite(x)
    return np.mean([spearmanr(x[keep], ref[i, j][keep])[0] for ref in references]) / ceiling


@pytest.mark.parametrize("name", list(RSA_BENCHMARKS))
def test_identity_resamples_give_the_benchmark_score(rdms, name):
    rng = np.random.default_rng(0)
    identity = np.tile(np.arange(92), (3, 1))
    for model in (_noisy(rdms["monkey_it"], 1.0, rng), _with_nan_image(_noisy(rdms["human_it"], 0.5, rng), 7)):
        expected = rsa_benchmark(name, model, DATA)["score"]
        assert np.isfinite(expected)
        np.testing.assert_allclose(rsa_benchmark_bootstrap(name, model, identity, DATA), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(RSA_BENCHMARKS))
def test_replicates_match_a_brute_force_loop(rdms, name):
    rng = np.random.default_rng(1)
    model = _with_nan_image(_noisy(rdms["monkey_it"], 0.7, rng), 30)
    indices = bootstrap_image_indices(3, np.random.default_rng(2))
    assert all(len(np.unique(row)) < 92 for row in indices)  # resamples do repeat images
    got = rsa_benchmark_bootstrap(name, model, indices, DATA)
    np.testing.assert_allclose(got, [_brute_force(name, model, row) for row in indices], rtol=0, atol=1e-12)


def test_a_replicate_matches_rsatoolbox_pattern_bootstrap(rdms):
    """rsatoolbox's ``subsample_pattern`` marks same-image pairs NaN and its Spearman ``compare`` drops them."""
    pytest.importorskip("rsatoolbox")
    from rsatoolbox.rdm import RDMs, compare

    def as_rdms(m):
        return RDMs(upper_triangle(m)[None], dissimilarity_measure="correlation")

    for row in bootstrap_image_indices(3, np.random.default_rng(3)):
        theirs = compare(as_rdms(rdms["human_it"]).subsample_pattern("index", row),
                         as_rdms(rdms["monkey_it"]).subsample_pattern("index", row), method="spearman")[0, 0]
        ours = bootstrap_rsa_scores(rdms["human_it"], rdms["monkey_it"], row[None])[0]
        assert ours == pytest.approx(float(theirs), abs=1e-12)


def test_spread_known_answers(rdms):
    monkey = rdms["monkey_it"]
    indices = bootstrap_image_indices(200, np.random.default_rng(4))
    # a monotone transform of the reference RDM ranks every resample identically: rho = 1, no spread
    exact = rsa_benchmark_bootstrap("IT-RSA-Kiani2007", np.exp(3 * monkey), indices, DATA)
    np.testing.assert_allclose(exact, 1.0, rtol=0, atol=1e-12)
    # noisier models agree less, and less stably over images
    rng = np.random.default_rng(5)
    spread = [rsa_benchmark_bootstrap("IT-RSA-Kiani2007", _noisy(monkey, scale, rng), indices, DATA)
              for scale in (0.3, 1.0, 3.0)]
    means, sds = [s.mean() for s in spread], [s.std() for s in spread]
    assert means[0] > means[1] > means[2] > 0 and 0 < sds[0] < sds[1] < sds[2]
    # the replicates centre on the full-set score
    full = rsa_benchmark("IT-RSA-Kiani2007", _noisy(monkey, 1.0, np.random.default_rng(6)), DATA)["score"]
    boot = rsa_benchmark_bootstrap("IT-RSA-Kiani2007", _noisy(monkey, 1.0, np.random.default_rng(6)), indices, DATA)
    assert abs(boot.mean() - full) < boot.std()


def test_ceiling_is_held_at_the_full_set_value(rdms):
    """Ceiled benchmarks: replicate = mean per-subject rho on the resample over the full-set upper bound."""
    subjects = load_human_it_subject_rdms(DATA)
    model = _noisy(rdms["monkey_it"], 1.0, np.random.default_rng(7))
    indices = bootstrap_image_indices(20, np.random.default_rng(8))
    upper = rsa_benchmark("IT-RSA-Kriegeskorte2008", model, DATA)["ceiling_upper"]
    np.testing.assert_allclose(rsa_benchmark_bootstrap("IT-RSA-Kriegeskorte2008", model, indices, DATA),
                               bootstrap_rsa_scores(model, subjects, indices) / upper, rtol=0, atol=1e-12)


def test_distinct_pairs_only():
    a = np.array([[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]], float)
    b = np.array([[0, 1, 2, 3], [1, 0, 4, 6], [2, 4, 0, 5], [3, 6, 5, 0]], float)
    # images (0, 0, 2, 3): pairs {0,2} x2, {0,3} x2, {2,3}; the (0, 0) entry is not a pair
    rho = spearmanr([2, 3, 2, 3, 6], [2, 3, 2, 3, 5])[0]
    assert bootstrap_rsa_scores(a, b, np.array([[0, 0, 2, 3]]))[0] == pytest.approx(rho, abs=1e-12)
    # one image drawn four times, or two images: fewer than 3 pairs, no rho
    assert np.isnan(bootstrap_rsa_scores(a, b, np.array([[1, 1, 1, 1], [0, 1, 0, 1]]))).all()
    assert bootstrap_rsa_scores(a, b, np.zeros((0, 4), int)).shape == (0,)


def test_indices_are_reproducible_from_the_seed():
    first = bootstrap_image_indices(1000, np.random.default_rng(11))
    assert first.shape == (1000, 92) and first.dtype == np.int64
    assert first.min() == 0 and first.max() == 91
    np.testing.assert_array_equal(first, bootstrap_image_indices(1000, np.random.default_rng(11)))
    assert not np.array_equal(first, bootstrap_image_indices(1000, np.random.default_rng(12)))
    # about 1 - 1/e of the images appear in a resample
    assert np.mean([len(np.unique(row)) for row in first]) == pytest.approx(92 * (1 - (91 / 92) ** 92), abs=0.5)
    assert bootstrap_image_indices(0, np.random.default_rng(0)).shape == (0, 92)


def test_bad_arguments_are_named():
    rng = np.random.default_rng(0)
    m = np.zeros((92, 92))
    for bad in (-1, 2.5, True):
        with pytest.raises(ValueError, match="n_bootstrap must be an integer >= 0"):
            bootstrap_image_indices(bad, rng)
    with pytest.raises(ValueError, match=r"\(n_boot, 92\)"):
        bootstrap_rsa_scores(m, m, np.zeros((3, 91), int))
    with pytest.raises(ValueError, match="integer"):
        bootstrap_rsa_scores(m, m, np.zeros((3, 92)))
    with pytest.raises(ValueError, match=r"\[0, 92\)"):
        bootstrap_rsa_scores(m, m, np.full((1, 92), 92))
    with pytest.raises(ValueError, match="same n"):
        bootstrap_rsa_scores(m, np.zeros((2, 91, 91)), np.zeros((1, 92), int))
    with pytest.raises(ValueError, match="finite"):
        bootstrap_rsa_scores(m, np.full((92, 92), np.nan), np.zeros((1, 92), int))
    with pytest.raises(ValueError, match="ceiling"):
        bootstrap_rsa_scores(m, m, np.zeros((1, 92), int), ceiling=0.0)
    with pytest.raises(ValueError, match="unknown RSA benchmark"):
        rsa_benchmark_bootstrap("IT-foo", m, np.zeros((1, 92), int))
    with pytest.raises(ValueError, match=r"\(92, 92\)"):
        rsa_benchmark_bootstrap("IT-RSA-Kiani2007", np.zeros((10, 10)), np.zeros((1, 92), int))
