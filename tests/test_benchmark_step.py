"""The benchmarks' shared training step (benchmarks/_train_step.py) with a compiled forward, as the GPU suite
passes it: a ``torch.compile``'d module has no truth value (its ``__len__`` raises), so the step must not test
``forward`` for truth. The "eager" backend traces the graph without generating code, so this runs in seconds."""

import copy
import importlib.util
from pathlib import Path

import torch

from topoanalysis.training.stc import STCLoss


def _train_step_module():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "_train_step.py"
    spec = importlib.util.spec_from_file_location("benchmarks_train_step", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_step_times_take_a_compiled_forward(tiny):
    model, spec, _ = tiny
    model = copy.deepcopy(model).train()
    layers = list(spec.sheets)
    stc = STCLoss(spec.sheets, alpha=0.5, beta=0.5, clusters_per_layer=2, timesteps=model.timesteps)
    x = torch.randn(4, 3, spec.input_size_px, spec.input_size_px)
    y = torch.tensor([0, 1, 2, 3])
    compiled = torch.compile(model, backend="eager")
    times = _train_step_module().stc_step_times(model, stc, layers, x, y, steps=1, bf16=False, forward=compiled)
    assert set(times) == {"ce_s", "stc_s", "warmup_s"}
    assert all(seconds > 0 for seconds in times.values())
