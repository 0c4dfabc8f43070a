"""Everything the GPU path must show, in one process (issue 16): recording, V1 + IT, training, PLS.

On one device, for a spiking ResNet-18 (224 px, T = 4, width 1, every one of the 8 block
layers kept, rates reduced on the device):

* recording throughput: spikingjelly's eager fp32 path (the reference) against the compiled
  bf16 channels_last path (plain-ops LIF, ``record(compile=True)``), and the largest absolute
  difference between the two paths' rates; the compiled path's first call (compilation) is
  timed apart;
* the whole V1 + IT analysis (640 gratings, 1,440 fLoc images: forward and metrics) through
  :mod:`topoanalysis.analyses`, compiled bf16, wall time (compilation included);
* a training step (bf16, batch 128) with and without the STC loss, img/s and their ratio;
* the exact kernel PLS of the V4 benchmark (640 images, 25 components, 10 splits) on the device.

Targets on an H200: recording >= 12,000 img/s; V1 + IT < 10 s; STC step >= 90 % of the
CE-only step; training >= 2,000 img/s. ``--quick`` shrinks every size so any machine can
smoke-test the script in a few minutes on its CPU (its numbers say nothing about a GPU).
Results go to ``benchmarks/results/gpu_suite_<device>.json``.
Run: ``python benchmarks/gpu_suite.py`` (on a GPU), ``python benchmarks/gpu_suite.py --quick``.
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from spikingjelly.activation_based import functional

from _results import save_result
from _train_step import stc_step_times, sync
from topoanalysis.analyses import it, v1
from topoanalysis.analyses.base import Runtime
from topoanalysis.brain.pls import kernel_pls_predict
from topoanalysis.metrics.it import ITParams
from topoanalysis.metrics.v1 import V1Params
from topoanalysis.models.checkpoints import save_checkpoint
from topoanalysis.models.fresh import fresh_checkpoint
from topoanalysis.models.lif import use_plain_lif
from topoanalysis.running.inputs import preprocess
from topoanalysis.running.recording import record
from topoanalysis.stimuli import load_floc, make_sine_gratings
from topoanalysis.stimuli.base import StimulusSet
from topoanalysis.training.stc import STCLoss

FULL = {"width": 1.0, "size_px": 224, "batch": 256, "n_images": 4096, "train_batch": 128, "train_steps": 10,
        "floc_per_category": None, "n_samples": 20}
QUICK = {"width": 0.125, "size_px": 64, "batch": 16, "n_images": 64, "train_batch": 8, "train_steps": 2,
         "floc_per_category": 4, "n_samples": 2}


def _timed(device: torch.device, fn):
    sync(device)
    start = time.perf_counter()
    out = fn()
    sync(device)
    return out, time.perf_counter() - start


def _model(size: dict, calibrate: bool):
    calibration = None
    if calibrate:  # untrained spiking nets are silent beyond layer1 without batch-norm statistics
        gratings = make_sine_gratings(size["size_px"], 8.0)
        floc = load_floc(None, image_size_px=size["size_px"], max_per_category=3)
        images = np.concatenate([gratings.images[::10], floc.images])  # both stimulus sets the analyses show
        calibration = preprocess(torch.as_tensor(images).permute(0, 3, 1, 2).float() / 255, size["size_px"],
                                 (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    return fresh_checkpoint("spiking_resnet18", seed=0, input_size_px=size["size_px"],
                            arch_kwargs={"stem": "imagenet", "width": size["width"], "num_classes": 1000},
                            calibration_images=calibration)


def _noise(size: dict, n: int) -> StimulusSet:
    images = np.random.default_rng(0).integers(0, 256, (n, size["size_px"], size["size_px"], 3), dtype=np.uint8)
    return StimulusSet("noise", images, pd.DataFrame({"stimulus_id": [f"n{i}" for i in range(n)]}), 8.0)


def _rates_loop(forward_features, model, stimuli: StimulusSet, layers, size: dict, device, precision: str):
    """What ``record`` does per batch (preprocess, forward, rates reduced on the device, one transfer)."""
    autocast = torch.autocast(device.type, torch.bfloat16, enabled=precision == "bf16")
    out = []
    with torch.no_grad():
        for start in range(0, len(stimuli), size["batch"]):
            x = preprocess(stimuli.batch(slice(start, start + size["batch"]), device=device), size["size_px"],
                           (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
            with autocast:
                features = forward_features(x.contiguous(memory_format=torch.channels_last), layers)
            out.append(torch.cat([features[name].float().flatten(2).mean(0) for name in layers], -1).cpu())
            functional.reset_net(model)
    return torch.cat(out).numpy()


def recording(size: dict, device: torch.device) -> dict:
    model, spec = _model(size, calibrate=True)
    layers = list(spec.sheets)
    stimuli = _noise(size, size["n_images"])
    reference, eager_s = _timed(device, lambda: record(model, stimuli, layers, spec=spec, batch_size=size["batch"],
                                                       device=device)["responses"].values)
    fast = copy.deepcopy(model)
    use_plain_lif(fast)
    fast.to(device, memory_format=torch.channels_last).eval()
    compiled = torch.compile(fast.forward_features, dynamic=False)
    first = _noise(size, size["batch"])
    _, compile_s = _timed(device, lambda: _rates_loop(compiled, fast, first, layers, size, device, "bf16"))
    rates, fast_s = _timed(device, lambda: _rates_loop(compiled, fast, stimuli, layers, size, device, "bf16"))
    through_record = record(model, first, layers, spec=spec, batch_size=size["batch"], device=device,
                            precision="bf16", compile=True)["responses"].values
    return {"n_images": len(stimuli), "layers": layers, "units": int(reference.shape[1]),
            "eager_fp32_img_per_s": round(len(stimuli) / eager_s, 1),
            "compiled_bf16_channels_last_img_per_s": round(len(stimuli) / fast_s, 1),
            "compile_warmup_s": round(compile_s, 1), "speedup": round(eager_s / fast_s, 2),
            "max_abs_rate_diff": float(np.abs(rates - reference).max()),
            "mean_abs_rate_diff": float(np.abs(rates - reference).mean()),
            "max_abs_rate_diff_record_compile": float(np.abs(through_record - reference[:len(first)]).max()),
            "rate_resolution": 1 / 4}


def v1_and_it(size: dict, device: torch.device) -> dict:
    model, spec = _model(size, calibrate=True)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.pt"
        save_checkpoint(path, model, spec)
        runtime = Runtime(device=str(device), precision="bf16", batch_size=size["batch"], progress=False,
                          compile=device.type == "cuda")
        v1_params = v1.V1MapsParams(metric=V1Params(mask_rule="response_floor", n_samples=size["n_samples"]))
        it_params = it.ITPatchesParams(metric=ITParams(n_samples=size["n_samples"], min_responsive_units=1),
                                       max_per_category=size["floc_per_category"], rsa92="none")
        _, v1_s = _timed(device, lambda: v1.run({"model": path}, v1_params, runtime))
        _, it_s = _timed(device, lambda: it.run({"model": path}, it_params, runtime))
    return {"v1_s": round(v1_s, 1), "it_s": round(it_s, 1), "v1_plus_it_s": round(v1_s + it_s, 1),
            "compiled": runtime.compile, "precision": runtime.precision}


def training(size: dict, device: torch.device) -> dict:
    model, spec = _model(size, calibrate=False)
    use_plain_lif(model)
    model.to(device, memory_format=torch.channels_last).train()
    layers = list(spec.sheets)
    stc = STCLoss(spec.sheets, alpha=0.5, beta=0.5, clusters_per_layer=10, timesteps=model.timesteps).to(device)
    x = torch.randn(size["train_batch"], 3, size["size_px"], size["size_px"], device=device)
    x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (size["train_batch"],), device=device)
    forward = torch.compile(model) if device.type == "cuda" else model
    times = stc_step_times(model, stc, layers, x, y, steps=size["train_steps"], bf16=True, forward=forward)
    base, topo, warm = times["ce_s"], times["stc_s"], times["warmup_s"]
    return {"batch_size": size["train_batch"], "precision": "bf16", "compiled": device.type == "cuda",
            "warmup_s": round(warm, 1), "ce_img_per_s": round(size["train_batch"] / base, 1),
            "stc_img_per_s": round(size["train_batch"] / topo, 1), "stc_throughput_ratio": round(base / topo, 3)}


def pls(device: torch.device) -> dict:
    rng = np.random.default_rng(0)
    features = torch.as_tensor(rng.normal(size=(640, 4096)), device=device, dtype=torch.float64)
    targets = torch.as_tensor(rng.normal(size=(640, 50)), device=device, dtype=torch.float64)
    gram = features @ features.T
    order = torch.as_tensor(rng.permutation(640), device=device)

    def run():
        for split in range(10):
            test = order[split * 64:(split + 1) * 64]
            train = torch.cat([order[:split * 64], order[(split + 1) * 64:]])
            kernel_pls_predict(gram, targets, train, test, n_components=25)
    run()
    _, seconds = _timed(device, run)
    return {"images": 640, "features": 4096, "targets": 50, "splits": 10, "components": 25,
            "seconds": round(seconds, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test on any machine")
    parser.add_argument("--skip", nargs="*", default=[], choices=("recording", "v1_it", "training", "pls"))
    args = parser.parse_args()
    device = torch.device(args.device)
    size = QUICK if args.quick else FULL
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    fields = {"quick": args.quick, "sizes": size, "timesteps": 4,
              "targets": {"recording_img_per_s": 12000, "v1_plus_it_s": 10, "stc_throughput_ratio": 0.9,
                          "training_img_per_s": 2000}}
    sections = {"recording": lambda: recording(size, device), "v1_it": lambda: v1_and_it(size, device),
                "training": lambda: training(size, device), "pls": lambda: pls(device)}
    for name, run in sections.items():
        if name in args.skip:
            continue
        started = time.perf_counter()
        fields[name] = run()
        fields[name]["section_s"] = round(time.perf_counter() - started, 1)
        print(json.dumps({name: fields[name]}), flush=True)
    print(save_result("gpu_suite_quick" if args.quick else "gpu_suite", device, fields))


if __name__ == "__main__":
    main()
