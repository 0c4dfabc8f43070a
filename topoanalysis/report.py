"""The report: every paper figure and table for a topographic checkpoint and its baseline.

:func:`build_report` runs (or reuses) the five analyses - ``v1-maps``, ``it-patches``,
``brain``, ``temporal``, ``robustness`` - through the command line, each into a cache
folder keyed by a hash of the analysis, its arguments, both checkpoints' content hashes,
a fingerprint of the data it reads and the toolkit version. A rerun reuses every folder
whose key is unchanged, so changing one analysis's parameters recomputes only that one;
``force`` recomputes all. It then draws the figures that need results from several
analyses and writes ``index.html`` (self-contained, opens offline), the figures as PNG and
PDF, and the tables as CSV.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from . import __version__
from .brain.adapter import default_region_layer_map
from .findings import (
    MAX_DROP_POINTS,
    NOT_REPRODUCED,
    NOT_TESTABLE,
    REPRODUCED,
    Z,
    binomial_se,
    findings_table,
    paper_findings,
    plus_minus,
)
from .models.checkpoints import load_checkpoint
from .paths import REPORTS_DIR, default_data_path
from .report_html import Figure, Section, Table, write_report

if TYPE_CHECKING:
    from .models.checkpoints import CheckpointSpec

logger = logging.getLogger(__name__)

ANALYSES = ("v1", "it", "brain", "temporal", "robustness")


@dataclass(frozen=True)
class ReportParams:
    """Sample sizes of the analyses; the defaults keep a cold CPU run of the bundled pair short."""

    n_per_class: int = 10
    timesteps: tuple[int, ...] = (1, 2, 4, 8)
    fisher_images: int = 32
    pgd_steps: int = 10
    brain_layers: str = "committed"
    device: str | None = None
    batch_size: int = 64


def _fingerprint(*paths: Path) -> list:
    """Names, sizes and modification times of the data an analysis reads (cheap, no hashing)."""
    prints = []
    for path in paths:
        if path.is_file():
            stat = path.stat()
            prints.append([path.name, stat.st_size, stat.st_mtime_ns])
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            prints.append([path.name, len(files), sum(p.stat().st_size for p in files)])
        else:
            prints.append([path.name, "missing"])
    return prints


def _argv(name: str, ckpt: Path, baseline: Path, spec, params: ReportParams) -> tuple[list[str], list[Path]]:
    """Command line (without --out and device options) and data paths of one analysis."""
    common = ["--ckpt", str(ckpt), "--baseline", str(baseline)]
    data = default_data_path
    if name == "v1":
        return ["v1-maps", *common], [data("ringach")]
    if name == "it":
        return ["it-patches", *common], [data("floc"), data("rsa92")]
    if name == "brain":
        layers = sorted(set(default_region_layer_map(spec).values())) if params.brain_layers == "committed" else []
        return (["brain", *common, *(["--layers", *layers] if layers else [])],
                [data("v4"), data("rsa92"), data("ringach")])
    if name == "temporal":
        return (["temporal", *common, "--n-per-class", str(params.n_per_class), "--timesteps",
                 *map(str, params.timesteps), "--fisher-images", str(params.fisher_images)],
                [data("cifar10")])
    return (["robustness", *common, "--n-per-class", str(params.n_per_class), "--pgd-steps", str(params.pgd_steps)],
            [data("cifar10")])


def run_cached(name: str, argv: list[str], key_parts: dict, cache_dir: Path, *, force: bool, params: ReportParams,
               log=logger.info) -> Path:
    """Run one analysis into ``cache_dir/<name>-<key>`` unless that folder is complete already."""
    from .cli.main import main

    key = hashlib.sha256(json.dumps(key_parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
    final = cache_dir / f"{name}-{key}"
    if (final / "DONE").is_file() and not force:
        log(f"{name}: cached ({final})")
        return final
    tmp = cache_dir / f".{name}-{key}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    log(f"{name}: topoanalysis {' '.join(argv)}")
    device = ["--device", params.device] if params.device else []
    status = main([*argv, *device, "--batch-size", str(params.batch_size), "--out", str(tmp)])
    if status != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ValueError(f"the {name} analysis failed (exit status {status}); its message is above")
    (tmp / "cache_key.json").write_text(json.dumps(key_parts, indent=2, sort_keys=True, default=str))
    (tmp / "DONE").write_text(time.strftime("%Y-%m-%d %H:%M:%S"))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return final


def _versions() -> dict[str, str]:
    import numpy
    import spikingjelly
    import torch

    versions = {"topoanalysis": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
                "spikingjelly": getattr(spikingjelly, "__version__", "2.0.0")}
    try:
        from importlib.metadata import version

        versions["brainscore-vision"] = version("brainscore-vision")
    except Exception:  # not installed: the brain section says so through its own error
        pass
    return versions


def _load_json(folder: Path, name: str) -> dict:
    return json.loads((folder / name).read_text())


def build_report(ckpt: str | os.PathLike, baseline: str | os.PathLike, out: str | os.PathLike | None = None, *,
                 params: ReportParams = ReportParams(), force: bool = False, cache_dir: str | os.PathLike | None = None,
                 log=logger.info) -> Path:
    """Run or reuse the analyses and write the report; returns the path of ``index.html``."""
    from .plotting.report import accuracy_vs_smoothness_figure, grating_examples_figure

    ckpt, baseline = Path(ckpt), Path(baseline)
    if ckpt.stem == baseline.stem:
        raise ValueError(f"the checkpoint and the baseline have the same name ({ckpt.stem}); rename one")
    out = Path(out) if out is not None else REPORTS_DIR / ckpt.stem
    cache_dir = Path(cache_dir) if cache_dir is not None else REPORTS_DIR / ".cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    _, spec = load_checkpoint(ckpt)
    _, base_spec = load_checkpoint(baseline)
    folders = {}
    for name in ANALYSES:
        argv, data = _argv(name, ckpt, baseline, spec, params)
        key_parts = {"analysis": name, "argv": argv[:1] + argv[5:], "checkpoint": spec.content_sha256,
                     "baseline": base_spec.content_sha256, "data": _fingerprint(*data), "version": __version__}
        folders[name] = run_cached(name, argv, key_parts, cache_dir, force=force, params=params, log=log)

    figures_dir = out / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    copied = {}
    for name, stems in {"temporal": ["temporal"], "v1": ["v1_maps", "v1_summary"],
                        "it": ["it_tmaps", "it_summary", "it_overlap"], "brain": ["brain_layer_sweep"],
                        "robustness": ["robustness"]}.items():
        for stem in stems:
            for suffix in (".png", ".pdf"):
                shutil.copy2(folders[name] / f"{stem}{suffix}", figures_dir / f"{stem}{suffix}")
            copied[stem] = figures_dir / f"{stem}.png"
    import matplotlib.pyplot as plt

    from .outputs import save_figure

    v1 = _load_json(folders["v1"], "v1_results.json")
    robustness = pd.read_csv(folders["robustness"] / "robustness_table.csv")
    accuracy = {ckpt.stem: card_accuracy(spec), baseline.stem: card_accuracy(base_spec)}
    made = {"gratings": grating_examples_figure(spec),
            "accuracy_vs_smoothness": accuracy_vs_smoothness_figure(v1, _accuracies(accuracy, robustness))}
    for stem, figure in made.items():
        save_figure(figure, figures_dir, stem)
        plt.close(figure)
        copied[stem] = figures_dir / f"{stem}.png"

    brain = pd.read_csv(folders["brain"] / "brain_table.csv")
    table1 = brain.pivot_table(index=["region", "benchmark"], columns="model", values="committed_score",
                               sort=False).reset_index()
    it = _load_json(folders["it"], "it_results.json")
    findings = findings_table(paper_findings(
        v1=v1, correlation_curves=pd.read_csv(folders["v1"] / "correlation_curves.csv"), it=it,
        overlap=pd.read_csv(folders["it"] / "overlap.csv"), accuracy=accuracy,
        entropy_shift=pd.read_csv(folders["temporal"] / "entropy_shift.csv"), robustness=robustness, brain=brain,
        topographic=ckpt.stem, baseline=baseline.stem, topographic_alpha=spec.provenance.get("alpha"),
        timesteps=spec.timesteps))
    headline = _headline(v1, it, accuracy)
    for stem, frame in (("findings", findings), ("headline", headline), ("table1_brain", table1),
                        ("table_robustness", robustness)):
        frame.to_csv(out / f"{stem}.csv", index=False)
    sections = _sections(copied, folders, table1, robustness, v1)
    metadata = {"checkpoint": {"path": str(ckpt), "sha256": spec.content_sha256},
                "baseline": {"path": str(baseline), "sha256": base_spec.content_sha256},
                "versions": _versions(), "date": time.strftime("%Y-%m-%d %H:%M"),
                "sample sizes": asdict(params),
                "analyses": {name: str(folder) for name, folder in folders.items()},
                "seconds": round(time.perf_counter() - started, 1)}
    html = write_report(out / "index.html", f"Topographic analysis: {ckpt.stem} vs {baseline.stem}", sections,
                        metadata, lead=_findings_section(findings, headline))
    log(f"wrote {html} ({len(copied)} figures, 4 tables) in {metadata['seconds']} s")
    for row in findings.itertuples():
        log(f"  {row.verdict:>28}: {row.claim}")
    return html


def card_accuracy(spec: CheckpointSpec) -> tuple[float, int] | None:
    """``(top-1 accuracy, test images)`` that a model card records, or ``None``."""
    card = spec.provenance
    try:
        accuracy, n = float(card["test_accuracy"]), int(card["test_images"])
    except (KeyError, TypeError, ValueError):
        return None
    return (accuracy, n) if 0.0 <= accuracy <= 1.0 and n > 0 else None


def _accuracies(cards: dict, robustness: pd.DataFrame) -> dict[str, tuple[float, int, str]]:
    """Per model ``(accuracy, n, source)``: the card's full-test-set figure, else the robustness clean images."""
    clean = robustness[robustness["attack"] == "clean"].iloc[0]
    return {name: (*card, "model card") if card is not None
            else (float(clean[name]), int(clean["n_images"]), "robustness clean images")
            for name, card in cards.items()}


def _headline(v1: dict, it: dict, accuracy: dict) -> pd.DataFrame:
    """One row per model: accuracy with its SE, V1 and IT face smoothness with SEM, shuffled chance."""
    rows = []
    for name in v1["models"]:
        smooth = {r["metric"]: r for r in v1["models"][name]["smoothness"]}
        faces = {r["domain"]: r for r in it["models"][name]["smoothness"]}["faces"]
        card = accuracy.get(name)
        acc = "n/a" if card is None else (plus_minus(100 * card[0], 100 * binomial_se(*card), 1)
                                          + f" ({card[1]:,})")
        rows.append({"model": name, "test accuracy % (n)": acc,
                     "V1 orientation smoothness": plus_minus(smooth["orientation"]["smoothness"],
                                                             smooth["orientation"]["sem"]),
                     "V1 SF smoothness": plus_minus(smooth["sf"]["smoothness"], smooth["sf"]["sem"]),
                     "IT face smoothness": plus_minus(faces["smoothness"], faces["sem"]),
                     "chance (V1 orientation / IT faces)": f"{smooth['orientation']['chance']:.3f} / "
                                                           f"{faces['chance']:.3f}"})
    return pd.DataFrame(rows)


def _findings_section(findings: pd.DataFrame, headline: pd.DataFrame) -> Section:
    counts = findings["verdict"].value_counts()
    summary = ", ".join(f"{counts.get(v, 0)} {v}" for v in (REPRODUCED, NOT_REPRODUCED, NOT_TESTABLE))
    columns = ["claim", "verdict", "topographic", "baseline", "chance", "reason", "measure", "paper"]
    return Section("Findings: the paper's claims on this pair", [
        Table("findings", f"Claims of the TDSNN paper ({summary})", findings[columns],
              f"Generated from the results below, never typed by hand. Rules fixed in advance: 'higher' means by more "
              f"than {Z:g} combined standard errors; 'no accuracy drop' means at most {MAX_DROP_POINTS:g} points on "
              "the full test set; 'chance' is the same measure with unit positions shuffled."),
        Table("headline", "Headline numbers", headline,
              "Mean \u00b1 SEM (smoothness: over unit samples) or \u00b1 binomial SE (accuracy, from the model card's "
              "full test set).")])


def _sections(figures: dict[str, Path], folders: dict[str, Path], table1: pd.DataFrame, robustness: pd.DataFrame,
              v1: dict) -> list[Section]:
    temporal = _load_json(folders["temporal"], "temporal_results.json")
    it = _load_json(folders["it"], "it_results.json")
    p = v1["parameters"]

    def fig(key: str, title: str, caption: str) -> Figure:
        return Figure(key, title, figures[key], caption, pdf_name=f"figures/{key}.pdf")

    return [
        Section("Figure 1: temporal dynamics", [fig(
            "temporal", "Entropy shift, accuracy vs T, Fisher information, firing rates",
            f"Binary spike-train entropy per layer (H_topo - H_baseline) for T = {temporal['timesteps']}; top-1 "
            f"accuracy vs inference T; {temporal['fisher']}; firing probability per layer.")]),
        Section(f"Figure 3: V1 ({v1['layer']})", [
            fig("gratings", "Grating examples", "Sine gratings as the network sees them (TDANN's grid of 8 "
                "orientations x 8 spatial frequencies x 5 phases x 2 colours, scaled to the input size)."),
            fig("v1_maps", "Orientation, SF and colour preference maps",
                f"Preferences by {v1['orientation_method']} on units passing the {p['mask_rule']} mask; pinwheels "
                f"marked (window {p['applied_pinwheel_window_mm']:.2f} mm)."),
            fig("v1_summary", "Smoothness, difference and correlation vs distance, Ringach 2002",
                f"Smoothness over {p['n_samples']} samples of {p['sample_size']} units, hypercolumn "
                f"{p['applied_hypercolumn_width_mm']:.2f} mm, SEM bars, shuffled-position chance; response "
                f"correlation vs distance with 95 % CIs; {v1['ringach_similarity']}.")]),
        Section(f"Figure 4: IT ({it['layer']})", [
            fig("it_tmaps", "Category t-maps and patches", f"{it['t_value']}; patches from Gaussian smoothing "
                f"(sigma {it['parameters']['patch']['sigma_mm']} mm, "
                f"threshold {it['parameters']['patch']['threshold']})."),
            fig("it_summary", "Selectivity vs distance, smoothness, generalisation",
                "Mean |t_i - t_j| vs cortical distance with shuffled-position chance; t-map smoothness; correlation of "
                "fLoc and 92-image face/body t-maps.")]),
        Section("Figure 5: overlap and accuracy", [
            fig("it_overlap", "Overlap of category maps",
                "; ".join(f"{m} ({c})" for m, c in it["overlap_methods"].items())),
            fig("accuracy_vs_smoothness", "Accuracy vs V1 smoothness",
                "Top-1 accuracy (model card: the full test set; \u00b1 binomial SE) vs orientation-map smoothness "
                "(\u00b1 SEM).")]),
        Section("Table 1: brain benchmarks", [
            Table("table1_brain", "Brain benchmark scores (committed layers)", table1,
                  "Offline benchmarks on real data; score = ceiled where a ceiling exists (see the brain command)."),
            fig("brain_layer_sweep", "Scores per layer", "Each benchmark over the swept layers; stars mark the "
                "committed layer.")]),
        Section("Robustness", [
            Table("table_robustness", "Accuracy under perturbation at the reference strengths", robustness,
                  "Perturbations at each timestep; strengths in pixel units (epsilon in 1/255)."),
            fig("robustness", "Accuracy vs strength", "One panel per attack, both models.")]),
    ]
