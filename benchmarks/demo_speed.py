"""The README's main job, timed as a newcomer meets it: `make demo` on a fresh clone, cold and then cached.

Clones this repository's committed HEAD next to it (the clone must sit beside ../shared, where the data is),
builds its venv (not timed), removes any report cache, then times `make demo` twice: cold (every analysis
computed) and cached (every analysis reused). Writes results/demo_speed_cpu.json.

    python benchmarks/demo_speed.py [--clone ../demo_speed_clone]

Run it on quiet cores: another job beside it slows the cold run.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from pathlib import Path

import torch

from _results import save_result

REPO = Path(__file__).resolve().parent.parent


def timed_make(target: str, folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["make", target], cwd=folder, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clone", type=Path, default=REPO.parent / "demo_speed_clone",
                        help="where the fresh clone goes (replaced); it must sit beside ../shared")
    args = parser.parse_args()
    if args.clone.exists():
        shutil.rmtree(args.clone)
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(args.clone)], check=True)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.clone, check=True,
                          capture_output=True, text=True).stdout.strip()
    subprocess.run(["make", "venv"], cwd=args.clone, check=True, stdout=subprocess.DEVNULL)
    cold_s = timed_make("demo", args.clone)
    cached_s = timed_make("demo", args.clone)
    path = save_result("demo_speed", "cpu", {
        "commit": head, "cold_s": round(cold_s, 1), "cached_s": round(cached_s, 1),
        "native_bf16": bool(torch.ops.mkldnn._is_mkldnn_bf16_supported()),
        "what": "make demo on a fresh clone (venv built beforehand, not timed): cold, then cached"})
    print(f"make demo at {head}: cold {cold_s / 60:.1f} min, cached {cached_s:.0f} s -> {path}")


if __name__ == "__main__":
    main()
