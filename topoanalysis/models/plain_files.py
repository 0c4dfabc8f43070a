"""Plain state dicts (no metadata): unwrapping them, what they cannot say, and fitting them into a network."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..errors import CheckpointError
from .registry import create_model, family_of

_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict", "net")
_PREFIXES = ("module.", "_orig_mod.")


def _strip_prefixes(state: dict) -> dict:
    out = {}
    for key, value in state.items():
        changed = True
        while changed:
            changed = False
            for prefix in _PREFIXES:
                if key.startswith(prefix):
                    key, changed = key[len(prefix):], True
        out[key] = value
    return out


def unwrap_state_dict(obj, path: Path) -> dict:
    if isinstance(obj, dict):
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} holds neither a topoanalysis checkpoint nor a state dict of tensors "
                              f"(also looked under keys {', '.join(_WRAPPER_KEYS)})")
    return _strip_prefixes(obj)


ASSUMED_SETTINGS = ("neuron_kind", "tau", "v_threshold", "surrogate_name", "timesteps", "connect")
"""Constructor settings a plain state dict cannot record (no tensor holds them)."""


def assumed_settings(arch: str, kwargs: dict, *, given: set) -> dict[str, str]:
    """Model-card entries for the settings of a plain state dict's network: each one's value, and whether it was
    given or assumed (the file cannot say), with the other registered models its keys would also fit."""
    from .registry import MODELS, constructor_kwargs

    built = constructor_kwargs(arch, kwargs)
    given = set(given) | {"neuron_kind"}  # the architecture named (spiking_* or its ReLU twin) sets it
    notes = {f"setting {name}": f"{built[name]!r} ({'given' if name in given else 'assumed: the file cannot say'})"
             for name in ASSUMED_SETTINGS if name in built}
    family = family_of(arch)
    twins = sorted(name for name, entry in MODELS.items() if entry.family is family and name != arch
                   and not name.startswith("tiny_"))
    if twins:
        notes["architecture"] = (f"{arch}, as given: {', '.join(twins)} have the same weight names, so the file "
                                 "alone cannot tell them apart")
    return notes


def architectures_with_keys(state: dict, tried: str) -> str:
    """Which registered architectures have exactly ``state``'s weight names (what to pass as ``arch``), in words."""
    from .registry import MODELS

    matching = []
    for name in sorted(MODELS):
        if name.startswith("tiny_") or name == tried:
            continue
        small = create_model(name, width=1 / 16, num_classes=2)  # names do not depend on width or classes
        if set(small.state_dict()) == set(state):
            matching.append(name)
    if matching:
        return f"Its weight names are those of: {', '.join(matching)}; pass that architecture"
    return (f"No registered architecture has its weight names (first keys: {', '.join(list(state)[:3])}); "
            f"registered: {', '.join(name for name in sorted(MODELS) if not name.startswith('tiny_'))}")


def check_finite(state: dict, path: Path) -> None:
    """CheckpointError naming the first floating-point tensor of ``state`` holding inf or NaN."""
    for key, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{path}: tensor {key!r} holds inf or NaN values (a diverged training run or a "
                                  "damaged file); use a checkpoint saved before the run diverged")


def load_weights(model: nn.Module, state: dict, path: Path, strict: bool, *, python_hint: bool = True) -> None:
    """Copy ``state`` into ``model``; a ValueError naming what does not fit.

    ``python_hint``: name ``load_checkpoint(..., strict=False)`` as a way to keep the matching keys
    (false where the caller has no such option).
    """
    check_finite(state, path)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = sorted(k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    problems = []
    for label, keys in (("missing keys", missing), ("unexpected keys", unexpected)):
        if keys:
            shown = ", ".join(keys[:12]) + (f" ... (+{len(keys) - 12} more)" if len(keys) > 12 else "")
            problems.append(f"{label}: {shown}")
    if mismatched:
        problems.append("shape mismatches: " + ", ".join(
            f"{k} {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}" for k in mismatched[:12]))
    if mismatched or (strict and problems):
        hint = ("; from Python, load_checkpoint(path, arch=..., strict=False) loads the matching keys only"
                if python_hint and not mismatched else "")
        raise CheckpointError(f"{path} does not fit the {type(model).__name__} it names: " + "; ".join(problems)
                              + f"; check that the file holds this architecture's weights (--arch){hint}")
    model.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=False)
