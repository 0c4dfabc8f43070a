"""Output folders: a manifest names what each holds; a new run replaces only an earlier output's listed files,
refuses any other file, and a kill at any point leaves the earlier output or the new one."""

import os

import pytest

from topoanalysis.outputs import MANIFEST, check_output_folder, read_manifest, staged_folder

MARKER = "v1_results.json"


def _write(folder, files: dict[str, str]):
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def _contents(folder) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(out, files: dict[str, str], marker=MARKER):
    with staged_folder(out, marker) as staging:
        _write(staging, files)


def test_an_output_lists_its_files_and_a_rerun_replaces_exactly_those(tmp_path):
    out = tmp_path / "v1"
    _run(out, {MARKER: "1", "tuning_a.csv": "old", "figs/map.png": "png"})
    assert read_manifest(out) == {"output": MARKER, "files": ["figs/map.png", "tuning_a.csv", MARKER]}
    _run(out, {MARKER: "2"})
    assert sorted(_contents(out)) == [MANIFEST, MARKER] and (out / MARKER).read_text() == "2"
    assert read_manifest(out)["files"] == [MARKER]


@pytest.mark.parametrize("files, foreign, whose", [
    ({MARKER: "{}", "model.pt": "weights", "checkpoint_last.pt": "state"}, "checkpoint_last.pt",
     "not written by this command"),  # `train --out` into a v1 folder, before manifests
    ({MARKER: "{}", "precious_thesis.tex": "mine"}, "precious_thesis.tex", "not written by this command"),
    ({"notes.txt": "mine"}, "notes.txt", "not written by this command"),
    ({"it_results.json": "{}", "patches.csv": "x"}, "it_results.json", "another command's output"),
])
def test_a_folder_with_files_no_manifest_lists_is_refused_and_kept(tmp_path, files, foreign, whose):
    out = tmp_path / "out"
    out.mkdir()
    _write(out, files)
    message = rf"output folder {out} already holds other files \({foreign}: {whose}, .*\); pass another, new or empty"
    with pytest.raises(ValueError, match=message):
        check_output_folder(out, MARKER)
    with pytest.raises(ValueError, match=message):
        _run(out, {MARKER: "new"})
    assert _contents(out) == files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging left


def test_a_file_added_to_an_earlier_output_is_refused(tmp_path):
    out = tmp_path / "v1"
    _run(out, {MARKER: "1"})
    (out / "sub").mkdir()
    (out / "sub" / "thesis.tex").write_text("mine")
    with pytest.raises(ValueError, match=r"\(sub/thesis.tex: not written by this command"):
        _run(out, {MARKER: "2"})
    assert (out / "sub" / "thesis.tex").read_text() == "mine" and (out / MARKER).read_text() == "1"


def test_another_commands_manifest_is_refused(tmp_path):
    out = tmp_path / "train"
    _run(out, {"train_log.jsonl": "{}", "model.pt": "weights"}, marker="train_log.jsonl")
    with pytest.raises(ValueError, match=r"\(train_log.jsonl: another command's output"):
        _run(out, {MARKER: "new"})
    assert (out / "model.pt").read_text() == "weights"


def test_an_output_from_before_manifests_with_only_its_own_kinds_of_files_is_replaced(tmp_path):
    out = tmp_path / "v1"
    out.mkdir()
    _write(out, {MARKER: "old", "smoothness.csv": "x", "v1_maps.png": "p", "v1_maps.pdf": "p"})
    _run(out, {MARKER: "new"})
    assert sorted(_contents(out)) == [MANIFEST, MARKER] and (out / MARKER).read_text() == "new"


def test_a_file_appearing_during_the_run_keeps_the_earlier_output(tmp_path):
    out = tmp_path / "v1"
    _run(out, {MARKER: "1"})
    with pytest.raises(ValueError, match=r"notes.txt appeared there while this command ran; nothing was replaced"):
        with staged_folder(out, MARKER) as staging:
            _write(staging, {MARKER: "2"})
            (out / "notes.txt").write_text("mine")
    assert (out / MARKER).read_text() == "1" and (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1"]


def test_an_earlier_output_set_aside_by_a_killed_run_is_restored(tmp_path):
    out = tmp_path / "v1"
    _run(out, {MARKER: "old"})
    os.replace(out, tmp_path / ".v1.staging-999999999-old")  # killed between its two renames
    with pytest.raises(RuntimeError, match="failed"):
        with staged_folder(out, MARKER):
            raise RuntimeError("failed")
    assert (out / MARKER).read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1"]
    os.replace(out, tmp_path / ".v1.staging-999999999-old")
    _run(out, {MARKER: "new"})
    assert (out / MARKER).read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["v1"]


def test_a_symlinked_out_keeps_its_link_and_leaves_nothing_beside_it(tmp_path):
    target, link = tmp_path / "runs" / "v1", tmp_path / "latest"
    _run(target, {MARKER: "old", "tuning_a.csv": "x"})
    link.symlink_to(target, target_is_directory=True)
    os.symlink(target, tmp_path / ".latest.staging-999999999-old")  # left by a killed run of the old code
    _run(link, {MARKER: "new"})
    assert link.is_symlink() and (link / MARKER).read_text() == "new" and not (link / "tuning_a.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "runs"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["v1"]
