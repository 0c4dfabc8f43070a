"""Robustness: accuracy under noise, masking, FGSM, PGD and the Square attack, per image, per checkpoint.

See :mod:`topoanalysis.running.robustness` for the conventions. Tables ``robustness_curves``
(``model, attack, strength, accuracy, se, ci_low, ci_high, n_images``), ``robustness_table``
(the paper-style table: the clean row, then each attack at its reference strength, then the
worst case, one column per model with ``<model> se``, ``<model> ci_low``, ``<model> ci_high``)
and ``robustness_per_image`` (``model, attack, strength, image, label, correct`` for the
clean images, every attack at its reference strength and the worst case; ``image`` is the
index in the evaluated images, the same for every model); figure ``robustness`` (accuracy
vs strength, one panel per attack).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import InputError
from ..running.robustness import (
    ADVERSARIAL,
    ATTACKS,
    DEFAULT_STRENGTHS,
    EPSILONS,
    PGD_RESTARTS,
    PGD_STEP_FRACTION,
    PGD_STEPS,
    SQUARE_P_INIT,
    SQUARE_QUERIES,
    STATIC,
    STRENGTH_NAMES,
    WORST_CASE,
    check_attack,
    reference_strength,
    split_label,
)
from .base import (
    Models,
    Result,
    Runtime,
    check_evaluation_data,
    checkpoint_info,
    data_path,
    evaluation_data,
    model_files,
    model_first,
)
from .registry import Analysis

logger = logging.getLogger(__name__)

#: Attacks run on the first ``pgd_n_per_class`` images of each class (the slow, iterative ones).
SLOW = ("pgd", "square")

CHOICES = [
    "[I] attack strengths are our choice (the paper gives none); epsilon and sigma are in [0, 1] pixel units "
    "at the checkpoint's input size, before mean/std normalisation; results are clipped to [0, 1]",
    "[I] per frame (attack names without a suffix; the paper's 'at each timestep'): independent noise / masks per "
    "frame, and FGSM/PGD/Square move each of the T frames inside its own L-inf ball, so the attacker has "
    "T x 3 x H x W free coordinates; static ('<attack>_static'): one perturbation repeated over T, 3 x H x W "
    "coordinates, what a T = 1 network offers. Both keep every pixel of every frame within epsilon (or the same "
    "sigma / mask fraction per frame); static variants run at the reference strength",
    "[I] a masked pixel is 0 in all channels; exactly round(fraction * H * W) pixels per frame",
    "[I] PGD: L-inf, uniform random start in the ball, steps of step_fraction * epsilon, projection and clipping "
    "after every step, random restarts; an image is fooled when any iterate of any restart is misclassified "
    "(best iterate); the default step count is where accuracy stops falling "
    "(benchmarks/robustness_convergence.py)",
    "[I] Square attack (Andriushchenko et al. 2020, L-inf, margin loss, p halved on the paper's schedule "
    "rescaled to the query budget): a gradient-free check; if it fools images PGD does not, gradients are masked",
    "[I] gradients of the cross-entropy (true labels) through the surrogate spike function, batch norm in eval mode",
    "[I] an image is correct under an attack only if it is correct clean and under the attack; attacks run on "
    "clean-correct images only",
    "[I] worst case: per image, correct only if correct under every attack (both frame modes) at its reference "
    "strength, on the images every attack ran on",
    "[I] every accuracy has its binomial SE and 95 % Wilson score interval",
    "[I] every (attack, strength) starts from the same seed, so strengths share random numbers",
    "[I] the table's reference strength is the middle non-zero strength (the upper one of an even count)",
]


@dataclass(frozen=True)
class RobustnessParams:
    """Attacks and strengths (``sigmas`` and ``mask_fractions`` in pixel units, ``epsilons_per_255``
    in grey levels for FGSM and PGD, ``square_epsilons_per_255`` for the Square attack, by
    default only PGD's reference epsilon: it is the gradient-masking check), PGD steps, random restarts and step size (a
    fraction of epsilon), Square queries and initial square size, per-timestep or static
    perturbations (``static_too``: also every attack statically at its reference strength),
    the seed of noise, masks, PGD starts and squares, and the test images.

    The defaults keep ``topoanalysis robustness`` on the bundled 32-px pair within a few
    minutes on two CPU cores (``benchmarks/robustness_command.py``): 25 test images per
    class, and PGD and Square, the slow iterative attacks, on only the first
    ``pgd_n_per_class`` of them (their rows say how many; None: all). For publication-size
    samples raise ``--n-per-class`` and add ``--full-sweep``."""

    attacks: tuple[str, ...] = ATTACKS
    sigmas: tuple[float, ...] = DEFAULT_STRENGTHS["gaussian_noise"]
    mask_fractions: tuple[float, ...] = DEFAULT_STRENGTHS["pixel_mask"]
    epsilons_per_255: tuple[float, ...] = tuple(round(e * 255) for e in EPSILONS)
    square_epsilons_per_255: tuple[float, ...] = tuple(round(e * 255) for e in DEFAULT_STRENGTHS["square"])
    pgd_steps: int = PGD_STEPS
    pgd_restarts: int = PGD_RESTARTS
    pgd_step_fraction: float = PGD_STEP_FRACTION
    square_queries: int = SQUARE_QUERIES
    square_p_init: float = SQUARE_P_INIT
    per_timestep: bool = True
    static_too: bool = True
    seed: int = 0
    data: str = "cifar10"
    data_path: str | None = None
    n_per_class: int = 25
    pgd_n_per_class: int | None = 5

    def __post_init__(self) -> None:
        self.strengths()
        if self.pgd_n_per_class is not None and self.pgd_n_per_class < 1:
            raise InputError(f"pgd_n_per_class must be >= 1, got {self.pgd_n_per_class}",
                             parameter="pgd_n_per_class")
        for name in ("pgd_steps", "pgd_restarts", "square_queries"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}", parameter=name)
        if not 0 < self.pgd_step_fraction <= 2:
            raise InputError(f"pgd_step_fraction (PGD step / epsilon) must be in (0, 2], got "
                             f"{self.pgd_step_fraction}; e.g. 0.25", parameter="pgd_step_fraction")
        if not 0 < self.square_p_init <= 1:
            raise InputError(f"square_p_init (fraction of pixels in the first square) must be in (0, 1], got "
                             f"{self.square_p_init}", parameter="square_p_init")

    def strengths(self) -> dict[str, tuple[float, ...]]:
        """``{attack: strengths}`` in pixel units, validated, duplicates dropped."""
        epsilons = [e / 255 for e in self.epsilons_per_255]
        given = {"gaussian_noise": self.sigmas, "pixel_mask": self.mask_fractions, "fgsm": epsilons,
                 "pgd": epsilons, "square": [e / 255 for e in self.square_epsilons_per_255]}
        for attack in self.attacks:
            check_attack(attack, 0.0)
        return {attack: tuple(dict.fromkeys(check_attack(attack, s) for s in given[attack]))
                for attack in dict.fromkeys(self.attacks)}

    def plan(self) -> dict[str, tuple[float, ...]]:
        """Attack labels (``<attack>`` per frame, ``<attack>_static``) and their strengths."""
        strengths = self.strengths()
        if not self.per_timestep:
            return {attack + STATIC: s for attack, s in strengths.items()}
        static = {attack + STATIC: (reference_strength(s),) for attack, s in strengths.items()
                  if self.static_too and reference_strength(s) > 0}
        return {**strengths, **static}

    def attack_options(self) -> dict:
        return dict(pgd_steps=self.pgd_steps, pgd_restarts=self.pgd_restarts,
                    pgd_step_fraction=self.pgd_step_fraction, square_queries=self.square_queries,
                    square_p_init=self.square_p_init)


@dataclass
class RobustnessResult(Result):
    """Robustness of every model: per-image outcomes under each perturbation, accuracy curves over strength, the
    table at the reference strengths, and the worst case over attacks."""

    analysis = "robustness"

    @property
    def table_by_model(self) -> pd.DataFrame:
        """The paper-style table: one accuracy column per model."""
        return self.table("robustness_table")

    @property
    def per_image(self) -> pd.DataFrame:
        """``model, attack, strength, image, label, correct`` at the reference strengths."""
        return self.table("robustness_per_image")

    def figures(self) -> dict:
        from ..plotting.robustness import robustness_figure

        title = f"accuracy under perturbation ({'per frame' if self.record['per_timestep'] else 'static'})"
        return {"robustness": robustness_figure(self.table("robustness_curves"),
                                                chance=1 / self.record["data"]["n_classes"], title=title)}


def check_data(params: RobustnessParams) -> None:
    """Fail before any work when the test images are not there."""
    check_evaluation_data(params.data, params.data_path)


def first_per_class_index(labels: np.ndarray, n_per_class: int) -> np.ndarray:
    """Sorted indices of the first ``n_per_class`` images of each class.

    Examples
    --------
    >>> first_per_class_index(np.array([0, 1, 0, 1, 0]), 2).tolist()
    [0, 1, 2, 3]
    """
    keep = np.concatenate([np.flatnonzero(labels == label)[:n_per_class] for label in np.unique(labels)])
    return np.sort(keep)


def first_per_class(data, n_per_class: int):
    """The first ``n_per_class`` images of each class of an :class:`~topoanalysis.training.data.ImageArrays`."""
    from ..training.data import ImageArrays

    keep = first_per_class_index(data.labels, n_per_class)
    return ImageArrays(data.images[keep], data.labels[keep], data.classes, data.mean, data.std,
                       f"{data.source} (first {n_per_class} per class)")


def gradient_masking_check(per_image: pd.DataFrame) -> dict:
    """Per model and frame mode: images Square fools that PGD does not (and the reverse) at PGD's reference.

    Many ``square_only`` images mean PGD's gradients are masked (uninformative).
    """
    out: dict = {}
    for (model, label), rows in per_image[per_image["attack"].isin(["pgd", "pgd" + STATIC])].groupby(
            ["model", "attack"], sort=False):
        square = per_image[(per_image["model"] == model) & (per_image["attack"] == label.replace("pgd", "square"))]
        if not len(square) or square["strength"].iloc[0] != rows["strength"].iloc[0]:
            continue
        both = rows.merge(square, on="image", suffixes=("_pgd", "_square"))
        frames = "static" if split_label(label)[1] else "per_frame"
        out.setdefault(model, {})[frames] = {
            "epsilon_per_255": round(float(rows["strength"].iloc[0]) * 255, 6), "n_images": len(both),
            "square_only": int((both["correct_pgd"] & ~both["correct_square"]).sum()),
            "pgd_only": int((~both["correct_pgd"] & both["correct_square"]).sum())}
    return out


def _label(attack: str, strength: float) -> str:
    base = split_label(attack)[0]
    if base in ADVERSARIAL:
        return f"{attack} eps {strength * 255:.3g}/255"
    if attack in ("clean", WORST_CASE):
        return attack
    return f"{attack} {STRENGTH_NAMES[base]} {strength:.3g}"


def run(models: Models, params: RobustnessParams = RobustnessParams(),
        runtime: Runtime = Runtime()) -> RobustnessResult:
    """Accuracy of each checkpoint under every attack and strength, per image and in total."""
    from ..running.inputs import default_device
    from ..running.robustness import (
        accuracy_summary,
        reference_rows,
        robustness_per_image,
        robustness_table,
        worst_case,
    )

    check_data(params)
    run_started = time.perf_counter()
    plan = params.plan()
    device = default_device() if runtime.device is None else runtime.device
    files = model_files(models)
    per_image, curves, infos = [], [], {}
    for step, (name, file) in enumerate(files.items(), start=1):
        logger.info(f"[{step}/{len(files)}] {name}: {', '.join(plan)} ({file.label})")
        started = time.perf_counter()
        model, spec = file.load(device=device)
        data = evaluation_data(spec, model, params.data, params.data_path, params.n_per_class)
        loaded = time.perf_counter()
        options = dict(batch_size=runtime.batch_size_for(spec), device=device, seed=params.seed,
                       precision=runtime.precision, progress=runtime.progress, **params.attack_options())
        subset = params.pgd_n_per_class is not None and params.pgd_n_per_class < params.n_per_class
        slow = {label: s for label, s in plan.items() if subset and split_label(label)[0] in SLOW}
        rows = robustness_per_image(model, spec, data, {k: s for k, s in plan.items() if k not in slow}, **options)
        if slow:
            index = first_per_class_index(data.labels, params.pgd_n_per_class)
            extra = robustness_per_image(model, spec, (data.images[index], data.labels[index]), slow,
                                         image_index=index, **options)
            rows = pd.concat([rows, extra[extra["attack"] != "clean"]], ignore_index=True)
        rows = pd.concat([rows, worst_case(rows)], ignore_index=True)
        order = {label: i for i, label in enumerate(["clean", *plan, WORST_CASE])}
        rows = rows.sort_values("attack", key=lambda c: c.map(order), kind="stable", ignore_index=True)
        done = time.perf_counter()
        summary = accuracy_summary(rows)
        per_image.append(reference_rows(rows).assign(model=name))
        curves.append(model_first(summary.assign(model=name)))
        infos[name] = {**checkpoint_info(file, spec), "batch_size": options["batch_size"], "arch": spec.arch,
                       "input_size_px": spec.input_size_px, "timesteps": spec.timesteps, "n_images": len(data),
                       "seconds": {"load": round(loaded - started, 3), "attacks": round(done - loaded, 3)}}
        logger.info("    " + "; ".join(f"{_label(r.attack, r.strength)}: {r.accuracy:.3f} "
                                       f"[{r.ci_low:.3f}, {r.ci_high:.3f}] (n {r.n_images})"
                                       for r in robustness_table(summary).itertuples()) + f" ({done - loaded:.1f} s)")
    curves_table = pd.concat(curves, ignore_index=True)
    per_image_table = model_first(pd.concat(per_image, ignore_index=True))[
        ["model", "attack", "strength", "image", "label", "correct"]]
    table = robustness_table(curves_table)
    masking = gradient_masking_check(per_image_table)
    for model, modes in masking.items():
        for frames, check in modes.items():
            if check["square_only"] > max(1, 0.05 * check["n_images"]):
                logger.warning(f"{model} ({frames}): the gradient-free Square attack fools {check['square_only']} "
                               f"of {check['n_images']} images PGD does not: PGD's gradients look masked")
    strengths = params.strengths()
    record = {
        "command": "robustness", "version": __version__, "seed": params.seed, "per_timestep": params.per_timestep,
        "parameters": {
            "attacks": list(strengths), "attack_labels": list(plan),
            "strengths": {a: list(s) for a, s in plan.items()},
            "strength_names": {a: STRENGTH_NAMES[a] for a in strengths}, "strength_units": "pixel range [0, 1]",
            "epsilons_per_255": [round(e * 255, 6) for e in strengths.get("fgsm", strengths.get("pgd", ()))],
            "reference_strengths": {a: reference_strength(s) for a, s in plan.items()},
            "frames": {"per_frame": "every frame in its own ball (T x 3 x H x W free coordinates); noise and masks "
                                    "drawn per frame", "static": "one perturbation repeated over T (3 x H x W free "
                                    "coordinates); per-pixel budget (epsilon, sigma, mask fraction) the same"},
            "static_too": params.static_too,
            "pgd_steps": params.pgd_steps, "pgd_restarts": params.pgd_restarts, "pgd_random_start": True,
            "pgd_step_fraction": params.pgd_step_fraction, "pgd_iterate": "best (any misclassified iterate counts)",
            "square_queries": params.square_queries, "square_p_init": params.square_p_init,
            "pgd_n_per_class": params.pgd_n_per_class, "slow_attacks_on_subset": list(SLOW),
            "batch_size": runtime.batch_size or "per model (default_batch_size)", "device": str(device),
            "precision": runtime.precision},
        "data": {"dataset": params.data, "source": data.source, "n_per_class": params.n_per_class,
                 "n_images": len(data), "n_classes": len(data.classes)},
        "choices": CHOICES,
        "gradient_masking": masking,
        "models": infos, "seconds_total": round(time.perf_counter() - run_started, 3),
        "table": table.to_dict(orient="records"),
        "curves": curves_table.to_dict(orient="records"),
    }
    return RobustnessResult(record, {"robustness_curves": curves_table, "robustness_table": table,
                                     "robustness_per_image": per_image_table})


ANALYSIS = Analysis(name="robustness", title="Robustness", params=RobustnessParams, result=RobustnessResult,
                    run=run, check_data=check_data,
                    data_sets=lambda params: [data_path(params.data_path, "cifar10")],
                    cli="topoanalysis.cli.robustness",
                    report_params=RobustnessParams(n_per_class=10, pgd_n_per_class=5))
