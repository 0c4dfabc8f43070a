"""Bad input, one row per case: each command line ends in exit status 2 and one line on stderr naming the bad
value and the fix (a usage error may add a ``--help`` pointer), with no traceback and nothing written to --out.

A row is ``(id, setup, expected)``: ``setup(tmp, ckpt, monkeypatch)`` makes the bad file or argument and returns
the command line (``OUT`` stands for the --out path, ``tmp / "out"``); ``expected`` is a substring of the error
line. New commands join by adding rows to ``CLI_CASES``; library calls that must raise go in ``API_CASES``.
"""

import errno
import pickle
import re
import zipfile

import numpy as np
import pytest
import torch

from topoanalysis.cli.main import main

OUT = "OUT"


def _argv(argv, tmp):
    return [str(tmp / "out") if arg == OUT else str(arg) for arg in argv]


def _run(argv) -> int:
    try:
        return main(argv)
    except SystemExit as stop:  # argparse's usage errors
        return stop.code


# --- files the rows are made of ---

def _edited_checkpoint(tmp, ckpt, edit, *, rehash=True):
    """A copy of ``ckpt`` with ``edit(payload)`` applied and its content hash recomputed (a careful forger)."""
    from topoanalysis.models.checkpoints import _sheets_from_payload, content_hash

    payload = torch.load(ckpt, weights_only=True)
    edit(payload)
    if rehash:
        keys = ("arch", "arch_kwargs", "timesteps", "input_size_px", "mean", "std", "visual_degrees", "layer_areas",
                "provenance")
        payload["content_sha256"] = content_hash({k: payload[k] for k in keys}, _sheets_from_payload(payload["sheets"]),
                                                 payload["state_dict"])
    path = tmp / "edited.pt"
    torch.save(payload, path)
    return path


def _info(edit):
    return lambda tmp, ckpt, mp: ["info", "--ckpt", _edited_checkpoint(tmp, ckpt, edit)]


def _set(key, value):
    def edit(payload):
        payload[key] = value
    return edit


def _set_arch_kwarg(key, value):
    def edit(payload):
        payload["arch_kwargs"] = {**payload["arch_kwargs"], key: value}
    return edit


def _nan_weight(payload):
    payload["state_dict"]["conv1.weight"][0, 0, 0, 0] = float("nan")


def _malicious_checkpoint(tmp, ckpt, mp):
    import os

    class Planted:
        def __reduce__(self):
            return os.system, (f"touch {tmp / 'ran'}",)

    torch.save({"state_dict": Planted()}, tmp / "evil.pt")
    return ["info", "--ckpt", tmp / "evil.pt"]


def _tdann_truncated_positions(tmp, ckpt, mp):
    from topoanalysis.models import create_model

    model = create_model("resnet18", stem="imagenet", width=1 / 16, num_classes=10)
    trunk = {f"base_model.{k}": v for k, v in model.state_dict().items() if not k.startswith("fc.")}
    torch.save({"classy_state_dict": {"base_model": {"model": {"trunk": trunk}}}}, tmp / "tdann.torch")
    (tmp / "positions").mkdir()
    np.savez(tmp / "positions" / "whole.npz", dims=np.array([4, 16, 16]), coordinates=np.zeros((1024, 2)),
             neighborhood_width=1.0)
    (tmp / "positions" / "layer1.0.npz").write_bytes((tmp / "positions" / "whole.npz").read_bytes()[:300])
    return ["import", "tdann", "--weights", tmp / "tdann.torch", "--positions", tmp / "positions", "--out", OUT]


def _state_dict_with_extra_key(tmp, ckpt, mp):
    state = torch.load(ckpt, weights_only=True)["state_dict"]
    torch.save({**state, "projector.weight": torch.zeros(2, 2)}, tmp / "plain.pt")
    (tmp / "positions.npz").write_bytes(b"")
    return ["import", "state-dict", "--weights", tmp / "plain.pt", "--arch", "tiny_spiking_resnet", "--positions",
            tmp / "positions.npz", "--out", OUT]


def _cifar100(batch, meta=None):
    def setup(tmp, ckpt, mp):
        folder = tmp / "cifar-100-python"
        folder.mkdir()
        for split in ("train", "test"):
            (folder / split).write_bytes(pickle.dumps(batch, protocol=2))
        if meta is not None:
            (folder / "meta").write_bytes(pickle.dumps(meta, protocol=2))
        return ["train", "--dataset", "cifar100", "--data", folder, "--arch", "tiny_spiking_resnet", "--width",
                "0.0625", "--timesteps", "2", "--out", OUT, "--device", "cpu"]
    return setup


_PIXELS = np.zeros((2, 3072), np.uint8)


def _full_disk(tmp, ckpt, mp):
    import xarray as xr

    def full(self, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"CDF half a file")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    mp.setattr(xr.Dataset, "to_netcdf", full)
    return ["record", "--ckpt", ckpt, "--out", OUT, "--device", "cpu"]


def _zip_with_a_large_member(tmp, ckpt, mp):
    from topoanalysis import datafiles

    mp.setattr(datafiles, "MAX_MEMBER_BYTES", 1000)
    with zipfile.ZipFile(tmp / "cifar.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        for cls in ("cat", "dog"):
            archive.writestr(f"test/{cls}/0001.jpg", b"\0" * 5000)  # declares 5000 bytes, compresses to ~20
    return ["temporal", "--ckpt", ckpt, "--baseline", "none", "--device", "cpu", "--out", OUT, "--data-path",
            tmp / "cifar.zip", "--timesteps", "1"]


def _identical_floc(tmp, ckpt, mp):
    from PIL import Image

    from topoanalysis.stimuli.floc import FLOC_CATEGORIES

    (tmp / "floc").mkdir()
    for category in FLOC_CATEGORIES:
        for number in (1, 2):
            Image.new("RGB", (24, 24), (120, 60, 30)).save(tmp / "floc" / f"{category}-{number}.jpg")
    return ["it-patches", "--ckpt", ckpt, "--baseline", "none", "--device", "cpu", "--out", OUT, "--stimuli",
            tmp / "floc", "--rsa92", "none"]


def _no_recording(mp):
    from topoanalysis.running import recording

    mp.setattr(recording, "record", lambda *a, **k: pytest.fail("a forward pass started"))


def _v1(*extra):
    def setup(tmp, ckpt, mp):
        _no_recording(mp)
        return ["v1-maps", "--ckpt", ckpt, "--baseline", "none", "--out", OUT, "--device", "cpu", *extra]
    return setup


def _damaged_ringach(tmp, ckpt, mp):
    _no_recording(mp)
    (tmp / "ringach.mat").write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    return ["brain", "--ckpt", ckpt, "--baseline", "none", "--out", OUT, "--device", "cpu", "--ringach",
            tmp / "ringach.mat", "--benchmark", "V1-Ringach2002"]


def _swap_into_a_folder(tmp, ckpt, mp):
    _no_recording(mp)
    (tmp / "out").mkdir()
    return ["swap-positions", "--ckpt", ckpt, "--out", OUT, "--device", "cpu"]


def _fixed(*argv):
    return lambda tmp, ckpt, mp: list(argv)


CLI_CASES = [
    # 1. numbers out of range, before any work
    ("v1_hcw_inf", _v1("--hcw-mm", "inf"), "hypercolumn_width_mm must be a finite number"),
    ("init_input_size_0", _fixed("init-checkpoint", "--input-size", "0", "--out", OUT), "input size 0 px"),
    ("init_width_inf", _fixed("init-checkpoint", "--width", "inf", "--out", OUT), "--width must be a finite number"),
    ("init_visual_degrees_0", _fixed("init-checkpoint", "--visual-degrees", "0", "--out", OUT), "visual degrees 0.0"),
    ("init_visual_degrees_nan", _fixed("init-checkpoint", "--visual-degrees", "nan", "--out", OUT),
     "visual degrees nan"),
    # 2. hostile or damaged checkpoint metadata and weights
    ("ckpt_unknown_arch_kwarg", _info(_set_arch_kwarg("bogus", 1)), "unknown key 'bogus'"),
    ("ckpt_list_for_width", _info(_set_arch_kwarg("width", [1, 2])), "'width' must be a finite number"),
    ("ckpt_huge_timesteps", _info(_set("timesteps", 10**6)), "timesteps 1000000 is not a whole number from 1 to 256"),
    ("ckpt_huge_input", _info(_set("input_size_px", 4096)), "input size 4096 px is not a whole number from 16 to 1024"),
    ("ckpt_no_module_types", _info(lambda payload: payload.pop("module_types")), "has no 'module_types' field"),
    ("ckpt_nan_weights", _info(_nan_weight), "tensor 'conv1.weight' holds inf or NaN"),
    # 3. importers
    ("tdann_truncated_positions", _tdann_truncated_positions, "layer1.0.npz: not a readable .npz positions file"),
    ("state_dict_extra_key", _state_dict_with_extra_key, "check that the file holds this architecture's weights"),
    # 4. CIFAR-100 pickles that load but are not CIFAR-100
    ("cifar100_no_fine_labels", _cifar100({b"data": _PIXELS}), "has no fine_labels entry"),
    ("cifar100_label_out_of_range", _cifar100({b"data": _PIXELS, b"fine_labels": [0, 100]}),
     "fine_labels must be whole numbers 0 to 99"),
    ("cifar100_negative_label", _cifar100({b"data": _PIXELS, b"fine_labels": [-1, 3]}),
     "fine_labels must be whole numbers 0 to 99"),
    ("cifar100_list_not_dict", _cifar100([_PIXELS, [0, 1]]), "holds a list, not CIFAR-100's dict"),
    ("cifar100_bad_meta", _cifar100({b"data": _PIXELS, b"fine_labels": [0, 1]}, meta=["names"]),
     "holds no list of 100 fine_label_names"),
    # 5. a full disk
    ("record_full_disk", _full_disk, "the disk is full"),
    # 7. a zip member larger than any image
    ("temporal_zip_member_too_large", _zip_with_a_large_member, "declares 5,000 bytes, over the 1,000"),
    # 8. degenerate stimuli
    ("floc_all_identical", _identical_floc, "fLoc images in"),
    # 9. sizes that would exhaust memory
    ("temporal_huge_timesteps", _fixed("temporal", "--timesteps", "100000", "--baseline", "none", "--out", OUT),
     "timesteps 100000 is above the limit of 256"),
    # 10. messages and checks before work
    ("malicious_checkpoint", _malicious_checkpoint, "refused: loading it would run code it contains"),
    ("swap_positions_out_is_a_folder", _swap_into_a_folder, "is a folder; pass a file path"),
    ("v1_n_samples_0", _v1("--n-samples", "0"), "n_samples must be >= 1"),
    ("v1_negative_seed", _v1("--seed", "-1"), "seed must be a whole number >= 0"),
    ("brain_damaged_ringach", _damaged_ringach, "not a readable MATLAB file"),
    ("usage_error", _fixed("v1-maps", "--no-such-option"), "see topoanalysis v1-maps --help"),
    ("usage_error_nested", _fixed("import", "tdann", "--weights"), "see topoanalysis import tdann --help"),
]


@pytest.mark.parametrize("setup, expected", [pytest.param(s, e, id=i) for i, s, e in CLI_CASES])
def test_bad_input_ends_in_one_line(tiny, tmp_path, capsys, monkeypatch, setup, expected):
    argv = _argv(setup(tmp_path, tiny[2], monkeypatch), tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    capsys.readouterr()
    assert _run(argv) == 2
    err = [line for line in capsys.readouterr().err.strip().splitlines() if not re.search(r"\d+%\|", line)]
    assert "Traceback" not in "\n".join(err)
    assert len(err) == 1, err  # progress bars aside
    assert expected in err[0], err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no --out, no half-written file beside it
    assert not (tmp_path / "ran").exists()


# --- library calls ---

def _v1_params(**kwargs):
    from topoanalysis.metrics.v1 import V1Params

    return V1Params(**kwargs)


def _resume_log_without_step(tmp):
    from topoanalysis.training.run_folder import truncate_log

    (tmp / "train_log.jsonl").write_text('{"step": 1}\n{"epoch": 1}\n{"step": 3}\n')
    truncate_log(tmp / "train_log.jsonl", 2)


def _decode(tmp, array, name):
    from PIL import Image

    from topoanalysis.datafiles import decode_image

    Image.fromarray(array).save(tmp / name)
    return decode_image(tmp / name)


def _zip_member(tmp, size, max_bytes):
    from topoanalysis.datafiles import read_member

    with zipfile.ZipFile(tmp / "a.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.bin", b"\0" * size)
    with zipfile.ZipFile(tmp / "a.zip") as archive:
        return read_member(archive, "big.bin", max_bytes=max_bytes)


def _one_identical_category(tmp):
    from topoanalysis.stimuli.floc import check_varied

    images = np.random.default_rng(0).integers(0, 255, (4, 8, 8, 3), dtype=np.uint8)
    images[3] = images[2]
    check_varied(images, np.array(["car", "car", "house", "house"]), "floc/")


def _arch_kwargs(**kwargs):
    from topoanalysis.models.registry import check_arch_kwargs

    check_arch_kwargs("tiny_spiking_resnet", kwargs)


def _bundled_style_checkpoint_without_module_types(tmp):
    from topoanalysis.models.checkpoints import load_checkpoint, save_checkpoint
    from topoanalysis.models.fresh import fresh_checkpoint

    model, spec = fresh_checkpoint("tiny_spiking_resnet", seed=0, input_size_px=16)
    save_checkpoint(tmp / "a.pt", model, spec)
    payload = torch.load(tmp / "a.pt", weights_only=True)
    payload["module_types"] = []
    torch.save(payload, tmp / "a.pt")
    load_checkpoint(tmp / "a.pt")


API_CASES = [
    ("v1_params_inf_width", lambda tmp: _v1_params(hypercolumn_width_mm=float("inf")), "must be a finite number"),
    ("v1_params_nan_percentile", lambda tmp: _v1_params(ptp_percentile=float("nan")), "must be a finite number"),
    ("arch_kwargs_huge_width", lambda tmp: _arch_kwargs(width=64.0), "'width' 64.0 is out of range"),
    ("arch_kwargs_bool_for_int", lambda tmp: _arch_kwargs(num_classes=True), "must be a whole number"),
    ("empty_module_types", _bundled_style_checkpoint_without_module_types, "has a bad 'module_types' field"),
    ("resume_log_line_without_step", _resume_log_without_step, 'train_log.jsonl, line 2, has no whole-number "step"'),
    ("float_tiff", lambda tmp: _decode(tmp, np.full((8, 8), 0.5, np.float32), "f.tif"),
     "mode F (floating-point values"),
    ("zip_member_over_the_cap", lambda tmp: _zip_member(tmp, 5000, 1000), "declares 5,000 bytes"),
    ("floc_category_identical", lambda tmp: _one_identical_category(tmp), "all 2 fLoc house images in floc/ are"),
]


@pytest.mark.parametrize("call, expected", [pytest.param(c, e, id=i) for i, c, e in API_CASES])
def test_bad_input_to_the_library_is_a_value_error(tmp_path, call, expected):
    with pytest.raises(ValueError) as raised:
        call(tmp_path)
    assert expected in str(raised.value) and "\n" not in str(raised.value)


# --- cases that are not an exit-2 line ---

def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path):
    levels = np.linspace(0, 65535, 64 * 64).reshape(64, 64).astype(np.uint16)
    image = np.asarray(_decode(tmp_path, levels, "g16.png"))
    assert image.shape == (64, 64, 3) and abs(image.mean() - 127.5) < 1  # clipping made it ~254 (near white)


def test_a_member_within_the_cap_is_read_whole(tmp_path):
    assert _zip_member(tmp_path, 5000, 5000) == b"\0" * 5000


def test_init_checkpoint_uses_the_architectures_own_width(tmp_path):
    from topoanalysis.models.checkpoints import load_checkpoint

    out = tmp_path / "tiny.pt"
    assert main(["init-checkpoint", "--arch", "tiny_spiking_resnet", "--input-size", "16", "--out", str(out)]) == 0
    model, _ = load_checkpoint(out)
    assert sum(p.numel() for p in model.parameters()) < 100_000  # width 1/16, not the 11 M of width 1


_INTERRUPT_DURING_IMPORTS = """
import builtins, sys
real_import = builtins.__import__
def interrupted(name, *args, **kwargs):
    if name == "torch":
        raise KeyboardInterrupt
    return real_import(name, *args, **kwargs)
builtins.__import__ = interrupted
from topoanalysis.cli.main import main
sys.exit(main(["info"]))
"""


def test_ctrl_c_while_the_commands_load_is_one_line():
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _INTERRUPT_DURING_IMPORTS], capture_output=True, text=True,
                          timeout=120)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 130 and len(err) == 1 and "interrupted" in err[0], done.stderr


def test_ctrl_c_while_the_parser_is_built_is_one_line(capsys, monkeypatch):
    from topoanalysis.cli import main as entry

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(entry, "build_parser", interrupted)
    assert entry.main(["info"]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "interrupted" in err[0]


@pytest.mark.parametrize("exc, expected", [
    (OSError(errno.ENOSPC, "No space left on device", "/data/r.nc"), "/data/r.nc: the disk is full"),
    (FileExistsError(errno.EEXIST, "File exists", "/data/out"), "/data/out: it already exists"),
    (ValueError("cannot write x ([Errno 28] No space left on device: 'x')"), "cannot write x (the disk is full"),
])
def test_raw_errno_messages_become_plain_words(exc, expected):
    from topoanalysis.cli.main import plain_message

    assert plain_message(exc).startswith(expected) and "[Errno" not in plain_message(exc)


def test_a_full_disk_leaves_no_partial_recording(tmp_path, monkeypatch):
    import xarray as xr

    from topoanalysis.responses import save_responses

    def full(self, path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"CDF half")
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", full)
    monkeypatch.setattr("shutil.disk_usage", lambda path: type("U", (), {"free": 0})())
    with pytest.raises(OSError, match="the disk is full"):
        save_responses(xr.Dataset({"responses": ("unit", np.zeros(3))}), tmp_path / "r.nc")
    assert list(tmp_path.iterdir()) == []
