"""Checkpoints the toolkit did not train, turned into its own format so every command accepts them.

* TDANN (neuroailab/TDANN; VISSL checkpoints): the trunk's weights at
  ``ckpt["classy_state_dict"]["base_model"]["model"]["trunk"]`` (torchvision ResNet-18 names
  behind a ``base_model.`` prefix, no classifier), and a positions directory with one file per
  layer, ``layer1.0`` ... ``layer4.1``, as ``.npz`` (fields ``name``, ``dims`` (C, H, W),
  ``coordinates`` N x 2 in mm, ``neighborhood_indices``, ``neighborhood_width``) or ``.pkl`` (a
  pickled spacetorch ``LayerPositions`` with those fields, read by a restricted unpickler that
  admits that one class and numpy arrays, nothing else). Unit ``i`` of ``coordinates`` is
  ``torch.flatten``'s unit ``i`` of the (C, H, W) map (spacetorch's ``get_flat_indices``),
  the toolkit's own order.
* Plain torchvision / spikingjelly state dicts with positions from an ``.npz`` file: either a
  :func:`topoanalysis.sheets.save_sheets` file, or one ``(N, 2)`` array in mm per layer name.

Sheets keep TDANN's sizes per area (widened to hold every given coordinate), areas follow
TDANN's map (layer2.0 V1, layer3.0 V2, layer3.1 V4, layer4.1 IT), and the model card records
where everything came from by file name and sha256.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError, DataNotFoundError
from ..safe_pickle import numpy_array_globals, restricted_load
from ..sheets import AREA_NEIGHBORHOOD_WIDTH_MM, AREA_SHEET_SIZE_MM, LayerPositions, load_sheets
from . import resnet
from .checkpoints import IMAGENET_MEAN, IMAGENET_STD, CheckpointSpec, check_spec_numbers, read_checkpoint_file
from .plain_files import assumed_settings, load_weights, unwrap_state_dict
from .registry import check_arch_kwargs, constructor_kwargs, create_model, family_of
from .shapes import layer_shapes

TDANN_TRUNK = ("classy_state_dict", "base_model", "model", "trunk")
SPACETORCH_POSITIONS = ("spacetorch.models.positions", "LayerPositions")
_BASE_MODEL, _FEATURE_BLOCKS = "base_model.", "_feature_blocks."
_BLOCK_NAME = re.compile(r"^layer(\d)_(\d)\.")


class _SpacetorchLayerPositions:
    """Stands in for ``spacetorch.models.positions.LayerPositions`` while unpickling: its fields only."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _feature_block_key(key: str) -> str:
    """A ``_feature_blocks`` key in torchvision's names: spacetorch names the block ``layer1_0`` for ``layer1.0``."""
    return _BLOCK_NAME.sub(lambda m: f"layer{m.group(1)}.{m.group(2)}.", key)


def tdann_trunk(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The trunk's state dict from a TDANN (VISSL) checkpoint, in torchvision's key names.

    A trunk saved from spacetorch's ``SpatialResNet18`` holds every weight twice: as the torchvision
    ``base_model.*`` and as the ``_feature_blocks.*`` modules that share them (``layer1_0`` for
    ``layer1.0``). The two must hold the same tensors, as they do when spacetorch writes them (both of
    TDANN's loaders read either); the ``base_model`` set is kept. A trunk with only one of them (or
    neither prefix) is read as it is; ``module.`` prefixes are dropped.
    """
    path = Path(path)
    trunk = read_checkpoint_file(path, flag="--weights")
    for key in TDANN_TRUNK:
        if not isinstance(trunk, dict) or key not in trunk:
            raise CheckpointError(f"{path} is not a TDANN (VISSL) checkpoint: no {'/'.join(TDANN_TRUNK)} inside; for "
                                  "a plain state dict use `topoanalysis import state-dict`")
        trunk = trunk[key]
    if not isinstance(trunk, dict) or not trunk or not all(isinstance(v, torch.Tensor) for v in trunk.values()):
        raise CheckpointError(f"{path}: the TDANN trunk holds no tensors")
    base, blocks, plain = {}, {}, {}
    for key, value in trunk.items():
        key = key.removeprefix("module.")
        if key.startswith(_BASE_MODEL):
            base[key.removeprefix(_BASE_MODEL)] = value
        elif key.startswith(_FEATURE_BLOCKS):
            blocks[_feature_block_key(key.removeprefix(_FEATURE_BLOCKS))] = value
        else:
            plain[key] = value
    if base and blocks:
        for key, value in blocks.items():
            if key not in base or base[key].shape != value.shape or not torch.equal(base[key], value):
                raise CheckpointError(f"{path}: the trunk's _feature_blocks weight {key!r} is not its base_model "
                                      "weight (spacetorch writes one set of tensors under both names); the file "
                                      "holds two different networks, so which one to analyse is ambiguous")
        blocks = {}
    return {**plain, **blocks, **base}


def read_tdann_layer(path: str | os.PathLike) -> tuple[tuple[int, int, int], np.ndarray, float]:
    """``(dims, coordinates_mm, neighborhood_width_mm)`` of one TDANN positions file (.npz or .pkl)."""
    path = Path(path)
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as npz:
                fields = {name: npz[name] for name in ("dims", "coordinates", "neighborhood_width") if name in npz}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:  # truncated or foreign
            raise CheckpointError(f"{path}: not a readable .npz positions file ({type(exc).__name__}: "
                                  f"{str(exc)[:200]}); copy it again from TDANN's positions directory") from None
    elif path.suffix == ".pkl":
        allowed = {**numpy_array_globals(), SPACETORCH_POSITIONS: _SpacetorchLayerPositions}
        with open(path, "rb") as handle:
            obj = restricted_load(handle, allowed, source=str(path), encoding="latin1")
        if not isinstance(obj, _SpacetorchLayerPositions):
            raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a spacetorch LayerPositions")
        fields = {name: getattr(obj, name) for name in ("dims", "coordinates", "neighborhood_width")
                  if hasattr(obj, name)}
    else:
        raise CheckpointError(f"{path}: TDANN positions files end in .npz or .pkl")
    missing = [name for name in ("dims", "coordinates", "neighborhood_width") if name not in fields]
    if missing:
        raise CheckpointError(f"{path}: no {', '.join(missing)} field(s); is this a TDANN positions file?")
    dims = tuple(int(v) for v in np.asarray(fields["dims"]).reshape(-1))
    coordinates = np.asarray(fields["coordinates"], dtype=np.float64)
    if len(dims) != 3 or coordinates.shape != (int(np.prod(dims)), 2) or not np.isfinite(coordinates).all():
        raise CheckpointError(f"{path}: coordinates of shape {coordinates.shape} do not fit dims {dims} (need C*H*W x "
                              "2, finite)")
    return dims, coordinates, float(np.asarray(fields["neighborhood_width"]).item())


def read_tdann_positions(directory: str | os.PathLike, layers) -> dict[str, tuple]:
    """``{layer: (dims, coordinates_mm, neighborhood_width_mm)}`` from a TDANN positions directory."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataNotFoundError(f"--positions {directory}: no such folder; pass TDANN's positions directory "
                                "(one layer1.0.npz|pkl ... layer4.1.npz|pkl per layer)")
    found = {}
    for layer in layers:
        files = [file for file in (directory / f"{layer}.npz", directory / f"{layer}.pkl") if file.is_file()]
        if not files:
            raise DataNotFoundError(f"{directory} has no {layer}.npz or {layer}.pkl; TDANN's positions directory "
                                    "holds one file per layer, layer1.0 ... layer4.1")
        found[layer] = read_tdann_layer(files[0])
    return found


def _sheets(positions: dict[str, tuple], shapes: dict[str, tuple], areas: dict[str, str],
            source: str) -> dict[str, LayerPositions]:
    sheets = {}
    for layer, (dims, xy_mm, width_mm) in positions.items():
        if tuple(dims) != tuple(shapes[layer]):
            raise CheckpointError(f"{source}: positions for {layer} are for a {tuple(dims)} map, but the network's "
                                  f"{layer} is {tuple(shapes[layer])} at this input size; pass the --input-size they "
                                  "were made for")
        if (xy_mm < 0).any():
            raise CheckpointError(f"{source}: {layer} has negative coordinates; sheets start at 0 mm")
        size_mm = max(AREA_SHEET_SIZE_MM.get(areas[layer], 0.0), float(xy_mm.max()))
        sheets[layer] = LayerPositions(layer, tuple(dims), xy_mm, size_mm, width_mm, areas[layer])
    return sheets


def _classifierless(state: dict, kwargs: dict) -> dict:
    """``state`` with a zero classifier added when it has none (TDANN's trunk): logits all 0, chance accuracy."""
    if "fc.weight" in state:
        return state
    features = state["layer4.1.conv2.weight"].shape[0] if "layer4.1.conv2.weight" in state else None
    if features is None:
        raise CheckpointError("the state dict has no layer4.1.conv2.weight: not a ResNet-18 trunk")
    kwargs.setdefault("num_classes", 1000)
    return {**state, "fc.weight": torch.zeros(kwargs["num_classes"], features), "fc.bias":
            torch.zeros(kwargs["num_classes"])}


def _infer_trunk(state: dict, path: Path) -> dict:
    """A ResNet-18 trunk's constructor kwargs (a trunk without classifier gets no class count)."""
    probe = dict(state)
    probe.setdefault("fc.weight", torch.zeros(1000, 1))
    kwargs = resnet.infer_kwargs(probe, path)
    if "fc.weight" not in state:
        del kwargs["num_classes"]
    return kwargs


def _check_neuron_given(arch: str, read: str | None, given: str | None, path: Path) -> None:
    """CheckpointError when the neuron kind given (``--neuron``) or the architecture contradicts the file: PLIF
    neurons hold a learnable ``w`` (``read`` is ``"plif"`` when the family's ``infer_kwargs`` found it), LIF and IF
    neurons hold nothing, and ReLUs are no PLIF neurons."""
    if read == "plif" and constructor_kwargs(arch, {}).get("neuron_kind") == "relu":
        raise CheckpointError(f"{path}: its neurons hold a learnable time constant (w): they are PLIF, so the file is "
                              f"a spiking network's, not {arch}'s (ReLU); pass the spiking --arch of its family")
    if given is None or (given == "plif") == (read == "plif"):
        return
    if read == "plif":
        raise CheckpointError(f"{path}: its neurons hold a learnable time constant (w), so they are PLIF, not "
                              f"{given!r}; pass --neuron plif or leave --neuron out")
    raise CheckpointError(f"{path}: no neuron holds a learnable time constant (w), so they are not PLIF; pass "
                          "--neuron lif or --neuron if")


def _build(arch: str, state: dict, path: Path, input_size_px: int | None, *,
           trunk: bool = False, arch_kwargs: dict | None = None) -> tuple[nn.Module, dict, int]:
    """``(model, kwargs, input size)``; ``trunk``: a ResNet-18 without classifier gets a zero one; ``arch_kwargs``
    override what is read off the tensors and the family's defaults (checked before anything is built)."""
    if input_size_px is not None:
        check_spec_numbers(input_size_px=input_size_px)
    if trunk:
        kwargs = _infer_trunk(state, path)
        state = _classifierless(state, kwargs)
    else:
        family = family_of(arch)
        kwargs = {**family.infer_kwargs(state, path), **family.plain_defaults}
        _check_neuron_given(arch, kwargs.get("neuron_kind"), (arch_kwargs or {}).get("neuron_kind"), path)
    kwargs.update(arch_kwargs or {})
    check_arch_kwargs(arch, kwargs, as_flags=True)
    model = create_model(arch, **kwargs)
    load_weights(model, state, path, strict=True, python_hint=False)
    size = input_size_px or (224 if kwargs.get("stem", "imagenet") == "imagenet" else 32)
    return model.eval(), kwargs, size


def import_tdann(weights: str | os.PathLike, positions: str | os.PathLike, *,
                 input_size_px: int = 224) -> tuple[nn.Module, CheckpointSpec]:
    """A TDANN checkpoint and its positions directory as ``(model, spec)`` (arch ``resnet18``, ReLU)."""
    weights, positions = Path(weights), Path(positions)
    state = tdann_trunk(weights)
    model, kwargs, size = _build("resnet18", state, weights, input_size_px, trunk=True)
    areas = dict(resnet.LAYER_AREAS)
    coordinates = read_tdann_positions(positions, list(areas))
    sheets = _sheets(coordinates, layer_shapes(model, size, list(areas)), areas, str(positions))
    provenance = {"source": f"TDANN checkpoint {weights.name} (sha256 {_sha256(weights)})",
                  "sheets": f"TDANN positions directory {positions.name}, one file per layer, coordinates as given",
                  "classifier": "none in the file (TDANN's trunk only): fc is zero, so accuracy-based analyses "
                                "(temporal, robustness) are meaningless for this model",
                  "normalisation": "ImageNet mean/std", "imported": "topoanalysis import tdann"}
    spec = CheckpointSpec(arch="resnet18", arch_kwargs=kwargs, timesteps=1, input_size_px=size,
                          mean=IMAGENET_MEAN, std=IMAGENET_STD, layer_areas=areas, sheets=sheets,
                          provenance=provenance)
    return model, spec


def _positions_file(path: Path, shapes: dict[str, tuple], areas: dict[str, str]) -> dict[str, tuple]:
    """``{layer: (dims, coordinates, width)}`` from a save_sheets file or one (N, 2) array per layer."""
    try:
        return {name: (sheet.shape_chw, np.asarray(sheet.xy_mm, float), sheet.neighborhood_width_mm)
                for name, sheet in load_sheets(path).items()}
    except ValueError as exc:
        if "__layers__" not in str(exc):
            raise
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: np.asarray(npz[name], dtype=np.float64) for name in npz.files}
    unknown = sorted(set(arrays) - set(areas))
    if unknown:
        raise CheckpointError(f"{path}: arrays {unknown} name no layer with an area ({', '.join(areas)})")
    return {name: (shapes[name], xy, AREA_NEIGHBORHOOD_WIDTH_MM.get(areas[name], 1.0)) for name, xy in arrays.items()}


def import_state_dict(weights: str | os.PathLike, arch: str, positions: str | os.PathLike, *,
                      input_size_px: int | None = None, arch_kwargs: dict | None = None
                      ) -> tuple[nn.Module, CheckpointSpec]:
    """A plain state dict of ``arch``'s family (reference key names) with positions from an ``.npz`` file.

    ``arch_kwargs`` give what the tensors cannot (neuron kind, tau, threshold, surrogate, T, SEW's connect
    function); the card records each such setting as given or assumed (:func:`assumed_settings`).
    """
    weights, positions = Path(weights), Path(positions)
    if not positions.is_file():
        raise DataNotFoundError(f"--positions {positions}: no such file; pass an .npz of positions")
    state = unwrap_state_dict(read_checkpoint_file(weights, flag="--weights"), weights)
    model, kwargs, size = _build(arch, state, weights, input_size_px, arch_kwargs=arch_kwargs)
    areas = family_of(arch).areas_of(model)
    shapes = layer_shapes(model, size, list(areas))
    coordinates = _positions_file(positions, shapes, areas)
    sheets = _sheets(coordinates, shapes, {**areas}, str(positions))
    provenance = {"source": f"plain state dict {weights.name} (sha256 {_sha256(weights)})",
                  "sheets": f"positions file {positions.name} (sha256 {_sha256(positions)})",
                  "normalisation": "ImageNet mean/std assumed", "imported": "topoanalysis import state-dict",
                  **({"defaults": family_of(arch).plain_notes} if family_of(arch).plain_notes else {}),
                  **assumed_settings(arch, kwargs, given=set(arch_kwargs or {}))}
    spec = CheckpointSpec(arch=arch, arch_kwargs=kwargs, timesteps=getattr(model, "timesteps", 1),
                          input_size_px=size, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                          layer_areas={name: areas[name] for name in sheets}, sheets=sheets, provenance=provenance)
    return model, spec
