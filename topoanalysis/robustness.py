"""Accuracy under Gaussian noise, pixel masking, FGSM and PGD, applied at each timestep.

The TDSNN paper's robustness table uses these four perturbations "at each timestep" but
gives no strengths. Our choices [I]:

* Perturbations act in pixel space [0, 1] at the checkpoint's input size, before its
  mean/std normalisation (applied inside), clipped to [0, 1]; sigma and epsilon are in
  [0, 1] units (``4 / 255`` = four grey levels). Strengths: :data:`DEFAULT_STRENGTHS`.
* ``per_timestep=True`` (default): the network sees ``[T, B, 3, H, W]``; noise and masks
  are drawn per frame (exactly ``round(fraction * H * W)`` pixels, zero in all channels);
  FGSM/PGD perturb every frame inside its own L-inf ball using the gradient of the
  cross-entropy w.r.t. the 5-D input (surrogate spike gradients, batch norm in eval
  mode). ``per_timestep=False``: one perturbation of the static image, repeated over T.
* PGD: 10 steps of ``2.5 * epsilon / steps`` (Madry et al. 2018) from a uniform random
  start in the ball, projected and clipped after every step.
* Strength 0 is the clean input. Every (attack, strength) starts a fresh generator from
  ``seed``, so strengths share random numbers (smoother curves).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from torch import nn
from tqdm.auto import tqdm

if TYPE_CHECKING:
    from .models.checkpoints import CheckpointSpec

ATTACKS = ("gaussian_noise", "pixel_mask", "fgsm", "pgd")
EPSILONS = tuple(k / 255 for k in (0, 1, 2, 4, 8))
#: Strengths per attack (our choice [I]; the paper gives none).
DEFAULT_STRENGTHS: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.0, 0.02, 0.05, 0.1, 0.2), "pixel_mask": (0.0, 0.1, 0.25, 0.5),
    "fgsm": EPSILONS, "pgd": EPSILONS}
STRENGTH_NAMES = {"gaussian_noise": "sigma", "pixel_mask": "mask_fraction", "fgsm": "epsilon", "pgd": "epsilon"}
PGD_STEPS = 10
PGD_ALPHA_FACTOR = 2.5


def check_attack(attack: str, strength: float) -> float:
    """Validate an attack name and strength; returns the strength as a float.

    Examples
    --------
    >>> check_attack("pixel_mask", 0.25)
    0.25
    >>> check_attack("blur", 1.0)
    Traceback (most recent call last):
    ...
    ValueError: unknown attack 'blur'; valid attacks: gaussian_noise, pixel_mask, fgsm, pgd
    """
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack {attack!r}; valid attacks: {', '.join(ATTACKS)}")
    value = float(strength)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{attack} strength ({STRENGTH_NAMES[attack]}) must be finite and >= 0, got {strength}")
    if attack == "pixel_mask" and value > 1:
        raise ValueError(f"pixel_mask strength is the fraction of pixels masked, in [0, 1]; got {strength}")
    return value


def _norm(model: nn.Module, spec, mean, std, timesteps, like: torch.Tensor):
    mean = mean if mean is not None else getattr(spec, "mean", None)
    std = std if std is not None else getattr(spec, "std", None)
    if mean is None or std is None:
        raise ValueError("pass spec= (a CheckpointSpec) or both mean= and std=")
    steps = timesteps or getattr(spec, "timesteps", None) or getattr(model, "timesteps", None)
    mean_t, std_t = (torch.as_tensor(v, dtype=like.dtype, device=like.device).view(3, 1, 1) for v in (mean, std))
    return mean_t, std_t, int(steps)


def _logits(model: nn.Module, x01: torch.Tensor, norm, precision: str) -> torch.Tensor:
    """Time-averaged logits of pixel-space input; the caller resets the network."""
    mean, std, steps = norm
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"unknown precision {precision!r}; valid: fp32, bf16")
    autocast = (torch.autocast(device_type=x01.device.type, dtype=torch.bfloat16)
                if precision == "bf16" else nullcontext())
    with autocast:
        return model((x01 - mean) / std, steps).float()


def predict_logits(model: nn.Module, images01: torch.Tensor, *, spec=None, mean=None, std=None,
                   timesteps: int | None = None, precision: str = "fp32") -> torch.Tensor:
    """Logits ``[B, K]`` (averaged over T) for pixel-space ``[B, 3, H, W]`` or ``[T, B, 3, H, W]``.

    Normalises with ``spec`` (or ``mean``/``std``), runs without gradients and resets the
    network's neuron states afterwards.

    Examples
    --------
    >>> from topoanalysis.testing import tiny_checkpoint
    >>> model, spec = tiny_checkpoint(calibrate=False)
    >>> predict_logits(model, torch.rand(2, 2, 3, 16, 16), spec=spec).shape
    torch.Size([2, 10])
    """
    norm = _norm(model, spec, mean, std, timesteps, images01)
    try:
        with torch.no_grad():
            return _logits(model, images01, norm, precision)
    finally:
        functional.reset_net(model)


def _input_grad(model: nn.Module, x01: torch.Tensor, labels: torch.Tensor, norm, precision: str) -> torch.Tensor:
    """d(summed cross-entropy)/d(input); parameter gradients are neither computed nor stored."""
    x = x01.detach().requires_grad_(True)
    try:
        with torch.enable_grad():
            loss = F.cross_entropy(_logits(model, x, norm, precision), labels, reduction="sum")
            (grad,) = torch.autograd.grad(loss, x)
    finally:
        functional.reset_net(model)
    return grad


def _pixel_mask(shape: torch.Size, fraction: float, generator: torch.Generator, device) -> torch.Tensor:
    """Boolean ``[..., 1, H, W]``: exactly ``round(fraction * H * W)`` True pixels per frame."""
    *lead, _, h, w = shape
    k = int(round(fraction * h * w))
    scores = torch.rand((*lead, h * w), generator=generator, device=device)
    masked = torch.zeros_like(scores, dtype=torch.bool)
    masked.scatter_(-1, scores.argsort(dim=-1)[..., :k], True)
    return masked.view(*lead, 1, h, w)


def perturb(model: nn.Module, images01: torch.Tensor, labels: torch.Tensor, attack: str, strength: float, *,
            generator: torch.Generator, spec=None, mean=None, std=None, timesteps: int | None = None,
            per_timestep: bool = True, pgd_steps: int = PGD_STEPS, pgd_alpha: float | None = None,
            precision: str = "fp32") -> torch.Tensor:
    """Perturbed pixel-space input: ``[T, B, 3, H, W]``, or ``[B, 3, H, W]`` when not per timestep.

    Parameters
    ----------
    model : nn.Module
        A spiking ResNet (``forward(x, timesteps)``) on the images' device, in eval mode.
    images01, labels : Tensor
        ``[B, 3, H, W]`` in [0, 1] at the model's input size; int64 ``[B]`` (FGSM/PGD targets).
    attack, strength : str, float
        One of :data:`ATTACKS`; noise sigma, masked fraction or L-inf epsilon (pixel units).
    generator : torch.Generator
        On the images' device; draws noise, masks and the PGD start.
    spec, mean, std, timesteps, precision
        Normalisation and T (a CheckpointSpec or explicit values); "fp32" or "bf16".
    per_timestep, pgd_steps, pgd_alpha
        Per-frame perturbations (default) or one repeated over T; PGD iterations and step
        size (default ``2.5 * strength / pgd_steps``).

    Examples
    --------
    >>> from topoanalysis.testing import tiny_checkpoint
    >>> model, spec = tiny_checkpoint(calibrate=False)
    >>> g = torch.Generator().manual_seed(0)
    >>> x = perturb(model, torch.rand(4, 3, 16, 16), torch.zeros(4, dtype=torch.long), "pgd", 4 / 255,
    ...             generator=g, spec=spec, pgd_steps=2)
    >>> x.shape
    torch.Size([2, 4, 3, 16, 16])
    """
    strength = check_attack(attack, strength)
    if images01.dim() != 4 or images01.shape[1] != 3:
        raise ValueError(f"expected images [B, 3, H, W] in [0, 1], got shape {tuple(images01.shape)}")
    norm = _norm(model, spec, mean, std, timesteps, images01)
    base = images01.unsqueeze(0).expand(norm[2], *images01.shape) if per_timestep else images01
    base = base.detach().clone()
    if strength == 0:
        return base
    device = base.device
    if attack == "gaussian_noise":
        noise = torch.randn(base.shape, generator=generator, device=device, dtype=base.dtype)
        return (base + strength * noise).clamp_(0, 1)
    if attack == "pixel_mask":
        return base.masked_fill(_pixel_mask(base.shape, strength, generator, device), 0.0)
    if attack == "fgsm":
        grad = _input_grad(model, base, labels, norm, precision)
        return (base + strength * grad.sign()).clamp_(0, 1)
    if pgd_steps < 1:
        raise ValueError(f"pgd_steps must be >= 1, got {pgd_steps}")
    alpha = PGD_ALPHA_FACTOR * strength / pgd_steps if pgd_alpha is None else float(pgd_alpha)
    if alpha <= 0:
        raise ValueError(f"pgd_alpha must be > 0, got {pgd_alpha}")
    start = torch.rand(base.shape, generator=generator, device=device, dtype=base.dtype) * 2 - 1
    x = (base + strength * start).clamp_(0, 1)
    low, high = base - strength, base + strength
    for _ in range(pgd_steps):
        x = x + alpha * _input_grad(model, x, labels, norm, precision).sign()
        x = torch.minimum(torch.maximum(x, low), high).clamp_(0, 1)
    return x.detach()


def _arrays(data) -> tuple[np.ndarray, np.ndarray]:
    images, labels = (data.images, data.labels) if hasattr(data, "images") else data
    images, labels = np.asarray(images), np.asarray(labels, dtype=np.int64)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3 or len(images) != len(labels):
        raise ValueError(f"expected uint8 images [N, H, W, 3] and N labels, got {images.dtype} "
                         f"{images.shape} and {labels.shape}")
    return images, labels


def _batches(images: np.ndarray, labels: np.ndarray, size_px: int, batch_size: int, device: torch.device):
    for start in range(0, len(labels), batch_size):
        x = torch.from_numpy(images[start:start + batch_size]).to(device).permute(0, 3, 1, 2).float() / 255
        if size_px and x.shape[-2:] != (size_px, size_px):
            x = F.interpolate(x, size=(size_px, size_px), mode="bilinear", antialias=True,
                              align_corners=False).clamp_(0, 1)
        yield x, torch.from_numpy(labels[start:start + batch_size]).to(device)


def _n_correct(model: nn.Module, data, attack: str, strength: float, *, spec: CheckpointSpec, batch_size: int,
               device, seed: int, on_batch: Callable[[], object] | None = None, **options) -> tuple[int, int]:
    images, labels = _arrays(data)
    generator = torch.Generator(device=device).manual_seed(int(seed))
    correct = 0
    for x, y in _batches(images, labels, spec.input_size_px, batch_size, device):
        adv = perturb(model, x, y, attack, strength, generator=generator, spec=spec, **options)
        logits = predict_logits(model, adv, spec=spec, precision=options.get("precision", "fp32"))
        if logits.shape[-1] <= int(y.max()):
            raise ValueError(f"labels go up to {int(y.max())} but the model has {logits.shape[-1]} classes")
        correct += int((logits.argmax(-1) == y).sum())
        if on_batch is not None:
            on_batch()
    return correct, len(labels)


def accuracy_under_attack(model: nn.Module, data, attack: str, strength: float, *, spec: CheckpointSpec,
                          batch_size: int = 64, device=None, seed: int = 0, per_timestep: bool = True,
                          pgd_steps: int = PGD_STEPS, pgd_alpha: float | None = None,
                          precision: str = "fp32") -> float:
    """Top-1 accuracy on ``data`` under one attack at one strength.

    ``data`` has ``images`` (uint8 ``[N, H, W, 3]``) and ``labels`` (e.g. an
    :class:`~topoanalysis.training.data.ImageArrays`) or is an ``(images, labels)`` pair;
    images are resized (bilinear) to ``spec.input_size_px``. The model is put in eval
    mode on ``device`` (default: CUDA if available).

    Examples
    --------
    >>> from topoanalysis.testing import tiny_checkpoint
    >>> model, spec = tiny_checkpoint(calibrate=False)
    >>> data = (np.zeros((4, 32, 32, 3), np.uint8), np.arange(4))
    >>> 0 <= accuracy_under_attack(model, data, "fgsm", 2 / 255, spec=spec, device="cpu") <= 1
    True
    """
    curves = robustness_curves(model, spec, data, {attack: (strength,)}, batch_size=batch_size, device=device,
                               seed=seed, per_timestep=per_timestep, pgd_steps=pgd_steps, pgd_alpha=pgd_alpha,
                               precision=precision)
    return float(curves["accuracy"].iloc[0])


def robustness_curves(model: nn.Module, spec: CheckpointSpec, data,
                      attacks: Mapping[str, Sequence[float]] | None = None, *,
                      batch_size: int = 64, device=None, seed: int = 0, per_timestep: bool = True,
                      pgd_steps: int = PGD_STEPS, pgd_alpha: float | None = None, precision: str = "fp32",
                      progress: bool = False) -> pd.DataFrame:
    """Accuracy over strengths for each attack: columns ``attack, strength, accuracy, se, n_images``
    (``se``: the binomial standard error of the accuracy on ``n_images``).

    ``attacks`` maps attack names to strengths (default :data:`DEFAULT_STRENGTHS`); rows
    at strength 0 hold the clean accuracy, computed once and shared by all attacks.

    Examples
    --------
    >>> from topoanalysis.testing import tiny_checkpoint
    >>> model, spec = tiny_checkpoint(calibrate=False)
    >>> data = (np.zeros((4, 16, 16, 3), np.uint8), np.arange(4))
    >>> robustness_curves(model, spec, data, {"pixel_mask": (0, 0.5)}, device="cpu").columns.tolist()
    ['attack', 'strength', 'accuracy', 'se', 'n_images']
    """
    attacks = dict(DEFAULT_STRENGTHS if attacks is None else attacks)
    plan = [(attack, check_attack(attack, s)) for attack, strengths in attacks.items() for s in strengths]
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = model.to(device).eval()
    n_batches = math.ceil(len(_arrays(data)[1]) / batch_size)
    n_runs = len({(a, s) for a, s in plan if s > 0}) + any(s == 0 for _, s in plan)
    results: dict[tuple[str, float], tuple[int, int]] = {}
    with tqdm(total=n_runs * n_batches, desc="robustness", unit="batch", disable=not progress) as bar:
        for attack, strength in plan:
            key = ("clean", 0.0) if strength == 0 else (attack, strength)
            if key not in results:
                bar.set_postfix_str(f"{attack} {strength:.4g}")
                results[key] = _n_correct(model, data, attack, strength, spec=spec, batch_size=batch_size,
                                          device=device, seed=seed, on_batch=bar.update, per_timestep=per_timestep,
                                          pgd_steps=pgd_steps, pgd_alpha=pgd_alpha, precision=precision)
    rows = []
    for attack, strength in plan:
        correct, total = results[("clean", 0.0) if strength == 0 else (attack, strength)]
        accuracy = correct / total
        rows.append({"attack": attack, "strength": strength, "accuracy": accuracy,
                     "se": math.sqrt(accuracy * (1 - accuracy) / total), "n_images": total})
    return pd.DataFrame(rows, columns=["attack", "strength", "accuracy", "se", "n_images"])


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
    with an ``se`` column in ``curves``, its standard errors too (``se``, or ``<model> se``).
    ``reference`` maps attacks to strengths (default :func:`reference_strength`).

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
    for attack in attacks:
        sub = curves if attack == "clean" else curves[curves["attack"] == attack]
        strength = 0.0 if attack == "clean" else float(reference.get(attack, reference_strength(sub["strength"])))
        chosen = sub[np.isclose(sub["strength"].to_numpy(float), strength, rtol=1e-9, atol=1e-12)]
        if not len(chosen):
            raise ValueError(f"no {attack} rows at strength {strength:g}; available: "
                             f"{', '.join(f'{s:g}' for s in sorted(set(sub['strength'])))}")
        row = {"attack": attack, "strength_name": STRENGTH_NAMES.get(attack, "none"), "strength": strength,
               "n_images": int(chosen["n_images"].iloc[0])}
        if models is None:
            row["accuracy"] = float(chosen["accuracy"].iloc[0])
            if "se" in chosen:
                row["se"] = float(chosen["se"].iloc[0])
        else:
            first = chosen.drop_duplicates("model").set_index("model")
            row.update({m: float(first["accuracy"].get(m, np.nan)) for m in models})
            if "se" in first:
                row.update({f"{m} se": float(first["se"].get(m, np.nan)) for m in models})
        table.append(row)
    return pd.DataFrame(table)
