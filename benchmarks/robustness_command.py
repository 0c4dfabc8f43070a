"""Wall time of ``topoanalysis robustness`` on the bundled pair: the default run and ``--full-sweep``.

Runs the command in-process on the bundled topographic default and its baseline (CIFAR-10
test images, every attack at its default strengths), once with the defaults (PGD on the
first ``--pgd-n-per-class`` images of each class) and once with ``--full-sweep`` (PGD on
every image). Target on a quiet 2-core CPU: the default run under 2 minutes.
Results go to ``benchmarks/results/robustness_command_<device>.json``.
Run: ``python benchmarks/robustness_command.py`` (``--skip-full`` for the default run only).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _results import save_result
from topoanalysis.analyses.robustness import RobustnessParams
from topoanalysis.cli.main import main as cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-full", action="store_true", help="time the default run only")
    args = parser.parse_args()
    defaults = RobustnessParams()
    runs = {"default": []} if args.skip_full else {"default": [], "full sweep": ["--full-sweep"]}
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name, extra in runs.items():
            out = Path(folder) / name.replace(" ", "_")
            start = time.perf_counter()
            status = cli(["robustness", "--device", args.device, "--out", str(out), *extra])
            seconds = time.perf_counter() - start
            if status != 0:
                raise SystemExit(f"the {name} run failed (exit status {status})")
            results = json.loads((out / "robustness_results.json").read_text())
            rows.append({"run": name, "argv": extra, "seconds": round(seconds, 1),
                         "n_images": results["data"]["n_images"],
                         "pgd_n_per_class": results["parameters"]["pgd_n_per_class"],
                         "table": results["table"]})
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "table"}))
    save_result("robustness_command", args.device, {
        "defaults": {"n_per_class": defaults.n_per_class, "pgd_n_per_class": defaults.pgd_n_per_class,
                     "pgd_steps": defaults.pgd_steps},
        "target": {"default_s": 120}, "rows": rows})


if __name__ == "__main__":
    main()
