"""Wall time of the full report on the bundled checkpoints, cold and cached (issue 8).

Runs ``build_report`` for the bundled topographic default and its baseline twice with an
empty cache folder: first cold (every analysis computed), then again (every analysis
reused from the cache). Targets on the CPU: cold under 10 minutes, cached under 30 s.
Results go to ``benchmarks/results/report_speed_<device>.json``.
Run: ``python benchmarks/report_speed.py`` (``--device cuda`` on a GPU).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from _results import save_result
from topoanalysis.analyses.base import Runtime
from topoanalysis.cli.common import DEFAULT_BASELINE
from topoanalysis.paths import DEFAULT_CHECKPOINT
from topoanalysis.report import ReportParams, build_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    params, runtime = ReportParams(), Runtime(device=args.device)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for run in ("cold", "cached"):
            lines: list[str] = []
            start = time.perf_counter()
            build_report(DEFAULT_CHECKPOINT, DEFAULT_BASELINE, Path(folder) / "report", params=params,
                         runtime=runtime, cache_dir=Path(folder) / "cache", log=lines.append)
            rows.append({"run": run, "seconds": round(time.perf_counter() - start, 1),
                         "analyses_reused": sum("cached" in line for line in lines)})
            print(json.dumps(rows[-1]))
    fields = {"checkpoints": [DEFAULT_CHECKPOINT.name, DEFAULT_BASELINE.name], "parameters": asdict(params),
              "targets": {"cold_s": 600, "cached_s": 30}, "rows": rows}
    save_result("report_speed", args.device, fields)


if __name__ == "__main__":
    main()
