"""Robustness figure: accuracy against perturbation strength, one panel per attack.

Per-frame results are solid lines with a 95 % Wilson band; static results (attack
``<attack>_static``) are drawn on the same panel as hollow markers joined by dashes. The
per-image worst case has no strength and is left to the table.

``plot_*`` draw on given axes and return what they drew; ``robustness_figure`` creates and
returns a Figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .common import model_names

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ATTACK_TITLES = {"gaussian_noise": "Gaussian noise", "pixel_mask": "pixel masking", "fgsm": "FGSM", "pgd": "PGD",
                 "square": "Square (gradient-free)"}
X_LABELS = {"gaussian_noise": "noise sigma (pixel range [0, 1])", "pixel_mask": "fraction of pixels masked",
            "fgsm": "epsilon (x 1/255)", "pgd": "epsilon (x 1/255)", "square": "epsilon (x 1/255)"}
#: Attacks whose strength is drawn in units of 1/255.
PER_255 = ("fgsm", "pgd", "square")
STATIC = "_static"


def _interval(sub: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The rows' 95 % Wilson interval, computed from accuracy and n when the columns are absent."""
    if {"ci_low", "ci_high"} <= set(sub):
        return sub["ci_low"].to_numpy(float), sub["ci_high"].to_numpy(float)
    from ..running.robustness import wilson_interval

    n = np.maximum(sub["n_images"].to_numpy(float), 1)
    return wilson_interval(np.round(sub["accuracy"].to_numpy(float) * n), n)


def plot_robustness_curve(ax: Axes, curves: pd.DataFrame, attack: str, *, chance: float | None = None,
                          legend: bool = True) -> dict[str, dict[str, Any]]:
    """Accuracy vs strength for ``attack``, one line per model, with its 95 % Wilson band; the
    ``<attack>_static`` rows as dashed lines with hollow markers.

    Parameters
    ----------
    ax : Axes
        Axes to draw on.
    curves : DataFrame
        Columns ``attack, strength, accuracy, n_images`` and optionally ``model``, ``ci_low``,
        ``ci_high``.
    attack : str
        Which attack's rows to draw.
    chance : float, optional
        Draw a dotted chance line at this accuracy (e.g. 0.1 for 10 classes).
    legend : bool
        Label the lines in a legend.

    Returns
    -------
    dict
        ``{model: {"line": Line2D, "band": PolyCollection}}`` (model ``""`` when there is
        no ``model`` column), plus ``"static"`` (Line2D) where static rows exist.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> curves = pd.DataFrame({"attack": "fgsm", "strength": [0, 2 / 255], "accuracy": [0.8, 0.3],
    ...                        "n_images": 100})
    >>> fig, ax = plt.subplots()
    >>> list(plot_robustness_curve(ax, curves, "fgsm"))
    ['']
    """
    curves = curves if "model" in curves else curves.assign(model="")
    rows = curves[curves["attack"] == attack]
    static_rows = curves[curves["attack"] == attack + STATIC]
    scale = 255.0 if attack in PER_255 else 1.0
    drawn: dict[str, dict[str, Any]] = {}
    for i, model in enumerate(model_names(curves)):
        sub = rows[rows["model"] == model].sort_values("strength")
        if len(sub):
            x = sub["strength"].to_numpy(float) * scale
            low, high = _interval(sub)
            (line,) = ax.plot(x, sub["accuracy"].to_numpy(float), color=f"C{i}", marker="o", markersize=3,
                              label=model or None)
            drawn[model] = {"line": line, "band": ax.fill_between(x, low, high, color=f"C{i}", alpha=0.2,
                                                                  linewidth=0)}
        static = static_rows[static_rows["model"] == model].sort_values("strength")
        if len(static):
            (line,) = ax.plot(static["strength"].to_numpy(float) * scale, static["accuracy"].to_numpy(float),
                              color=f"C{i}", marker="o", markersize=5, markerfacecolor="none", linestyle="--",
                              label=f"{model} static".strip())
            drawn.setdefault(model, {})["static"] = line
    if chance is not None:
        ax.axhline(chance, color="black", linestyle=":", linewidth=1.0, label="chance")
    ax.set_ylim(0, 1)
    ax.set_xlabel(X_LABELS.get(attack, "strength"), fontsize=8)
    ax.set_ylabel("top-1 accuracy")
    ax.set_title(ATTACK_TITLES.get(attack, attack), fontsize=9)
    if legend and (any(drawn) or chance is not None):
        ax.legend(fontsize=7, frameon=False)
    return drawn


def robustness_figure(curves: pd.DataFrame, *, chance: float | None = None, title: str | None = None) -> Figure:
    """One panel per attack (in order of appearance; static rows join their attack's panel): accuracy vs
    strength, one line per model.

    Examples
    --------
    >>> curves = pd.DataFrame({"model": "a", "attack": ["fgsm", "fgsm", "pgd", "pgd"],
    ...                        "strength": [0, 4 / 255] * 2, "accuracy": [0.8, 0.4, 0.8, 0.2],
    ...                        "n_images": 50})
    >>> len(robustness_figure(curves, chance=0.1).axes)
    2
    """
    import matplotlib.pyplot as plt

    named = curves["attack"].str.removesuffix(STATIC)
    attacks = list(dict.fromkeys(named[curves["strength"].notna()]))
    if not attacks:
        raise InputError("no robustness curves to draw (the table is empty)")
    fig, axes = plt.subplots(1, len(attacks), figsize=(3.3 * len(attacks), 3.2), squeeze=False,
                             layout="constrained", sharey=True)
    for i, (ax, attack) in enumerate(zip(axes[0], attacks)):
        plot_robustness_curve(ax, curves, attack, chance=chance, legend=i == 0)
        if i:
            ax.set_ylabel("")
    fig.suptitle(title or "accuracy under perturbation per frame", fontsize=10)
    return fig
