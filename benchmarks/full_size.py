"""Time and peak memory of every analysis and the report on a full-size model (issue 26).

A 224-px, width-1 spiking ResNet-18 with an ImageNet stem (100,352 units in layer2.0, 25,088 in layer4.1),
batch norm calibrated on sine gratings, untrained (no full-size trained model is bundled): every analysis
command runs in its own process at its defaults (the robustness command at the report's image counts), then
the report over this model and a second seed as its baseline, with an empty cache. Each row records the
command's wall time and its peak resident memory (``os.wait4``'s ``ru_maxrss`` of that process alone).

Untrained means near-chance accuracy: the robustness attacks run on the images the model classifies
correctly, so their time here is a lower bound for a trained model (the row records how many there were).

Results go to ``benchmarks/results/full_size_<device>.json``, with the thread count, the CPU and whether it
computes bf16 natively, and ``--conditions`` (what else ran).
Run: ``python benchmarks/full_size.py`` (``--input-size 64`` for a quick check of the script;
``--only v1-maps it-patches`` for some commands; ``--threads 1`` beside a training on the other core).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from _results import RESULTS, save_result

TOPOANALYSIS = [sys.executable, "-m", "topoanalysis.cli.main"]
COMMANDS = ("v1-maps", "v1-maps-batch64", "it-patches", "brain", "temporal", "robustness", "report")
"""Every analysis at its defaults (the default batch at 224 px and T = 4 is 16 images); ``v1-maps-batch64``:
v1-maps at ``--batch-size 64``, the default before it shrank with the input size (peak memory is the forward
pass's activations, which scale with the batch: T x batch images at once)."""
ROBUSTNESS_AT_REPORT_SIZE = ["--n-per-class", "10", "--pgd-n-per-class", "5"]


def _cpu() -> dict:
    """The CPU's model name and whether it has native bf16 (AVX512-BF16 or AMX)."""
    from topoanalysis.training.cpu_kernels import cpu_has_native_bf16

    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return {"cpu": names[0] if names else platform.processor(), "native_bf16": cpu_has_native_bf16()}


def _run(args: list[str], log: Path, threads: int | None = None) -> dict:
    """Run ``topoanalysis ARGS`` in a child process (``threads`` intra-op threads); wall time (s), peak RSS (MiB)."""
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)} if threads else {}))
    start = time.perf_counter()
    with log.open("w") as out:
        child = subprocess.Popen([*TOPOANALYSIS, *args], stdout=out, stderr=subprocess.STDOUT, env=env)
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
    parser.add_argument("--threads", type=int, default=None, help="threads per command (default: torch's)")
    parser.add_argument("--conditions", default="", help="what else ran on the machine, for the record")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
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
                      "--calibrate-bn", "64", "--out", str(models[seed])], root / f"init{seed}.log", args.threads)
        ckpt = ["--ckpt", str(models[0])]
        commands = {  # in COMMANDS order
            "v1-maps": ["v1-maps", *ckpt, *common],
            "v1-maps-batch64": ["v1-maps", *ckpt, *common, "--batch-size", "64"],
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
            row = {"command": name, **_run([*command, "--out", str(root / name)], root / f"{name}.log", args.threads)}
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.input_size == 224:  # saved after every row: a stopped run keeps what it measured
                _save(args, rows, commands_run)


def _save(args: argparse.Namespace, rows: list[dict], commands_run: list[str]) -> None:
    """The result file; rows of commands not run this time are kept from the last result on the same CPU (name
    and native bf16) and thread count."""
    cpu = _cpu()
    fields = {"model": f"spiking_resnet18, ImageNet stem, width 1, {args.input_size} px, T 4, untrained "
                       "(batch norm calibrated on 64 gratings)",
              "units": {"layer2.0": 128 * (args.input_size // 8) ** 2, "layer4.1": 512 * (args.input_size // 32) ** 2},
              **cpu, "conditions": args.conditions, "rows": rows}
    earlier = RESULTS / f"full_size_{torch.device(args.device).type}.json"
    if earlier.is_file():
        last = json.loads(earlier.read_text())
        same = all(last.get(key) == value for key, value in cpu.items())  # the name alone can hide AMX vs AVX2
        if same and last.get("cpu_threads") == torch.get_num_threads():
            kept = [row for row in last["rows"] if row["command"] in COMMANDS and row["command"] not in commands_run]
            fields["rows"] = sorted(kept + rows, key=lambda row: list(COMMANDS).index(row["command"]))
    save_result("full_size", args.device, fields)


if __name__ == "__main__":
    main()
