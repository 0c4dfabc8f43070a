import hashlib
import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from topoanalysis.models.checkpoints import load_checkpoint, load_train_state
from topoanalysis.sheets import save_sheets
from topoanalysis.training.data import default_cifar10_zip
from topoanalysis.training.trainer import TrainConfig, learning_rate, train

pytestmark = pytest.mark.skipif(not default_cifar10_zip().is_file(),
                                reason="CIFAR-10 zip not available at ../shared/data")


def _config(out, **kw):
    base = dict(out_dir=str(out), width=1 / 16, timesteps=2, batch_size=8, epochs=1, alpha=1.0, beta=1.0,
                clusters_per_layer=2, limit_per_class=4, seed=3, device="cpu")
    base.update(kw)
    return TrainConfig(**base)


def _log(out):
    return [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]


def test_training_writes_a_loadable_checkpoint_with_its_card_and_a_step_log(tmp_path):
    model, spec = train(_config(tmp_path))
    loaded, loaded_spec = load_checkpoint(tmp_path / "model.pt")
    assert loaded_spec.content_sha256 == spec.content_sha256
    card = loaded_spec.provenance
    assert card["trained"] == "yes" and card["data"] == "cifar10" and 0.0 <= card["test_accuracy"] <= 1.0
    assert card["alpha"] == 1.0 and card["epochs"] == 1 and "wall_time_s" in card and "hardware" in card
    assert card["train_images"] == 40 and card["test_images"] == 40 and "trained" in card["weights"]
    log = _log(tmp_path)
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5]  # 40 images / batch 8
    for key in ("task_loss", "stc_loss", "train_acc", "img_per_s", "L_L/layer2.0", "L_S/layer4.1"):
        assert key in log[0]
    assert all(0.0 <= r["L_L/layer2.0"] <= 1.0 for r in log)
    assert loaded_spec.mean == pytest.approx((0.4914, 0.4822, 0.4465))


def test_resume_continues_the_step_count_log_and_weights(tmp_path):
    straight, first = tmp_path / "straight", tmp_path / "resumed"
    model_a, _ = train(_config(straight, epochs=2))
    train(_config(first, epochs=2, max_steps=3))  # interrupted mid-epoch
    state = load_train_state(first / "checkpoint_last.pt")
    assert state["step"] == 3 and state["epoch"] == 0
    with open(first / "train_log.jsonl", "a") as log:
        log.write('{"step": 4, "epoch": 0, "task_lo')  # killed while writing a line
    model_b, spec_b = train(_config(first, epochs=2, resume=str(first / "checkpoint_last.pt")))
    assert [r["step"] for r in _log(first)] == list(range(1, 11))
    assert spec_b.provenance["epochs"] == 2
    for key, value in model_a.state_dict().items():
        assert torch.equal(value, model_b.state_dict()[key]), key


def test_resume_refuses_a_different_recipe_and_names_it(tmp_path):
    train(_config(tmp_path, epochs=2, max_steps=1))
    last = str(tmp_path / "checkpoint_last.pt")
    with pytest.raises(ValueError, match=r"--alpha was 1.0, now 5.0; --clusters was 2, now 3\. Pass"):
        train(_config(tmp_path, epochs=2, alpha=5.0, clusters_per_layer=3, resume=last))
    with pytest.raises(ValueError, match="--lr was 0.0005, now 0.01"):  # the card records the default it used
        train(_config(tmp_path, epochs=2, lr=0.01, resume=last))
    train(_config(tmp_path, epochs=2, max_steps=1, lr=5e-4, weight_decay=0.01, resume=last))  # the defaults, spelled
    recipe = json.loads(load_checkpoint(last)[1].provenance["recipe"])
    assert (recipe["lr"], recipe["weight_decay"], recipe["image_size_px"]) == (5e-4, 0.01, 32)
    train(_config(tmp_path, epochs=2, max_steps=2, log_every=1, precision="fp32", resume=last))  # run settings
    assert [r["step"] for r in _log(tmp_path)] == [1, 2]


def test_baseline_and_positions_file_and_bad_inputs(tmp_path):
    model, spec = train(_config(tmp_path / "base", alpha=0.0, beta=0.0, max_steps=2))
    assert all(r["stc_loss"] == 0.0 and "L_L/layer1.0" not in r for r in _log(tmp_path / "base"))
    save_sheets(tmp_path / "sheets.npz", spec.sheets)
    _, spec2 = train(_config(tmp_path / "topo", positions=str(tmp_path / "sheets.npz"), max_steps=1))
    assert spec2.sheets["layer3.0"] == spec.sheets["layer3.0"]
    recipe = json.loads(spec2.provenance["recipe"])  # the positions by name and hash, the input size actually used
    digest = hashlib.sha256((tmp_path / "sheets.npz").read_bytes()).hexdigest()
    assert recipe["positions"] == f"sheets.npz (sha256 {digest})" and str(tmp_path) not in spec2.provenance["recipe"]
    assert recipe["image_size_px"] == spec2.input_size_px == 32
    save_sheets(tmp_path / "partial.npz", {"layer1.0": spec.sheets["layer1.0"]})
    with pytest.raises(ValueError, match="partial.npz has no sheets for"):
        train(_config(tmp_path / "bad", positions=str(tmp_path / "partial.npz")))
    with pytest.raises(ValueError, match="unknown optimizer 'adam'"):
        train(_config(tmp_path / "bad", optimizer="adam"))
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        train(_config(tmp_path / "bad", dataset="mnist"))
    for setting, message in ((dict(log_every=0), "log_every must be >= 1, got 0"),
                             (dict(lr=-1.0), "lr must be > 0, got -1.0"),
                             (dict(alpha=float("nan")), "alpha must be >= 0, got nan")):
        with pytest.raises(ValueError, match=message):
            train(_config(tmp_path / "refused", **setting))
    assert not (tmp_path / "refused").exists()  # refused before any work
    with pytest.raises(FileNotFoundError, match=r"resume .*gone.pt: no such file; pass the checkpoint_last.pt"):
        train(_config(tmp_path / "bad", resume=str(tmp_path / "gone.pt")))


def test_cosine_schedule_with_warmup():
    assert learning_rate(0, 100, 1.0, 10) == pytest.approx(0.1)
    assert learning_rate(10, 100, 1.0, 10) == pytest.approx(1.0)
    assert learning_rate(100, 100, 1.0, 10) == pytest.approx(0.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world_size: int, port: int, out: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    import torch.nn.functional as F

    cross_entropy, losses = F.cross_entropy, []

    def recording(*args, **kwargs):  # this rank's task loss at each step
        value = cross_entropy(*args, **kwargs)
        losses.append(float(value.detach()))
        return value

    F.cross_entropy = recording
    model, _ = train(_config(out, batch_size=4, max_steps=3))
    torch.save(model.state_dict(), os.path.join(out, f"rank{rank}.pt"))
    with open(os.path.join(out, f"losses{rank}.json"), "w") as handle:
        json.dump(losses, handle)


def test_two_process_gloo_ddp_keeps_weights_identical_on_both_ranks(tmp_path):
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    a = torch.load(tmp_path / "rank0.pt", weights_only=True)
    b = torch.load(tmp_path / "rank1.pt", weights_only=True)
    saved, _ = load_checkpoint(tmp_path / "model.pt")
    for key, value in saved.state_dict().items():  # rank 0 wrote its own weights
        assert torch.equal(value, a[key]), key
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert [r["step"] for r in _log(tmp_path)] == [1, 2, 3]
    # the log describes the whole batch: the mean of both ranks' losses, not rank 0's
    ranks = [json.loads((tmp_path / f"losses{rank}.json").read_text())[:3] for rank in (0, 1)]
    assert ranks[0] != ranks[1]
    for record, loss0, loss1 in zip(_log(tmp_path), *ranks):
        assert record["task_loss"] == pytest.approx((loss0 + loss1) / 2, rel=1e-6)


def test_cli_notes_reach_the_card_and_log_every_thins_the_log(tmp_path, capsys):
    from topoanalysis.cli.main import main

    args = ["train", "--out", str(tmp_path), "--width", "0.0625", "--timesteps", "2", "--batch-size", "8",
            "--limit-per-class", "4", "--alpha", "0", "--beta", "0", "--device", "cpu", "--log-every", "2"]
    assert main(args + ["--note", "positions=from a donor network", "--note", "run = 7"]) == 0
    card = load_checkpoint(tmp_path / "model.pt")[1].provenance
    assert card["positions"] == "from a donor network" and card["run"] == "7"
    assert [r["step"] for r in _log(tmp_path)] == [2, 4, 5]  # every 2nd step and the last
    assert main(args + ["--note", "no equals sign"]) == 2
    assert "--note needs KEY=TEXT" in capsys.readouterr().err


def test_ctrl_c_stops_after_a_whole_step_saves_and_resumes_bit_identically(tmp_path, monkeypatch, default_sigint):
    import signal

    from topoanalysis.training import trainer

    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    model_a, _ = train(_config(straight, epochs=2))
    calls = {"n": 0}
    crop = trainer.random_crop_flip

    def interrupting_crop(*args, **kwargs):  # the 4th step's augmentation receives a Ctrl-C
        calls["n"] += 1
        if calls["n"] == 4:
            signal.raise_signal(signal.SIGINT)
        return crop(*args, **kwargs)

    monkeypatch.setattr(trainer, "random_crop_flip", interrupting_crop)
    with pytest.raises(trainer.TrainingInterrupted, match="after step 4.*--resume"):
        train(_config(stopped, epochs=2))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
    assert not (stopped / "model.pt").exists()
    state = load_train_state(stopped / "checkpoint_last.pt")
    assert state["step"] == 4 and state["epoch"] == 0
    monkeypatch.setattr(trainer, "random_crop_flip", crop)
    model_b, _ = train(_config(stopped, epochs=2, resume=str(stopped / "checkpoint_last.pt")))
    assert [r["step"] for r in _log(stopped)] == list(range(1, 11))
    for key, value in model_a.state_dict().items():
        assert torch.equal(value, model_b.state_dict()[key]), key


def test_a_damaged_log_line_before_the_last_is_named(tmp_path):
    from topoanalysis.training.run_folder import truncate_log

    log = tmp_path / "train_log.jsonl"
    log.write_text('{"step": 1}\n{"step": 2, "ta\n{"step": 3}\n')
    with pytest.raises(ValueError, match=r"train_log.jsonl, line 2, is not JSON"):
        truncate_log(log, 3)
    log.write_text('{"step": 1}\n{"step": 2}\n{"step": 3, "ta')
    truncate_log(log, 3)
    assert log.read_text() == '{"step": 1}\n{"step": 2}\n'


def test_checkpoint_every_n_steps_saves_mid_epoch_states_that_resume_exactly(tmp_path, monkeypatch):
    import shutil

    from topoanalysis.training import trainer

    saved_steps = []
    real_save = trainer.save_checkpoint

    def save_and_keep(path, model, spec, train_state=None):
        out = real_save(path, model, spec, train_state=train_state)
        if train_state is not None:
            saved_steps.append(train_state["step"])
            shutil.copy2(path, path.parent / f"step{train_state['step']}.pt")
        return out

    monkeypatch.setattr(trainer, "save_checkpoint", save_and_keep)
    straight, _ = train(_config(tmp_path / "run", epochs=2, checkpoint_every=3))
    assert saved_steps == [3, 5, 6, 9, 10]  # every 3 steps, plus each epoch's end (5 steps per epoch)
    monkeypatch.setattr(trainer, "save_checkpoint", real_save)
    resumed, _ = train(_config(tmp_path / "run", epochs=2, resume=str(tmp_path / "run" / "step6.pt")))
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_arch_kwargs_build_the_trained_network_and_bad_ones_fail_before_work(tmp_path, capsys):
    from topoanalysis.cli.main import main

    args = ["train", "--arch", "tiny_spikformer", "--batch-size", "8", "--limit-per-class", "4", "--alpha", "0",
            "--beta", "0", "--device", "cpu", "--max-steps", "1"]
    assert main(args + ["--out", str(tmp_path / "ok"), "--arch-kwarg", "depth=3"]) == 0
    model, spec = load_checkpoint(tmp_path / "ok" / "model.pt")
    assert spec.arch_kwargs["depth"] == 3 and len(model.blocks) == 3
    assert json.loads(spec.provenance["recipe"])["arch_kwargs"] == {"depth": 3}
    for bad, words in ((["--arch-kwarg", "depth"], "expected KEY=VALUE"),
                       (["--arch-kwarg", "layers=3"], "unknown key 'layers'"),
                       (["--arch-kwarg", "width=0.5"], "has its own setting")):
        try:
            status = main(args + ["--out", str(tmp_path / "bad")] + bad)
        except SystemExit as usage_error:  # argparse's own usage errors
            status = usage_error.code
        assert status == 2 and words in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize("native", [True, False])
def test_bf16_on_a_cpu_that_emulates_it_is_named_with_the_fix(tmp_path, monkeypatch, caplog, native):
    """bf16 autocast on a CPU without AVX512-BF16 or AMX took 15.5 s per CORnet step against 1.1 s in fp32: the
    trainer says so and names --precision fp32; a CPU with native bf16 gets no warning."""
    import topoanalysis.training.trainer as trainer

    monkeypatch.setattr(trainer, "cpu_has_native_bf16", lambda: native)
    with caplog.at_level("WARNING", logger=trainer.__name__):
        train(_config(tmp_path, max_steps=1, precision="bf16"))
    warned = [r.getMessage() for r in caplog.records if "emulated" in r.getMessage()]
    assert (warned == []) == native
    assert native or "--precision fp32" in warned[0]


def test_channels_last_is_kept_off_where_the_cpu_backward_crashes():
    """A strided 1x1 convolution with fewer than 8 input channels (a width-1/16 ResNet's layer2.0 shortcut, 4 -> 8)
    crashed its channels_last backward on an AVX2 CPU: the trainer keeps such a model contiguous."""
    from torch import nn

    from topoanalysis.models.registry import create_model
    from topoanalysis.training.cpu_kernels import channels_last_is_safe

    assert not channels_last_is_safe(nn.Sequential(nn.Conv2d(4, 8, 1, 2)))
    assert channels_last_is_safe(nn.Sequential(nn.Conv2d(8, 16, 1, 2), nn.Conv2d(4, 8, 3, 2), nn.Conv2d(4, 8, 1, 1)))
    assert not channels_last_is_safe(create_model("spiking_resnet18", num_classes=10, stem="cifar", width=1 / 16))
    assert channels_last_is_safe(create_model("spiking_resnet18", num_classes=10, stem="cifar", width=0.25))


def test_a_resume_in_another_precision_says_which_steps_ran_in_which(tmp_path):
    train(_config(tmp_path, epochs=2, max_steps=2))  # fp32, the CPU default
    _, spec = train(_config(tmp_path, epochs=2, precision="bf16", resume=str(tmp_path / "checkpoint_last.pt")))
    card = spec.provenance
    assert card["precision"] == f"fp32 (steps 1-2); bf16 (steps 3-{card['steps']})" and card["steps"] == 10
    assert "steps" not in card["hardware"]  # one machine: one value


def test_precision_history_spans_and_states_from_before_histories():
    from topoanalysis.training.provenance import by_steps, extend_history

    # a state written before histories were kept: the resumed card's precision ran from step 1
    history = extend_history(None, {"precision": "bf16", "hardware": "1 x cpu"}, 9616, "fp32", "1 x cpu")
    assert history == [{"first_step": 1, "precision": "bf16", "hardware": "1 x cpu"},
                       {"first_step": 9617, "precision": "fp32", "hardware": "1 x cpu"}]
    assert by_steps(history, "precision", 11715) == "bf16 (steps 1-9,616); fp32 (steps 9,617-11,715)"
    assert extend_history(history, None, 10000, "fp32", "1 x cpu") == history  # nothing changed: no entry
    moved = extend_history(history, None, 10000, "fp32", "1 x gpu")
    assert by_steps(moved, "precision", 11715) == "bf16 (steps 1-9,616); fp32 (steps 9,617-11,715)"  # merged
    assert by_steps(moved, "hardware", 11715) == "1 x cpu (steps 1-10,000); 1 x gpu (steps 10,001-11,715)"
    assert extend_history(None, None, 0, "fp32", "1 x cpu") == [{"first_step": 1, "precision": "fp32",
                                                                "hardware": "1 x cpu"}]
