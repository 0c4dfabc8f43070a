"""Wall time of the V1 analysis, split into forward pass and metrics (issue 4 targets).

Two measurements:

* ``v1-maps command``: the whole ``topoanalysis v1-maps`` on the bundled default
  checkpoint (no baseline): checkpoint loading, 640 gratings, metrics, tables, figures.
  Forward and metrics seconds are the ones the command records in ``v1_results.json``.
* ``224 px ResNet-18``: a full-width spiking ResNet-18 (ImageNet stem, T = 4, weights
  untrained, batch norm calibrated on gratings so every layer responds) records
  ``layer2.0`` (128 x 28 x 28 = 100,352 units) for the 640 gratings at 224 px; then
  :func:`topoanalysis.metrics.v1.v1_analysis` runs on all its units and on a random
  25,088-unit subset (the unit count the issue names).

Targets: metrics on 25,088 units < 10 s on the CPU; the whole V1 analysis of a 224 px
ResNet-18 < 10 s on the H200. Results go to ``benchmarks/results/v1_speed_<device>.json``.
Run: ``python benchmarks/v1_speed.py`` (``--device cuda --precision bf16 --compile`` on a GPU).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from _results import save_result
from topoanalysis.cli.main import main as cli
from topoanalysis.metrics.v1 import V1Params, v1_analysis
from topoanalysis.models.fresh import fresh_checkpoint
from topoanalysis.running.inputs import preprocess
from topoanalysis.running.recording import record
from topoanalysis.stimuli import make_sine_gratings

LAYER = "layer2.0"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def command_row(device: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        status = cli(["v1-maps", "--baseline", "none", "--out", out, "--device", device])
        wall = time.perf_counter() - start
        if status != 0:
            raise SystemExit(f"v1-maps failed with status {status}")
        report = json.loads((Path(out) / "v1_results.json").read_text())
    model = next(iter(report["models"].values()))
    row = {"config": "v1-maps command, bundled default checkpoint (32 px, 8,192 units)",
           "wall_s": round(wall, 2), "forward_s": model["seconds"]["forward"],
           "metrics_s": model["seconds"]["metrics"],
           "load_tables_figures_s": round(wall - model["seconds"]["forward"] - model["seconds"]["metrics"], 2),
           "n_units": model["summary"]["n_units"]}
    print(json.dumps(row))
    return row


def resnet224_rows(device: torch.device, precision: str, compile_: bool, batch_size: int) -> list[dict]:
    gratings = make_sine_gratings(224, 8.0)
    calibration = preprocess(gratings.batch(slice(None, None, 10)), 224, (0.485, 0.456, 0.406),
                             (0.229, 0.224, 0.225))
    model, spec = fresh_checkpoint("spiking_resnet18", seed=0, input_size_px=224, calibration_images=calibration,
                                   calibration_batch_size=16)
    kwargs = dict(spec=spec, batch_size=batch_size, device=device, precision=precision, compile=compile_)
    if compile_ or device.type == "cuda":  # warm-up: compilation and kernel selection are not the measurement
        record(model, gratings.subset(np.arange(batch_size)), [LAYER], **kwargs)
    _sync(device)
    start = time.perf_counter()
    ds = record(model, gratings, [LAYER], progress=True, **kwargs)
    _sync(device)
    forward_s = time.perf_counter() - start
    rows = []
    subset = np.sort(np.random.default_rng(0).choice(ds.sizes["unit"], 25088, replace=False))
    for label, data in (("all units", ds), ("25,088-unit subset", ds.isel(unit=subset))):
        start = time.perf_counter()
        result = v1_analysis(data, LAYER, V1Params(), rng=np.random.default_rng(424),
                             sheet_size_mm=spec.sheets[LAYER].sheet_size_mm)
        metrics_s = time.perf_counter() - start
        rows.append({"config": f"224 px spiking ResNet-18 {LAYER}, {label}", "n_units": data.sizes["unit"],
                     "n_gratings": len(gratings), "precision": precision, "compile": compile_,
                     "forward_s": round(forward_s, 2), "metrics_s": round(metrics_s, 2),
                     "total_s": round(forward_s + metrics_s, 2),
                     "smoothness_orientation": round(result.summary["smoothness_orientation"], 3)})
        print(json.dumps(rows[-1]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--compile", action="store_true", help="torch.compile the forward pass")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    device = torch.device(args.device)
    rows = [command_row(args.device)] + resnet224_rows(device, args.precision, args.compile, args.batch_size)
    fields = {"targets": {"metrics_25088_units_cpu_s": 10, "whole_224px_analysis_h200_s": 10}, "rows": rows}
    save_result("v1_speed", device, fields)


if __name__ == "__main__":
    main()
