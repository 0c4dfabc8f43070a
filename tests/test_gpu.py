"""GPU checks: the CUDA paths against the eager fp32 CPU reference. Never decide CI."""

import numpy as np
import pytest
import torch

from topoanalysis.models import BLOCK_LAYERS
from topoanalysis.running.recording import record
from topoanalysis.testing import tiny_gratings

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_cuda_recording_matches_the_cpu_reference(tiny):
    model, spec, _ = tiny
    stimuli = tiny_gratings()
    cpu = record(model, stimuli, BLOCK_LAYERS, spec=spec, device="cpu")
    gpu = record(model, stimuli, BLOCK_LAYERS, spec=spec, device="cuda")
    # a few spikes may flip where the membrane sits exactly at threshold (different kernels)
    assert np.abs(gpu["responses"].values - cpu["responses"].values).mean() < 1e-3
    bf16 = record(model, stimuli, BLOCK_LAYERS, spec=spec, device="cuda", precision="bf16", compile=True)
    assert np.abs(bf16["responses"].values - cpu["responses"].values).mean() < 0.02
    model.cpu()
