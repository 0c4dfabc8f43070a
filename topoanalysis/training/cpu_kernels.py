"""Where PyTorch's CPU kernels are slow or unsafe, so the trainer can steer around them.

* bf16: oneDNN runs bf16 convolutions and matrix products in hardware only with AVX512-BF16 or AMX; on
  other CPUs (AVX2 only, say) it emulates them, and a bf16-autocast training step of the bundled spiking
  CORnet-RT took 15.5 s against 1.1 s in fp32 (one thread, batch 64, AMD EPYC with AVX2).
* channels_last: on that CPU (torch 2.13.0), the backward pass of a channels_last 1x1 convolution with
  stride > 1 and fewer than 8 input channels crashes the process (segmentation fault or abort; with 2
  threads it hung instead), e.g. the first downsampling shortcut of a width-1/16 ResNet (4 -> 8 channels). 3x3 and
  7x7 strided convolutions with as few channels, and 1x1 ones with 8 or more, ran.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["channels_last_is_safe", "cpu_has_native_bf16"]

_MIN_CHANNELS_STRIDED_1X1 = 8


def cpu_has_native_bf16() -> bool:
    """``True`` where oneDNN reports hardware bf16 support (``False`` when it cannot be asked)."""
    probe = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(probe()) if probe is not None else False
    except RuntimeError:
        return False


def channels_last_is_safe(model: nn.Module) -> bool:
    """``False`` when ``model`` has a strided 1x1 convolution with fewer than 8 input channels, whose
    channels_last backward crashes on the CPU (module docstring)."""
    return not any(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and max(m.stride) > 1
                   and m.in_channels < _MIN_CHANNELS_STRIDED_1X1 for m in model.modules())
