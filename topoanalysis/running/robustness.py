"""Accuracy under Gaussian noise, pixel masking, FGSM, PGD and the Square attack, per image.

The TDSNN paper's robustness table uses noise, masking, FGSM and PGD "at each timestep"
but gives no strengths. Our choices [I]:

* Perturbations act in pixel space [0, 1] at the checkpoint's input size, before its
  mean/std normalisation (applied inside), clipped to [0, 1]; sigma and epsilon are in
  [0, 1] units (``4 / 255`` = four grey levels). Strengths: :data:`DEFAULT_STRENGTHS`.
* Two ways to perturb a network that sees T frames, both reported (:func:`split_label`):
  *per frame* (attack ``"pgd"``; the paper's "at each timestep"): the network sees
  ``[T, B, 3, H, W]``; noise and masks are drawn per frame (exactly
  ``round(fraction * H * W)`` pixels, zero in all channels) and FGSM/PGD/Square move every
  frame inside its own L-inf ball, so a T-step network offers T x 3 x H x W free
  coordinates; *static* (attack ``"pgd_static"``): one perturbation of the image, repeated
  over T, 3 x H x W coordinates, as for a T = 1 network. Both keep every pixel of every
  frame within epsilon of the clean image.
* FGSM/PGD use the gradient of the cross-entropy w.r.t. the input (surrogate spike
  gradients, batch norm in eval mode).
* PGD as the SNN robustness literature runs it: ``restarts`` uniform random starts in the
  ball, ``steps`` signed-gradient steps of ``step_fraction * epsilon``, projection and
  clipping after every step; an image is fooled when *any* iterate of any restart is
  misclassified (best iterate, not the last one). Default steps: :data:`PGD_STEPS`, from
  ``benchmarks/robustness_convergence.py``.
* Square attack (Andriushchenko et al. 2020, L-inf), a gradient-free check for gradient
  masking: vertical-stripe start of +-epsilon, then random squares of side
  ``sqrt(p * H * W)`` (``p`` halved on the paper's schedule, rescaled to the query budget)
  set to +-epsilon per channel; a change is kept when the margin (true logit minus the
  best other logit) falls; the image is fooled once the margin is negative.
* An image counts as correct under an attack only if it is correctly classified clean
  and under the attack; attacks run only on the clean-correct images.
* Accuracies come with the binomial SE and the 95 % Wilson score interval.
* Every (attack, strength) starts a fresh generator from ``seed``, so strengths share
  random numbers (smoother curves).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from ..errors import InputError
from ..stats import binomial_se
from .attacks import (  # noqa: F401 (the attacks' names are part of this module's API)
    ADVERSARIAL,
    ATTACKS,
    DEFAULT_STRENGTHS,
    EPSILONS,
    PGD_RESTARTS,
    PGD_STEP_FRACTION,
    PGD_STEPS,
    SQUARE_P_INIT,
    SQUARE_QUERIES,
    STRENGTH_NAMES,
    AttackNet,
    check_attack,
    check_attack_options,
    normalisation,
    perturb,
    predict_logits,
    run_attack,
)
from .inputs import labelled_batches

if TYPE_CHECKING:
    from .models.checkpoints import CheckpointSpec

logger = logging.getLogger(__name__)

#: Suffix of the attack label of a static perturbation (one frame repeated over T).
STATIC = "_static"
#: Label of the per-image worst case over every attack at its reference strength.
WORST_CASE = "worst_case"
Z_95 = 1.959963984540054



def split_label(label: str) -> tuple[str, bool]:
    """``(attack, static)`` of a table's attack label: ``"pgd"`` is per frame, ``"pgd_static"`` static.

    Examples
    --------
    >>> split_label("fgsm_static"), split_label("pgd")
    (('fgsm', True), ('pgd', False))
    """
    static = label.endswith(STATIC)
    return (label[: -len(STATIC)] if static else label), static


def strength_name(label: str) -> str:
    """The strength's name for an attack label (``"none"`` for clean, all references for the worst case)."""
    if label == WORST_CASE:
        return "reference strengths"
    return STRENGTH_NAMES.get(split_label(label)[0], "none")


def wilson_interval(n_correct, n_total, z: float = Z_95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval ``(low, high)`` of a binomial proportion (default 95 %); vectorised.

    Unlike the normal approximation it is not ``[0, 0]`` at 0 successes.

    Examples
    --------
    >>> low, high = wilson_interval(0, 20)
    >>> round(float(low), 6), round(float(high), 3)
    (0.0, 0.161)
    """
    k, n = np.asarray(n_correct, dtype=float), np.asarray(n_total, dtype=float)
    if np.any(n < 1) or np.any(k < 0) or np.any(k > n):
        raise InputError(f"need 0 <= n_correct <= n_total and n_total >= 1, got {n_correct} of {n_total}")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _arrays(data) -> tuple[np.ndarray, np.ndarray]:
    images, labels = (data.images, data.labels) if hasattr(data, "images") else data
    images, labels = np.asarray(images), np.asarray(labels, dtype=np.int64)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3 or len(images) != len(labels):
        raise InputError(f"expected uint8 images [N, H, W, 3] and N labels, got {images.dtype} "
                         f"{images.shape} and {labels.shape}")
    return images, labels


def _plan(attacks: Mapping[str, Sequence[float]], per_timestep: bool) -> list[tuple[str, str, bool, float]]:
    """``(label, attack, static, strength)`` per run; plain names follow ``per_timestep``."""
    plan = []
    for name, strengths in attacks.items():
        attack, static = split_label(name)
        static = static or not per_timestep
        label = attack + STATIC if static else attack
        plan += [(label, attack, static, check_attack(attack, s)) for s in strengths]
    return list(dict.fromkeys(plan))


def robustness_per_image(model: nn.Module, spec: CheckpointSpec, data,
                         attacks: Mapping[str, Sequence[float]] | None = None, *, image_index=None,
                         batch_size: int = 64, device=None, seed: int = 0, per_timestep: bool = True,
                         pgd_steps: int = PGD_STEPS, pgd_restarts: int = PGD_RESTARTS,
                         pgd_step_fraction: float = PGD_STEP_FRACTION, square_queries: int = SQUARE_QUERIES,
                         square_p_init: float = SQUARE_P_INIT, precision: str = "fp32",
                         progress: bool = False) -> pd.DataFrame:
    """Per image, whether it is classified correctly: columns ``attack, strength, image, label, correct``.

    ``attacks`` maps attack labels to strengths (default :data:`DEFAULT_STRENGTHS`): a plain
    name perturbs per frame (static with ``per_timestep=False``), ``"<attack>_static"``
    statically; labels in the table say which. Rows with attack ``"clean"`` (strength 0)
    hold the clean result; an attack's row is correct only if the image is correct clean
    and under the attack (attacks run on clean-correct images only). ``image`` numbers the
    images of ``data`` (or is ``image_index[i]``). ``data`` has ``images`` (uint8
    ``[N, H, W, 3]``) and ``labels`` or is an ``(images, labels)`` pair; images are resized
    (bilinear) to ``spec.input_size_px``.

    Examples
    --------
    >>> from topoanalysis.testing import tiny_checkpoint
    >>> model, spec = tiny_checkpoint(calibrate=False)
    >>> data = (np.zeros((4, 16, 16, 3), np.uint8), np.arange(4))
    >>> table = robustness_per_image(model, spec, data, {"pixel_mask": (0.5,)}, device="cpu")
    >>> table.groupby("attack")["image"].apply(list).to_dict()
    {'clean': [0, 1, 2, 3], 'pixel_mask': [0, 1, 2, 3]}
    """
    check_attack_options(pgd_steps, pgd_restarts, pgd_step_fraction, square_queries, square_p_init)
    plan = _plan(DEFAULT_STRENGTHS if attacks is None else attacks, per_timestep)
    images, labels = _arrays(data)
    index = np.arange(len(labels)) if image_index is None else np.asarray(image_index, dtype=np.int64)
    if index.shape != labels.shape:
        raise InputError(f"image_index needs one entry per image ({len(labels)}), got {index.shape}")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = model.to(device).eval()
    runs = [(label, attack, static, s) for label, attack, static, s in plan if s > 0]
    generators = {run: torch.Generator(device=device).manual_seed(int(seed)) for run in runs}
    options = dict(pgd_steps=pgd_steps, pgd_restarts=pgd_restarts, pgd_step_fraction=pgd_step_fraction,
                   pgd_best_iterate=True, square_queries=square_queries, square_p_init=square_p_init)
    clean, correct = [], {run: [] for run in runs}
    n_batches = math.ceil(len(labels) / batch_size)
    with tqdm(total=(len(runs) + 1) * n_batches, desc="robustness", unit="batch", disable=not progress) as bar:
        for x, y in labelled_batches(images, labels, spec.input_size_px, batch_size, device):
            net = AttackNet(model, normalisation(model, spec, None, None, None, x), precision)
            logits = net.logits(x)
            if logits.shape[-1] <= int(y.max()):
                raise InputError(f"labels go up to {int(y.max())} but the model has {logits.shape[-1]} classes")
            right = logits.argmax(-1) == y
            clean.append(right.cpu())
            bar.update()
            keep = right.nonzero().squeeze(1)
            for run in runs:
                label, attack, static, strength = run
                bar.set_postfix_str(f"{label} {strength:.4g}")
                survived = torch.zeros_like(right)
                if len(keep):
                    adv, fooled = run_attack(net, x[keep], y[keep], attack, strength, generator=generators[run],
                                          per_timestep=not static, **options)
                    survived[keep] = ~fooled if fooled is not None else net.logits(adv).argmax(-1) == y[keep]
                correct[run].append(survived.cpu())
                bar.update()
    clean_correct = torch.cat(clean).numpy()
    frames = [pd.DataFrame({"attack": "clean", "strength": 0.0, "image": index, "label": labels,
                            "correct": clean_correct})]
    for run in plan:
        right = torch.cat(correct[run]).numpy() if run[3] > 0 else clean_correct
        frames.append(pd.DataFrame({"attack": run[0], "strength": run[3], "image": index, "label": labels,
                                    "correct": right & clean_correct}))
    return pd.concat(frames, ignore_index=True)


def accuracy_summary(per_image: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per (model,) attack and strength from :func:`robustness_per_image` rows:
    ``[model,] attack, strength, accuracy, se, ci_low, ci_high, n_images`` (binomial SE, 95 % Wilson
    interval); the ``clean`` rows are left out (every attack's strength-0 rows hold them).

    Examples
    --------
    >>> rows = pd.DataFrame({"attack": "fgsm", "strength": 0.1, "image": range(4), "label": 0,
    ...                      "correct": [True, False, False, False]})
    >>> accuracy_summary(rows)[["accuracy", "n_images"]].to_dict("records")
    [{'accuracy': 0.25, 'n_images': 4}]
    """
    keys = (["model"] if "model" in per_image else []) + ["attack", "strength"]
    rows = per_image[per_image["attack"] != "clean"]
    grouped = rows.groupby(keys, sort=False, dropna=False)["correct"].agg(["sum", "size"]).reset_index()
    n_correct, n = grouped["sum"].to_numpy(float), grouped["size"].to_numpy(float)
    accuracy = n_correct / n
    low, high = wilson_interval(n_correct, n)
    return grouped[keys].assign(accuracy=accuracy, se=binomial_se(accuracy, n), ci_low=low,
                                ci_high=high, n_images=n.astype(int))


def reference_rows(per_image: pd.DataFrame, reference: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The clean rows, each attack's rows at its reference strength (default :func:`reference_strength`)
    and any worst-case rows."""
    reference, parts = dict(reference or {}), [per_image[per_image["attack"] == "clean"]]
    for label in dict.fromkeys(per_image["attack"]):
        sub = per_image[per_image["attack"] == label]
        if label in ("clean", WORST_CASE):
            parts += [sub] if label == WORST_CASE else []
            continue
        strength = float(reference.get(label, reference_strength(sub["strength"])))
        chosen = sub[np.isclose(sub["strength"].to_numpy(float), strength, rtol=1e-9, atol=1e-12)]
        if not len(chosen):
            raise InputError(f"no {label} rows at strength {strength:g}; available: "
                             f"{', '.join(f'{s:g}' for s in sorted(set(sub['strength'])))}")
        parts.append(chosen)
    return pd.concat(parts, ignore_index=True)


def worst_case(per_image: pd.DataFrame, reference: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Per (model and) image: correct only if correct under every attack at its reference strength.

    Attack ``"worst_case"``, strength NaN; only images every attack ran on (e.g. the PGD
    subset), so its accuracy is never above any single attack's on those images.

    Examples
    --------
    >>> rows = pd.DataFrame({"attack": ["fgsm"] * 2 + ["pgd"] * 2, "strength": 0.1, "image": [0, 1] * 2,
    ...                      "label": 3, "correct": [True, True, False, True]})
    >>> worst_case(rows)["correct"].tolist()
    [False, True]
    """
    keys = (["model"] if "model" in per_image else []) + ["image"]
    chosen = reference_rows(per_image, reference)
    chosen = chosen[~chosen["attack"].isin(["clean", WORST_CASE])]
    if "model" in chosen:
        n_attacks = chosen.groupby("model")["attack"].transform("nunique")
    else:
        n_attacks = chosen["attack"].nunique()
    grouped = chosen.assign(n_attacks=n_attacks).groupby(keys, sort=False).agg(
        label=("label", "first"), correct=("correct", "all"), seen=("attack", "nunique"), needed=("n_attacks", "first"))
    grouped = grouped[grouped["seen"] == grouped["needed"]].reset_index()
    return grouped.assign(attack=WORST_CASE, strength=np.nan)[[*keys[:-1], "attack", "strength", "image", "label",
                                                                "correct"]]


def accuracy_under_attack(model: nn.Module, data, attack: str, strength: float, *, spec: CheckpointSpec,
                          batch_size: int = 64, device=None, seed: int = 0, per_timestep: bool = True,
                          **options) -> float:
    """Top-1 accuracy on ``data`` under one attack at one strength (correct clean and under attack).

    ``options``: the PGD/Square and precision options of :func:`robustness_per_image`.

    Examples
    --------
    >>> from topoanalysis.testing import tiny_checkpoint
    >>> model, spec = tiny_checkpoint(calibrate=False)
    >>> data = (np.zeros((4, 32, 32, 3), np.uint8), np.arange(4))
    >>> 0 <= accuracy_under_attack(model, data, "fgsm", 2 / 255, spec=spec, device="cpu") <= 1
    True
    """
    curves = robustness_curves(model, spec, data, {attack: (strength,)}, batch_size=batch_size, device=device,
                               seed=seed, per_timestep=per_timestep, **options)
    return float(curves["accuracy"].iloc[0])


def robustness_curves(model: nn.Module, spec: CheckpointSpec, data,
                      attacks: Mapping[str, Sequence[float]] | None = None, **options) -> pd.DataFrame:
    """Accuracy over strengths for each attack: columns ``attack, strength, accuracy, se, ci_low, ci_high,
    n_images`` (binomial SE and 95 % Wilson interval on ``n_images``).

    Arguments as :func:`robustness_per_image`; rows at strength 0 hold the clean accuracy,
    computed once and shared by all attacks.

    Examples
    --------
    >>> from topoanalysis.testing import tiny_checkpoint
    >>> model, spec = tiny_checkpoint(calibrate=False)
    >>> data = (np.zeros((4, 16, 16, 3), np.uint8), np.arange(4))
    >>> robustness_curves(model, spec, data, {"pixel_mask": (0, 0.5)}, device="cpu").columns.tolist()
    ['attack', 'strength', 'accuracy', 'se', 'ci_low', 'ci_high', 'n_images']
    """
    return accuracy_summary(robustness_per_image(model, spec, data, attacks, **options))


def reference_strength(strengths: Sequence[float]) -> float:
    """The middle non-zero strength (the upper one of an even count); 0 if there is none.

    Examples
    --------
    >>> reference_strength(DEFAULT_STRENGTHS["gaussian_noise"])
    0.1
    """
    nonzero = sorted({float(s) for s in strengths if s > 0})
    return nonzero[len(nonzero) // 2] if nonzero else 0.0


def robustness_table(curves: pd.DataFrame, reference: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The paper-style table: a ``clean`` row, then one row per attack at its reference strength.

    Columns ``attack, strength_name, strength, n_images`` and the accuracy: one
    ``accuracy`` column, or one column per model when ``curves`` has a ``model`` column;
    with ``se``/``ci_low``/``ci_high`` columns in ``curves``, those too (``se``, or
    ``<model> se``, ``<model> ci_low``, ``<model> ci_high``). ``reference`` maps attacks to
    strengths (default :func:`reference_strength`); a ``worst_case`` row (strength NaN)
    is copied as it is.

    Examples
    --------
    >>> curves = pd.DataFrame({"attack": ["fgsm"] * 3, "strength": [0, 2 / 255, 4 / 255],
    ...                        "accuracy": [0.9, 0.5, 0.2], "n_images": 10})
    >>> robustness_table(curves)[["attack", "accuracy"]].to_dict("list")
    {'attack': ['clean', 'fgsm'], 'accuracy': [0.9, 0.2]}
    """
    models = list(dict.fromkeys(curves["model"])) if "model" in curves else None
    reference, table = dict(reference or {}), []
    attacks = (["clean"] if (curves["strength"] == 0).any() else []) + list(dict.fromkeys(curves["attack"]))
    stats = [c for c in ("se", "ci_low", "ci_high") if c in curves]
    for attack in attacks:
        sub = curves if attack == "clean" else curves[curves["attack"] == attack]
        if attack == WORST_CASE:
            strength, chosen = math.nan, sub
        else:
            strength = 0.0 if attack == "clean" else float(reference.get(attack, reference_strength(sub["strength"])))
            chosen = sub[np.isclose(sub["strength"].to_numpy(float), strength, rtol=1e-9, atol=1e-12)]
        if not len(chosen):
            raise InputError(f"no {attack} rows at strength {strength:g}; available: "
                             f"{', '.join(f'{s:g}' for s in sorted(set(sub['strength'])))}")
        row = {"attack": attack, "strength_name": strength_name(attack), "strength": strength,
               "n_images": int(chosen["n_images"].iloc[0])}
        if models is None:
            row["accuracy"] = float(chosen["accuracy"].iloc[0])
            row.update({c: float(chosen[c].iloc[0]) for c in stats})
        else:
            first = chosen.drop_duplicates("model").set_index("model")
            row.update({m: float(first["accuracy"].get(m, np.nan)) for m in models})
            for c in stats:
                row.update({f"{m} {c}": float(first[c].get(m, np.nan)) for m in models})
        table.append(row)
    return pd.DataFrame(table)
