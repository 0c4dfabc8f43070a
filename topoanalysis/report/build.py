"""The report: every paper figure and table for a topographic checkpoint and its baseline.

:func:`build_report` runs (or reuses) the five analyses of :mod:`topoanalysis.analyses`, each
saved into a cache folder keyed by a hash of the analysis, its params dataclass, both
checkpoints' content hashes, a fingerprint of the data it reads, the precision and the
toolkit version. A rerun loads every result whose key is unchanged, so changing one
analysis's parameters recomputes only that one; ``force`` recomputes all. It then draws the
figures that need results from several analyses and writes ``index.html`` (self-contained,
opens offline), the figures as PNG and PDF, and the tables as CSV.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .. import __version__
from ..analyses import registry
from ..analyses.base import ModelFile, Result, Runtime, check_models, load_each_checkpoint_once, network_family
from ..brain.adapter import default_region_layer_map
from ..errors import InputError
from ..outputs import check_output_folder, staged_folder
from ..paths import REPORTS_DIR
from .findings import findings_table, paper_findings
from .page import write_report
from .sections import figure_sections, findings_section, headline_table, registered_section

if TYPE_CHECKING:
    from ..models.checkpoints import CheckpointSpec

logger = logging.getLogger(__name__)

def analyses() -> dict:
    """Report section name -> :class:`~topoanalysis.analyses.registry.Analysis`: every registered analysis."""
    return registry.analyses()


@dataclass(frozen=True, init=False)
class ReportParams:
    """The parameters of every registered analysis, as the report runs them.

    Each defaults to its registry entry's ``report_params`` (its analysis's own defaults, except
    smaller samples for temporal (10 images per class, T = 1, 2, 4, 8, 32 Fisher images) and
    robustness (10 images per class; the converged 50-step PGD and the Square check on the first 5
    of each class), which keep a cold CPU run of the bundled pair short. Neither sample can
    resolve the paper's robustness gains (0.2-1.3 points need tens of thousands of paired images):
    the findings say so and give the sample that would). Give any of them by name
    (``ReportParams(temporal=TemporalParams(...))``); read them as attributes (``params.temporal``).
    ``brain_layers``: "committed" scores each region's committed layer only, "all" sweeps
    ``brain.layers`` (None: every layer).
    """

    analyses: dict
    brain_layers: str = "committed"

    def __init__(self, analyses: dict | None = None, brain_layers: str = "committed", **by_name) -> None:
        entries = registry.analyses()
        given = {**(analyses or {}), **by_name}
        unknown = sorted(set(given) - set(entries))
        if unknown:
            raise InputError(f"ReportParams: no registered analysis named {', '.join(unknown)}; registered: "
                             f"{', '.join(entries)}")
        for name, value in given.items():
            if not isinstance(value, entries[name].params):
                raise InputError(f"ReportParams: {name} must be a {entries[name].params.__name__}, got "
                                 f"{type(value).__name__}", parameter=name)
        if brain_layers not in ("committed", "all"):
            raise InputError(f"brain_layers must be 'committed' or 'all', got {brain_layers!r}",
                             parameter="brain_layers")
        merged = {name: given.get(name, entry.default_report_params()) for name, entry in entries.items()}
        object.__setattr__(self, "analyses", merged)
        object.__setattr__(self, "brain_layers", brain_layers)

    def __getattr__(self, name: str):
        analyses_params = self.__dict__.get("analyses", {})
        if name in analyses_params:
            return analyses_params[name]
        raise AttributeError(f"ReportParams has no analysis {name!r}")

    def for_analysis(self, name: str, spec: CheckpointSpec):
        """The params the report runs analysis ``name`` with on a checkpoint described by ``spec``."""
        params = self.analyses[name] if name in self.analyses else registry.get(name).default_report_params()
        if name == "brain" and self.brain_layers == "committed":
            params = replace(params, layers=tuple(sorted(set(default_region_layer_map(spec).values()))))
        return params


def data_paths(name: str, params) -> list[Path]:
    """The data an analysis reads (its registry entry's ``data_sets``)."""
    return list(registry.get(name).data_sets(params))


def fingerprint(*paths: Path) -> list:
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


def cache_key_parts(name: str, analysis_params, specs: dict[str, CheckpointSpec], runtime: Runtime) -> dict:
    """What analysis ``name``'s cached result depends on: its params, the checkpoints' content, the data, the
    precision and the toolkit version (``specs``: model name -> spec, in the order the analysis compares them)."""
    return {"analysis": name, "params": asdict(analysis_params),
            "checkpoints": {model: spec.content_sha256 for model, spec in specs.items()},
            "data": fingerprint(*data_paths(name, analysis_params)), "precision": runtime.precision,
            "version": __version__}


def run_cached(name: str, models: dict[str, ModelFile], params, key_parts: dict, cache_dir: Path, *,
               runtime: Runtime, force: bool, log=logger.info) -> tuple[Result, Path]:
    """Analysis ``name``'s result, loaded from ``cache_dir/<name>-<key>`` or computed and saved there."""
    key = hashlib.sha256(json.dumps(key_parts, sort_keys=True, default=str).encode()).hexdigest()[:16]
    final = cache_dir / f"{name}-{key}"
    if (final / "DONE").is_file() and not force:
        log(f"{name}: cached ({final})")
        return registry.get(name).result.load(final), final
    tmp = cache_dir / f".{name}-{key}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    log(f"{name}: running the analysis")
    try:
        result = registry.get(name).run(models, params, runtime)
        result.save(tmp)
        (tmp / "cache_key.json").write_text(json.dumps(key_parts, indent=2, sort_keys=True, default=str))
        (tmp / "DONE").write_text(time.strftime("%Y-%m-%d %H:%M:%S"))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return result, final


def package_versions() -> dict[str, str]:
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


def card_accuracy(spec: CheckpointSpec) -> tuple[float, int] | None:
    """``(top-1 accuracy, test images)`` that a model card records, or ``None``."""
    card = spec.provenance
    try:
        accuracy, n = float(card["test_accuracy"]), int(card["test_images"])
    except (KeyError, TypeError, ValueError):
        return None
    return (accuracy, n) if 0.0 <= accuracy <= 1.0 and n > 0 else None


def _accuracies(cards: dict, robustness_table: pd.DataFrame) -> dict[str, tuple[float, int, str]]:
    """Per model ``(accuracy, n, source)``: the card's full-test-set figure, else the robustness clean images."""
    clean = robustness_table[robustness_table["attack"] == "clean"].iloc[0]
    return {name: (*card, "model card") if card is not None
            else (float(clean[name]), int(clean["n_images"]), "robustness clean images")
            for name, card in cards.items()}


def pair_findings(results: dict[str, Result], topographic: str, baseline: str,
                  accuracy: dict[str, tuple[float, int] | None], spec: CheckpointSpec,
                  seed_sd: dict[str, float] | None = None, seed_sd_source: str = "seed-replicated pairs"
                  ) -> pd.DataFrame:
    """The findings table of one pair from its analyses' results (see :mod:`topoanalysis.report.findings`)."""
    v1_result, it_result, robustness_result = results["v1"], results["it"], results["robustness"]
    brain_result = results["brain"]
    per_image = robustness_result.tables.get("robustness_per_image")
    bootstrap = brain_result.tables.get("rsa_bootstrap")
    return findings_table(paper_findings(
        v1_smoothness=v1_result.smoothness, v1_layer=v1_result.layer,
        correlation_falloff=v1_result.correlation_falloff, it_smoothness=it_result.smoothness,
        it_layer=it_result.layer, overlap_contrast=it_result.overlap_contrast, accuracy=accuracy,
        entropy_shift=results["temporal"].entropy_shift if "temporal" in results else None,
        robustness=robustness_result.table_by_model, robustness_per_image=per_image,
        brain=brain_result.region_scores, brain_bootstrap=bootstrap, topographic=topographic, baseline=baseline,
        topographic_alpha=spec.provenance.get("alpha"), timesteps=spec.timesteps, seed_sd=seed_sd,
        seed_sd_source=seed_sd_source, fisher=results["temporal"].table("fisher") if "temporal" in results else None))


def _write_report(out: Path, ckpt: Path, baseline: Path, spec: CheckpointSpec, base_spec: CheckpointSpec,
                  results: dict[str, Result], folders: dict[str, Path], params: ReportParams, runtime: Runtime,
                  started: float, seed_sd: dict[str, float] | None = None,
                  seed_sd_source: str = "seed-replicated pairs") -> tuple[pd.DataFrame, int]:
    """Figures, tables and ``index.html`` into ``out``; returns the findings table and the figure count."""
    import matplotlib.pyplot as plt

    from ..outputs import save_figure
    from ..plotting.report import accuracy_vs_smoothness_figure, grating_examples_figure

    v1_result, it_result = results["v1"], results["it"]
    figures_dir = out / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    copied = {}
    for folder in folders.values():
        for png in sorted(folder.glob("*.png")):
            for source in (png, png.with_suffix(".pdf")):
                shutil.copy2(source, figures_dir / source.name)
            copied[png.stem] = figures_dir / png.name
    robustness_table = results["robustness"].table_by_model
    accuracy = {ckpt.stem: card_accuracy(spec), baseline.stem: card_accuracy(base_spec)}
    made = {"gratings": grating_examples_figure(spec),
            "accuracy_vs_smoothness": accuracy_vs_smoothness_figure(v1_result.smoothness,
                                                                    _accuracies(accuracy, robustness_table))}
    for stem, figure in made.items():
        save_figure(figure, figures_dir, stem)
        plt.close(figure)
        copied[stem] = figures_dir / f"{stem}.png"

    brain_table = results["brain"].region_scores
    table1 = brain_table.pivot_table(index=["region", "benchmark"], columns="model", values="committed_score",
                                     sort=False).reset_index()
    findings = pair_findings(results, ckpt.stem, baseline.stem, accuracy, spec, seed_sd, seed_sd_source)
    headline = headline_table(v1_result, it_result, accuracy)
    for stem, frame in (("findings", findings), ("headline", headline), ("table1_brain", table1),
                        ("table_robustness", robustness_table)):
        frame.to_csv(out / f"{stem}.csv", index=False)
    sections = figure_sections(copied, v1_result, it_result, results.get("temporal"), table1, robustness_table)
    sections += [registered_section(name, results[name],
                                    {png.stem: copied[png.stem] for png in folders[name].glob("*.png")})
                 for name in results if name not in registry.BUILTIN]
    metadata = {"checkpoint": {"path": str(ckpt), "sha256": spec.content_sha256},
                "baseline": {"path": str(baseline), "sha256": base_spec.content_sha256},
                "versions": package_versions(), "date": time.strftime("%Y-%m-%d %H:%M"),
                "parameters": {name: asdict(params.for_analysis(name, spec)) for name in results},
                "runtime": asdict(runtime),
                "analyses": {name: str(folder) for name, folder in folders.items()},
                "seconds": round(time.perf_counter() - started, 1)}
    write_report(out / "index.html", f"Topographic analysis: {ckpt.stem} vs {baseline.stem}", sections, metadata,
                 lead=findings_section(findings, headline))
    return findings, len(copied)


def run_pair_analyses(ckpt: Path, baseline: Path, *, params: ReportParams = ReportParams(),
                      runtime: Runtime = Runtime(), arch: str | None = None, force: bool = False,
                      cache_dir: str | os.PathLike | None = None, log=logger.info):
    """Run (or load from the cache) a pair's analyses: ``(spec, baseline spec, results, cache folders)``."""
    cache_dir = Path(cache_dir) if cache_dir is not None else REPORTS_DIR / ".cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    models = {ckpt.stem: ModelFile(ckpt, arch), baseline.stem: ModelFile(baseline, arch)}
    spec, base_spec = check_models(models)
    relu = [name for name, file in models.items() if network_family(file) == "ReLU"]
    entries = registry.analyses()
    names = [name for name, entry in entries.items() if not (entry.needs_spikes and relu)]
    for name in names:  # every data set, before the first analysis starts
        entries[name].check_data(params.for_analysis(name, spec))
    for name in set(entries) - set(names):
        log(f"{name}: skipped, {' and '.join(relu)} {'is a ReLU network' if len(relu) == 1 else 'are ReLU networks'}"
            " (no spike trains)")
    results, folders = {}, {}
    for name in names:
        analysis_params = params.for_analysis(name, spec)
        key_parts = cache_key_parts(name, analysis_params, {ckpt.stem: spec, baseline.stem: base_spec}, runtime)
        results[name], folders[name] = run_cached(name, models, analysis_params, key_parts, cache_dir,
                                                  runtime=runtime, force=force, log=log)
    return spec, base_spec, results, folders


def build_report(ckpt: str | os.PathLike, baseline: str | os.PathLike, out: str | os.PathLike | None = None, *,
                 params: ReportParams = ReportParams(), runtime: Runtime = Runtime(), arch: str | None = None,
                 force: bool = False, cache_dir: str | os.PathLike | None = None, log=logger.info,
                 seed_sd: dict[str, float] | None = None, seed_sd_source: str = "seed-replicated pairs") -> Path:
    """Run or reuse the analyses and write the report; returns the path of ``index.html``.

    ``out`` (default ``reports/<checkpoint name>``) is replaced whole when the report is
    complete; it must be new, empty or an earlier report (checked before any work). ``arch``
    names the architecture of plain state dicts without metadata. ``seed_sd``: the between-seed SD
    of each claim's paired difference for the one-seed findings (default: the bundled ReLU seeds'), and
    ``seed_sd_source`` where it comes from. Each checkpoint is read and hash-checked once.
    """
    ckpt, baseline = Path(ckpt), Path(baseline)
    if ckpt.stem == baseline.stem:
        raise InputError(f"the checkpoint and the baseline have the same name ({ckpt.stem}); rename one")
    out = check_output_folder(out if out is not None else REPORTS_DIR / ckpt.stem, "index.html")
    started = time.perf_counter()
    with load_each_checkpoint_once():
        spec, base_spec, results, folders = run_pair_analyses(ckpt, baseline, params=params, runtime=runtime,
                                                              arch=arch, force=force, cache_dir=cache_dir, log=log)
        with staged_folder(out, "index.html") as staging:
            findings, n_figures = _write_report(staging, ckpt, baseline, spec, base_spec, results, folders, params,
                                                runtime, started, seed_sd, seed_sd_source)
    html = out / "index.html"
    log(f"wrote {html} ({n_figures} figures, 4 tables) in {time.perf_counter() - started:.1f} s")
    for row in findings.itertuples():
        log(f"  {row.verdict:>13}: {row.claim}")
    return html
