"""The one data resolver (topoanalysis.datasets.resolver): folders found by find_data_dir."""

import subprocess
import sys
from pathlib import Path

import pytest

from topoanalysis.datasets import resolver
from topoanalysis.datasets.resolver import DATA_ENV_VAR, find_data_dir
from topoanalysis.errors import DataNotFoundError


def _holds(folder: Path) -> bool:
    return (folder / "marker.txt").is_file()


def _plant(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "marker.txt").write_text("data")
    return folder


def _find(path=None, name="v4"):
    return find_data_dir(name, path, what="test data (marker.txt)", flag="--test-data", holds=_holds)


@pytest.fixture
def places(tmp_path, monkeypatch):
    """``(env root, shared root)``: the variable unset and the shared folder pointed at an empty place."""
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(resolver, "SHARED_DATA_DIR", tmp_path / "shared")
    return tmp_path / "env", tmp_path / "shared"


def test_a_planted_folder_is_found_in_each_of_the_three_places(tmp_path, monkeypatch, places):
    env_root, shared_root = places
    shared = _plant(shared_root / "v4_cowley2023")  # a key of DATA_SETS names its folder
    assert _find() == shared
    env = _plant(env_root / "v4_cowley2023")
    monkeypatch.setenv(DATA_ENV_VAR, str(env_root))
    assert _find() == env  # $TOPOANALYSIS_DATA before the shared folder
    explicit = _plant(tmp_path / "given")
    assert _find(explicit) == explicit  # an explicit path before both
    assert _find(str(explicit)) == explicit
    assert _find(name="v4_cowley2023") == env  # a relative folder name works as well as the key


def test_an_explicit_path_is_never_replaced_by_a_fallback(tmp_path, places):
    _, shared_root = places
    _plant(shared_root / "v4_cowley2023")
    with pytest.raises(DataNotFoundError) as info:
        _find(tmp_path / "missing")
    message = str(info.value)
    assert message.startswith("test data (marker.txt) not found; tried: ")
    assert f"{tmp_path / 'missing'} (no such folder)" in message and str(shared_root) not in message
    assert "Fix: pass --test-data DIR" in message and "is not set" not in message
    root = tmp_path / "root"
    inner = _plant(root / "v4_cowley2023")
    with pytest.raises(DataNotFoundError, match="pass that instead") as info:
        _find(root)  # a data root is not the folder itself, but the message points at it
    assert f"its subfolder {inner} does" in str(info.value)
    (tmp_path / "file").write_text("")
    with pytest.raises(DataNotFoundError, match="not a folder"):
        _find(tmp_path / "file")


def test_a_folder_without_the_data_is_refused_naming_every_place(tmp_path, monkeypatch, places):
    env_root, shared_root = places
    (env_root / "v4_cowley2023").mkdir(parents=True)
    (shared_root / "v4_cowley2023").mkdir(parents=True)
    (shared_root / "v4_cowley2023" / "other.txt").write_text("not it")
    monkeypatch.setenv(DATA_ENV_VAR, str(env_root))
    with pytest.raises(FileNotFoundError) as info:  # DataNotFoundError is a FileNotFoundError
        _find()
    message = str(info.value)
    assert (f"tried: {env_root / 'v4_cowley2023'} (holds none of them), "
            f"{shared_root / 'v4_cowley2023'} (holds none of them). ") in message
    assert message.endswith("Fix: pass --test-data DIR (the folder that holds them) or set TOPOANALYSIS_DATA to a "
                            "data folder that holds v4_cowley2023/.")
    monkeypatch.delenv(DATA_ENV_VAR)
    with pytest.raises(DataNotFoundError, match=r"holds none of them\) \(\$TOPOANALYSIS_DATA is not set\)\. Fix"):
        _find()


def test_holds_is_asked_only_about_existing_folders(tmp_path, places):
    asked = []
    with pytest.raises(DataNotFoundError):
        find_data_dir("floc", tmp_path / "nowhere", what="x", flag="--x", holds=asked.append)
    with pytest.raises(DataNotFoundError):
        find_data_dir("floc", None, what="x", flag="--x", holds=asked.append)
    assert asked == []
    with pytest.raises(DataNotFoundError):
        find_data_dir("floc", tmp_path, what="x", flag="--x", holds=asked.append)
    assert asked == [tmp_path]  # (its floc/ subfolder does not exist, so it is not asked about)


def test_importing_the_package_imports_nothing_heavy():
    code = ("import sys, topoanalysis.datasets as d; print(sorted(m for m in ('torch', 'numpy', 'pandas', "
            "'scipy', 'topoanalysis.datasets.resolver', 'topoanalysis.datasets.ringach') if m in sys.modules), "
            "sorted(dir(d)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[0] == "[] ['resolver', 'ringach']"
