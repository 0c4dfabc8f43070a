"""RSA primitives on known answers, and the RSA benchmarks on the real files in ../shared/data/rsa92."""

import re
from pathlib import Path

import numpy as np
import pytest

from topoanalysis.brain import rsa
from topoanalysis.brain.rsa import (
    RSA_BENCHMARKS,
    load_algonauts_rdms,
    load_human_it_subject_rdms,
    noise_ceiling,
    rdm,
    rsa_benchmark,
    rsa_score,
    upper_triangle,
)
from topoanalysis.datasets import resolver

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "rsa92"
FILES = ["Kriegeskorte_Neuron2008_supplementalData.mat", "92_brainRDMs.mat", "algonauts2019_target_fmri_92.mat"]
MISSING = [f for f in FILES if not (DATA / f).is_file()]
needs_data = pytest.mark.skipif(bool(MISSING), reason=f"real RSA data not present in {DATA}: {MISSING}")


@pytest.fixture(autouse=True)
def _no_env_var(monkeypatch):
    monkeypatch.delenv(resolver.DATA_ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def monkey_it():
    if MISSING:
        pytest.skip(f"real RSA data not present in {DATA}: {MISSING}")
    from topoanalysis.stimuli.rsa92 import load_rsa92_rdms

    return load_rsa92_rdms(DATA)


def _random_rdm(rng, n):
    m = np.zeros((n, n))
    m[np.triu_indices(n, 1)] = rng.standard_normal(n * (n - 1) // 2)
    return m + m.T


def test_rdm_matches_brute_force_and_drops_constant_units():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 20))
    expected = np.array([[1 - np.corrcoef(x[i], x[j])[0, 1] for j in range(7)] for i in range(7)])
    np.testing.assert_allclose(rdm(x), expected, atol=1e-12)
    assert np.array_equal(np.diag(rdm(x)), np.zeros(7)) and np.array_equal(rdm(x), rdm(x).T)
    padded = np.hstack([np.zeros((7, 3)), x, np.full((7, 2), 5.0)])  # silent and saturated units
    np.testing.assert_allclose(rdm(padded), expected, atol=1e-12)
    assert not np.allclose(rdm(np.hstack([x, rng.standard_normal((7, 3))])), expected)


def test_rdm_silent_layer_and_flat_stimulus():
    with pytest.raises(ValueError, match="silent"):
        rdm(np.zeros((5, 10)))
    one_unit = np.zeros((5, 10))
    one_unit[:, 3] = np.arange(5)
    with pytest.raises(ValueError, match="silent"):
        rdm(one_unit)
    x = np.random.default_rng(1).random((5, 10))
    x[2] = 0.0  # no unit responds to stimulus 2
    d = rdm(x)
    assert np.isnan(d[2]).all() and np.isnan(d[:, 2]).all()
    keep = [0, 1, 3, 4]
    assert np.isfinite(d[np.ix_(keep, keep)]).all()
    np.testing.assert_allclose(d[np.ix_(keep, keep)], rdm(x[keep]), atol=1e-12)
    assert rsa_score(d, d) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        rdm(np.ones(5))


def test_upper_triangle_and_rsa_score_validation():
    assert upper_triangle(np.arange(16).reshape(4, 4)).tolist() == [1, 2, 3, 6, 7, 11]
    with pytest.raises(ValueError):
        upper_triangle(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"\(92, 92\).*\(91, 91\)"):
        rsa_score(np.zeros((92, 92)), np.zeros((91, 91)))
    a = _random_rdm(np.random.default_rng(2), 10)
    assert rsa_score(a, -a) == pytest.approx(-1.0)
    assert rsa_score(a, np.exp(3 * a)) == pytest.approx(1.0)  # rank-based, not Pearson
    assert np.isnan(rsa_score(a, np.zeros((10, 10))))


@needs_data
def test_rsa_score_on_real_monkey_it(monkey_it):
    m = monkey_it["monkey_it"]
    assert rsa_score(m, m) == 1.0
    rng = np.random.default_rng(3)
    perm = rng.permutation(92)
    assert abs(rsa_score(m, m[np.ix_(perm, perm)])) < 0.1
    noisy = m + np.std(upper_triangle(m)) * _random_rdm(rng, 92)
    assert 0.4 < rsa_score(m, noisy) < 0.9


def test_noise_ceiling_known_answers():
    rng = np.random.default_rng(4)
    common = _random_rdm(rng, 100)
    assert noise_ceiling(np.stack([common] * 4)) == pytest.approx((1.0, 1.0))
    lower, upper = noise_ceiling(np.stack([_random_rdm(rng, 100) for _ in range(10)]))
    assert abs(lower) < 0.05 and lower <= upper
    # independent subjects: rho(subject, mean of 10) ~ (6/pi) asin(1 / (2 sqrt 10)) = 0.303, not 0
    assert upper == pytest.approx(6 / np.pi * np.arcsin(1 / (2 * np.sqrt(10))), abs=0.03)
    lower, upper = noise_ceiling(np.stack([common + _random_rdm(rng, 100) for _ in range(6)]))
    assert 0 < lower < upper < 1
    # Pearson r of c + e with c + mean of 5 (lower) or 6 (upper) noises, as Spearman
    spearman = lambda r: 6 / np.pi * np.arcsin(r / 2)  # noqa: E731
    assert lower == pytest.approx(spearman(1 / np.sqrt(2 * 1.2)), abs=0.03)
    assert upper == pytest.approx(spearman(np.sqrt(7 / 12)), abs=0.03)
    with pytest.raises(ValueError, match="2 subjects"):
        noise_ceiling(common[None])
    with pytest.raises(ValueError):
        noise_ceiling(common)


@needs_data
@pytest.mark.parametrize("sessions", [True, False])
def test_human_it_subject_rdms(monkey_it, sessions):
    s = load_human_it_subject_rdms(DATA, average_sessions=sessions)
    assert s.shape == ((4, 92, 92) if sessions else (8, 92, 92))
    assert np.isfinite(s).all() and np.array_equal(s, s.transpose(0, 2, 1))
    assert not np.diagonal(s, axis1=1, axis2=2).any()
    assert upper_triangle(s[0]).min() > 0 and not np.allclose(s[0], s[1])
    np.testing.assert_allclose(s.mean(axis=0), monkey_it["human_it"], atol=1e-12)  # = published group RDM
    if not sessions:
        np.testing.assert_allclose(s.reshape(4, 2, 92, 92).mean(1), load_human_it_subject_rdms(DATA), atol=0)


@needs_data
def test_algonauts_rdms():
    it, evc = load_algonauts_rdms("IT", DATA), load_algonauts_rdms("EVC", DATA / FILES[2])
    for s in (it, evc):
        assert s.shape == (15, 92, 92) and np.isfinite(s).all()
        assert np.array_equal(s, s.transpose(0, 2, 1)) and not np.diagonal(s, axis1=1, axis2=2).any()
        assert upper_triangle(s[0]).min() > 0 and not np.allclose(s[0], s[1])
    assert not np.allclose(it, evc)
    assert rsa_score(it.mean(0), evc.mean(0)) < 0.9
    with pytest.raises(ValueError, match="'EVC', 'IT'"):
        load_algonauts_rdms("V4", DATA)


def test_missing_files_name_the_path(tmp_path):
    for load in (load_human_it_subject_rdms, lambda p: load_algonauts_rdms("IT", p)):
        with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path))):
            load(tmp_path)
    with pytest.raises(FileNotFoundError, match="92_brainRDMs.mat"):
        rsa_benchmark("IT-RSA-Kriegeskorte2008", np.zeros((92, 92)), tmp_path)


def test_benchmark_argument_errors():
    with pytest.raises(ValueError, match="IT-RSA-Kiani2007"):
        rsa_benchmark("nope", np.zeros((92, 92)))
    with pytest.raises(ValueError, match=r"\(10, 10\)"):
        rsa_benchmark("IT-RSA-Kiani2007", np.zeros((10, 10)))
    assert set(RSA_BENCHMARKS) == {"IT-RSA-Kiani2007", "IT-RSA-Kriegeskorte2008", "IT-RSA-Algonauts2019",
                                   "EVC-RSA-Algonauts2019"}


@needs_data
def test_benchmarks_on_real_data(monkey_it):
    mk, human = monkey_it["monkey_it"], monkey_it["human_it"]
    r = rsa_benchmark("IT-RSA-Kiani2007", mk, DATA)
    assert r["raw"] == 1.0 and r["score"] == 1.0 and r["ceiling"] is None and r["n_subjects"] == 1
    r = rsa_benchmark("IT-RSA-Kriegeskorte2008", human, DATA)
    assert r["raw"] == pytest.approx(1.0) and r["n_subjects"] == 4
    assert r["subject_mean"] == pytest.approx(r["ceiling_upper"]) and r["score"] == pytest.approx(1.0)
    for name in ("IT-RSA-Kriegeskorte2008", "IT-RSA-Algonauts2019", "EVC-RSA-Algonauts2019"):
        r = rsa_benchmark(name, mk, DATA)
        assert 0 < r["ceiling_lower"] < r["ceiling_upper"] <= 1 and r["ceiling"] == r["ceiling_upper"]
        assert r["score"] == pytest.approx(r["subject_mean"] / r["ceiling_upper"])
        assert r["region"] == RSA_BENCHMARKS[name]["region"] and r["reference"]
    # Kriegeskorte 2008's main result: monkey and human IT share their representational geometry.
    assert rsa_benchmark("IT-RSA-Kriegeskorte2008", mk, DATA)["raw"] > 0.3
    assert rsa_benchmark("IT-RSA-Kiani2007", human, DATA)["raw"] > 0.3
    # IT data fit monkey IT better than EVC data do.
    it = rsa_benchmark("IT-RSA-Algonauts2019", mk, DATA)["raw"]
    assert it > rsa_benchmark("EVC-RSA-Algonauts2019", mk, DATA)["raw"] + 0.1


def test_no_module_level_data_loading():
    assert not any(isinstance(v, np.ndarray) for v in vars(rsa).values())


# --- against rsatoolbox, the field's RSA library ---

def _rsatoolbox_rdms(matrices):
    from rsatoolbox.rdm import RDMs

    matrices = np.asarray(matrices, dtype=float)
    return RDMs(np.stack([upper_triangle(m) for m in matrices]), dissimilarity_measure="correlation")


def test_rdm_and_rsa_agree_with_rsatoolbox():
    pytest.importorskip("rsatoolbox")
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm, compare

    rng = np.random.default_rng(4)
    features = rng.normal(size=(20, 50))
    theirs = calc_rdm(Dataset(features), method="correlation").get_matrices()[0]
    np.testing.assert_allclose(rdm(features), theirs, atol=1e-12)
    a, b = _random_rdm(rng, 20), _random_rdm(rng, 20)
    assert rsa_score(a, b) == pytest.approx(float(compare(_rsatoolbox_rdms([a]), _rsatoolbox_rdms([b]),
                                                          method="spearman")[0, 0]), abs=1e-12)


@needs_data
def test_nili_ceiling_agrees_with_rsatoolbox_on_human_it():
    """rsatoolbox rank-transforms RDMs before averaging them for Spearman; we average them as they are
    (the reference is then the group RDM models are compared with): the bounds differ by under 0.01."""
    pytest.importorskip("rsatoolbox")
    from rsatoolbox.inference import boot_noise_ceiling

    for subjects in (load_human_it_subject_rdms(DATA), load_algonauts_rdms("IT", DATA)):
        lower, upper = noise_ceiling(subjects)
        their_lower, their_upper = boot_noise_ceiling(_rsatoolbox_rdms(subjects), method="spearman")
        assert abs(lower - their_lower) < 0.01 and abs(upper - their_upper) < 0.01
