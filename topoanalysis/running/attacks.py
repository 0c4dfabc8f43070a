"""The perturbations of :mod:`topoanalysis.robustness`: Gaussian noise, pixel masking, FGSM, best-iterate PGD
with restarts, and the gradient-free Square attack (Andriushchenko et al. 2020), per frame or static.

Conventions, strengths and the choices where the paper is silent are described in
:mod:`topoanalysis.robustness`; this module only makes perturbed inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from torch import nn

from ..errors import InputError

ATTACKS = ("gaussian_noise", "pixel_mask", "fgsm", "pgd", "square")
#: Attacks driven by the model's outputs (run on a subset by the analysis when slow).
ADVERSARIAL = ("fgsm", "pgd", "square")
EPSILONS = tuple(k / 255 for k in (0, 1, 2, 4, 8))
#: Strengths per attack (our choice [I]; the paper gives none).
DEFAULT_STRENGTHS: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.0, 0.02, 0.05, 0.1, 0.2), "pixel_mask": (0.0, 0.1, 0.25, 0.5),
    "fgsm": EPSILONS, "pgd": EPSILONS, "square": (0.0, 4 / 255)}
STRENGTH_NAMES = {"gaussian_noise": "sigma", "pixel_mask": "mask_fraction", "fgsm": "epsilon", "pgd": "epsilon",
                  "square": "epsilon"}
#: PGD steps: accuracy stops falling by then (benchmarks/robustness_convergence.py).
PGD_STEPS = 50
PGD_RESTARTS = 1
PGD_STEP_FRACTION = 0.25
SQUARE_QUERIES = 100
SQUARE_P_INIT = 0.1
#: Iterations (of 10 000) after which the Square attack halves p (Andriushchenko et al. 2020).
_SQUARE_HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)



def check_attack(attack: str, strength: float) -> float:
    """Validate an attack name and strength; returns the strength as a float.

    Examples
    --------
    >>> check_attack("pixel_mask", 0.25)
    0.25
    >>> check_attack("blur", 1.0)
    Traceback (most recent call last):
    ...
    topoanalysis.errors.InputError: unknown attack 'blur'; valid attacks: gaussian_noise, pixel_mask, fgsm, pgd, square
    """
    if attack not in ATTACKS:
        raise InputError(f"unknown attack {attack!r}; valid attacks: {', '.join(ATTACKS)}")
    value = float(strength)
    if not math.isfinite(value) or value < 0:
        raise InputError(f"{attack} strength ({STRENGTH_NAMES[attack]}) must be finite and >= 0, got {strength}")
    if attack == "pixel_mask" and value > 1:
        raise InputError(f"pixel_mask strength is the fraction of pixels masked, in [0, 1]; got {strength}")
    return value


def normalisation(model: nn.Module, spec, mean, std, timesteps, like: torch.Tensor):
    mean = mean if mean is not None else getattr(spec, "mean", None)
    std = std if std is not None else getattr(spec, "std", None)
    if mean is None or std is None:
        raise InputError("pass spec= (a CheckpointSpec) or both mean= and std=")
    steps = timesteps or getattr(spec, "timesteps", None) or getattr(model, "timesteps", None)
    mean_t, std_t = (torch.as_tensor(v, dtype=like.dtype, device=like.device).view(3, 1, 1) for v in (mean, std))
    return mean_t, std_t, int(steps)


def _logits(model: nn.Module, x01: torch.Tensor, norm, precision: str) -> torch.Tensor:
    """Time-averaged logits of pixel-space input; the caller resets the network."""
    mean, std, steps = norm
    if precision not in ("fp32", "bf16"):
        raise InputError(f"unknown precision {precision!r}; valid: fp32, bf16")
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
    norm = normalisation(model, spec, mean, std, timesteps, images01)
    try:
        with torch.no_grad():
            return _logits(model, images01, norm, precision)
    finally:
        functional.reset_net(model)


class AttackNet:
    """The model on batch-first pixel input ``[B, 3, H, W]`` (static) or ``[B, T, 3, H, W]`` (per frame)."""

    def __init__(self, model: nn.Module, norm, precision: str):
        self.model, self.norm, self.precision = model, norm, precision

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        return _logits(self.model, x.movedim(0, 1) if x.dim() == 5 else x, self.norm, self.precision)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        try:
            with torch.no_grad():
                return self._run(x)
        finally:
            functional.reset_net(self.model)

    def loss_grad(self, x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-image cross-entropy, logits and d(loss)/d(input); no parameter gradients are kept."""
        x = x.detach().requires_grad_(True)
        try:
            with torch.enable_grad():
                logits = self._run(x)
                loss = F.cross_entropy(logits, labels, reduction="none")
                (grad,) = torch.autograd.grad(loss.sum(), x)
        finally:
            functional.reset_net(self.model)
        return loss.detach(), logits.detach(), grad


def _pixel_mask(shape: torch.Size, fraction: float, generator: torch.Generator, device) -> torch.Tensor:
    """Boolean ``[..., 1, H, W]``: exactly ``round(fraction * H * W)`` True pixels per frame."""
    *lead, _, h, w = shape
    k = int(round(fraction * h * w))
    scores = torch.rand((*lead, h * w), generator=generator, device=device)
    masked = torch.zeros_like(scores, dtype=torch.bool)
    masked.scatter_(-1, scores.argsort(dim=-1)[..., :k], True)
    return masked.view(*lead, 1, h, w)


def _pgd(net: AttackNet, base: torch.Tensor, labels: torch.Tensor, eps: float, *, steps: int, step_size: float,
         restarts: int, best_iterate: bool, generator: torch.Generator,
         on_step: Callable[[int, torch.Tensor], object] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(adversarial input, fooled)`` for batch-first ``base``; see the module notes.

    With ``best_iterate`` an image is fooled when any iterate (random start included) is
    misclassified, and only unfooled images keep stepping; the input returned is the first
    misclassified iterate, else the highest-loss one. Otherwise only each restart's last
    iterate counts. ``on_step(step, fooled)`` sees the running result after each step.
    """
    low, high = (base - eps).clamp(0, 1), (base + eps).clamp(0, 1)
    fooled = torch.zeros(len(labels), dtype=torch.bool, device=base.device)
    best_x, best_loss = base.clone(), torch.full((len(labels),), -math.inf, device=base.device)
    for _ in range(restarts):
        start = torch.rand(base.shape, generator=generator, device=base.device, dtype=base.dtype) * 2 - 1
        active = (~fooled).nonzero().squeeze(1) if best_iterate else torch.arange(len(labels), device=base.device)
        x = (base[active] + eps * start[active]).clamp(0, 1)
        for step in range(steps + 1):
            if not len(active):
                break
            loss, logits, grad = net.loss_grad(x, labels[active])
            wrong = logits.argmax(-1) != labels[active]
            if best_iterate:
                better = wrong | (loss > best_loss[active])
                best_x[active[better]], best_loss[active[better]] = x[better], loss[better]
                fooled[active[wrong]] = True
                keep = ~wrong
                active, x, grad = active[keep], x[keep], grad[keep]
            elif step == steps:
                fooled[active[wrong]] = True
                best_x[active[wrong]] = x[wrong]
                best_x[active[~wrong & ~fooled[active]]] = x[~wrong & ~fooled[active]]
            if on_step is not None and step > 0:
                on_step(step, fooled)
            if step < steps:
                x = torch.minimum(torch.maximum(x + step_size * grad.sign(), low[active]), high[active])
    return best_x, fooled


def _margin(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """True-class logit minus the largest other logit; negative means misclassified."""
    true = logits.gather(1, labels[:, None]).squeeze(1)
    return true - logits.scatter(1, labels[:, None], -math.inf).amax(1)


def _square(net: AttackNet, base: torch.Tensor, labels: torch.Tensor, eps: float, *, queries: int, p_init: float,
            generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """L-inf Square attack on batch-first ``base``: ``(adversarial input, fooled)``; ``queries`` forward passes."""
    device, (h, w) = base.device, base.shape[-2:]
    frames = base.shape[1:-3]  # (T,) per frame, () static
    signs = torch.randint(0, 2, (len(base), *frames, 3, 1, w), generator=generator, device=device) * 2 - 1
    x = (base + eps * signs).clamp(0, 1)
    margin = _margin(net.logits(x), labels)
    rows, cols = torch.arange(h, device=device), torch.arange(w, device=device)
    for i in range(1, queries):
        active = (margin >= 0).nonzero().squeeze(1)
        if not len(active):
            break
        p = p_init / 2 ** sum(i > k * queries / 10_000 for k in _SQUARE_HALVINGS)
        side = min(max(int(round(math.sqrt(p * h * w))), 1), h, w)
        top = torch.randint(0, h - side + 1, (len(active), 1), generator=generator, device=device)
        left = torch.randint(0, w - side + 1, (len(active), 1), generator=generator, device=device)
        inside = (((rows - top) >= 0) & ((rows - top) < side))[:, :, None] & \
                 (((cols - left) >= 0) & ((cols - left) < side))[:, None, :]  # [A, H, W]
        inside = inside.view(len(active), *(1,) * len(frames), 1, h, w)
        patch = torch.randint(0, 2, (len(active), *frames, 3, 1, 1), generator=generator, device=device) * 2 - 1
        delta = torch.where(inside, eps * patch, x[active] - base[active])
        candidate = (base[active] + delta).clamp(0, 1)
        new_margin = _margin(net.logits(candidate), labels[active])
        better = new_margin < margin[active]
        x[active[better]], margin[active[better]] = candidate[better], new_margin[better]
    return x, margin < 0


def run_attack(net: AttackNet, images01: torch.Tensor, labels: torch.Tensor, attack: str, strength: float, *,
            generator: torch.Generator, per_timestep: bool, pgd_steps: int, pgd_restarts: int,
            pgd_step_fraction: float, pgd_best_iterate: bool, square_queries: int, square_p_init: float
            ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Batch-first perturbed input and, for PGD/Square, which images were fooled along the way."""
    base = images01.unsqueeze(1).expand(-1, net.norm[2], *images01.shape[1:]) if per_timestep else images01
    base = base.detach().clone()
    if strength == 0:
        return base, None
    device = base.device
    swap = (lambda t: t.movedim(0, 1)) if per_timestep else (lambda t: t)  # draws in [T, B, ...] order
    if attack == "gaussian_noise":
        noise = torch.randn(swap(base).shape, generator=generator, device=device, dtype=base.dtype)
        return (base + strength * swap(noise)).clamp_(0, 1), None
    if attack == "pixel_mask":
        return base.masked_fill(swap(_pixel_mask(swap(base).shape, strength, generator, device)), 0.0), None
    if attack == "fgsm":
        return (base + strength * net.loss_grad(base, labels)[2].sign()).clamp_(0, 1), None
    if attack == "pgd":
        return _pgd(net, base, labels, strength, steps=pgd_steps, step_size=pgd_step_fraction * strength,
                    restarts=pgd_restarts, best_iterate=pgd_best_iterate, generator=generator)
    return _square(net, base, labels, strength, queries=square_queries, p_init=square_p_init, generator=generator)


def check_attack_options(pgd_steps: int, pgd_restarts: int, pgd_step_fraction: float, square_queries: int,
                   square_p_init: float) -> None:
    if pgd_steps < 1:
        raise InputError(f"pgd_steps must be >= 1, got {pgd_steps}")
    if pgd_restarts < 1:
        raise InputError(f"pgd_restarts must be >= 1, got {pgd_restarts}")
    if not 0 < pgd_step_fraction <= 2:
        raise InputError(f"pgd_step_fraction (step size / epsilon) must be in (0, 2], got {pgd_step_fraction}")
    if square_queries < 1:
        raise InputError(f"square_queries must be >= 1, got {square_queries}")
    if not 0 < square_p_init <= 1:
        raise InputError(f"square_p_init (fraction of pixels in the first square) must be in (0, 1], "
                         f"got {square_p_init}")


def perturb(model: nn.Module, images01: torch.Tensor, labels: torch.Tensor, attack: str, strength: float, *,
            generator: torch.Generator, spec=None, mean=None, std=None, timesteps: int | None = None,
            per_timestep: bool = True, pgd_steps: int = PGD_STEPS, pgd_restarts: int = PGD_RESTARTS,
            pgd_step_fraction: float = PGD_STEP_FRACTION, pgd_best_iterate: bool = True,
            square_queries: int = SQUARE_QUERIES, square_p_init: float = SQUARE_P_INIT,
            precision: str = "fp32") -> torch.Tensor:
    """Perturbed pixel-space input: ``[T, B, 3, H, W]``, or ``[B, 3, H, W]`` when not per timestep.

    Parameters
    ----------
    model : nn.Module
        A spiking ResNet (``forward(x, timesteps)``) on the images' device, in eval mode.
    images01, labels : Tensor
        ``[B, 3, H, W]`` in [0, 1] at the model's input size; int64 ``[B]`` (targets of the
        adversarial attacks).
    attack, strength : str, float
        One of :data:`ATTACKS`; noise sigma, masked fraction or L-inf epsilon (pixel units).
    generator : torch.Generator
        On the images' device; draws noise, masks, PGD starts and Square patches.
    spec, mean, std, timesteps, precision
        Normalisation and T (a CheckpointSpec or explicit values); "fp32" or "bf16".
    per_timestep : bool
        One perturbation per frame (default) or one static perturbation repeated over T.
    pgd_steps, pgd_restarts, pgd_step_fraction, pgd_best_iterate
        PGD iterations, random restarts, step size as a fraction of epsilon, and whether
        the first misclassified (else highest-loss) iterate is returned instead of the last.
    square_queries, square_p_init
        Square attack: forward passes per image and initial fraction of pixels per square.

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
    check_attack_options(pgd_steps, pgd_restarts, pgd_step_fraction, square_queries, square_p_init)
    if images01.dim() != 4 or images01.shape[1] != 3:
        raise InputError(f"expected images [B, 3, H, W] in [0, 1], got shape {tuple(images01.shape)}")
    net = AttackNet(model, normalisation(model, spec, mean, std, timesteps, images01), precision)
    adv, _ = run_attack(net, images01, labels, attack, strength, generator=generator, per_timestep=per_timestep,
                     pgd_steps=pgd_steps, pgd_restarts=pgd_restarts, pgd_step_fraction=pgd_step_fraction,
                     pgd_best_iterate=pgd_best_iterate, square_queries=square_queries, square_p_init=square_p_init)
    return adv.movedim(0, 1) if per_timestep else adv


