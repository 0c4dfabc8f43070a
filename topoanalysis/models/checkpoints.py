"""The self-describing checkpoint format, and loading (plain state dicts through :mod:`.plain_files`).

A topoanalysis checkpoint is one ``torch.save`` file holding only tensors, numpy-free
containers and strings, so it loads with ``torch.load(weights_only=True)``::

    format, format_version, arch, arch_kwargs, timesteps, input_size_px, mean, std,
    visual_degrees, layer_areas, sheets (one LayerPositions per layer), provenance,
    state_dict, content_sha256

``content_sha256`` hashes everything else (metadata as canonical JSON, every tensor's
bytes), so a changed or truncated file is caught at load time.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError, DataNotFoundError, InputError
from ..paths import atomic_path
from ..sheets import LayerPositions, default_sheets
from .plain_files import architectures_with_keys, assumed_settings, load_weights, unwrap_state_dict
from .registry import MAX_TIMESTEPS, check_arch_kwargs, create_model, family_of, list_models
from .shapes import layer_shapes

FORMAT = "topoanalysis.checkpoint"
FORMAT_VERSION = 1
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PLAIN_SHEET_SEED = 424
MIN_INPUT_SIZE_PX, MAX_INPUT_SIZE_PX = 16, 1024
"""Input sizes a checkpoint may declare: 16 px is the tiny test models', 1024 px over four times ImageNet's 224."""
MAX_VISUAL_DEGREES = 180.0
"""The widest field of view a checkpoint may declare (a hemifield)."""


@dataclass(frozen=True)
class CheckpointSpec:
    """Everything about a checkpoint except its weights.

    ``sheets`` maps each topographic layer (exact ``named_modules()`` path) to its unit
    positions; ``layer_areas`` maps the same layers to cortical areas.
    """

    arch: str
    arch_kwargs: dict
    timesteps: int
    input_size_px: int
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    visual_degrees: float = 8.0
    layer_areas: dict[str, str] = field(default_factory=dict)
    sheets: dict[str, LayerPositions] = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    content_sha256: str = ""

    def metadata(self) -> dict:
        """The JSON-serialisable part (no sheets, no hash)."""
        return {
            "arch": self.arch, "arch_kwargs": _plain(self.arch_kwargs),
            "timesteps": int(self.timesteps), "input_size_px": int(self.input_size_px),
            "mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std],
            "visual_degrees": float(self.visual_degrees),
            "layer_areas": dict(self.layer_areas), "provenance": _plain(self.provenance),
        }

    def layers_in(self, area: str) -> list[str]:
        """Layers assigned to ``area`` (e.g. ``"V1"``), in network order."""
        return [name for name, a in self.layer_areas.items() if a == area]

    def layer_for(self, area: str) -> str | None:
        """The one layer that stands for ``area``: its first layer, IT's last (None if none is mapped).

        The toolkit's single region -> layer rule (CLI defaults, the Brain-Score adapter, the
        report), applied to the checkpoint's own map (each family's default map is in its model file).
        """
        layers = self.layers_in(area)
        if not layers:
            return None
        return layers[-1] if area == "IT" else layers[0]

    def model_card(self) -> str:
        """A human-readable summary, as printed by ``topoanalysis info``."""
        lines = [
            f"architecture     {self.arch} {json.dumps(self.arch_kwargs, sort_keys=True)}",
            f"timesteps (T)    {self.timesteps}",
            f"input            {self.input_size_px} px, {self.visual_degrees:g} deg of visual field",
            f"normalisation    mean {list(self.mean)}  std {list(self.std)}",
            f"content sha256   {self.content_sha256 or '(not saved yet)'}",
            "layers           area    units (C x H x W)       sheet (mm)  neighbourhood (mm)",
        ]
        for name, area in self.layer_areas.items():
            sheet = self.sheets.get(name)
            if sheet is None:
                lines.append(f"  {name:<14} {area:<7} (no sheet)")
                continue
            c, h, w = sheet.shape_chw
            dims = f"{sheet.n_units} ({c} x {h} x {w})"
            lines.append(f"  {name:<14} {area:<7} {dims:<23} {sheet.sheet_size_mm:<11g} "
                         f"{sheet.neighborhood_width_mm:g}")
        lines.append("provenance")
        for key, value in sorted(self.provenance.items()):
            lines.append(f"  {key}: {value}")
        return "\n".join(lines)


def _plain(mapping: dict) -> dict:
    """JSON-representable copy (str subclasses such as torch's version become str)."""
    return json.loads(json.dumps(mapping, default=str))


def _tensor_bytes(t: torch.Tensor) -> bytes:
    return t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def content_hash(metadata: dict, sheets: dict[str, LayerPositions], state_dict: dict) -> str:
    """sha256 over canonical metadata JSON, sheet arrays and tensor bytes (sorted keys)."""
    digest = hashlib.sha256(json.dumps(metadata, sort_keys=True).encode())
    for name in sorted(sheets):
        arrays = sheets[name].to_arrays()
        for key in sorted(arrays):
            digest.update(f"sheet/{name}/{key}".encode())
            digest.update(np.ascontiguousarray(arrays[key]).tobytes() if isinstance(arrays[key], np.ndarray)
                          else repr(arrays[key]).encode())
    for key in sorted(state_dict):
        t = state_dict[key]
        digest.update(f"{key}|{t.dtype}|{tuple(t.shape)}".encode())
        digest.update(_tensor_bytes(t))
    return digest.hexdigest()


def _sheet_payload(sheets: dict[str, LayerPositions]) -> dict:
    payload = {}
    for name, sheet in sheets.items():
        arrays = sheet.to_arrays()
        payload[name] = {k: torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v
                         for k, v in arrays.items()}
    return payload


def _sheets_from_payload(payload: dict) -> dict[str, LayerPositions]:
    return {name: LayerPositions.from_arrays({k: v.numpy() if isinstance(v, torch.Tensor) else v
                                              for k, v in arrays.items()})
            for name, arrays in payload.items()}


def save_checkpoint(path: str | os.PathLike, model: nn.Module, spec: CheckpointSpec, *,
                    train_state: dict | None = None) -> CheckpointSpec:
    """Write ``model`` and ``spec`` to ``path`` atomically; returns the spec with its hash.

    The sheets must match the model's layer shapes at ``spec.input_size_px``.
    ``train_state`` (optimizer state, step, RNG states: tensors and plain values only) is
    stored beside the weights for resuming, outside the content hash; read it back with
    :func:`load_train_state`.
    """
    shapes = layer_shapes(model, spec.input_size_px, list(spec.sheets))
    for name, sheet in spec.sheets.items():
        if tuple(sheet.shape_chw) != shapes[name]:
            raise CheckpointError(f"sheet for {name} has shape {sheet.shape_chw} but the model's {name} "
                                  f"output is {shapes[name]} at {spec.input_size_px} px")
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    metadata = spec.metadata()
    sha = content_hash(metadata, spec.sheets, state)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **metadata,
               "sheets": _sheet_payload(spec.sheets), "state_dict": state, "content_sha256": sha,
               "module_types": module_types(model)}
    if train_state is not None:
        payload["train_state"] = train_state
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return replace(spec, content_sha256=sha)


def check_spec_numbers(*, timesteps: int | None = None, input_size_px=None, visual_degrees=None) -> None:
    """ValueError naming the first given number outside its documented range (see :data:`MAX_TIMESTEPS`,
    :data:`MIN_INPUT_SIZE_PX`, :data:`MAX_INPUT_SIZE_PX`, :data:`MAX_VISUAL_DEGREES`)."""
    problem = _numbers_problem(timesteps, input_size_px, visual_degrees)
    if problem is not None:
        raise CheckpointError(problem)


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numbers_problem(timesteps, input_size_px, visual_degrees) -> str | None:
    if timesteps is not None and not (_whole(timesteps) and 1 <= timesteps <= MAX_TIMESTEPS):
        return f"timesteps {str(timesteps)[:40]} is not a whole number from 1 to {MAX_TIMESTEPS}"
    if input_size_px is not None and not (_whole(input_size_px)
                                          and MIN_INPUT_SIZE_PX <= input_size_px <= MAX_INPUT_SIZE_PX):
        return (f"input size {str(input_size_px)[:40]} px is not a whole number from {MIN_INPUT_SIZE_PX} to "
                f"{MAX_INPUT_SIZE_PX} px")
    if visual_degrees is not None and not (_is_number(visual_degrees, positive=True)
                                           and visual_degrees <= MAX_VISUAL_DEGREES):
        return f"visual degrees {str(visual_degrees)[:40]} is not a number above 0 and at most {MAX_VISUAL_DEGREES:g}"
    return None


def read_checkpoint_file(path: Path, flag: str = "--ckpt"):
    """``torch.load(weights_only=True)`` of ``path``; errors name the file and ``flag``, the option it came from."""
    if not path.is_file():
        raise DataNotFoundError(f"checkpoint not found: {path}; pass {flag} PATH to an existing file "
                                "(the bundled ones are in checkpoints/)")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is not a loadable PyTorch checkpoint: the file is empty (an interrupted copy?); "
                              f"copy it again or pass another {flag}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or broken files
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if isinstance(exc, pickle.UnpicklingError) and found:  # torch's text suggests weights_only=False: unsafe
            raise CheckpointError(f"{path} refused: loading it would run code it contains ({found.group(1)}), not just "
                                  f"read tensors; use a checkpoint from a source you trust, saved with plain tensors, "
                                  f"or pass another {flag}") from None
        if "Weights only load failed" in str(exc):  # torch's text suggests the unsafe weights_only=False: not quoted
            raise CheckpointError(f"{path} is not a loadable PyTorch checkpoint: it is not a file of plain tensors (a "
                                  f"damaged or foreign file); copy it again or pass another {flag}") from None
        first_line = (str(exc).splitlines() or [""])[0][:200]
        raise CheckpointError(f"{path} is not a loadable PyTorch checkpoint ({type(exc).__name__}: {first_line}); "
                              "checkpoints must load with torch.load(weights_only=True)") from None


def load_train_state(path: str | os.PathLike) -> dict:
    """The ``train_state`` saved with a checkpoint (for resuming training)."""
    obj = read_checkpoint_file(Path(path))
    if not (isinstance(obj, dict) and isinstance(obj.get("train_state"), dict)):
        raise CheckpointError(f"{path} holds no training state to resume from; resume from the "
                              "checkpoint_last.pt that `topoanalysis train` writes every epoch")
    return obj["train_state"]


def _is_number(value, *, positive: bool = False) -> bool:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return ok and (value > 0 or not positive)


def module_types(model: nn.Module) -> list[str]:
    """Sorted class names of a network's modules (spiking and ReLU twins share every weight name but not these)."""
    return sorted({getattr(type(module), "checkpoint_type_name", type(module).__name__) for module in model.modules()})


def _metadata_problem(obj: dict) -> str | None:
    """The first missing or malformed field of a project-format checkpoint, in words; None if it is sound."""
    checks = {
        "arch": lambda v: isinstance(v, str) and v in list_models(),
        "arch_kwargs": lambda v: isinstance(v, dict),
        "timesteps": lambda v: _numbers_problem(v, None, None) is None,
        "input_size_px": lambda v: _numbers_problem(None, v, None) is None,
        "mean": lambda v: isinstance(v, (list, tuple)) and len(v) == 3 and all(_is_number(x) for x in v),
        "std": lambda v: isinstance(v, (list, tuple)) and len(v) == 3 and all(_is_number(x, positive=True)
                                                                              for x in v),
        "visual_degrees": lambda v: _numbers_problem(None, None, v) is None,
        "layer_areas": lambda v: isinstance(v, dict) and all(isinstance(k, str) and isinstance(a, str)
                                                             for k, a in v.items()),
        "sheets": lambda v: isinstance(v, dict) and all(isinstance(a, dict) for a in v.values()),
        "provenance": lambda v: isinstance(v, dict),
        "state_dict": lambda v: isinstance(v, dict) and v and all(isinstance(t, torch.Tensor) for t in v.values()),
        "content_sha256": lambda v: isinstance(v, str) and len(v) == 64,
        "module_types": lambda v: isinstance(v, list) and v and all(isinstance(t, str) for t in v),
    }
    for name, ok in checks.items():
        if name not in obj:
            return f"has no {name!r} field"
        if not ok(obj[name]):
            numbers = {"timesteps": (obj[name], None, None), "input_size_px": (None, obj[name], None),
                       "visual_degrees": (None, None, obj[name])}
            if name in numbers:
                return f"has a bad {name!r} field: {_numbers_problem(*numbers[name])}"
            return f"has a bad {name!r} field ({str(obj[name])[:80]!r})"
    try:
        check_arch_kwargs(obj["arch"], obj["arch_kwargs"])
    except ValueError as exc:
        return f"has a bad 'arch_kwargs' field: {exc}"
    return None


def load_checkpoint(path: str | os.PathLike, *, arch: str | None = None, arch_kwargs: dict | None = None,
                    timesteps: int | None = None, input_size_px: int | None = None,
                    strict: bool = True, device: str | torch.device = "cpu") -> tuple[nn.Module, CheckpointSpec]:
    """Load a checkpoint: the project format, or a plain state dict when told ``arch``.

    Plain state dicts (the reference key names of ``arch``'s family: spikingjelly
    ``spiking_resnet18`` / torchvision ``resnet18``, or CORnet-RT's; ``module.`` and ``_orig_mod.``
    prefixes stripped; wrapped under ``state_dict``/``model`` allowed) carry no metadata: stem,
    width and class count are read from the tensor shapes (then the family's
    ``plain_defaults``, then ``arch_kwargs``); input size defaults to 224 px (ImageNet stem) or
    32 px (CIFAR stem), normalisation to ImageNet's, areas to the family's map, and the sheets
    are a retinotopic initialisation with seed 424, all recorded in ``spec.provenance``.

    Returns
    -------
    (model, spec)
        The model in eval mode on ``device``, and its :class:`CheckpointSpec`.
    """
    path = Path(path)
    obj = read_checkpoint_file(path)
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        if obj.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(f"{path} has checkpoint format version {obj.get('format_version')}; "
                                  f"this topoanalysis reads version {FORMAT_VERSION}")
        problem = _metadata_problem(obj)
        if problem is not None:
            raise CheckpointError(f"{path} is a damaged or hand-edited topoanalysis checkpoint: it {problem}; re-save "
                                  "it with save_checkpoint, or load its weights as a plain state dict with --arch")
        try:
            sheets = _sheets_from_payload(obj["sheets"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path} is a damaged or hand-edited topoanalysis checkpoint: its sheets cannot be "
                                  f"read ({exc}); re-save it with save_checkpoint") from None
        spec = CheckpointSpec(
            arch=obj["arch"], arch_kwargs=dict(obj["arch_kwargs"]), timesteps=obj["timesteps"],
            input_size_px=obj["input_size_px"], mean=tuple(obj["mean"]), std=tuple(obj["std"]),
            visual_degrees=obj["visual_degrees"], layer_areas=dict(obj["layer_areas"]),
            sheets=sheets, provenance=dict(obj["provenance"]))
        sha = content_hash(spec.metadata(), sheets, obj["state_dict"])
        if sha != obj["content_sha256"]:
            raise CheckpointError(f"{path} is corrupted or was edited: its content hash is {sha}, "
                                  f"but the file records {obj['content_sha256']}")
        spec = replace(spec, content_sha256=sha)
        model = create_model(spec.arch, **spec.arch_kwargs)
        saved_types = obj["module_types"]
        if list(saved_types) != module_types(model):
            only_saved = sorted(set(saved_types) - set(module_types(model)))
            raise CheckpointError(f"{path} claims arch {spec.arch!r}, but it was saved from a network with other "
                                  f"modules ({', '.join(only_saved) or 'a different set'}): its arch field was "
                                  "edited. Restore the original file, or load the weights as a plain state dict with "
                                  "the right --arch")
        load_weights(model, obj["state_dict"], path, strict=True)
    else:
        if arch is None:
            raise CheckpointError(f"{path} is a plain state dict without metadata; pass the architecture "
                                  f"(arch=... or --arch), one of: {', '.join(list_models())}")
        check_spec_numbers(input_size_px=input_size_px)
        state = unwrap_state_dict(obj, path)
        family = family_of(arch)
        try:  # keys of another architecture: say which registered one they are
            kwargs = {**family.infer_kwargs(state, path), **family.plain_defaults, **(arch_kwargs or {})}
            check_arch_kwargs(arch, kwargs)
            model = create_model(arch, **kwargs)
            load_weights(model, state, path, strict)
        except InputError as exc:
            raise CheckpointError(f"{exc}. {architectures_with_keys(state, arch)}",
                                  parameter=getattr(exc, "parameter", None)) from None
        size = input_size_px or (224 if kwargs.get("stem", "imagenet") == "imagenet" else 32)
        areas = family.areas_of(model)
        shapes = layer_shapes(model, size, list(areas))
        provenance = {"source": f"plain state dict {path.name}",
                      "sheets": f"retinotopic initialisation, seed {PLAIN_SHEET_SEED} (none in file)",
                      "normalisation": "ImageNet mean/std assumed"}
        if family.plain_notes:
            provenance["defaults"] = family.plain_notes
        provenance.update(assumed_settings(arch, kwargs, given=set(arch_kwargs or {}) | set(family.plain_defaults)))
        spec = CheckpointSpec(
            arch=arch, arch_kwargs=kwargs, timesteps=getattr(model, "timesteps", 1), input_size_px=size,
            layer_areas=areas, sheets=default_sheets(shapes, areas, rng=np.random.default_rng(PLAIN_SHEET_SEED)),
            provenance=provenance, content_sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    if timesteps is not None:
        check_spec_numbers(timesteps=timesteps)
        spec = replace(spec, timesteps=int(timesteps))
    if hasattr(model, "timesteps"):
        model.timesteps = spec.timesteps
    return model.to(device).eval(), spec
