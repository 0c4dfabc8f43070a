"""Keep freed memory in the process instead of returning it to the OS (glibc only).

glibc serves every allocation above a (dynamic) threshold from a fresh ``mmap`` and unmaps it
on ``free``, so each large temporary of a training step (the STC loss makes many of
``M x Q x Q`` floats) costs page faults and zeroing again. Raising ``M_MMAP_THRESHOLD`` and
``M_TRIM_THRESHOLD`` keeps such blocks on the heap for reuse, as the jemalloc / tcmalloc
preloads of PyTorch's CPU tuning guide do; the values are unchanged.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform

__all__ = ["reuse_freed_memory"]

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_THRESHOLD_BYTES = 1 << 30


def reuse_freed_memory() -> bool:
    """Ask glibc to keep freed blocks of up to 1 GiB for reuse; ``False`` where that is unavailable."""
    if platform.system() != "Linux":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        done = bool(libc.mallopt(_M_MMAP_THRESHOLD, _THRESHOLD_BYTES)) and bool(
            libc.mallopt(_M_TRIM_THRESHOLD, _THRESHOLD_BYTES))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        done = False
    log.debug("mallopt thresholds raised: %s", done)
    return done
