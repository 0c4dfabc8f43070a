"""Time and peak memory of every analysis and the report on a full-size model (issue 26).

A 224-px, width-1 spiking ResNet-18 with an ImageNet stem (100,352 units in layer2.0, 25,088 in layer4.1),
batch norm calibrated on sine gratings, untrained (no full-size trained model is bundled): every analysis
command runs in its own process at its defaults (the robustness command at the report's image counts), then
the report over this model and a second seed as its baseline, with an empty cache. Each row records the
command's wall time and its peak resident memory (``os.wait4``'s ``ru_maxrss`` of that process alone).

Untrained means near-chance accuracy: the robustness attacks run on the images the model classifies
correctly, so their time here is a lower bound for a trained model (the row records how many there were).

Results go to ``benchmarks/results/full_size_<device>.json``.
Run: ``python benchmarks/full_size.py`` (``--input-size 64`` for a quick check of the script;
``--only v1-maps it-patches`` for some commands).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from _results import RESULTS, save_result

TOPOANALYSIS = [sys.executable, "-m", "topoanalysis.cli.main"]
COMMANDS = ("v1-maps", "v1-maps-batch16", "it-patches", "brain", "temporal", "robustness", "report")
"""Every analysis at its defaults; ``v1-maps-batch16``: v1-maps at ``--batch-size 16`` (peak memory is the
forward pass's activations, which scale with the batch: T x batch images at once)."""
ROBUSTNESS_AT_REPORT_SIZE = ["--n-per-class", "10", "--pgd-n-per-class", "5"]


def _run(args: list[str], log: Path) -> dict:
    """Run ``topoanalysis ARGS`` in a child process; its wall time (s) and peak RSS (MiB)."""
    start = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen([*TOPOANALYSIS, *args], stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"topoanalysis {shlex.join(args)} failed ({code}); see {log}:\n{log.read_text()[-2000:]}")
    return {"wall_s": round(seconds, 1), "peak_rss_mib": round(usage.ru_maxrss / 1024)}  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--only", nargs="+", choices=COMMANDS, default=None,
                        help="commands to run (default: all); the result keeps the other commands' last rows")
    parser.add_argument("--keep", type=Path, default=None, help="keep outputs and logs in this folder")
    args = parser.parse_args()
    common = ["--device", args.device]
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        models = {}
        for seed in (0, 1):
            models[seed] = root / f"spiking_resnet18_224_seed{seed}.pt"
            if not models[seed].is_file():
                _run(["init-checkpoint", "--arch", "spiking_resnet18", "--stem", "imagenet", "--width", "1",
                      "--num-classes", "10", "--input-size", str(args.input_size), "--seed", str(seed),
                      "--calibrate-bn", "64", "--out", str(models[seed])], root / f"init{seed}.log")
        ckpt = ["--ckpt", str(models[0])]
        commands = {  # in COMMANDS order
            "v1-maps": ["v1-maps", *ckpt, *common],
            "v1-maps-batch16": ["v1-maps", *ckpt, *common, "--batch-size", "16"],
            "it-patches": ["it-patches", *ckpt, *common],
            "brain": ["brain", *ckpt, *common],
            "temporal": ["temporal", *ckpt, *common],
            "robustness": ["robustness", *ckpt, *common, *ROBUSTNESS_AT_REPORT_SIZE],
            "report": ["report", *ckpt, "--baseline", str(models[1]), *common, "--cache-dir", str(root / "cache")],
        }
        rows, commands_run = [], [name for name in commands if not args.only or name in args.only]
        for name, command in commands.items():
            if name not in commands_run:
                continue
            row = {"command": name, **_run([*command, "--out", str(root / name)], root / f"{name}.log")}
            rows.append(row)
            print(json.dumps(row), flush=True)
    fields = {"model": f"spiking_resnet18, ImageNet stem, width 1, {args.input_size} px, T 4, untrained "
                       "(batch norm calibrated on 64 gratings)",
              "units": {"layer2.0": 128 * (args.input_size // 8) ** 2, "layer4.1": 512 * (args.input_size // 32) ** 2},
              "rows": rows}
    if args.input_size == 224:  # rows of commands not run this time are kept from the last result
        earlier = RESULTS / f"full_size_{torch.device(args.device).type}.json"
        if earlier.is_file():
            kept = [row for row in json.loads(earlier.read_text())["rows"] if row["command"] not in commands_run]
            fields["rows"] = sorted(kept + rows, key=lambda row: list(COMMANDS).index(row["command"]))
        save_result("full_size", args.device, fields)


if __name__ == "__main__":
    main()
