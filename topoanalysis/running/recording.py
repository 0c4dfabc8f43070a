"""``record``: layer responses to a stimulus set, as one labelled ``xarray.Dataset``.

Models that provide ``forward_features`` (the project's spiking ResNets) are recorded
through that explicit forward, which keeps the network compilable and stops after the
deepest requested layer; any other module path (e.g. a neuron inside a block) or any other
``nn.Module`` is recorded with forward hooks, which are removed even when the forward
pass fails. Networks that have a ``timesteps`` attribute are time-major
(``[T, B, ...]`` outputs); for the rest each output is one timestep.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from contextlib import nullcontext

import numpy as np
import torch
import xarray as xr
from spikingjelly.activation_based import functional
from torch import nn
from tqdm.auto import tqdm

from ..errors import InputError
from ..models.checkpoints import IMAGENET_MEAN, IMAGENET_STD, CheckpointSpec
from ..models.lif import use_plain_lif
from ..models.shapes import layer_shapes
from ..sheets import LayerPositions
from ..stimuli import StimulusSet
from .inputs import default_batch_size, default_device, preprocess

REDUCTIONS = ("rate", "none")
PRECISIONS = ("fp32", "bf16")


def _valid_layers(model: nn.Module) -> list[str]:
    explicit = list(getattr(model, "feature_layers", ()))
    hooked = [name for name, _ in model.named_modules() if name and name not in explicit]
    return explicit + hooked


def _check_layers(model: nn.Module, layers: Sequence[str]) -> list[str]:
    layers = list(dict.fromkeys(layers))
    if not layers:
        raise InputError("no layers requested; pass at least one layer name")
    valid = _valid_layers(model)
    unknown = [name for name in layers if name not in valid]
    if unknown:
        shown = list(getattr(model, "feature_layers", ())) or valid
        raise InputError(f"unknown layer(s) {unknown}; valid layers: {', '.join(shown)}"
                         + (" (or any named_modules() path)" if len(shown) < len(valid) else ""))
    return layers


class _Hooks:
    """Forward hooks that capture module outputs; removed on exit, error or not."""

    def __init__(self, model: nn.Module, layers: Sequence[str]) -> None:
        modules = dict(model.named_modules())
        self.outputs: dict[str, torch.Tensor] = {}
        self.handles = [modules[name].register_forward_hook(self._catch(name)) for name in layers]

    def _catch(self, name: str):
        def hook(module, inputs, output):
            self.outputs[name] = output
        return hook

    def __enter__(self) -> _Hooks:
        return self

    def __exit__(self, *exc) -> None:
        for handle in self.handles:
            handle.remove()


def _features(model: nn.Module, x: torch.Tensor, layers: list[str], timesteps: int | None,
              hooks: _Hooks | None, forward_features=None) -> dict[str, torch.Tensor]:
    """Time-major features ``[T, B, ...]`` for ``layers``."""
    if hooks is None:
        return (forward_features or model.forward_features)(x, layers, timesteps)
    hooks.outputs.clear()
    if hasattr(model, "timesteps"):
        model(x, timesteps)
        return {name: hooks.outputs[name] for name in layers}
    model(x)
    return {name: hooks.outputs[name].unsqueeze(0) for name in layers}


def _check_sheets(sheets: dict[str, LayerPositions], shapes: dict[str, tuple[int, int, int]]) -> None:
    for name, shape in shapes.items():
        sheet = sheets.get(name)
        if sheet is not None and tuple(sheet.shape_chw) != shape:
            raise InputError(f"the sheet for {name} has shape {tuple(sheet.shape_chw)}, but at this input "
                             f"size the layer outputs {shape}: record at the input size the sheets were "
                             "made for (the checkpoint's input_size_px)")


def _unit_coords(layer: str, shape: tuple[int, ...], sheet: LayerPositions | None) -> dict[str, np.ndarray]:
    dims = tuple(shape) if len(shape) == 3 else (int(np.prod(shape)), 1, 1)
    n = int(np.prod(dims))
    c, h, w = np.unravel_index(np.arange(n), dims)
    if sheet is not None:
        _check_sheets({layer: sheet}, {layer: dims})
        x_mm, y_mm = sheet.xy_mm[:, 0], sheet.xy_mm[:, 1]
    else:
        x_mm = y_mm = np.full(n, np.nan, np.float32)
    return {"layer": np.full(n, layer), "channel": c.astype(np.int32),
            "row": h.astype(np.int32), "col": w.astype(np.int32),
            "x_mm": np.asarray(x_mm, np.float32), "y_mm": np.asarray(y_mm, np.float32)}


def record(model: nn.Module, stimuli: StimulusSet, layers: Sequence[str], *,
           spec: CheckpointSpec | None = None, sheets: dict[str, LayerPositions] | None = None,
           input_size_px: int | None = None, mean=None, std=None, timesteps: int | None = None,
           reduce: str = "rate", batch_size: int | None = None, device: str | torch.device | None = None,
           precision: str = "fp32", compile: bool | str = False, progress: bool = False) -> xr.Dataset:
    """Record ``layers`` of ``model`` for every image of ``stimuli``.

    Parameters
    ----------
    model : torch.nn.Module
        A project model (from ``create_model``/``load_checkpoint``) or any module.
    stimuli : StimulusSet
        Images in [0, 1]; resized to ``input_size_px`` and normalised here.
    layers : sequence of str
        Exact ``named_modules()`` paths, e.g. a checkpoint's sheet layers, ``list(spec.sheets)``.
    spec : CheckpointSpec, optional
        Supplies ``sheets``, ``input_size_px``, ``mean``, ``std`` and ``timesteps``
        unless given explicitly.
    reduce : {"rate", "none"}
        ``"rate"``: mean over time, on the device (firing rate for spiking layers), dims
        ``(stimulus, unit)``. ``"none"``: every timestep, dims ``(stimulus, time, unit)``.
    batch_size : int, optional
        Images per forward pass; default :func:`~topoanalysis.running.inputs.default_batch_size` of the input size
        and T (64 at 32 px).
    device : str or torch.device, optional
        Default: CUDA when available, else the CPU. The model is moved there.
    precision : {"fp32", "bf16"}
        ``"bf16"`` runs the forward pass under bfloat16 autocast; responses are stored
        as float32 either way.
    compile : bool or str
        Run ``model.forward_features`` through ``torch.compile`` (a string names the
        backend, e.g. ``"inductor"``), on a copy whose spikingjelly LIF neurons are swapped
        for their plain-ops twins (:mod:`topoanalysis.models.lif`, identical spikes) so the
        graph fuses; the first batch pays the compilation. Only for models with
        ``forward_features``; the eager fp32 spikingjelly path is the reference.

    Returns
    -------
    xarray.Dataset
        Variable ``responses``; unit coords ``layer, channel, row, col, x_mm, y_mm``
        (NaN positions for layers without a sheet); stimulus coords from
        ``stimuli.labels``; attrs describe the run.
    """
    if reduce not in REDUCTIONS:
        raise InputError(f"unknown reduce {reduce!r}; valid: {', '.join(REDUCTIONS)}")
    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    if batch_size is not None and batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    layers = _check_layers(model, layers)
    if spec is not None:
        sheets = spec.sheets if sheets is None else sheets
        input_size_px = spec.input_size_px if input_size_px is None else input_size_px
        mean = spec.mean if mean is None else mean
        std = spec.std if std is None else std
        timesteps = spec.timesteps if timesteps is None else timesteps
    if batch_size is None:
        batch_size = default_batch_size(input_size_px or stimuli.image_size_px[0],
                                        timesteps or getattr(model, "timesteps", 1))
    mean = IMAGENET_MEAN if mean is None else mean
    std = IMAGENET_STD if std is None else std
    sheets = sheets or {}
    device = default_device() if device is None else torch.device(device)
    explicit = hasattr(model, "forward_features") and all(
        name in getattr(model, "feature_layers", ()) for name in layers)
    model = model.to(device).eval()
    forward_features = None
    if compile:
        if not explicit:
            raise InputError("compile=True needs a model with forward_features and only its feature_layers "
                             f"({', '.join(getattr(model, 'feature_layers', ())) or 'none for this model'})")
        backend = compile if isinstance(compile, str) else "inductor"
        model = copy.deepcopy(model)  # the compiled copy runs the plain-ops LIF; the caller's model is untouched
        use_plain_lif(model)
        forward_features = torch.compile(model.forward_features, backend=backend, dynamic=False)
    if explicit and input_size_px is not None:
        _check_sheets(sheets, layer_shapes(model, input_size_px, layers))
    autocast = (torch.autocast(device_type=device.type, dtype=torch.bfloat16)
                if precision == "bf16" else nullcontext())

    n_stimuli = len(stimuli)
    data: np.ndarray | None = None
    shapes: dict[str, tuple[int, ...]] = {}
    n_steps = 1
    batches = range(0, n_stimuli, batch_size)
    with (nullcontext() if explicit else _Hooks(model, layers)) as hooks, torch.no_grad():
        for start in tqdm(batches, desc=f"record {stimuli.name}", unit="batch", disable=not progress):
            index = slice(start, min(start + batch_size, n_stimuli))
            x = preprocess(stimuli.batch(index, device=device), input_size_px, mean, std)
            try:
                with autocast:
                    features = _features(model, x, layers, timesteps, hooks, forward_features)
                outs = []
                for name in layers:
                    flat = features[name].float().flatten(2)  # [T, B, N]
                    shapes[name] = tuple(features[name].shape[2:])
                    n_steps = flat.shape[0]
                    outs.append(flat.mean(0) if reduce == "rate" else flat.transpose(0, 1))
                batch_out = torch.cat(outs, dim=-1).cpu().numpy()  # one transfer per batch
                if data is None:
                    data = np.empty((n_stimuli,) + batch_out.shape[1:], np.float32)
                data[index] = batch_out
            finally:
                functional.reset_net(model)

    coords_per_layer = [_unit_coords(name, shapes[name], sheets.get(name)) for name in layers]
    unit_coords = {key: ("unit", np.concatenate([c[key] for c in coords_per_layer]))
                   for key in coords_per_layer[0]}
    stim_coords = {col: ("stimulus", stimuli.labels[col].to_numpy()) for col in stimuli.labels.columns
                   if col != "stimulus_id"}
    dims = ("stimulus", "unit") if reduce == "rate" else ("stimulus", "time", "unit")
    coords = {"stimulus": stimuli.labels["stimulus_id"].to_numpy().astype(str), **stim_coords, **unit_coords}
    if reduce == "none":
        coords["time"] = np.arange(n_steps)
    attrs = {
        "stimulus_set": stimuli.name, "stimulus_degrees": float(stimuli.degrees),
        "layers": list(layers), "reduce": reduce, "timesteps": int(n_steps),
        "input_size_px": int(input_size_px or stimuli.image_size_px[0]),
        "mean": [float(v) for v in mean], "std": [float(v) for v in std],
        "precision": precision, "device": device.type,
    }
    if spec is not None:
        attrs.update(arch=spec.arch, checkpoint_sha256=spec.content_sha256)
    return xr.Dataset({"responses": (dims, data)}, coords=coords, attrs=attrs)
