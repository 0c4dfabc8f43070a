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


ASSUMED_SETTINGS = ("neuron_kind", "tau", "v_threshold", "surrogate_name", "timesteps", "connect", "stem")
"""Constructor settings a plain state dict may not record (no tensor holds them): each is given, read from the
file where a family can (a ResNet's stem from ``conv1``'s kernel, PLIF neurons from their ``w``) or assumed."""
_NEURON_SETTINGS = ("tau", "v_threshold", "surrogate_name")


def _status(name: str, given: set, read: set, neuron_kind: str) -> str:
    """How the card states setting ``name``: given, read from the file, assumed, or not used by the neurons."""
    if neuron_kind == "relu" and name in _NEURON_SETTINGS:
        return "not used: a ReLU network"
    if neuron_kind == "if" and name == "tau":
        return "not used: IF neurons do not leak"
    if neuron_kind == "plif" and name == "tau":
        return "not used: PLIF neurons learn their time constant, the file's w sets it"
    if name in given:
        return "given"
    if name in read:
        return "read from the file: its neurons have a learnable w" if name == "neuron_kind" else "read from the file"
    return "assumed: the file cannot say"


def assumed_settings(arch: str, kwargs: dict, *, given: set) -> dict[str, str]:
    """Model-card entries for the settings of a plain state dict's network: each one's value, and whether it was
    given, read from the file or assumed (the file cannot say), with the other registered models its keys would
    also fit.

    ``kwargs`` are what the network was built with beyond the registry's defaults: those ``given``, the family's
    ``plain_defaults`` and what its ``infer_kwargs`` read off the tensors (the keys in neither). A family's plain
    default counts as assumed (the family chose it, the file did not say it) unless the caller names it in
    ``given`` with another value. A ReLU architecture's ``neuron_kind`` is given by its name; a spiking one's is
    assumed LIF unless given (``--neuron``) or read from the file (PLIF neurons hold a parameter).
    """
    from .registry import MODELS, constructor_kwargs

    built = constructor_kwargs(arch, kwargs)
    family = family_of(arch)
    defaults = {key: value for key, value in family.plain_defaults.items() if kwargs.get(key) == value}
    given = set(given) - set(defaults)
    if MODELS[arch].defaults.get("neuron_kind") == "relu":
        given.add("neuron_kind")  # the architecture named is the ReLU twin
    read = set(kwargs) - given - set(defaults)
    kind = built.get("neuron_kind", "lif")
    notes = {f"setting {name}": f"{built[name]!r} ({_status(name, given, read, kind)})"
             for name in ASSUMED_SETTINGS if name in built and (name != "stem" or name not in read)}
    twins = sorted(name for name, entry in MODELS.items() if entry.family is family and name != arch
                   and not name.startswith("tiny_"))
    if twins:
        notes["architecture"] = (f"{arch}, as given: {', '.join(twins)} have the same weight names, so the file "
                                 "alone cannot tell them apart")
    return notes


def _key_sets(name: str) -> list[tuple[str, set]]:
    """``(how to build it, its weight names)`` for registered model ``name`` and, when its class offers PLIF
    neurons, its PLIF variant, whose weight names add each neuron's ``w``; small (names do not depend on width or
    classes)."""
    from .registry import MODELS

    small = {"width": 1 / 16, "num_classes": 2}
    variants = [(name, set(create_model(name, **small).state_dict()))]
    entry = MODELS[name]
    if entry.defaults.get("neuron_kind") != "relu" and "plif" in getattr(entry.family.model_class, "neuron_kinds", ()):
        variants.append((f"{name} with PLIF neurons (neuron_kind 'plif', --neuron plif)",
                         set(create_model(name, neuron_kind="plif", **small).state_dict())))
    return variants


def architectures_with_keys(state: dict, tried: str) -> str:
    """Which registered architectures have exactly ``state``'s weight names (what to pass as ``arch``, and the
    neuron kind where only PLIF neurons fit), in words."""
    from .registry import MODELS

    names = set(state)
    matching = [label for name in sorted(MODELS) if not name.startswith("tiny_") and name != tried
                for label, keys in _key_sets(name) if keys == names]
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
