"""Robustness: accuracy under noise, masking, FGSM and PGD at each timestep, for each checkpoint.

See :mod:`topoanalysis.robustness` for the conventions. Tables ``robustness_curves``
(``model, attack, strength, accuracy, n_images``) and ``robustness_table`` (the paper-style
table: the clean row, then each attack at its reference strength, one column per model);
figure ``robustness`` (accuracy vs strength, one panel per attack).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import __version__
from ..robustness import (
    ATTACKS,
    DEFAULT_STRENGTHS,
    EPSILONS,
    PGD_ALPHA_FACTOR,
    PGD_STEPS,
    STRENGTH_NAMES,
    check_attack,
    reference_strength,
)
from .base import (
    Models,
    Result,
    Runtime,
    check_evaluation_data,
    checkpoint_info,
    evaluation_data,
    model_files,
    model_first,
)

logger = logging.getLogger(__name__)

CHOICES = [
    "[I] attack strengths are our choice (the paper gives none); epsilon and sigma are in [0, 1] pixel units "
    "at the checkpoint's input size, before mean/std normalisation; results are clipped to [0, 1]",
    "[I] per timestep: independent noise / masks per frame; FGSM/PGD perturb each frame in its own L-inf ball",
    "[I] a masked pixel is 0 in all channels; exactly round(fraction * H * W) pixels per frame",
    "[I] PGD: L-inf, uniform random start in the ball, step 2.5 * epsilon / steps (Madry et al. 2018) unless "
    "--pgd-alpha is given, projection and clipping after every step",
    "[I] gradients of the cross-entropy (true labels) through the surrogate spike function, batch norm in eval mode",
    "[I] every (attack, strength) starts from the same seed, so strengths share random numbers",
    "[I] the table's reference strength is the middle non-zero strength (the upper one of an even count)",
]


@dataclass(frozen=True)
class RobustnessParams:
    """Attacks and strengths (``sigmas`` and ``mask_fractions`` in pixel units, ``epsilons_per_255``
    in grey levels), PGD iterations and step (None: ``2.5 * epsilon / steps``), per-timestep
    or static perturbations, the seed of noise, masks and PGD starts, and the test images.

    The defaults keep ``topoanalysis robustness`` on the bundled 32-px pair under 2 minutes on
    two CPU cores (``benchmarks/robustness_command.py``): 25 test images per class, and PGD,
    the slow iterative attack, on only the first ``pgd_n_per_class`` of them (its rows say how
    many; None: all); every accuracy comes with its binomial SE. For publication-size samples
    raise ``--n-per-class`` and add ``--full-sweep``."""

    attacks: tuple[str, ...] = ATTACKS
    sigmas: tuple[float, ...] = DEFAULT_STRENGTHS["gaussian_noise"]
    mask_fractions: tuple[float, ...] = DEFAULT_STRENGTHS["pixel_mask"]
    epsilons_per_255: tuple[float, ...] = tuple(round(e * 255) for e in EPSILONS)
    pgd_steps: int = PGD_STEPS
    pgd_alpha_per_255: float | None = None
    per_timestep: bool = True
    seed: int = 0
    data: str = "cifar10"
    data_path: str | None = None
    n_per_class: int = 25
    pgd_n_per_class: int | None = 5

    def __post_init__(self) -> None:
        self.strengths()
        if self.pgd_n_per_class is not None and self.pgd_n_per_class < 1:
            raise ValueError(f"--pgd-n-per-class must be >= 1, got {self.pgd_n_per_class}")
        if self.pgd_steps < 1:
            raise ValueError(f"--pgd-steps must be >= 1, got {self.pgd_steps}")
        if self.pgd_alpha_per_255 is not None and self.pgd_alpha_per_255 <= 0:
            raise ValueError(f"--pgd-alpha must be > 0, got {self.pgd_alpha_per_255}")

    def strengths(self) -> dict[str, tuple[float, ...]]:
        """``{attack: strengths}`` in pixel units, validated, duplicates dropped."""
        given = {"gaussian_noise": self.sigmas, "pixel_mask": self.mask_fractions,
                 "fgsm": [e / 255 for e in self.epsilons_per_255], "pgd": [e / 255 for e in self.epsilons_per_255]}
        for attack in self.attacks:
            check_attack(attack, 0.0)
        return {attack: tuple(dict.fromkeys(check_attack(attack, s) for s in given[attack]))
                for attack in dict.fromkeys(self.attacks)}

    @property
    def pgd_alpha(self) -> float | None:
        return None if self.pgd_alpha_per_255 is None else self.pgd_alpha_per_255 / 255


@dataclass
class RobustnessResult(Result):
    analysis = "robustness"

    @property
    def table_by_model(self) -> pd.DataFrame:
        """The paper-style table: one accuracy column per model."""
        return self.table("robustness_table")

    def figures(self) -> dict:
        from ..plotting.robustness import robustness_figure

        title = f"accuracy under perturbation ({'per timestep' if self.record['per_timestep'] else 'static'})"
        return {"robustness": robustness_figure(self.table("robustness_curves"),
                                                chance=1 / self.record["data"]["n_classes"], title=title)}


def check_data(params: RobustnessParams) -> None:
    """Fail before any work when the test images are not there."""
    check_evaluation_data(params.data, params.data_path)


def first_per_class(data, n_per_class: int):
    """The first ``n_per_class`` images of each class of an :class:`~topoanalysis.training.data.ImageArrays`."""
    from ..training.data import ImageArrays

    keep = np.concatenate([np.flatnonzero(data.labels == label)[:n_per_class] for label in np.unique(data.labels)])
    keep.sort()
    return ImageArrays(data.images[keep], data.labels[keep], data.classes, data.mean, data.std,
                       f"{data.source} (first {n_per_class} per class)")


def _label(attack: str, strength: float) -> str:
    if attack in ("fgsm", "pgd"):
        return f"{attack} eps {strength * 255:.3g}/255"
    return attack if attack == "clean" else f"{attack} {STRENGTH_NAMES[attack]} {strength:.3g}"


def run(models: Models, params: RobustnessParams = RobustnessParams(),
        runtime: Runtime = Runtime()) -> RobustnessResult:
    """Accuracy of each checkpoint under every attack and strength."""
    from ..recording import default_device
    from ..robustness import robustness_curves, robustness_table

    check_data(params)
    run_started = time.perf_counter()
    strengths = params.strengths()
    device = default_device() if runtime.device is None else runtime.device
    files = model_files(models)
    curves, infos = [], {}
    for step, (name, file) in enumerate(files.items(), start=1):
        logger.info(f"[{step}/{len(files)}] {name}: {', '.join(strengths)} ({file.path})")
        started = time.perf_counter()
        model, spec = file.load(device=device)
        data = evaluation_data(spec, model, params.data, params.data_path, params.n_per_class)
        loaded = time.perf_counter()
        options = dict(batch_size=runtime.batch_size, device=device, seed=params.seed,
                       per_timestep=params.per_timestep, pgd_steps=params.pgd_steps, pgd_alpha=params.pgd_alpha,
                       precision=runtime.precision, progress=runtime.progress)
        subset = params.pgd_n_per_class is not None and params.pgd_n_per_class < params.n_per_class
        table = robustness_curves(model, spec, data, {a: s for a, s in strengths.items()
                                                      if not (subset and a == "pgd")}, **options)
        if subset and "pgd" in strengths:
            table = pd.concat([table, robustness_curves(model, spec, first_per_class(data, params.pgd_n_per_class),
                                                        {"pgd": strengths["pgd"]}, **options)], ignore_index=True)
        done = time.perf_counter()
        curves.append(model_first(table.assign(model=name)))
        infos[name] = {**checkpoint_info(file, spec), "arch": spec.arch, "input_size_px": spec.input_size_px,
                       "timesteps": spec.timesteps, "n_images": len(data),
                       "seconds": {"load": round(loaded - started, 3), "attacks": round(done - loaded, 3)}}
        logger.info("    " + "; ".join(f"{_label(r.attack, r.strength)}: {r.accuracy:.3f} \u00b1 {r.se:.3f} "
                                       f"(n {r.n_images})"
                                       for r in robustness_table(table).itertuples()) + f" ({done - loaded:.1f} s)")
    curves_table = pd.concat(curves, ignore_index=True)
    table = robustness_table(curves_table)
    record = {
        "command": "robustness", "version": __version__, "seed": params.seed, "per_timestep": params.per_timestep,
        "parameters": {
            "attacks": list(strengths), "strengths": {a: list(s) for a, s in strengths.items()},
            "strength_names": {a: STRENGTH_NAMES[a] for a in strengths}, "strength_units": "pixel range [0, 1]",
            "epsilons_per_255": [round(e * 255, 6) for e in strengths.get("fgsm", strengths.get("pgd", ()))],
            "reference_strengths": {a: reference_strength(s) for a, s in strengths.items()},
            "pgd_steps": params.pgd_steps, "pgd_random_start": True, "pgd_n_per_class": params.pgd_n_per_class,
            "pgd_alpha": f"{PGD_ALPHA_FACTOR} * epsilon / steps" if params.pgd_alpha is None else params.pgd_alpha,
            "pgd_alpha_per_255": params.pgd_alpha_per_255,
            "batch_size": runtime.batch_size, "device": str(device), "precision": runtime.precision},
        "data": {"dataset": params.data, "source": data.source, "n_per_class": params.n_per_class,
                 "n_images": len(data), "n_classes": len(data.classes)},
        "choices": CHOICES,
        "models": infos, "seconds_total": round(time.perf_counter() - run_started, 3),
        "table": table.to_dict(orient="records"),
        "curves": curves_table.to_dict(orient="records"),
    }
    return RobustnessResult(record, {"robustness_curves": curves_table, "robustness_table": table})
