"""Wall time and peak memory of the offline brain suite on the default checkpoint (issues 6, 13).

Runs :func:`topoanalysis.brain.suite.run_offline_suite` over all eight layers of the
bundled default checkpoint, one benchmark family at a time (V1 Ringach, V4 PLS, the four
RSA benchmarks), and records each family's seconds, the total, and the process's peak
resident memory (``getrusage``, which includes the Python, torch and Brain-Score imports).
V4 uses the exact kernel PLS (``--pls-method``, default) or Brain-Score's own fit.

With ``--compare``, V4 is then scored again with the other PLS method (not timed in the
total) and the per-layer raw scores of both, and their largest difference, are recorded.

Targets: the whole suite under 20 s on 2 CPU cores with the exact PLS (issue 13; 5 minutes
with Brain-Score's, issue 6), peak memory under 8 GB; exact and Brain-Score V4 scores within
0.005. Results go to ``benchmarks/results/brain_speed_<device>.json``.
Run: ``python benchmarks/brain_speed.py --compare``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from _results import save_result
from topoanalysis.brain.rsa import RSA_BENCHMARKS
from topoanalysis.brain.suite import run_offline_suite
from topoanalysis.brain.v4 import PLS_METHODS
from topoanalysis.models.checkpoints import load_checkpoint
from topoanalysis.paths import DEFAULT_CHECKPOINT

FAMILIES = {"V1-Ringach2002": ["V1-Ringach2002"], "V4-Cowley2023": ["V4-Cowley2023"], "RSA (4)": list(RSA_BENCHMARKS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--pls-method", choices=PLS_METHODS, default="exact")
    parser.add_argument("--compare", action="store_true", help="also score V4 with the other PLS method")
    args = parser.parse_args()
    model, spec = load_checkpoint(DEFAULT_CHECKPOINT)
    rows, total, v4 = [], 0.0, {}
    for family, names in FAMILIES.items():
        start = time.perf_counter()
        scores = run_offline_suite(model, spec, rng=np.random.default_rng(0), benchmarks=names, device=args.device,
                                   pls_method=args.pls_method, log=lambda line: None)
        seconds = time.perf_counter() - start
        total += seconds
        rows.append({"benchmarks": family, "layers": int(scores["layer"].nunique()), "seconds": round(seconds, 1)})
        print(json.dumps(rows[-1]))
        if family == "V4-Cowley2023":
            v4[args.pls_method] = scores.set_index("layer")["raw"]
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"total_s": round(total, 1), "peak_memory_gb": round(peak_gb, 2)}))
    fields = {"checkpoint": DEFAULT_CHECKPOINT.name, "pls_method": args.pls_method,
              "targets": {"total_s": 20 if args.pls_method == "exact" else 300, "peak_memory_gb": 8,
                          "v4_max_abs_difference": 0.005},
              "rows": rows, "total_s": round(total, 1), "peak_memory_gb": round(peak_gb, 2)}
    if args.compare:
        other = next(method for method in PLS_METHODS if method != args.pls_method)
        start = time.perf_counter()
        v4[other] = run_offline_suite(model, spec, rng=np.random.default_rng(0), benchmarks=["V4-Cowley2023"],
                                      device=args.device, pls_method=other,
                                      log=lambda line: None).set_index("layer")["raw"]
        difference = (v4["exact"] - v4["brainscore"]).abs()
        fields["v4_comparison"] = {"other_method_seconds": round(time.perf_counter() - start, 1),
                                   "raw": {method: v4[method].round(4).to_dict() for method in PLS_METHODS},
                                   "max_abs_difference": round(float(difference.max()), 4),
                                   "worst_layer": str(difference.idxmax())}
        print(json.dumps(fields["v4_comparison"]))
    save_result("brain_speed", args.device, fields)


if __name__ == "__main__":
    main()
