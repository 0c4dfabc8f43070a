"""The command line's error boundary and output folders: one line and status 2 for bad input, 130 for
Ctrl-C, a bug report request for bugs, and output folders that are replaced whole or not at all."""

import os

import pytest

from topoanalysis.analyses import v1
from topoanalysis.cli.main import main
from topoanalysis.outputs import check_output_folder, staged_folder


def _v1(path, out, *extra):
    return main(["v1-maps", "--ckpt", str(path), "--baseline", "none", "--out", str(out), "--device", "cpu",
                 "--n-samples", "2", "--sample-size", "50", *extra])


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    return err[-1]


@pytest.mark.parametrize("setup, match", [
    (lambda tmp: (tmp / "file").write_text("x") and tmp / "file", "is a file; pass a folder path"),
    (lambda tmp: ((tmp / "other").mkdir(), (tmp / "other" / "notes.txt").write_text("mine"))
     and tmp / "other", "already holds other files"),
])
def test_a_bad_out_is_refused_before_any_work(tiny, tmp_path, capsys, monkeypatch, setup, match):
    monkeypatch.setattr(v1, "run", lambda *a, **k: pytest.fail("work started"))
    out = setup(tmp_path)
    assert _v1(tiny[2], out) == 2
    line = _error_line(capsys)
    assert line.startswith("topoanalysis v1-maps: error: output folder") and match in line
    assert line.endswith("(option --out)")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_refused(tiny, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert _v1(tiny[2], locked / "v1") == 2 and "cannot write in" in _error_line(capsys)


def test_a_read_only_place_is_seen_by_the_check(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(ValueError, match="read-only or not a folder"):
        check_output_folder(tmp_path / "new", "v1_results.json")


def test_a_missing_baseline_fails_before_the_first_model(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(v1, "run", lambda *a, **k: pytest.fail("work started"))
    status = main(["v1-maps", "--ckpt", str(tiny[2]), "--baseline", str(tmp_path / "nope.pt"), "--out",
                   str(tmp_path / "out")])
    line = _error_line(capsys)
    assert status == 2 and "error: --baseline" in line and "or --baseline none" in line


def test_ctrl_c_exits_130_with_one_line(tiny, tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(v1, "run", interrupted)
    assert _v1(tiny[2], tmp_path / "out") == 130
    assert "interrupted" in _error_line(capsys) and not (tmp_path / "out").exists()


def test_a_bug_shows_its_traceback_and_asks_for_a_report(tiny, tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("internal")

    monkeypatch.setattr(v1, "run", broken)
    assert _v1(tiny[2], tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError" in err and "please report it" in err


def test_a_value_error_inside_a_metric_is_a_bug_not_a_user_error(tiny, tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast together")  # what a numpy bug looks like

    monkeypatch.setattr(v1, "v1_analysis", broken)
    assert _v1(tiny[2], tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "could not be broadcast" in err and "please report it" in err


def test_library_errors_name_their_parameter_and_the_cli_adds_the_option(capsys):
    from topoanalysis.cli.main import plain_message
    from topoanalysis.errors import DataNotFoundError, InputError, TopoanalysisError

    error = InputError("pgd_steps must be >= 1, got 0", parameter="pgd_steps")
    assert isinstance(error, ValueError) and isinstance(error, TopoanalysisError)
    assert plain_message(error) == "pgd_steps must be >= 1, got 0 (option --pgd-steps)"
    assert isinstance(DataNotFoundError("x"), FileNotFoundError)


def test_debug_shows_the_traceback_of_an_anticipated_error(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("TOPOANALYSIS_DEBUG", "1")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        _v1(tiny[2], tmp_path / "file")


def test_a_failed_rerun_leaves_the_earlier_output_whole(tiny, tmp_path, capsys, monkeypatch):
    out = tmp_path / "v1"
    assert _v1(tiny[2], out) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    assert "v1_results.json" in before

    def broken_figures(self):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(v1.V1MapsResult, "figures", broken_figures)
    assert _v1(tiny[2], out, "--seed", "5") == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["v1"]  # no staging folder left behind


def test_a_rerun_replaces_the_folder_whole(tmp_path):
    out = tmp_path / "out"
    with staged_folder(out, "a_results.json") as staging:
        (staging / "a_results.json").write_text("{}")
        (staging / "tuning_old.csv").write_text("x")
    with staged_folder(out, "a_results.json") as staging:
        (staging / "a_results.json").write_text("{}")
    # nothing of the older run is mixed in
    assert sorted(p.name for p in out.iterdir()) == [".topoanalysis-manifest.json", "a_results.json"]


def test_staging_left_by_a_killed_run_is_cleaned_up(tmp_path):
    stale = tmp_path / ".out.staging-999999999-abc"
    stale.mkdir()
    (stale / "half.csv").write_text("x")
    alive = tmp_path / f".out.staging-{os.getpid()}-live"
    alive.mkdir()
    with staged_folder(tmp_path / "out", "a_results.json") as staging:
        (staging / "a_results.json").write_text("{}")
    assert not stale.exists() and alive.exists()


# --- broken data files: one line naming the file and the fix, no traceback ---

def _jpeg(path, colour=(120, 60, 30)):
    from PIL import Image

    Image.new("RGB", (24, 24), colour).save(path, "JPEG")


def _floc_folder(root, broken: bool):
    from topoanalysis.stimuli.floc import FLOC_CATEGORIES

    root.mkdir()
    for category in FLOC_CATEGORIES:
        _jpeg(root / f"{category}-1.jpg")
    if broken:
        (root / f"{FLOC_CATEGORIES[0]}-1.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG body")
    return root


def _truncated(source, target, n_bytes=400):
    target.write_bytes(source.read_bytes()[:n_bytes])
    return target


def _bad_cifar_member(tmp):
    import zipfile

    path = tmp / "cifar.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for cls in ("cat", "dog"):
            archive.writestr(f"test/{cls}/0001.jpg", b"garbage, not a JPEG")
    return path


def _ringach_file():
    from topoanalysis.datasets.ringach import find_ringach_file

    try:
        return find_ringach_file(None)
    except FileNotFoundError:
        pytest.skip("Ringach 2002 data not available")


@pytest.mark.parametrize("case", ["truncated_ringach", "floc_corrupt_jpeg", "cifar_not_a_zip", "cifar_bad_member",
                                  "rsa92_truncated"])
def test_broken_data_files_end_in_one_line(tiny_floc, tmp_path, capsys, case):
    path = str(tiny_floc[2])
    common = ["--ckpt", path, "--baseline", "none", "--device", "cpu", "--out", str(tmp_path / "out")]
    if case == "truncated_ringach":
        bad = _truncated(_ringach_file(), tmp_path / "ringach.mat")
        argv, expected = ["v1-maps", *common, "--ringach", str(bad)], "not a readable MATLAB file"
    elif case == "floc_corrupt_jpeg":
        bad = _floc_folder(tmp_path / "floc", broken=True)
        argv, expected = ["it-patches", *common, "--stimuli", str(bad), "--rsa92", "none"], "cannot decode the image"
    elif case == "cifar_not_a_zip":
        bad = tmp_path / "cifar.zip"
        bad.write_bytes(b"PK but not really a zip archive")
        argv, expected = ["temporal", *common, "--data-path", str(bad)], "not a readable zip archive"
    elif case == "cifar_bad_member":
        bad = _bad_cifar_member(tmp_path)
        argv, expected = ["robustness", *common, "--data-path", str(bad)], "cannot decode the image"
    else:
        from topoanalysis.stimuli.rsa92 import find_rsa92_file

        try:
            source = find_rsa92_file(None)
        except FileNotFoundError:
            pytest.skip("92-image data not available")
        folder = tmp_path / "rsa92"
        folder.mkdir()
        bad = _truncated(source, folder / source.name, 5000)
        argv, expected = ["it-patches", *common, "--rsa92", str(bad)], "or a truncated one"
    assert main(argv) == 2
    line = _error_line(capsys)
    assert expected in line and str(bad) in line and "intact copy" in line
    assert not (tmp_path / "out").exists()


def test_a_decompression_bomb_is_refused(tmp_path, monkeypatch):
    from PIL import Image

    from topoanalysis.datafiles import decode_image

    _jpeg(tmp_path / "big.jpg")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 24 x 24 = 576 > twice the limit
    with pytest.raises(ValueError, match="refused to decode an image this large"):
        decode_image(tmp_path / "big.jpg")


@pytest.mark.parametrize("extra, match", [
    (["--baseline", "MISSING"], "error: --baseline"),
    (["--n-per-class", "-1"], "n_per_class must be >= 1, got -1 (option --n-per-class)"),
    (["--timesteps", "0"], "timesteps must be >= 1; got [0] (option --timesteps)"),
])
def test_report_refuses_bad_input_before_any_analysis(tiny, tmp_path, capsys, monkeypatch, extra, match):
    from topoanalysis.report import build

    monkeypatch.setattr(build, "run_cached", lambda *a, **k: pytest.fail("work started"))
    extra = [str(tmp_path / "nope.pt") if e == "MISSING" else e for e in extra]
    argv = ["report", "--ckpt", str(tiny[2]), "--out", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c")]
    if "--baseline" not in extra:
        (tmp_path / "other.pt").write_bytes(tiny[2].read_bytes())
        argv += ["--baseline", str(tmp_path / "other.pt")]
    assert main(argv + extra) == 2 and match in _error_line(capsys)


@pytest.mark.parametrize("args, match", [
    (["--models", "A", "MISSING", "--baseline-of", "A=B"],
     "B.pt is not among the models; list every pair member among the models (option --baseline-of)"),
    (["--models", "A", "B", "--baseline-of", "A=A"], "cannot be its own baseline"),
    (["--models", "A"], "at least two checkpoints"),
    (["--models", "A", "B", "--ckpt", "A"], "--models replaces --ckpt and --baseline"),
    (["--baseline-of", "A=B"], "pass --models too"),
    (["--models", "A", "MISSING"], "error: --models"),
])
def test_models_report_refuses_bad_input_before_any_analysis(tiny, tmp_path, capsys, monkeypatch, args, match):
    from topoanalysis.report import build

    monkeypatch.setattr(build, "run_cached", lambda *a, **k: pytest.fail("work started"))
    for name in "AB":
        (tmp_path / f"{name}.pt").write_bytes(tiny[2].read_bytes())
    given = {"A": str(tmp_path / "A.pt"), "B": str(tmp_path / "B.pt"), "MISSING": str(tmp_path / "MISSING.pt")}
    argv = [given.get(arg, arg) if "=" not in arg else "=".join(given[part] for part in arg.split("="))
            for arg in args]
    assert main(["report", *argv, "--out", str(tmp_path / "r"), "--cache-dir", str(tmp_path / "c")]) == 2
    assert match in _error_line(capsys)


def test_models_report_pairs_need_an_equals_sign(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--models", "a.pt", "b.pt", "--baseline-of", "a.pt"])
    assert "expected TOPO=BASELINE" in capsys.readouterr().err


def test_record_refuses_a_folder_as_its_out_file(tiny, tmp_path, capsys):
    assert main(["record", "--ckpt", str(tiny[2]), "--out", str(tmp_path)]) == 2
    assert "is a folder; pass a file path" in _error_line(capsys)


def test_demo_refuses_a_folder_of_other_files(tiny, tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("mine")
    assert main(["demo", "--ckpt", str(tiny[2]), "--out", str(tmp_path), "--device", "cpu"]) == 2
    assert "already holds other files" in _error_line(capsys) and (tmp_path / "thesis.tex").read_text() == "mine"


@pytest.mark.parametrize("command, flag", [("brain", "--v4-data"), ("brain", "--ringach"), ("it-patches", "--stimuli"),
                                           ("temporal", "--data-path"), ("robustness", "--data-path")])
def test_missing_data_fails_before_any_forward_pass(tiny, tmp_path, capsys, monkeypatch, command, flag):
    from topoanalysis.running import recording

    monkeypatch.setattr(recording, "record", lambda *a, **k: pytest.fail("a forward pass started"))
    missing = tmp_path / "missing"
    argv = [command, "--ckpt", str(tiny[2]), "--baseline", "none", "--out", str(tmp_path / "out"), flag, str(missing)]
    assert main(argv) == 2
    line = _error_line(capsys)
    assert str(missing) in line and not (tmp_path / "out").exists()
