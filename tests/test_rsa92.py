"""Kriegeskorte et al. (2008) 92-image set and IT RDMs, on the real file in ../shared/data/rsa92."""

from pathlib import Path

import numpy as np
import pytest

from topoanalysis.datasets import resolver
from topoanalysis.stimuli.rsa92 import RSA92_FILENAME, find_rsa92_file, load_rsa92, load_rsa92_rdms

REAL_FILE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / RSA92_FILENAME
needs_real_file = pytest.mark.skipif(
    not REAL_FILE.is_file(), reason=f"real Kriegeskorte 2008 data not present at {REAL_FILE}"
)
LABEL_COUNTS = {
    "animate": 48, "inanimate": 44, "human": 24, "nonhuman": 24, "body": 24, "face": 24,
    "natural_object": 23, "artificial_object": 21, "monkey_ape": 7,
}


@pytest.fixture(autouse=True)
def _no_env_var(monkeypatch):
    monkeypatch.delenv(resolver.DATA_ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def rsa92():
    if not REAL_FILE.is_file():
        pytest.skip(f"real Kriegeskorte 2008 data not present at {REAL_FILE}")
    return load_rsa92(REAL_FILE)


@needs_real_file
def test_images_and_labels(rsa92):
    s = rsa92
    assert s.name == "rsa92" and s.degrees == 8.0 and len(s) == 92
    assert s.images.shape == (92, 175, 175, 3) and s.images.dtype == np.uint8
    labels = s.labels
    assert labels.stimulus_id.is_unique
    assert labels.stimulus_id.iloc[0] == "rsa92-01" and labels.stimulus_id.iloc[-1] == "rsa92-92"
    assert list(labels.image_index) == list(range(92))
    assert list(labels.columns) == ["stimulus_id", "image_index", "category", *LABEL_COUNTS]
    assert {c: int(labels[c].sum()) for c in LABEL_COUNTS} == LABEL_COUNTS
    assert labels.category.value_counts().to_dict() == {
        "natural inanimate": 23, "artificial inanimate": 21, "human bodypart": 12,
        "human face": 12, "nonhuman bodypart": 12, "nonhuman face": 12,
    }
    assert (labels.face <= labels.animate).all() and (labels.body <= labels.animate).all()
    assert (labels.animate ^ labels.inanimate).all() and (labels.monkey_ape <= labels.nonhuman).all()
    assert (labels.face == labels.category.str.endswith("face")).all()
    assert s.images.std() > 10  # real pictures, not blank


@needs_real_file
def test_resize(rsa92):
    small = load_rsa92(REAL_FILE, image_size_px=32, degrees=4.0)
    assert small.images.shape == (92, 32, 32, 3) and small.images.dtype == np.uint8
    assert small.degrees == 4.0 and small.labels.equals(rsa92.labels)
    # bicubic shrink keeps the mean brightness of each image roughly
    assert np.allclose(small.images.mean((1, 2, 3)), rsa92.images.mean((1, 2, 3)), atol=8)
    with pytest.raises(ValueError, match="positive integer"):
        load_rsa92(REAL_FILE, image_size_px=0)


@needs_real_file
def test_find_explicit_file_folder_and_env_var(tmp_path, monkeypatch):
    assert find_rsa92_file(REAL_FILE) == REAL_FILE
    assert find_rsa92_file(REAL_FILE.parent) == REAL_FILE
    assert find_rsa92_file(REAL_FILE.parents[1]) == REAL_FILE.parents[1] / RSA92_FILENAME
    monkeypatch.setattr(resolver, "SHARED_DATA_DIR", tmp_path / "nothing")
    monkeypatch.setenv(resolver.DATA_ENV_VAR, str(REAL_FILE.parents[1]))
    assert find_rsa92_file() == REAL_FILE.parents[1] / RSA92_FILENAME
    monkeypatch.delenv(resolver.DATA_ENV_VAR)
    monkeypatch.setattr(resolver, "SHARED_DATA_DIR", REAL_FILE.parents[1])
    assert find_rsa92_file() == REAL_FILE


def test_missing_lists_every_place(tmp_path, monkeypatch):
    monkeypatch.setenv(resolver.DATA_ENV_VAR, str(tmp_path / "env_root"))
    monkeypatch.setattr(resolver, "SHARED_DATA_DIR", tmp_path / "shared_data")
    with pytest.raises(FileNotFoundError) as info:
        load_rsa92()
    message = str(info.value)
    assert str(tmp_path / "env_root" / RSA92_FILENAME) in message
    assert str(tmp_path / "shared_data" / RSA92_FILENAME) in message
    assert "--rsa92 PATH" in message and resolver.DATA_ENV_VAR in message
    with pytest.raises(FileNotFoundError, match="nowhere") as info:
        find_rsa92_file(tmp_path / "nowhere.mat")
    with pytest.raises(FileNotFoundError) as info:  # a folder without the file: no fallback
        find_rsa92_file(tmp_path)
    assert str(tmp_path / "Kriegeskorte_Neuron2008_supplementalData.mat") in str(info.value)


def test_wrong_mat_file_is_named(tmp_path):
    import scipy.io

    wrong = tmp_path / "other.mat"
    scipy.io.savemat(wrong, {"categoryVectors": np.zeros((92, 12))})
    with pytest.raises(ValueError, match=r"other\.mat.*stimuli_92objs"):
        load_rsa92(wrong)
    with pytest.raises(ValueError, match=r"other\.mat.*RDMs_mIT_hIT_fig1"):
        load_rsa92_rdms(wrong)
    garbage = tmp_path / "garbage.mat"
    garbage.write_bytes(b"not a MATLAB file at all" * 10)
    with pytest.raises(ValueError, match=r"garbage\.mat"):
        load_rsa92(garbage)


@needs_real_file
def test_rdms(rsa92):
    rdms = load_rsa92_rdms(REAL_FILE.parent)
    assert set(rdms) == {"monkey_it", "human_it"}
    faces = np.flatnonzero(rsa92.labels.face)
    inanimate = np.flatnonzero(rsa92.labels.inanimate)
    for rdm in rdms.values():
        assert rdm.shape == (92, 92) and rdm.dtype == np.float64
        assert np.array_equal(rdm, rdm.T) and np.all(np.diag(rdm) == 0)
        assert np.all(rdm[~np.eye(92, dtype=bool)] > 0)
    monkey = rdms["monkey_it"]
    within = monkey[np.ix_(faces, faces)][~np.eye(24, dtype=bool)].mean()
    between = monkey[np.ix_(faces, inanimate)].mean()
    assert within < between - 0.1  # IT clusters faces (Kriegeskorte 2008, Fig. 1)
    assert not np.allclose(monkey, rdms["human_it"])


def test_disagreeing_flags_are_reported(tmp_path):
    import scipy.io

    fields = ["category", "human", "face", "animal", "natural", "image"]
    stimuli = np.empty(92, dtype=[(f, "O") for f in fields])
    for i in range(92):
        face = int(i < 2)
        stimuli[i] = ("human face" if face else "natural inanimate", face, face, face, 1,
                      np.full((5, 5, 3), i, np.uint8))
    vectors = np.zeros((92, 12), np.uint8)
    vectors[:2, [0, 2, 5]] = 1  # animate, human, face
    vectors[2:, [1, 6]] = 1  # inanimate, natural object
    names = np.array(["animate", "inanim", "human", "nonhumani", "body", "face", "natObj",
                      "artiObj", "rand24", "rand48", "other48", "monkeyape"], dtype=object)
    fake = tmp_path / "fake.mat"
    content = {"stimuli_92objs": stimuli, "categoryVectors": vectors, "categoryLabels": names}
    scipy.io.savemat(fake, content)
    s = load_rsa92(fake)
    assert s.images.shape == (92, 5, 5, 3) and s.labels.face.sum() == 2 and s.images[3, 0, 0, 0] == 3
    stimuli[1]["face"] = 0
    scipy.io.savemat(fake, content)
    with pytest.raises(ValueError, match=r"fake\.mat.*'face' disagrees with categoryVectors at \[1\]"):
        load_rsa92(fake)
