import argparse
import json
import math

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from topoanalysis.datasets.resolver import SHARED_DATA_DIR
from topoanalysis.running.robustness import (
    ATTACKS,
    DEFAULT_STRENGTHS,
    WORST_CASE,
    accuracy_summary,
    accuracy_under_attack,
    check_attack,
    perturb,
    predict_logits,
    reference_rows,
    reference_strength,
    robustness_curves,
    robustness_per_image,
    robustness_table,
    wilson_interval,
    worst_case,
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
    pgd = perturb(model, x, labels, "pgd", EPS, generator=_gen(), spec=spec, pgd_steps=10, pgd_best_iterate=False)
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
    with pytest.raises(ValueError, match="valid attacks: gaussian_noise, pixel_mask, fgsm, pgd, square"):
        perturb(model, x, labels, "blur", 0.1, generator=_gen(), spec=spec)
    with pytest.raises(ValueError, match=">= 0"):
        check_attack("gaussian_noise", -0.1)
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        perturb(model, x, labels, "pixel_mask", 1.5, generator=_gen(), spec=spec)
    with pytest.raises(ValueError, match="valid attacks"):
        robustness_curves(model, spec, _uint8_data(x, labels), {"fgsm": (0,), "rotate": (1,)}, device="cpu")
    for option, value in (("pgd_steps", 0), ("pgd_restarts", 0), ("pgd_step_fraction", 0.0), ("square_queries", 0),
                          ("square_p_init", 1.5)):
        with pytest.raises(ValueError, match=option):
            perturb(model, x, labels, "pgd", EPS, generator=_gen(), spec=spec, **{option: value})
    with pytest.raises(ValueError, match="shape"):
        perturb(model, x[0], labels, "fgsm", EPS, generator=_gen(), spec=spec)
    assert set(DEFAULT_STRENGTHS) == set(ATTACKS) and all(s[0] == 0 for s in DEFAULT_STRENGTHS.values())


def test_curves_and_table_on_32px_images_resized_to_the_model(tiny):
    model, spec, _ = tiny
    rng = np.random.default_rng(0)
    data = (rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, 20))
    attacks = {"gaussian_noise": (0, 0.05, 0.2), "pixel_mask": (0, 0.5), "fgsm": (0, 2 / 255, 8 / 255)}
    curves = robustness_curves(model, spec, data, attacks, batch_size=8, device="cpu", seed=0)
    assert curves.columns.tolist() == ["attack", "strength", "accuracy", "se", "ci_low", "ci_high", "n_images"]
    accuracy = curves["accuracy"]
    np.testing.assert_allclose(curves["se"], np.sqrt(accuracy * (1 - accuracy) / curves["n_images"]))
    assert ((curves["ci_low"] <= accuracy) & (accuracy <= curves["ci_high"])).all()
    assert len(curves) == 8 and (curves["n_images"] == 20).all()
    assert curves[curves["strength"] == 0]["accuracy"].nunique() == 1
    table = robustness_table(curves)
    assert table["attack"].tolist() == ["clean", "gaussian_noise", "pixel_mask", "fgsm"]
    assert table["strength"].tolist() == [0.0, 0.2, 0.5, 8 / 255]
    fgsm = curves[(curves["attack"] == "fgsm") & np.isclose(curves["strength"], 8 / 255)]["accuracy"].item()
    assert table.set_index("attack").loc["fgsm", "accuracy"] == fgsm
    assert {"se", "ci_low", "ci_high"} <= set(table.columns)
    wide = robustness_table(pd.concat([curves.assign(model="a"), curves.assign(model="b")]), {"fgsm": 2 / 255})
    assert {"a", "b", "a se", "a ci_low", "b ci_high"} <= set(wide.columns) and (wide["a"] == wide["b"]).all()
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
    static = pd.concat([curves, pd.DataFrame({"model": "topo", "attack": ["fgsm_static", WORST_CASE],
                                              "strength": [4 / 255, np.nan], "accuracy": [0.5, 0.1],
                                              "n_images": 100})])
    fig = robustness_figure(static, chance=0.1)
    assert len(fig.axes) == 2 and len(fig.axes[0].get_lines()) == 4  # the static point joins the FGSM panel
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
                               "--sigmas", "0", "0.1", "--mask-fractions", "0", "0.5", "--pgd-steps", "3",
                               "--square-queries", "5", "--pgd-restarts", "2", "--pgd-n-per-class", "1",
                               "--square-epsilons", "0", "8"])
    assert command.run(args) == 0
    names = {"robustness_curves.csv", "robustness_table.csv", "robustness_per_image.csv", "robustness_results.json",
             "robustness.png", "robustness.pdf"}
    assert names <= {p.name for p in out.iterdir()}
    assert mpimg.imread(out / "robustness.png").ndim == 3
    curves = pd.read_csv(out / "robustness_curves.csv")
    static = {f"{a}_static" for a in ATTACKS}
    assert set(curves["attack"]) == {*ATTACKS, *static, WORST_CASE}
    slow = curves["attack"].str.startswith(("pgd", "square", WORST_CASE))
    assert (curves.loc[~slow, "n_images"] == 20).all() and (curves.loc[slow, "n_images"] == 10).all()
    assert set(curves["model"]) == {"tiny"}
    per_image = pd.read_csv(out / "robustness_per_image.csv")
    assert per_image.columns.tolist() == ["model", "attack", "strength", "image", "label", "correct"]
    assert per_image.groupby("attack").size().to_dict() == {"clean": 20, WORST_CASE: 10, **{
        a: 10 if a.startswith(("pgd", "square")) else 20 for a in [*ATTACKS, *static]}}
    report = json.loads((out / "robustness_results.json").read_text())
    assert report["per_timestep"] is True and report["seed"] == 0
    assert report["models"]["tiny"]["checkpoint_sha256"] == spec.content_sha256
    assert report["parameters"]["strengths"]["pgd"] == pytest.approx([0, 2 / 255, 8 / 255])
    assert report["parameters"]["pgd_restarts"] == 2 and report["parameters"]["square_queries"] == 5
    assert set(report["gradient_masking"]["tiny"]) == {"per_frame", "static"}
    table = pd.read_csv(out / "robustness_table.csv")
    assert table["attack"].tolist()[0] == "clean" and table["attack"].tolist()[-1] == WORST_CASE
    assert {"tiny", "tiny se", "tiny ci_low", "tiny ci_high"} <= set(table.columns)


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


def _correct(model, spec, adv, labels):
    return predict_logits(model, adv, spec=spec).argmax(-1) == labels


@pytest.mark.parametrize("per_timestep", [True, False])
def test_best_iterate_pgd_never_scores_above_last_iterate_pgd(tiny, batch, per_timestep):
    model, spec, _ = tiny
    x, labels = batch
    options = dict(spec=spec, per_timestep=per_timestep, pgd_steps=4, pgd_restarts=2)
    correct = {best: _correct(model, spec, perturb(model, x, labels, "pgd", 2 / 255, generator=_gen(), **options,
                                                   pgd_best_iterate=best), labels) for best in (True, False)}
    assert not (correct[True] & ~correct[False]).any()  # per image: same starts, best iterate is never weaker
    assert correct[True].sum() < correct[False].sum() < len(labels)  # and here strictly stronger


def test_square_attack_finds_adversarials_inside_the_ball(tiny, batch):
    model, spec, _ = tiny
    x, labels = batch  # labels are the model's own predictions: clean accuracy 1
    eps = 16 / 255
    for per_timestep in (True, False):
        adv = perturb(model, x, labels, "square", eps, generator=_gen(), spec=spec, per_timestep=per_timestep,
                      square_queries=30)
        frames = adv if per_timestep else adv[None]
        assert (frames - x).abs().max().item() <= eps + 1e-6 and adv.min() >= 0 and adv.max() <= 1
        correct = _correct(model, spec, adv, labels)
        assert correct.float().mean() < 0.75
        if per_timestep:
            few = perturb(model, x, labels, "square", eps, generator=_gen(), spec=spec, square_queries=1)
            assert correct.sum() < _correct(model, spec, few, labels).sum()  # more queries, more adversarials


def test_wilson_interval_known_values_and_coverage():
    low, high = wilson_interval(8, 10)
    assert (low, high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    low, high = wilson_interval(0, 50)
    assert low == pytest.approx(0, abs=1e-12) and high == pytest.approx(3.8415 / 53.8415, abs=1e-4) and high > 0
    n, k = 50, np.arange(51)
    low, high = wilson_interval(k, n)
    truths = np.linspace(0.05, 0.95, 91)
    pmf = np.array([[math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in k] for p in truths])
    coverage = (pmf * ((low <= truths[:, None]) & (truths[:, None] <= high))).sum(axis=1)
    assert 0.94 < coverage.mean() < 0.96 and coverage.min() > 0.9  # exact coverage, close to the nominal 95 %
    with pytest.raises(ValueError, match="n_correct"):
        wilson_interval(3, 2)


def test_an_attack_never_makes_a_clean_error_correct(tiny, batch):
    model, spec, _ = tiny
    x = torch.from_numpy(_uint8_data(*batch)[0]).permute(0, 3, 1, 2).float() / 255  # what the table sees
    own = predict_logits(model, x, spec=spec).argmax(-1)
    wrong = (own + 1) % 10  # every image misclassified clean
    flipped = _correct(model, spec, perturb(model, x, wrong, "gaussian_noise", 1.0, generator=_gen(), spec=spec),
                       wrong)
    assert flipped.any()  # raw noise does turn some clean errors "correct" ...
    labels = torch.where(torch.arange(len(own)) % 2 == 0, own, wrong)
    attacks = {"gaussian_noise": (0, 1.0), "pixel_mask": (0.5,), "fgsm": (EPS,), "pgd": (EPS,), "square": (EPS,)}
    rows = robustness_per_image(model, spec, _uint8_data(x, labels), attacks, device="cpu", pgd_steps=3,
                                square_queries=10)
    clean = rows[rows["attack"] == "clean"].set_index("image")["correct"]
    assert clean.sum() > 0
    assert not clean[torch.arange(len(own)).numpy() % 2 == 1].any()
    for _, sub in rows[rows["attack"] != "clean"].groupby(["attack", "strength"]):
        assert not (sub.set_index("image")["correct"] & ~clean).any()  # ... but they never count
    accuracy = accuracy_summary(rows).set_index("attack")["accuracy"]
    assert (accuracy <= clean.mean()).all()


def test_worst_case_is_never_above_any_single_attack(tiny, batch):
    model, spec, _ = tiny
    x, labels = batch
    attacks = {"gaussian_noise": (0, 0.1), "pixel_mask": (0.25,), "fgsm": (2 / 255,), "pgd": (2 / 255,),
               "square": (2 / 255,), "fgsm_static": (2 / 255,)}
    rows = robustness_per_image(model, spec, _uint8_data(x, labels), attacks, device="cpu", pgd_steps=3,
                                square_queries=10)
    worst = worst_case(rows).set_index("image")
    assert len(worst) == len(labels) and worst["strength"].isna().all()
    chosen = reference_rows(rows)
    by_attack = chosen[chosen["attack"] != "clean"].pivot(index="image", columns="attack", values="correct")
    assert set(by_attack.columns) == {"gaussian_noise", "pixel_mask", "fgsm", "pgd", "square", "fgsm_static"}
    assert worst["correct"].equals(by_attack.all(axis=1).rename("correct"))  # the union of successes
    summary = accuracy_summary(pd.concat([rows, worst.reset_index()]))
    table = robustness_table(summary).set_index("attack")
    assert table.loc[WORST_CASE, "accuracy"] <= table.drop(["clean", WORST_CASE])["accuracy"].min()
    assert table.loc[WORST_CASE, "accuracy"] < table.loc["gaussian_noise", "accuracy"]
    assert table.loc[WORST_CASE, "strength_name"] == "reference strengths"
    subset = rows[~((rows["attack"] == "pgd") & (rows["image"] >= 8))]  # an attack run on fewer images
    assert worst_case(subset)["image"].tolist() == list(range(8))


def test_per_image_table_pairs_models_image_by_image(tiny, tmp_path):
    from topoanalysis.analyses import robustness as analysis
    from topoanalysis.analyses.base import Runtime

    if not (SHARED_DATA_DIR / "cifar10-jpeg.zip").is_file():
        pytest.skip("CIFAR-10 zip not available")
    params = analysis.RobustnessParams(sigmas=(0, 0.1), mask_fractions=(0, 0.25), epsilons_per_255=(0, 8),
                                       square_epsilons_per_255=(8,), pgd_steps=2, square_queries=4, n_per_class=2,
                                       pgd_n_per_class=1)
    result = analysis.run({"topo": tiny[2], "base": tiny[2]}, params, Runtime(device="cpu", progress=False))
    per_image = result.per_image
    assert per_image.columns.tolist() == ["model", "attack", "strength", "image", "label", "correct"]
    assert per_image["correct"].dtype == bool
    labels = [f"{a}{s}" for s in ("", "_static") for a in ATTACKS]
    assert list(dict.fromkeys(per_image["attack"])) == ["clean", *labels, WORST_CASE]
    sizes = per_image.groupby(["model", "attack"]).size()
    assert (sizes.xs("topo") == sizes.xs("base")).all()
    assert sizes[("topo", "clean")] == 20 and sizes[("topo", "pgd")] == sizes[("topo", WORST_CASE)] == 10
    clean = per_image[per_image["attack"] == "clean"]
    assert clean["strength"].eq(0).all() and sorted(set(clean["image"])) == list(range(20))
    pgd = per_image[per_image["attack"] == "pgd"]
    first = clean[clean["model"] == "topo"].drop_duplicates("label")["image"]
    assert sorted(set(pgd["image"])) == sorted(first)  # the first image of each class
    paired = per_image.pivot_table(index=["attack", "image"], columns="model", values="correct", aggfunc="first")
    assert paired["topo"].equals(paired["base"])  # the same network under two names: identical, image by image
    table = result.table_by_model.set_index("attack")
    check = per_image.groupby(["attack", "model"])["correct"].mean().unstack()
    np.testing.assert_allclose(table.loc[check.index, "topo"], check.loc[:, "topo"])
    assert {"topo ci_low", "topo ci_high", "topo se"} <= set(table.columns)
    result.save(tmp_path)
    loaded = analysis.RobustnessResult.load(tmp_path)
    pd.testing.assert_frame_equal(loaded.per_image, per_image, check_dtype=False)
    assert reference_rows(robustness_per_image(tiny[0], tiny[1], (np.zeros((2, 16, 16, 3), np.uint8), np.arange(2)),
                                               {"fgsm": (0, 2 / 255)}, device="cpu"))["strength"].max() == 2 / 255
