"""fLoc loader on the real images in ../shared/data/floc, plus the lookup rules (the data resolver's)."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from topoanalysis.datasets import resolver
from topoanalysis.stimuli import FLOC_DOMAINS, find_floc_dir, load_floc
from topoanalysis.stimuli import floc as floc_module
from topoanalysis.stimuli.floc import FLOC_CATEGORIES, FLOC_ENV_VAR

REAL_FLOC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "floc"
needs_real_floc = pytest.mark.skipif(
    not REAL_FLOC_DIR.is_dir(), reason=f"real fLoc images not present at {REAL_FLOC_DIR}"
)


@pytest.fixture(autouse=True)
def _no_env_var(monkeypatch):
    monkeypatch.delenv(FLOC_ENV_VAR, raising=False)


@pytest.fixture(scope="module")
def floc_set():
    if not REAL_FLOC_DIR.is_dir():
        pytest.skip(f"real fLoc images not present at {REAL_FLOC_DIR}")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(FLOC_ENV_VAR, raising=False)
        return load_floc()


@pytest.fixture
def small_floc_root(tmp_path) -> Path:
    """A data root with floc/ holding images 1-3 of each category (scrambled: 1-2), plus junk."""
    if not REAL_FLOC_DIR.is_dir():
        pytest.skip(f"real fLoc images not present at {REAL_FLOC_DIR}")
    folder = tmp_path / "data" / "floc"
    folder.mkdir(parents=True)
    for category in FLOC_CATEGORIES:
        for n in (1, 2) if category == "scrambled" else (1, 2, 3):
            shutil.copy(REAL_FLOC_DIR / f"{category}-{n}.jpg", folder)
    (folder / "README.txt").write_text("not an image")
    (folder / "adult-x.jpg").write_bytes(b"")  # does not match <category>-<N>.jpg
    return tmp_path / "data"


@needs_real_floc
def test_default_lookup_loads_all_real_images(floc_set):
    s = floc_set
    assert s.name == "floc" and s.degrees == 8.0 and len(s) == 1440
    assert s.images.shape == (1440, 224, 224, 3) and s.images.dtype == np.uint8
    assert np.array_equal(s.images[..., 0], s.images[..., 1])
    assert np.array_equal(s.images[..., 0], s.images[..., 2])
    assert "scrambled" not in set(s.labels.category)
    assert (s.labels.category.value_counts() == 144).all() and s.labels.category.nunique() == 10
    counts = s.labels.domain.value_counts()
    assert set(counts.index) == set(FLOC_DOMAINS) and (counts == 288).all()
    for domain, categories in FLOC_DOMAINS.items():
        assert set(s.labels.category[s.labels.domain == domain]) == set(categories)
    # order: category in FLOC_CATEGORIES order, then image number (numeric, not text)
    assert list(s.labels.category.unique()) == list(FLOC_CATEGORIES[:-1])
    assert list(s.labels.stimulus_id[:3]) == ["adult-1", "adult-2", "adult-3"]
    assert list(s.labels.image_number[:144]) == list(range(1, 145))
    assert s.labels.stimulus_id.is_unique
    assert Path(s.labels.path[0]).resolve() == (REAL_FLOC_DIR / "adult-1.jpg").resolve()
    assert find_floc_dir().resolve() == REAL_FLOC_DIR.resolve()


@needs_real_floc
def test_include_scrambled(floc_set):
    s = load_floc(include_scrambled=True)
    assert len(s) == 1584
    scrambled = s.labels.category == "scrambled"
    assert scrambled.sum() == 144 and (s.labels.domain[scrambled] == "scrambled").all()
    assert scrambled.iloc[-144:].all()  # scrambled comes last
    assert np.array_equal(s.images[:1440], floc_set.images)


def test_env_var_data_root(small_floc_root, monkeypatch):
    monkeypatch.setenv(FLOC_ENV_VAR, str(small_floc_root))
    assert find_floc_dir() == small_floc_root / "floc"
    s = load_floc()
    assert len(s) == 30 and (s.labels.category.value_counts() == 3).all()
    assert all(Path(p).parent == small_floc_root / "floc" for p in s.labels.path)
    assert len(load_floc(include_scrambled=True)) == 32


def test_explicit_path_options(small_floc_root):
    folder = small_floc_root / "floc"
    s = load_floc(folder, image_size_px=32, categories=["word", "adult"], max_per_category=2)
    assert s.images.shape == (4, 32, 32, 3)
    assert list(s.labels.stimulus_id) == ["adult-1", "adult-2", "word-1", "word-2"]
    assert list(s.labels.domain) == ["faces", "faces", "characters", "characters"]
    assert len(load_floc(folder, categories=["scrambled"])) == 2
    for path in folder.glob("car-*.jpg"):
        path.unlink()
    with pytest.raises(FileNotFoundError, match=r"no fLoc images named car-<N>\.jpg"):
        load_floc(folder)


def test_differing_sizes_need_image_size_px(small_floc_root):
    from PIL import Image

    folder = small_floc_root / "floc"
    Image.new("L", (100, 100)).save(folder / "child-9.jpg")
    with pytest.raises(ValueError, match="pass image_size_px"):
        load_floc(folder)
    assert load_floc(folder, image_size_px=48).images.shape == (31, 48, 48, 3)


def test_missing_explicit_path_is_named(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_floc(missing)
    with pytest.raises(FileNotFoundError, match=r"fLoc images \(<category>-<N>\.jpg.*'adult'.*\) not found; "
                                                 r"tried: .* \(holds none of them\)\. Fix: pass --stimuli DIR"):
        find_floc_dir(tmp_path)


def test_explicit_path_does_not_fall_back(small_floc_root, monkeypatch):
    monkeypatch.setenv(FLOC_ENV_VAR, str(small_floc_root))
    with pytest.raises(FileNotFoundError, match="pass that instead"):
        find_floc_dir(small_floc_root)  # the data root, not its floc/ subfolder


def test_nothing_found_lists_every_place(tmp_path, monkeypatch):
    (tmp_path / "empty_root" / "floc").mkdir(parents=True)
    monkeypatch.setenv(FLOC_ENV_VAR, str(tmp_path / "empty_root"))
    fake_shared = tmp_path / "shared" / "data"
    monkeypatch.setattr(resolver, "SHARED_DATA_DIR", fake_shared)
    with pytest.raises(FileNotFoundError) as info:
        load_floc()
    message = str(info.value)
    assert FLOC_ENV_VAR in message and f"{tmp_path / 'empty_root' / 'floc'} (holds none of them)" in message
    assert f"{fake_shared / 'floc'} (no such folder)" in message
    assert "--stimuli" in message and floc_module.FLOC_URL in message


def _plant(folder: Path) -> Path:
    """A folder that counts as fLoc for the lookup (a name is all it checks; the loader checks the rest)."""
    folder.mkdir(parents=True)
    (folder / "adult-1.jpg").write_bytes(b"")
    return folder


def test_lookup_order_path_then_env_var_then_shared_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(resolver, "SHARED_DATA_DIR", tmp_path / "shared" / "data")
    with pytest.raises(FileNotFoundError, match=r"\$TOPOANALYSIS_DATA is not set"):
        find_floc_dir()
    shared = _plant(tmp_path / "shared" / "data" / "floc")
    assert find_floc_dir() == shared
    env = _plant(tmp_path / "env" / "floc")
    monkeypatch.setenv(FLOC_ENV_VAR, str(tmp_path / "env"))
    assert find_floc_dir() == env  # $TOPOANALYSIS_DATA before the shared folder
    explicit = _plant(tmp_path / "mine")
    assert find_floc_dir(explicit) == explicit  # an explicit path before both


def test_shared_folder_is_beside_the_repository():
    repo_root = Path(floc_module.__file__).resolve().parents[2]
    assert resolver.SHARED_DATA_DIR / resolver.DATA_SETS["floc"] == repo_root.parent / "shared" / "data" / "floc"


def test_current_working_directory_is_not_searched(tmp_path, monkeypatch):
    """There used to be a fallback to ../shared/data/floc relative to the current working directory: gone."""
    _plant(tmp_path / "shared" / "data" / "floc")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setattr(resolver, "SHARED_DATA_DIR", tmp_path / "elsewhere")
    with pytest.raises(FileNotFoundError) as info:
        find_floc_dir()
    assert str(tmp_path / "elsewhere" / "floc") in str(info.value)
    assert str(tmp_path / "shared") not in str(info.value)


def test_unknown_category_lists_valid_ones():
    with pytest.raises(ValueError, match=r"unknown fLoc categories \['faces'\].*'adult'.*'scrambled'"):
        load_floc(categories=["faces", "adult"])
