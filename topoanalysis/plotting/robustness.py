"""Robustness figure: accuracy against perturbation strength, one panel per attack.

``plot_*`` draw on given axes and return what they drew; ``robustness_figure`` creates and
returns a Figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .common import model_names

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

ATTACK_TITLES = {"gaussian_noise": "Gaussian noise", "pixel_mask": "pixel masking", "fgsm": "FGSM", "pgd": "PGD"}
X_LABELS = {"gaussian_noise": "noise sigma (pixel range [0, 1])", "pixel_mask": "fraction of pixels masked",
            "fgsm": "epsilon (x 1/255)", "pgd": "epsilon (x 1/255)"}
#: Attacks whose strength is drawn in units of 1/255.
PER_255 = ("fgsm", "pgd")


def plot_robustness_curve(ax: Axes, curves: pd.DataFrame, attack: str, *, chance: float | None = None,
                          legend: bool = True) -> dict[str, dict[str, Any]]:
    """Accuracy vs strength for ``attack``, one line per model, with a +/- 1 binomial SE band.

    Parameters
    ----------
    ax : Axes
        Axes to draw on.
    curves : DataFrame
        Columns ``attack, strength, accuracy, n_images`` and optionally ``model``.
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
        no ``model`` column).

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
    scale = 255.0 if attack in PER_255 else 1.0
    drawn: dict[str, dict[str, Any]] = {}
    for i, model in enumerate(model_names(curves)):
        sub = rows[rows["model"] == model].sort_values("strength")
        if not len(sub):
            continue
        x = sub["strength"].to_numpy(float) * scale
        p = sub["accuracy"].to_numpy(float)
        se = np.sqrt(p * (1 - p) / np.maximum(sub["n_images"].to_numpy(float), 1))
        (line,) = ax.plot(x, p, color=f"C{i}", marker="o", markersize=3, label=model or None)
        band = ax.fill_between(x, p - se, p + se, color=f"C{i}", alpha=0.2, linewidth=0)
        drawn[model] = {"line": line, "band": band}
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
    """One panel per attack (in order of appearance): accuracy vs strength, one line per model.

    Examples
    --------
    >>> curves = pd.DataFrame({"model": "a", "attack": ["fgsm", "fgsm", "pgd", "pgd"],
    ...                        "strength": [0, 4 / 255] * 2, "accuracy": [0.8, 0.4, 0.8, 0.2],
    ...                        "n_images": 50})
    >>> len(robustness_figure(curves, chance=0.1).axes)
    2
    """
    import matplotlib.pyplot as plt

    attacks = list(dict.fromkeys(curves["attack"]))
    if not attacks:
        raise ValueError("no robustness curves to draw (the table is empty)")
    fig, axes = plt.subplots(1, len(attacks), figsize=(3.3 * len(attacks), 3.2), squeeze=False,
                             layout="constrained", sharey=True)
    for i, (ax, attack) in enumerate(zip(axes[0], attacks)):
        plot_robustness_curve(ax, curves, attack, chance=chance, legend=i == 0)
        if i:
            ax.set_ylabel("")
    fig.suptitle(title or "accuracy under perturbation at each timestep", fontsize=10)
    return fig
