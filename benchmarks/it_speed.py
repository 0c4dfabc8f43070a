"""Wall time of the IT analysis: the whole command, and its metrics on 25,088 units (issue 5).

* ``it-patches command``: the whole ``topoanalysis it-patches`` on the bundled default
  checkpoint (no baseline): 1,440 fLoc and 92 images, metrics, tables, figures. Forward
  and metrics seconds are the ones the command records in ``it_results.json``.
* ``224 px ResNet-18``: a full-width spiking ResNet-18 (ImageNet stem, T = 4, untrained,
  batch norm calibrated on fLoc) records ``layer4.1`` (512 x 7 x 7 = 25,088 units) for the
  fLoc images; then t-values, patch detection (five domains), overlap (three methods,
  5 x 5) and the whole :func:`topoanalysis.metrics.it.it_analysis` are timed. On the CPU
  the forward pass uses ``--max-per-category`` images per category (default 24) to stay
  short; the metrics' cost hardly depends on the number of images.

Target: patch detection and overlap on 25,088 units < 5 s on the CPU. Results go to
``benchmarks/results/it_speed_<device>.json``. Run: ``python benchmarks/it_speed.py``
(``--device cuda --precision bf16 --compile --max-per-category 0`` on a GPU).
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
from topoanalysis.metrics.it import DOMAINS, ITParams, floc_selectivity, it_analysis
from topoanalysis.metrics.overlap import OVERLAP_METHODS, overlap_table
from topoanalysis.metrics.patches import find_patches
from topoanalysis.models.checkpoints import IMAGENET_MEAN, IMAGENET_STD
from topoanalysis.models.fresh import fresh_checkpoint
from topoanalysis.responses import layer_responses
from topoanalysis.running.inputs import preprocess
from topoanalysis.running.recording import record
from topoanalysis.stimuli import load_floc

LAYER = "layer4.1"


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - start, 3)


def command_row(device: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        status, wall = _timed(lambda: cli(["it-patches", "--baseline", "none", "--out", out, "--device", device]))
        if status != 0:
            raise SystemExit(f"it-patches failed with status {status}")
        report = json.loads((Path(out) / "it_results.json").read_text())
    model = next(iter(report["models"].values()))
    row = {"config": "it-patches command, bundled default checkpoint (32 px, 2,048 units)", "wall_s": wall,
           "forward_s": model["seconds"]["forward"], "metrics_s": model["seconds"]["metrics"],
           "n_floc_images": model["n_floc_images"], "n_rsa92_images": model["n_rsa92_images"]}
    print(json.dumps(row))
    return row


def resnet224_row(device: torch.device, precision: str, compile_: bool, batch_size: int,
                  max_per_category: int | None) -> dict:
    floc = load_floc(image_size_px=224, max_per_category=max_per_category)
    calibration = preprocess(floc.batch(slice(None, None, max(1, len(floc) // 64))), 224, IMAGENET_MEAN,
                             IMAGENET_STD)
    model, spec = fresh_checkpoint("spiking_resnet18", seed=0, input_size_px=224, calibration_images=calibration,
                                   calibration_batch_size=16)
    options = dict(spec=spec, batch_size=batch_size, device=device, precision=precision, compile=compile_)
    if compile_ or device.type == "cuda":  # warm-up: compilation and kernel selection are not the measurement
        record(model, floc.subset(np.arange(batch_size)), [LAYER], **options)
    ds, forward_s = _timed(lambda: record(model, floc, [LAYER], progress=True, **options))
    params = ITParams()
    tvalues, t_s = _timed(lambda: floc_selectivity(layer_responses(ds, LAYER), params))
    x, y = tvalues["x_mm"].to_numpy(), tvalues["y_mm"].to_numpy()
    patches, patches_s = _timed(lambda: [find_patches(x, y, tvalues[f"t_{d}"].to_numpy(), params.patch)
                                         for d in DOMAINS])
    _, overlap_s = _timed(lambda: overlap_table(tvalues, np.stack([x, y], 1), DOMAINS, methods=OVERLAP_METHODS))
    _, analysis_s = _timed(lambda: it_analysis(ds, LAYER, params, rng=np.random.default_rng(424)))
    row = {"config": f"224 px spiking ResNet-18 {LAYER}", "n_units": ds.sizes["unit"], "n_floc_images": len(floc),
           "precision": precision, "compile": compile_, "forward_s": round(forward_s, 2), "t_values_s": t_s,
           "patches_5_domains_s": patches_s, "overlap_3_methods_s": overlap_s,
           "patches_plus_overlap_s": round(patches_s + overlap_s, 3), "whole_it_analysis_s": analysis_s,
           "n_patches": int(sum(len(p.table) for p in patches))}
    print(json.dumps(row))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    parser.add_argument("--compile", action="store_true", help="torch.compile the forward pass")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-per-category", type=int, default=24, help="fLoc images per category; 0 = all 144")
    args = parser.parse_args()
    device = torch.device(args.device)
    rows = [command_row(args.device),
            resnet224_row(device, args.precision, args.compile, args.batch_size, args.max_per_category or None)]
    fields = {"targets": {"patches_plus_overlap_25088_units_cpu_s": 5}, "rows": rows}
    save_result("it_speed", device, fields)


if __name__ == "__main__":
    main()
