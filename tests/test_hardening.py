"""The test session and the trainer under stress: per-test timeouts, denormal floats, a second Ctrl-C, and a
training folder that is neither another command's output nor an earlier run silently restarted."""

import json
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from topoanalysis.training import run_folder, trainer
from topoanalysis.training.trainer import TrainConfig, train


class _Item:
    """Just enough of a pytest item for the collection hook."""

    def __init__(self, *marks):
        self.marks = [mark.mark for mark in marks]

    def get_closest_marker(self, name):
        return next((mark for mark in self.marks if mark.name == name), None)

    def add_marker(self, marker):
        self.marks.append(marker.mark)


def test_every_test_has_a_timeout_that_dumps_every_threads_stack(pytestconfig):
    assert float(pytestconfig.getini("timeout")) == 600
    assert pytestconfig.getini("timeout_method") == "thread"


def test_slow_tests_get_a_longer_timeout_unless_they_set_their_own():
    from conftest import SLOW_TIMEOUT_S, pytest_collection_modifyitems

    plain, slow, own = _Item(), _Item(pytest.mark.slow), _Item(pytest.mark.slow, pytest.mark.timeout(60))
    pytest_collection_modifyitems(None, [plain, slow, own])
    assert plain.get_closest_marker("timeout") is None
    assert slow.get_closest_marker("timeout").args == (SLOW_TIMEOUT_S,) == (1800,)
    assert own.get_closest_marker("timeout").args == (60,)


# --- denormal floats ---

def _denormals(n=4_000_000):
    """``n`` copies of the denormal float 2**-129 (made from its bits, so no flushing can zero them first)."""
    x = torch.full((n,), 0x00100000, dtype=torch.int32).view(torch.float32)
    assert (x.view(torch.int32) == 0x00100000).all()
    return x


def test_the_session_flushes_denormals_in_every_worker_thread():
    assert torch.get_num_threads() > 1  # else the worker threads are not tested
    assert ((_denormals() * 2) == 0).all()  # not only the main thread's share of the elements


def test_training_flushes_denormals_and_restores_the_setting(tmp_path, monkeypatch):
    seen = []

    def loading(config):
        seen.append(trainer.denormals_flushed())
        raise RuntimeError("stop here")

    monkeypatch.setattr(trainer, "_load_data", loading)
    torch.set_flush_denormal(False)
    try:
        assert not trainer.denormals_flushed()
        with pytest.raises(RuntimeError, match="stop here"):
            train(TrainConfig(out_dir=str(tmp_path / "run"), device="cpu"))
        assert seen == [True] and not trainer.denormals_flushed()
    finally:
        torch.set_flush_denormal(True)
    assert trainer.denormals_flushed()


# --- a second SIGINT / SIGTERM ---

def test_the_first_signal_leaves_the_second_to_the_default_action(default_sigint):
    stop = run_folder.StopRequest(enabled=True)
    try:
        signal.raise_signal(signal.SIGTERM)
        assert stop.requested
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL and signal.getsignal(signal.SIGINT) is signal.SIG_DFL
    finally:
        stop.restore()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # pytest's own, restored


SECOND_SIGNAL_RUN = """
import signal, sys
import numpy as np
from topoanalysis.training import run_folder, trainer
from topoanalysis.training.data import ImageArrays

rng = np.random.default_rng(0)
data = ImageArrays(rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8), np.arange(16) % 2, ("a", "b"),
                   (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), "random")
trainer._load_data = lambda config: (data, data)
crop, calls = trainer.random_crop_flip, []

def interrupted_twice(*args, **kwargs):  # the 3rd step: Ctrl-C, then (the step not done) Ctrl-C again
    calls.append(1)
    if len(calls) == 3:
        signal.raise_signal(signal.SIGTERM)
        print("first signal handled", flush=True)
        signal.raise_signal(signal.SIGTERM)
        print("still running after the second signal", flush=True)
    return crop(*args, **kwargs)

trainer.random_crop_flip = interrupted_twice
trainer.train(trainer.TrainConfig(out_dir=sys.argv[1], arch="tiny_spiking_resnet", width=1 / 16, timesteps=2,
                                  batch_size=4, alpha=0.0, beta=0.0, device="cpu", checkpoint_every=1))
print("training finished", flush=True)
"""


def test_a_second_signal_ends_training_at_once_keeping_the_last_checkpoint(tmp_path):
    from topoanalysis.models.checkpoints import load_train_state

    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SECOND_SIGNAL_RUN), str(out)], capture_output=True,
                          text=True, timeout=300)
    assert "first signal handled" in done.stdout and "still running" not in done.stdout, done.stderr[-2000:]
    assert done.returncode == -signal.SIGTERM  # killed by the default action, not by an exception unwinding
    assert load_train_state(out / "checkpoint_last.pt")["step"] == 2  # the last step finished before the signals
    assert not (out / "model.pt").exists()
    assert [json.loads(line)["step"] for line in (out / "train_log.jsonl").read_text().splitlines()] == [1, 2]


# --- the training folder ---

def _stop_before_data(monkeypatch):
    def loading(config):
        raise RuntimeError("training started")

    monkeypatch.setattr(trainer, "_load_data", loading)


def test_a_new_run_refuses_a_folder_with_an_earlier_runs_log_and_keeps_the_log(tmp_path, monkeypatch, capsys):
    from topoanalysis.cli.main import main

    _stop_before_data(monkeypatch)
    log = tmp_path / "train_log.jsonl"
    log.write_text('{"step": 1}\n{"step": 2}\n')
    with pytest.raises(ValueError, match=rf"out_dir {tmp_path} already holds a training run \(train_log.jsonl\); "
                                         rf"continue it with resume {tmp_path}/checkpoint_last.pt \(--resume\), or "
                                         "pass another"):
        train(TrainConfig(out_dir=str(tmp_path), device="cpu"))
    assert main(["train", "--out", str(tmp_path), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--resume" in err[0] and "Traceback" not in err[0]
    assert log.read_text() == '{"step": 1}\n{"step": 2}\n'
    with pytest.raises(FileNotFoundError, match="resume .*ckpt.pt: no such file"):  # past the folder check
        train(TrainConfig(out_dir=str(tmp_path), device="cpu", resume=str(tmp_path / "ckpt.pt")))


@pytest.mark.parametrize("manifest", [False, True])
def test_training_refuses_another_commands_output(tmp_path, monkeypatch, capsys, manifest):
    from topoanalysis.cli.main import main
    from topoanalysis.outputs import staged_folder

    _stop_before_data(monkeypatch)
    out = tmp_path / "v1"
    if manifest:
        with staged_folder(out, "v1_results.json") as staging:
            (staging / "v1_results.json").write_text("{}")
    else:  # written before manifests
        out.mkdir()
        (out / "v1_results.json").write_text("{}")
    assert main(["train", "--out", str(out), "--device", "cpu"]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"out_dir {out} holds another command's output (v1_results.json)" in line and "(option --out)" in line
    assert not (out / "checkpoint_last.pt").exists()


def test_training_marks_its_folder_as_its_own(tmp_path, monkeypatch):
    from topoanalysis.outputs import check_output_folder, read_manifest

    def building(config, data):  # the data loaded, --out made and marked: stop before the network is built
        raise RuntimeError("training started")

    monkeypatch.setattr(trainer, "_load_data", lambda config: (None, None))
    monkeypatch.setattr(trainer, "_initial", building)
    with pytest.raises(RuntimeError, match="training started"):
        train(TrainConfig(out_dir=str(tmp_path / "run"), device="cpu"))
    assert read_manifest(tmp_path / "run") == {"output": "train_log.jsonl",
                                               "files": ["checkpoint_last.pt", "model.pt", "train_log.jsonl"]}
    with pytest.raises(ValueError, match=r"already holds other files \(train_log.jsonl: another command's output"):
        check_output_folder(tmp_path / "run", "v1_results.json")


def test_an_analysis_refuses_a_folder_holding_a_trained_model_and_deletes_nothing(tiny, tmp_path, capsys, monkeypatch):
    from topoanalysis.analyses import v1
    from topoanalysis.cli.main import main

    monkeypatch.setattr(v1, "run", lambda *a, **k: pytest.fail("work started"))
    out = tmp_path / "run"  # `train --out` into a v1-maps folder, before manifests
    out.mkdir()
    files = {"v1_results.json": "{}", "model.pt": "weights", "checkpoint_last.pt": "state", "train_log.jsonl": "{}\n"}
    for name, text in files.items():
        (out / name).write_text(text)
    assert main(["v1-maps", "--ckpt", str(tiny[2]), "--baseline", "none", "--out", str(out), "--device", "cpu"]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"output folder {out} already holds other files (train_log.jsonl: another command's output" in line
    assert {p.name: p.read_text() for p in out.iterdir()} == files
