"""Several models through the same probes: the paper's comparison across model families in one report.

:func:`build_models_report` writes each topographic / baseline pair's full report under
``pairs/<topographic>_vs_<baseline>/``, then puts every model side by side:
``table1_models.csv`` (rows = models, V1 / V2 / V4 / IT brain scores and accuracy),
``topography_cost.csv`` (accuracy change per pair, by family: Fig. 1 right),
``models_points.csv`` (accuracy and V1 / IT smoothness: Fig. 5a), each pair's findings, the
figures, and ``index.html``, which opens with what these models can and cannot say. A model in
a pair reuses that pair's cached V1, IT and brain results; any other model runs alone.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..analyses import registry
from ..analyses.base import ModelFile, Runtime, check_models, load_each_checkpoint_once, network_family
from ..errors import InputError
from ..models.registry import family_of
from ..outputs import check_output_folder, save_figure, staged_folder, write_csv
from ..paths import REPORTS_DIR
from ..plotting.comparison import (
    accuracy_vs_smoothness_models_figure,
    face_body_smoothness_figure,
    topography_cost_figure,
)
from ..stats import binomial_se
from .build import (
    ReportParams,
    build_report,
    cache_key_parts,
    card_accuracy,
    package_versions,
    pair_findings,
    run_cached,
    run_pair_analyses,
)
from .comparison import benchmark_ceilings, face_body_smoothness, region_table, topography_cost
from .page import Figure, Note, Section, Table, write_report
from .sections import findings_display
from .seed_findings import seed_level_findings, seed_variation
from .verdicts import RULES

if TYPE_CHECKING:
    from ..models.checkpoints import CheckpointSpec

logger = logging.getLogger(__name__)

def model_analyses() -> list[str]:
    """The analyses every model goes through (``per_model`` entries: V1, IT, brain; the rest belong to the pairs)."""
    return [name for name, entry in registry.analyses().items() if entry.per_model]

CIFAR_SCOPE = (
    "The paper's comparative claims are about ImageNet-trained networks at 224 px: topography costs a topographic "
    "ANN accuracy (TopoNet: -3 % top-1) but not a TDSNN, and TDSNNs score higher on brain benchmarks than TDANN and "
    "TopoNet (Table 1). Models trained on CIFAR-10 at 32 px can test the direction of those contrasts under one "
    "controlled recipe (within a family, the pair shares positions, data, seed and schedule): does topography cost "
    "accuracy in the ReLU family and not in the spiking one, and does it make maps smoother in both? They cannot "
    "give the size of the ImageNet accuracy cost, and their brain scores, computed on benchmark images shown at "
    "32 px, are not comparable with the paper's Table 1 or with released ImageNet models: compare them only with "
    "each other. A pair without seeds is one training seed: its findings add the between-seed spread measured on "
    "seed-replicated pairs to their intervals, so a difference that a second seed could reverse is not a finding.")


def _own_rows(frame: pd.DataFrame, model: str) -> pd.DataFrame:
    """The rows of a table stacked over models (a pair's) that belong to ``model``."""
    return frame[frame["model"] == model]


def _point(name: str, family: str, v1, it, accuracy: tuple[float, int] | None) -> dict:
    v1_rows, it_rows = _own_rows(v1.smoothness, name), _own_rows(it.smoothness, name)
    orientation = v1_rows[v1_rows["metric"] == "orientation"].iloc[0]
    faces = it_rows[it_rows["domain"] == "faces"].iloc[0]
    value, se = (math.nan, math.nan) if accuracy is None else (accuracy[0], binomial_se(*accuracy))
    return {"model": name, "family": family, "accuracy": value, "accuracy_se": se,
            "v1_smoothness": orientation["smoothness"], "v1_sem": orientation["sem"],
            "it_smoothness": faces["smoothness"], "it_sem": faces["sem"]}


def _scope_note(specs: dict[str, CheckpointSpec], families: dict[str, str]) -> Note:
    models = "; ".join(f"{name} ({families[name]}, trained on {spec.provenance.get('data', 'unrecorded data')}, "
                       f"{spec.input_size_px} px, T = {spec.timesteps})" for name, spec in specs.items())
    cifar = any(str(spec.provenance.get("data", "")).lower().startswith("cifar") for spec in specs.values())
    return Note("scope", "What these models can and cannot say",
                f"Models: {models}." + (f" {CIFAR_SCOPE}" if cifar else ""))


def _pair_names(models: Sequence[Path], pairs: Sequence[tuple[Path, Path]]) -> list[tuple[str, str]]:
    """``pairs`` as model names, each member one of ``models`` (matched by resolved path)."""
    by_path = {path.resolve(): path.stem for path in models}
    named = []
    for topo, base in pairs:
        missing = [str(p) for p in (topo, base) if Path(p).resolve() not in by_path]
        if missing:
            raise InputError(f"pair {topo} = {base}: {', '.join(missing)} is not among the models; list every pair "
                             "member among the models", parameter="pairs")
        if Path(topo).resolve() == Path(base).resolve():
            raise InputError(f"pair {topo} = {base}: a model cannot be its own baseline", parameter="pairs")
        named.append((by_path[Path(topo).resolve()], by_path[Path(base).resolve()]))
    return list(dict.fromkeys(named))


def _group_pairs(groups: dict[str, Sequence[Path]], pairs: list[tuple[str, str]],
                 models: Sequence[Path]) -> dict[str, list[tuple[str, str]]]:
    """Each group as its seed pairs: every member a topographic model of a pair among ``pairs``."""
    by_path = {path.resolve(): path.stem for path in models}
    baseline_of = dict(pairs)
    named: dict[str, list[tuple[str, str]]] = {}
    seen: dict[str, str] = {}
    for name, members in groups.items():
        if len(members) < 2:
            raise InputError(f"group {name}: a group is two or more seeds of one condition, got {len(members)}",
                             parameter="groups")
        stems = []
        for member in members:
            stem = by_path.get(Path(member).resolve())
            if stem is None or stem not in baseline_of:
                raise InputError(f"group {name}: {member} is not the topographic model of a pair among the models; "
                                 "list it among the models and pair it with its own seed's baseline",
                                 parameter="groups")
            if stem in seen:
                raise InputError(f"group {name}: {member} is already in group {seen[stem]}", parameter="groups")
            seen[stem] = name
            stems.append(stem)
        named[name] = [(stem, baseline_of[stem]) for stem in dict.fromkeys(stems)]
    return named


def _pooled_seed_sd(raw: dict[tuple[str, str], pd.DataFrame],
                    groups: dict[str, list[tuple[str, str]]]) -> dict[str, float] | None:
    """Per claim, the between-seed SD of the paired difference pooled over the groups (None: no group)."""
    if not groups:
        return None
    variances: dict[str, list[float]] = {}
    for pairs in groups.values():
        for key, sd in seed_variation([raw[pair] for pair in pairs]).items():
            variances.setdefault(key, []).append(sd**2)
    return {key: math.sqrt(sum(v) / len(v)) for key, v in variances.items()}


def build_models_report(models: Sequence[str | os.PathLike], pairs: Sequence[tuple[str | os.PathLike,
                                                                                   str | os.PathLike]] = (),
                        out: str | os.PathLike | None = None, *, groups: dict[str, Sequence[str | os.PathLike]]
                        | None = None, params: ReportParams = ReportParams(),
                        runtime: Runtime = Runtime(), arch: str | None = None, force: bool = False,
                        cache_dir: str | os.PathLike | None = None, log=logger.info) -> Path:
    """Report on several checkpoints; ``pairs`` lists ``(topographic, baseline)`` paths among ``models``.

    ``groups`` maps a condition's name to its seeds: topographic models of pairs, each paired with its
    own seed's baseline. Each group gets seed-level findings (between-seed uncertainty), and every
    one-seed finding adds the groups' between-seed SD to its interval. Every model's family (spiking
    or ReLU, and its architecture, e.g. "spiking CORnet-RT") is read from its network and checkpoint.
    ``out`` (default ``reports/models``) is replaced whole when the report is complete. Returns
    ``index.html``'s path. Each checkpoint is read and hash-checked once.
    """
    with load_each_checkpoint_once():
        return _build_models_report(models, pairs, out, groups=groups, params=params, runtime=runtime, arch=arch,
                                    force=force, cache_dir=cache_dir, log=log)


def _build_models_report(models, pairs, out, *, groups, params, runtime, arch, force, cache_dir, log) -> Path:
    paths = [Path(model) for model in models]
    stems = [path.stem for path in paths]
    if len(paths) < 2 or len(set(stems)) < len(stems):
        raise InputError(f"a models report needs at least two checkpoints with distinct file names, got {stems}",
                         parameter="models")
    named_pairs = _pair_names(paths, [(Path(t), Path(b)) for t, b in pairs])
    named_groups = _group_pairs({name: [Path(m) for m in members] for name, members in (groups or {}).items()},
                                named_pairs, paths)
    out = check_output_folder(out if out is not None else REPORTS_DIR / "models", "index.html")
    cache_dir = Path(cache_dir) if cache_dir is not None else REPORTS_DIR / ".cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    files = {path.stem: ModelFile(path, arch) for path in paths}
    specs = dict(zip(files, check_models(files, flags=tuple(f"--models {path}" for path in paths))))
    families = {name: f"{network_family(file)} {family_of(specs[name].arch).label}" for name, file in files.items()}
    for name, entry in registry.analyses().items():  # every data set, before the first analysis starts
        entry.check_data(params.for_analysis(name, specs[stems[0]]))
    raw = {}
    for topo, base in named_pairs:  # each pair's analyses (cached for the pair reports) and its raw findings
        spec, _, results, _ = run_pair_analyses(files[topo].path, files[base].path, params=params, runtime=runtime,
                                                arch=arch, force=force, cache_dir=cache_dir, log=log)
        accuracy = {topo: card_accuracy(specs[topo]), base: card_accuracy(specs[base])}
        raw[(topo, base)] = pair_findings(results, topo, base, accuracy, spec, seed_sd={})
    seed_sd = _pooled_seed_sd(raw, named_groups)
    groups_text = ", ".join(f"{name}: {len(group)} seeds" for name, group in named_groups.items())
    source = f"this report's seed groups ({groups_text})" if named_groups else "seed-replicated pairs"
    with staged_folder(out, "index.html") as staging:
        findings = {}
        for topo, base in named_pairs:
            folder = staging / "pairs" / f"{topo}_vs_{base}"
            build_report(files[topo].path, files[base].path, folder, params=params, runtime=runtime, arch=arch,
                         cache_dir=cache_dir, seed_sd=seed_sd, seed_sd_source=source,
                         log=lambda line: log(line.replace(str(staging), str(out))))  # where it will be
            findings[(topo, base)] = pd.read_csv(folder / "findings.csv")
        seed_findings = {name: seed_level_findings([raw[pair] for pair in group_pairs])
                         for name, group_pairs in named_groups.items()}
        results = _model_results(files, specs, named_pairs, params, runtime, cache_dir, False, log)
        _write(staging, files, specs, families, named_pairs, results, findings, params, runtime, started,
               seed_findings, named_groups)
    html = out / "index.html"
    log(f"wrote {html}: {len(files)} models, {len(named_pairs)} pair reports under {out / 'pairs'}")
    for name, table in seed_findings.items():
        log(f"seed-level findings, {name} ({len(named_groups[name])} seeds):")
        for row in table.itertuples():
            log(f"  {row.verdict:>13}: {row.claim}")
    return html


def _model_results(files: dict[str, ModelFile], specs: dict, pairs: list[tuple[str, str]], params: ReportParams,
                   runtime: Runtime, cache_dir: Path, force: bool, log) -> dict[str, dict]:
    """Per model, its V1, IT and brain results: its first pair's (just computed, so cached), else its own."""
    paired = {name for pair in pairs for name in pair}
    groups = list(dict.fromkeys(pairs)) + [(name,) for name in files if name not in paired]
    results: dict[str, dict] = {}
    for group in groups:
        for analysis in model_analyses():
            analysis_params = params.for_analysis(analysis, specs[group[0]])
            key_parts = cache_key_parts(analysis, analysis_params, {member: specs[member] for member in group},
                                        runtime)
            result, _ = run_cached(analysis, {member: files[member] for member in group}, analysis_params,
                                   key_parts, cache_dir, runtime=runtime, force=force and len(group) == 1, log=log)
            for member in group:
                results.setdefault(member, {}).setdefault(analysis, result)
    return results


def _write(out: Path, files: dict[str, ModelFile], specs: dict, families: dict[str, str],
           pairs: list[tuple[str, str]], results: dict[str, dict], findings: dict, params: ReportParams,
           runtime: Runtime, started: float, seed_findings: dict[str, pd.DataFrame],
           groups: dict[str, list[tuple[str, str]]]) -> None:
    """Tables, figures and ``index.html`` into ``out``."""
    import matplotlib.pyplot as plt

    accuracy = {name: card_accuracy(spec) for name, spec in specs.items()}
    scores = pd.concat([_own_rows(results[name]["brain"].region_scores, name) for name in files],
                       ignore_index=True)
    table1 = region_table(scores, accuracy)
    ceilings = benchmark_ceilings(pd.concat([_own_rows(results[name]["brain"].scores, name) for name in files],
                                            ignore_index=True))
    cost = topography_cost([(families[topo] if families[topo] == families[base] else "mixed", topo, base)
                            for topo, base in pairs], accuracy)
    points = pd.DataFrame([_point(name, families[name], results[name]["v1"], results[name]["it"], accuracy[name])
                           for name in files])
    fig4c = face_body_smoothness({name: results[name]["it"].smoothness for name in files}, families)
    for stem, frame in (("table1_models", table1), ("benchmark_ceilings", ceilings), ("topography_cost", cost),
                        ("models_points", points), ("fig4c_face_body_smoothness", fig4c),
                        *((f"findings_seeds_{name}", frame)
                                                     for name, frame in seed_findings.items())):
        write_csv(frame, out / f"{stem}.csv")
    figures_dir = out / "figures"
    figures_dir.mkdir()
    for stem, figure in (("topography_cost", topography_cost_figure(cost)),
                         ("accuracy_vs_smoothness_models", accuracy_vs_smoothness_models_figure(points)),
                         ("fig4c_face_body_smoothness", face_body_smoothness_figure(fig4c))):
        save_figure(figure, figures_dir, stem)
        plt.close(figure)

    def fig(key: str, title: str, caption: str) -> Figure:
        return Figure(key, title, figures_dir / f"{key}.png", caption, pdf_name=f"figures/{key}.pdf")

    sections = [
        Section("Table 1 over models: brain benchmarks and accuracy", [Table(
            "table1_models", "Mean committed-layer score per region", table1,
            "Per region, the mean over its offline benchmarks of the committed layer's score (ceiled where the "
            "benchmark has a ceiling, below); V2 has no offline benchmark. Accuracy: the model card's full test "
            "set."),
            Table("benchmark_ceilings", "Benchmarks, ceilings and score rules", ceilings,
                  "Ceilings come from the neural data (split-half reliability or the Nili noise-ceiling bounds), "
                  "so every model shares them; a benchmark without one reports its raw score.")]),
        Section("Figure 1 right: what topography costs in accuracy", [
            fig("topography_cost", "Accuracy change from baseline to topographic model",
                "One bar per pair, coloured by family; \u00b1 one binomial standard error of the difference "
                "(test-set sampling only)."),
            Table("topography_cost_table", "Accuracy change per pair", cost, "Points of top-1 accuracy.")]),
        Section("Figure 4c: face and body t-map smoothness by model", [
            fig("fig4c_face_body_smoothness", "Face and body t-map smoothness, every model",
                "IT t-map smoothness for faces and bodies (± SEM over unit samples) with each model's "
                "position-shuffle chance (black ticks, ± SD); the paper's Fig. 4c shows TSResNet18, SResNet18, "
                "TSCornet and SCornet."),
            Table("fig4c_face_body_smoothness_table", "Face and body t-map smoothness", fig4c,
                  "Per model and domain; chance from shuffled unit positions (the same code).")]),
        Section("Figure 5a: accuracy vs smoothness", [fig(
            "accuracy_vs_smoothness_models", "Accuracy against V1 and IT smoothness, one point per model",
            "V1 orientation and IT face t-map smoothness (\u00b1 SEM over unit samples) against top-1 accuracy "
            "(\u00b1 binomial SE).")]),
        *[Section(f"Seed-level findings: {name} ({len(groups[name])} seeds)", [
            Table(f"findings_seeds_{name}", "The paper's claims over seeds: between-seed uncertainty",
                  findings_display(frame)[["claim", "verdict", "effect [95 % interval]", "paper's effect",
                                           "topographic", "baseline", "reason"]],
                  "Pairs (topographic vs its own seed's baseline): "
                  + ", ".join(f"{t} vs {b}" for t, b in groups[name])
                  + ". Effect: the mean over seeds of the paired difference; interval: t with n - 1 degrees of "
                  "freedom over seeds; the within-model SE is shown beside it. " + " ".join(RULES))])
          for name, frame in seed_findings.items()],
        *[Section(f"Findings: {topo} vs {base}", [
            Table(f"findings_{number}", "The paper's claims on this pair",
                  findings_display(frame)[["claim", "verdict", "effect [95 % interval]", "reason"]],
                  "From the pair's own report, which has every figure and the rules behind each verdict."),
            Note(f"pair_{number}", "Full pair report", "Every figure and table for this pair:",
                 link=f"pairs/{topo}_vs_{base}/index.html")])
          for number, ((topo, base), frame) in enumerate(findings.items(), start=1)],
    ]
    metadata = {"models": {name: {"path": str(file.path), "sha256": specs[name].content_sha256,
                                  "family": families[name]} for name, file in files.items()},
                "pairs": [list(pair) for pair in pairs], "groups": {name: [list(p) for p in group]
                                                                    for name, group in groups.items()},
                "versions": package_versions(),
                "date": time.strftime("%Y-%m-%d %H:%M"),
                "parameters": {name: asdict(params.for_analysis(name, specs[next(iter(files))]))
                               for name in model_analyses()},
                "runtime": asdict(runtime), "seconds": round(time.perf_counter() - started, 1)}
    (out / "models.json").write_text(json.dumps(metadata, indent=2, default=str))
    write_report(out / "index.html", f"Topographic analysis of {len(files)} models", sections, metadata,
                 lead=Section("Scope", [_scope_note(specs, families)]))
