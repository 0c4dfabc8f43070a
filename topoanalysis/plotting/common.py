"""Pieces shared by the V1 and IT figures: model order, grouped bars, curves with bands."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def model_names(df: pd.DataFrame | None) -> list[str]:
    """Model names in order of first appearance (colour ``C{i}`` follows this order)."""
    if df is None or len(df) == 0:
        return []
    return list(dict.fromkeys(df["model"]))


def grouped_bars(ax: Axes, df: pd.DataFrame, group: str, order: Sequence[str], value: str,
                 err: str | None = None, labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Bars of ``df[value]`` in x groups ``df[group]`` (in ``order``), one bar per model.

    Returns ``{model: (BarContainer, x positions, rows drawn)}``.
    """
    present = [name for name in order if name in set(df[group])]
    models = model_names(df)
    width = 0.8 / max(len(models), 1)
    centers = np.arange(len(present), dtype=float)
    drawn: dict[str, Any] = {}
    for i, model in enumerate(models):
        rows = df[df["model"] == model].drop_duplicates(group).set_index(group)
        index = [j for j, name in enumerate(present) if name in rows.index]
        if not index:
            continue
        sub = rows.loc[[present[j] for j in index]]
        x = centers[index] + (i - (len(models) - 1) / 2) * width
        bars = ax.bar(x, sub[value].to_numpy(float), 0.9 * width, color=f"C{i}", label=model,
                      yerr=None if err is None else sub[err].to_numpy(float), capsize=3)
        drawn[model] = (bars, x, sub)
    ax.set_xticks(centers, [(labels or {}).get(name, name) for name in present], fontsize=8)
    return drawn


def plot_smoothness_bars(ax: Axes, smoothness: pd.DataFrame, group: str, order: Sequence[str],
                         labels: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Smoothness per group (x) and model (bars) with SEM error bars and dashed chance lines.

    Each model's shuffled-position chance level is a short dashed black line with its SEM;
    the y axis starts at ``min(0, lowest bar or chance minus its SEM)``.

    Returns
    -------
    dict
        ``{model: {"bars": BarContainer, "chance": LineCollection, "chance_err": ErrorbarContainer}}``.
    """
    bars = grouped_bars(ax, smoothness, group, order, "smoothness", "sem", labels)
    width = 0.8 / max(len(model_names(smoothness)), 1)
    drawn: dict[str, dict[str, Any]] = {}
    lows = [0.0]
    for model, (container, x, sub) in bars.items():
        chance = sub["chance"].to_numpy(float)
        line = ax.hlines(chance, x - 0.4 * width, x + 0.4 * width, colors="black", linestyles="--",
                         linewidth=1.2, zorder=3, label="chance" if not drawn else "_nolegend_")
        errs = ax.errorbar(x, chance, yerr=sub["chance_sem"].to_numpy(float), fmt="none", ecolor="black",
                           elinewidth=0.8, capsize=2, zorder=3)
        drawn[model] = {"bars": container, "chance": line, "chance_err": errs}
        lows.extend(sub["smoothness"] - sub["sem"].fillna(0.0))
        lows.extend(sub["chance"] - sub["chance_sem"].fillna(0.0))
    low = np.asarray(lows, dtype=float)
    ax.set_ylim(bottom=min(0.0, float(low[np.isfinite(low)].min())))
    ax.set_ylabel("smoothness")
    ax.set_title("topographic smoothness", fontsize=9)
    if drawn:
        ax.legend(fontsize=7, frameon=False)
    return drawn


def sem_band(sub: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``mean_difference`` +/- ``sem``."""
    mean = sub["mean_difference"].to_numpy(dtype=float)
    sem = sub["sem"].to_numpy(dtype=float)
    return mean - sem, mean + sem


def plot_curves(ax: Axes, df: pd.DataFrame, value: str, chance: str,
                band: Callable[[pd.DataFrame], tuple[np.ndarray, np.ndarray]]) -> dict[str, dict[str, Any]]:
    """One line per model over ``distance_mm`` with a shaded band and a dashed chance line."""
    drawn: dict[str, dict[str, Any]] = {}
    for i, model in enumerate(model_names(df)):
        sub = df[df["model"] == model].sort_values("distance_mm")
        d = sub["distance_mm"].to_numpy(dtype=float)
        (line,) = ax.plot(d, sub[value].to_numpy(dtype=float), color=f"C{i}", marker="o", markersize=2.5,
                          label=model)
        low, high = band(sub)
        shade = ax.fill_between(d, low, high, color=f"C{i}", alpha=0.25, linewidth=0)
        (chance_line,) = ax.plot(d, sub[chance].to_numpy(dtype=float), color=f"C{i}", linestyle="--",
                                 linewidth=1.0, label=f"{model} (chance)")
        drawn[model] = {"line": line, "band": shade, "chance": chance_line}
    ax.set_xlabel("cortical distance (mm)")
    if drawn:
        ax.legend(fontsize=7, frameon=False)
    return drawn
