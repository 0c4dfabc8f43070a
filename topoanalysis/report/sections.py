"""The report's text: the findings and headline tables, and one section per paper figure or table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..analyses.it import ITPatchesResult
from ..analyses.temporal import TemporalResult
from ..analyses.v1 import V1MapsResult
from ..stats import binomial_se
from .page import Figure, Note, Section, Table
from .verdicts import RULES, VERDICTS, plus_minus


def headline_table(v1: V1MapsResult, it: ITPatchesResult, accuracy: dict) -> pd.DataFrame:
    """One row per model: accuracy with its SE, V1 and IT face smoothness with SEM, shuffled chance."""
    rows = []
    for name in v1.models:
        smooth = {r["metric"]: r for r in v1.smoothness[v1.smoothness["model"] == name].to_dict(orient="records")}
        faces = it.smoothness[(it.smoothness["model"] == name) & (it.smoothness["domain"] == "faces")].iloc[0]
        card = accuracy.get(name)
        acc = "n/a" if card is None else (plus_minus(100 * card[0], 100 * binomial_se(*card), 1)
                                          + f" ({card[1]:,})")
        rows.append({"model": name, "test accuracy % (n)": acc,
                     "V1 orientation smoothness": plus_minus(smooth["orientation"]["smoothness"],
                                                             smooth["orientation"]["sem"]),
                     "V1 SF smoothness": plus_minus(smooth["sf"]["smoothness"], smooth["sf"]["sem"]),
                     "IT face smoothness": plus_minus(faces["smoothness"], faces["sem"]),
                     "chance (V1 orientation / IT faces)":
                         plus_minus(smooth["orientation"]["chance"], smooth["orientation"]["chance_sem"]) + " / "
                         + plus_minus(faces["chance"], faces["chance_sem"])})
    return pd.DataFrame(rows)


FINDINGS_COLUMNS = ["claim", "verdict", "effect [95 % interval]", "paper's effect", "topographic", "baseline",
                    "chance (shuffled)"]
"""The findings overview as the page shows it (``findings.csv`` keeps every column, numbers unformatted)."""
DETAIL_COLUMNS = ["claim", "reason", "uncertainty", "measure", "paper"]
"""The findings' reasons and sources, a second table below the overview."""


def findings_display(findings: pd.DataFrame) -> pd.DataFrame:
    """``findings`` with the effect and its interval in one readable cell, in :data:`FINDINGS_COLUMNS` order."""
    def interval(row) -> str:
        if not pd.notna(row["effect"]):
            return "-"
        return f"{row['effect']:+.3g} [{row['ci_low']:+.3g}, {row['ci_high']:+.3g}]"

    shown = findings.assign(**{"effect [95 % interval]": findings.apply(interval, axis=1),
                               "paper's effect": findings["paper_effect"].map(
                                   lambda v: f"{v:+.3g}" if pd.notna(v) else "-"),
                               "chance (shuffled)": findings["chance"]})
    return shown[FINDINGS_COLUMNS + DETAIL_COLUMNS[1:]]


def findings_summary(findings: pd.DataFrame) -> str:
    """``"4 reproduced, 1 contradicted, 3 inconclusive, 2 not testable"``."""
    counts = findings["verdict"].value_counts()
    return ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)


def findings_note() -> str:
    return ("Generated from the results below, never typed by hand. Effect: topographic minus baseline (or the "
            "topographic model's contrast), with its interval; chance: the same measure with unit positions "
            "shuffled (topographic / baseline). Rules, fixed in advance: " + " ".join(RULES))


def findings_section(findings: pd.DataFrame, headline: pd.DataFrame) -> Section:
    table = findings_display(findings)
    return Section("Findings: the paper's claims on this pair", [
        Table("findings", f"Claims of the TDSNN paper ({findings_summary(findings)})", table[FINDINGS_COLUMNS],
              findings_note()),
        Table("findings_details", "Why each verdict: the rule's arithmetic, the uncertainty, the measure, the source",
              table[DETAIL_COLUMNS], "The reason column applies the rules above to the row's numbers."),
        Table("headline", "Headline numbers", headline,
              "Mean \u00b1 SEM (smoothness: over unit samples) or \u00b1 binomial SE (accuracy, from the model card's "
              "full test set).")])


def robustness_display(table: pd.DataFrame) -> pd.DataFrame:
    """The robustness table with each model's accuracy and Wilson interval in one cell."""
    models = [c for c in table.columns if c not in ("attack", "strength_name", "strength", "n_images")
              and not c.endswith((" se", " ci_low", " ci_high"))]
    shown = table[["attack", "strength_name", "strength", "n_images"]].copy()
    for model in models:
        low, high = table.get(f"{model} ci_low"), table.get(f"{model} ci_high")
        shown[model] = [f"{a:.3f}" + (f" [{lo:.3f}, {hi:.3f}]" if low is not None and pd.notna(lo) else "")
                        for a, lo, hi in zip(table[model], low if low is not None else [None] * len(table),
                                             high if high is not None else [None] * len(table))]
    return shown


def figure_sections(figures: dict[str, Path], v1: V1MapsResult, it: ITPatchesResult,
                    temporal: TemporalResult | None, table1: pd.DataFrame, robustness: pd.DataFrame) -> list[Section]:
    """The paper's figures and tables in order; ``figures`` maps figure stems to their PNG files.

    ``temporal`` is None when a model is a ReLU network: Figure 1 then says why it is absent.
    """
    p = v1.parameters

    def fig(key: str, title: str, caption: str) -> Figure:
        return Figure(key, title, figures[key], caption, pdf_name=f"figures/{key}.pdf")

    temporal_item = Note("temporal", "Not applicable", "A model of this pair is a ReLU network: it emits no spike "
                         "trains, so the temporal analysis (entropy, accuracy vs T, Fisher information over time) "
                         "was skipped.") if temporal is None else fig(
        "temporal", "Entropy shift, accuracy vs T, Fisher information, firing rates",
        f"Spike-train entropy per layer (H_topo - H_baseline) for T = {temporal.timesteps}; top-1 "
        f"accuracy vs inference T; {temporal.fisher_description}; firing probability per layer.")
    return [
        Section("Figure 1: temporal dynamics", [temporal_item]),
        Section(f"Figure 3: V1 ({v1.layer})", [
            fig("gratings", "Grating examples", "Sine gratings as the network sees them (TDANN's grid of 8 "
                "orientations x 8 spatial frequencies x 5 phases x 2 colours, scaled to the input size)."),
            fig("v1_maps", "Orientation, SF and colour preference maps",
                f"Preferences by {v1.orientation_method} on units passing the {p['mask_rule']} mask; pinwheels "
                f"marked (window {p['applied_pinwheel_window_mm']:.2f} mm)."),
            fig("v1_summary", "Smoothness, difference and correlation vs distance, Ringach 2002",
                f"Smoothness over {p['n_samples']} samples of {p['sample_size']} units, hypercolumn "
                f"{p['applied_hypercolumn_width_mm']:.2f} mm, SEM bars, shuffled-position chance; response "
                f"correlation vs distance with 95 % CIs; {v1.ringach_similarity}.")]),
        Section(f"Figure 4: IT ({it.layer})", [
            fig("it_tmaps", "Category t-maps and patches", f"{it.t_value}; patches from Gaussian smoothing "
                f"(sigma {it.parameters['patch']['sigma_mm']} mm, "
                f"threshold {it.parameters['patch']['threshold']})."),
            fig("it_summary", "Selectivity vs distance, smoothness, generalisation",
                "Mean |t_i - t_j| vs cortical distance with shuffled-position chance; t-map smoothness; correlation of "
                "fLoc and 92-image face/body t-maps.")]),
        Section("Figure 5: overlap and accuracy", [
            fig("it_overlap", "Overlap of category maps",
                "; ".join(f"{m} ({c})" for m, c in it.overlap_methods.items())),
            fig("accuracy_vs_smoothness", "Accuracy vs V1 smoothness",
                "Top-1 accuracy (model card: the full test set; \u00b1 binomial SE) vs orientation-map smoothness "
                "(\u00b1 SEM).")]),
        Section("Table 1: brain benchmarks", [
            Table("table1_brain", "Brain benchmark scores (committed layers)", table1,
                  "Offline benchmarks on real data; score = ceiled where a ceiling exists (see the brain command)."),
            fig("brain_layer_sweep", "Scores per layer", "Each benchmark over the swept layers; stars mark the "
                "committed layer.")]),
        Section("Robustness", [
            Table("table_robustness", "Accuracy under perturbation at the reference strengths",
                  robustness_display(robustness),
                  "Accuracy [95 % Wilson interval] per model; an image counts only if correct clean and under the "
                  "attack. Plain names perturb each timestep, _static ones repeat one perturbation over T; "
                  "worst_case: robust under every attack. Strengths in pixel units (epsilon in 1/255); n: images "
                  "(table_robustness.csv has the standard errors too)."),
            fig("robustness", "Accuracy vs strength", "One panel per attack, both models.")]),
    ]


def registered_section(name: str, result, figures: dict[str, Path]) -> Section:
    """The section of an analysis added through the registry: its figures (``figures``: stem -> PNG, as the
    report copied them) and its tables."""
    from ..analyses import registry

    entry = registry.get(name)
    items = [Figure(stem, stem.replace("_", " "), path, f"From the {name} analysis.", pdf_name=f"figures/{stem}.pdf")
             for stem, path in sorted(figures.items())]
    items += [Table(f"table-{name}-{table}", table.replace("_", " "), frame, f"The {name} analysis's {table} table.")
              for table, frame in result.tables.items()]
    return Section(entry.title, items)
