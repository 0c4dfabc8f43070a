import argparse
import json

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from topoanalysis.paths import SHARED_DATA_DIR
from topoanalysis.robustness import (
    ATTACKS,
    DEFAULT_STRENGTHS,
    accuracy_under_attack,
    check_attack,
    perturb,
    predict_logits,
    reference_strength,
    robustness_curves,
    robustness_table,
)

EPS = 4 / 255


@pytest.fixture(scope="module")
def batch(tiny):
    """24 random 16 px images in [0.05, 1] labelled with the tiny model's own predictions."""
    model, spec, _ = tiny
    x = 0.05 + 0.95 * torch.rand(24, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    labels = predict_logits(model, x, spec=spec).argmax(-1)
    return x, labels


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _uint8_data(x, labels):
    return (x * 255).round().byte().permute(0, 2, 3, 1).numpy(), labels.numpy()


def _own_label_stats(model, spec, adv, labels):
    logits = predict_logits(model, adv, spec=spec)
    confidence = logits.softmax(-1).gather(1, labels[:, None]).mean().item()
    return confidence, F.cross_entropy(logits, labels).item()


def test_fgsm_with_epsilon_zero_keeps_the_clean_accuracy(tiny, batch):
    model, spec, _ = tiny
    x, labels = batch
    rng = np.random.default_rng(0)
    data = (_uint8_data(x, labels)[0], rng.integers(0, 10, len(labels)))
    clean = accuracy_under_attack(model, data, "gaussian_noise", 0.0, spec=spec, device="cpu")
    manual = (predict_logits(model, torch.from_numpy(data[0]).permute(0, 3, 1, 2).float() / 255, spec=spec)
              .argmax(-1).numpy() == data[1]).mean()
    assert accuracy_under_attack(model, data, "fgsm", 0.0, spec=spec, device="cpu") == clean == manual
    unchanged = perturb(model, x, labels, "fgsm", 0.0, generator=_gen(), spec=spec)
    assert unchanged.shape == (2, *x.shape) and torch.equal(unchanged, x.expand(2, *x.shape))


def test_fgsm_lowers_confidence_in_the_models_own_prediction(tiny, batch):
    model, spec, _ = tiny
    x, labels = batch
    clean_conf, clean_loss = _own_label_stats(model, spec, x, labels)
    adv = perturb(model, x, labels, "fgsm", EPS, generator=_gen(), spec=spec)
    conf, loss = _own_label_stats(model, spec, adv, labels)
    assert conf < clean_conf and loss > clean_loss
    assert adv.shape == (2, *x.shape) and not torch.equal(adv[0], adv[1])  # a sign per timestep frame
    static = perturb(model, x, labels, "fgsm", EPS, generator=_gen(), spec=spec, per_timestep=False)
    assert static.shape == x.shape and torch.allclose((static - x).abs().amax(), torch.tensor(EPS))


@pytest.mark.parametrize("per_timestep", [True, False])
def test_pgd_stays_in_its_ball_and_in_range(tiny, batch, per_timestep):
    model, spec, _ = tiny
    x, labels = batch
    adv = perturb(model, x, labels, "pgd", EPS, generator=_gen(), spec=spec, per_timestep=per_timestep,
                  pgd_steps=5)
    frames = adv if per_timestep else adv[None]
    assert frames.shape[0] == (2 if per_timestep else 1)
    for frame in frames:
        assert (frame - x).abs().max().item() <= EPS + 1e-6
    assert adv.min().item() >= 0 and adv.max().item() <= 1
    assert (frames - x).abs().max().item() > EPS / 2  # it moved


def test_pgd_is_at_least_as_strong_as_fgsm(tiny, batch):
    model, spec, _ = tiny
    x, labels = batch
    fgsm = perturb(model, x, labels, "fgsm", EPS, generator=_gen(), spec=spec)
    pgd = perturb(model, x, labels, "pgd", EPS, generator=_gen(), spec=spec)
    _, fgsm_loss = _own_label_stats(model, spec, fgsm, labels)
    _, pgd_loss = _own_label_stats(model, spec, pgd, labels)
    _, clean_loss = _own_label_stats(model, spec, x, labels)
    assert pgd_loss > clean_loss
    assert pgd_loss >= fgsm_loss - 2e-3


def test_noise_and_masks_are_drawn_per_timestep(tiny, batch):
    model, spec, _ = tiny
    x, labels = batch
    for attack, strength in (("gaussian_noise", 0.1), ("pixel_mask", 0.25)):
        varying = perturb(model, x, labels, attack, strength, generator=_gen(), spec=spec)
        assert varying.shape == (2, *x.shape) and not torch.equal(varying[0], varying[1])
        static = perturb(model, x, labels, attack, strength, generator=_gen(), spec=spec, per_timestep=False)
        assert static.shape == x.shape
        repeated = model.encode(static, spec.timesteps)  # what the network sees: the same frame T times
        assert torch.equal(repeated[0], repeated[1])
        assert varying.min() >= 0 and varying.max() <= 1
    masked = perturb(model, x, labels, "pixel_mask", 0.25, generator=_gen(), spec=spec)
    zero = (masked == 0).all(dim=2)  # [T, B, H, W]: masked in all three channels
    assert torch.equal(zero.sum(dim=(-1, -2)), torch.full((2, len(x)), round(0.25 * 16 * 16)))
    assert torch.equal(masked.masked_fill(zero[:, :, None], 0), x.expand_as(masked).masked_fill(zero[:, :, None], 0))
    noisy = perturb(model, x, labels, "gaussian_noise", 0.05, generator=_gen(), spec=spec)
    inside = (x > 0.2) & (x < 0.8)  # away from clipping the noise keeps its sigma
    assert abs((noisy - x)[:, inside].std().item() - 0.05) < 0.005


def test_same_seed_same_result_different_seed_different_noise(tiny, batch):
    model, spec, _ = tiny
    x, labels = batch
    for attack, strength in (("gaussian_noise", 0.1), ("pixel_mask", 0.25), ("pgd", EPS)):
        options = dict(spec=spec, pgd_steps=2)
        a = perturb(model, x, labels, attack, strength, generator=_gen(3), **options)
        b = perturb(model, x, labels, attack, strength, generator=_gen(3), **options)
        c = perturb(model, x, labels, attack, strength, generator=_gen(4), **options)
        assert torch.equal(a, b) and not torch.equal(a, c)
    data = _uint8_data(x, labels)
    runs = [accuracy_under_attack(model, data, "gaussian_noise", 0.2, spec=spec, device="cpu", seed=s,
                                  batch_size=8) for s in (5, 5)]
    assert runs[0] == runs[1]


def test_bad_inputs_are_refused(tiny, batch):
    model, spec, _ = tiny
    x, labels = batch
    with pytest.raises(ValueError, match="valid attacks: gaussian_noise, pixel_mask, fgsm, pgd"):
        perturb(model, x, labels, "blur", 0.1, generator=_gen(), spec=spec)
    with pytest.raises(ValueError, match=">= 0"):
        check_attack("gaussian_noise", -0.1)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        perturb(model, x, labels, "pixel_mask", 1.5, generator=_gen(), spec=spec)
    with pytest.raises(ValueError, match="valid attacks"):
        robustness_curves(model, spec, _uint8_data(x, labels), {"fgsm": (0,), "rotate": (1,)}, device="cpu")
    with pytest.raises(ValueError, match="pgd_steps"):
        perturb(model, x, labels, "pgd", EPS, generator=_gen(), spec=spec, pgd_steps=0)
    with pytest.raises(ValueError, match="shape"):
        perturb(model, x[0], labels, "fgsm", EPS, generator=_gen(), spec=spec)
    assert set(DEFAULT_STRENGTHS) == set(ATTACKS) and all(s[0] == 0 for s in DEFAULT_STRENGTHS.values())


def test_curves_and_table_on_32px_images_resized_to_the_model(tiny):
    model, spec, _ = tiny
    rng = np.random.default_rng(0)
    data = (rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 20))
    attacks = {"gaussian_noise": (0, 0.05, 0.2), "pixel_mask": (0, 0.5), "fgsm": (0, 2 / 255, 8 / 255)}
    curves = robustness_curves(model, spec, data, attacks, batch_size=8, device="cpu", seed=0)
    assert curves.columns.tolist() == ["attack", "strength", "accuracy", "se", "n_images"]
    accuracy = curves["accuracy"]
    np.testing.assert_allclose(curves["se"], np.sqrt(accuracy * (1 - accuracy) / curves["n_images"]))
    assert len(curves) == 8 and (curves["n_images"] == 20).all()
    assert curves[curves["strength"] == 0]["accuracy"].nunique() == 1
    table = robustness_table(curves)
    assert table["attack"].tolist() == ["clean", "gaussian_noise", "pixel_mask", "fgsm"]
    assert table["strength"].tolist() == [0.0, 0.2, 0.5, 8 / 255]
    fgsm = curves[(curves["attack"] == "fgsm") & np.isclose(curves["strength"], 8 / 255)]["accuracy"].item()
    assert table.set_index("attack").loc["fgsm", "accuracy"] == fgsm
    wide = robustness_table(pd.concat([curves.assign(model="a"), curves.assign(model="b")]), {"fgsm": 2 / 255})
    assert {"a", "b"} <= set(wide.columns) and (wide["a"] == wide["b"]).all()
    assert reference_strength(DEFAULT_STRENGTHS["fgsm"]) == 4 / 255
    with pytest.raises(ValueError, match="available"):
        robustness_table(curves, {"fgsm": 1 / 255})


def test_robustness_figure_has_one_panel_per_attack(tmp_path):
    from topoanalysis.outputs import save_figure
    from topoanalysis.plotting.robustness import robustness_figure

    curves = pd.DataFrame({"model": ["topo"] * 4 + ["base"] * 4, "attack": ["fgsm", "fgsm", "pixel_mask",
                           "pixel_mask"] * 2, "strength": [0, 4 / 255, 0, 0.5] * 2,
                           "accuracy": [0.8, 0.3, 0.8, 0.5, 0.7, 0.2, 0.7, 0.4], "n_images": 100})
    fig = robustness_figure(curves, chance=0.1)
    assert len(fig.axes) == 2 and len(fig.axes[0].get_lines()) == 3  # two models and chance
    assert fig.axes[0].get_lines()[0].get_xdata()[-1] == pytest.approx(4.0)  # epsilon drawn in 1/255
    paths = save_figure(fig, tmp_path, "robustness")
    assert mpimg.imread(paths[0]).ndim == 3


def _cli_args(argv):
    from topoanalysis.cli import robustness as command

    subparsers = argparse.ArgumentParser().add_subparsers()
    command.add_parser(subparsers)
    args = subparsers.choices["robustness"].parse_args(argv)
    return command, args


def test_cli_on_the_tiny_checkpoint_with_cifar10(tiny, tmp_path):
    zip_path = SHARED_DATA_DIR / "cifar10-jpeg.zip"
    if not zip_path.is_file():
        pytest.skip(f"CIFAR-10 zip not available at {zip_path}")
    _, spec, path = tiny
    out = tmp_path / "rob"
    command, args = _cli_args(["--ckpt", str(path), "--n-per-class", "2", "--data-path", str(zip_path),
                               "--out", str(out), "--device", "cpu", "--epsilons", "0", "2", "8",
                               "--sigmas", "0", "0.1", "--mask-fractions", "0", "0.5", "--pgd-steps", "3"])
    assert command.run(args) == 0
    names = {"robustness_curves.csv", "robustness_table.csv", "robustness_results.json", "robustness.png",
             "robustness.pdf"}
    assert names <= {p.name for p in out.iterdir()}
    assert mpimg.imread(out / "robustness.png").ndim == 3
    curves = pd.read_csv(out / "robustness_curves.csv")
    assert set(curves["attack"]) == set(ATTACKS) and (curves["n_images"] == 20).all()
    assert set(curves["model"]) == {"tiny"}
    report = json.loads((out / "robustness_results.json").read_text())
    assert report["per_timestep"] is True and report["seed"] == 0
    assert report["models"]["tiny"]["checkpoint_sha256"] == spec.content_sha256
    assert report["parameters"]["strengths"]["pgd"] == pytest.approx([0, 2 / 255, 8 / 255])
    assert pd.read_csv(out / "robustness_table.csv")["attack"].tolist()[0] == "clean"


def test_cli_refuses_data_with_another_class_count(tiny, tmp_path):
    from PIL import Image

    _, _, path = tiny
    for cls in ("a", "b", "c"):
        (tmp_path / "val" / cls).mkdir(parents=True)
        Image.new("RGB", (20, 20), (10, 200, 30)).save(tmp_path / "val" / cls / "0.png")
    command, args = _cli_args(["--ckpt", str(path), "--data", "imagefolder", "--data-path", str(tmp_path),
                               "--out", str(tmp_path / "out"), "--device", "cpu", "--attacks", "fgsm"])
    with pytest.raises(ValueError, match="classifies 10 classes .* has 3"):
        command.run(args)
    _, args = _cli_args(["--ckpt", str(path), "--sigmas", "-1"])
    with pytest.raises(ValueError, match=">= 0"):
        command.run(args)
