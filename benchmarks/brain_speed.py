"""Wall time and peak memory of the offline brain suite on the default checkpoint (issue 6).

Runs :func:`topoanalysis.brain.suite.run_offline_suite` over all eight layers of the
bundled default checkpoint, one benchmark family at a time (V1 Ringach, V4 PLS, the four
RSA benchmarks), and records each family's seconds, the total, and the process's peak
resident memory (``getrusage``, which includes the Python, torch and Brain-Score imports).

Targets: the whole suite under 5 minutes on 2 CPU cores, peak memory under 8 GB. Results
go to ``benchmarks/results/brain_speed_<device>.json``. Run: ``python benchmarks/brain_speed.py``.
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
from topoanalysis.models.checkpoints import load_checkpoint
from topoanalysis.paths import DEFAULT_CHECKPOINT

FAMILIES = {"V1-Ringach2002": ["V1-Ringach2002"], "V4-Cowley2023": ["V4-Cowley2023"], "RSA (4)": list(RSA_BENCHMARKS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    model, spec = load_checkpoint(DEFAULT_CHECKPOINT)
    rows, total = [], 0.0
    for family, names in FAMILIES.items():
        start = time.perf_counter()
        scores = run_offline_suite(model, spec, rng=np.random.default_rng(0), benchmarks=names, device=args.device,
                                   log=lambda line: None)
        seconds = time.perf_counter() - start
        total += seconds
        rows.append({"benchmarks": family, "layers": int(scores["layer"].nunique()), "seconds": round(seconds, 1)})
        print(json.dumps(rows[-1]))
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(json.dumps({"total_s": round(total, 1), "peak_memory_gb": round(peak_gb, 2)}))
    fields = {"checkpoint": DEFAULT_CHECKPOINT.name, "targets": {"total_s": 300, "peak_memory_gb": 8}, "rows": rows,
              "total_s": round(total, 1), "peak_memory_gb": round(peak_gb, 2)}
    save_result("brain_speed", args.device, fields)


if __name__ == "__main__":
    main()
