"""Between-seed SD of each finding's paired difference, on the bundled ReLU pair's three seeds (issue 23).

Runs (or reuses from ``reports/.cache``) the report's analyses for each seed pair, computes each
pair's findings and the SD over seeds of every claim's effect (topographic minus baseline, or the
topographic model's contrast). ``topoanalysis.report.findings.DEFAULT_SEED_SD`` holds these numbers: a
one-seed report with no seed-replicated pair of its own widens its intervals by them.
Results go to ``benchmarks/results/seed_variation_<device>.json``.
Run: ``python benchmarks/seed_variation.py`` (after ``make demo`` it only reads the cache).
"""

from __future__ import annotations

import argparse
import json

from _results import save_result
from topoanalysis.analyses.base import Runtime
from topoanalysis.paths import CHECKPOINT_DIR
from topoanalysis.report import ReportParams
from topoanalysis.report.build import card_accuracy, pair_findings, run_pair_analyses
from topoanalysis.report.seed_findings import seed_variation

PAIRS = [("tresnet18_cifar10_a05", "resnet18_cifar10_baseline"),
         ("tresnet18_cifar10_a05_seed1", "resnet18_cifar10_baseline_seed1"),
         ("tresnet18_cifar10_a05_seed2", "resnet18_cifar10_baseline_seed2")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    tables, effects = [], {}
    for topo, base in PAIRS:
        spec, base_spec, results, _ = run_pair_analyses(CHECKPOINT_DIR / f"{topo}.pt", CHECKPOINT_DIR / f"{base}.pt",
                                                        params=ReportParams(), runtime=Runtime(device=args.device))
        table = pair_findings(results, topo, base, {topo: card_accuracy(spec), base: card_accuracy(base_spec)}, spec,
                              seed_sd={})
        tables.append(table)
        effects[topo] = dict(zip(table["key"], table["effect"].round(6)))
    sd = {key: round(value, 6) for key, value in seed_variation(tables).items()}
    print(json.dumps(sd, indent=2))
    save_result("seed_variation", args.device, {"pairs": PAIRS, "effects": effects, "seed_sd": sd})


if __name__ == "__main__":
    main()
