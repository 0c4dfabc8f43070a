"""What every analysis shares: the checkpoints it compares, how the networks run, and its result.

An analysis module (``v1``, ``it``, ``brain``, ``temporal``, ``robustness``) exposes a
frozen params dataclass (every default lives there, and bad values fail on construction),
``check_data(params)`` (the data it reads is there; ``run`` calls it first), ``run(models,
params, runtime) -> Result``, and its :class:`Result` subclass. A result is a JSON-able ``record`` (parameters,
per-model summaries, checkpoint hashes, timings) plus named tables; ``save(folder)`` writes
``<table>.csv`` for each table, the figures (drawn from the tables, PNG and PDF) and the
record as ``<analysis>_results.json`` (last, so a folder with it is complete);
``load(folder)`` reads it back, so a saved result redraws and reports exactly like a fresh one.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import pandas as pd

from ..errors import DataNotFoundError, InputError
from ..outputs import save_figure, write_csv, write_json

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch import nn

    from ..models.checkpoints import CheckpointSpec
    from ..training.data import ImageArrays

logger = logging.getLogger(__name__)


_LOADED: ContextVar[dict | None] = ContextVar("topoanalysis_loaded_checkpoints", default=None)


@contextlib.contextmanager
def load_each_checkpoint_once() -> Iterator[None]:
    """Within this block, a checkpoint file (same path, size and modification time) is read and hash-checked
    once; later loads get a fresh copy of the loaded network (so no analysis sees another's changes to it).
    The report runs inside one; the cache is dropped on exit."""
    token = _LOADED.set({} if _LOADED.get() is None else _LOADED.get())
    try:
        yield
    finally:
        _LOADED.reset(token)


@dataclass(frozen=True)
class ModelFile:
    """A checkpoint to analyse; ``arch`` names the architecture of a plain state dict without metadata."""

    path: Path
    arch: str | None = None

    def load(self, device: str = "cpu") -> tuple[nn.Module, CheckpointSpec]:
        from ..models import checkpoints

        cache = _LOADED.get()
        if cache is None:
            return checkpoints.load_checkpoint(self.path, arch=self.arch, device=device)
        stat = self.path.stat() if self.path.is_file() else None
        key = (str(self.path.resolve()), self.arch, stat and (stat.st_size, stat.st_mtime_ns))
        if key not in cache:
            cache[key] = checkpoints.load_checkpoint(self.path, arch=self.arch, device="cpu")
        model, spec = cache[key]
        return copy.deepcopy(model).to(device), spec

    @property
    def label(self) -> str:
        """Where the model comes from, for logs and records."""
        return str(self.path)


@dataclass(frozen=True, eq=False)
class InMemoryModel:
    """A network already in memory, with its spec (e.g. just trained, or loaded and modified): analysed as is."""

    model: nn.Module
    spec: CheckpointSpec

    def load(self, device: str = "cpu") -> tuple[nn.Module, CheckpointSpec]:
        return self.model.to(device), self.spec

    @property
    def label(self) -> str:
        return f"in memory ({self.spec.arch})"


def network_family(file: ModelFile | InMemoryModel) -> str:
    """``"spiking"`` for a network with spiking neurons, ``"ReLU"`` for one without (e.g. the ReLU twin, TDANN)."""
    from ..models.lif import is_spiking

    return "spiking" if is_spiking(file.load()[0]) else "ReLU"


Models = Mapping[str, "str | os.PathLike | ModelFile | InMemoryModel | tuple"]
"""Model name (its label in tables and figures) -> checkpoint path, :class:`ModelFile`, or a loaded
``(model, spec)`` pair (as :func:`topoanalysis.load` returns), in the order they are compared."""


def data_path(given: str | None, data_set: str) -> Path:
    """The path an analysis reads ``data_set`` from: ``given`` (a params field), else the default data folder's."""
    from ..datasets.resolver import default_data_path

    return Path(given) if given not in (None, "none") else default_data_path(data_set)


def check_seed(seed, name: str = "seed") -> None:
    """:class:`~topoanalysis.errors.InputError` unless ``seed`` is a whole number >= 0 (what numpy's generators
    accept); ``name`` is the parameter it came from."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"{name} must be a whole number >= 0, got {seed!r}", parameter=name)


def _as_model(name: str, model) -> ModelFile | InMemoryModel:
    from ..models.checkpoints import CheckpointSpec

    if isinstance(model, (ModelFile, InMemoryModel)):
        return model
    if isinstance(model, tuple):
        if len(model) != 2 or not isinstance(model[1], CheckpointSpec):
            raise InputError(f"model {name!r}: a loaded model is a (model, spec) pair, as topoanalysis.load returns; "
                             f"got a tuple of {len(model)} items")
        return InMemoryModel(*model)
    if not isinstance(model, (str, os.PathLike)):
        raise InputError(f"model {name!r}: pass a checkpoint path or a (model, spec) pair, got {type(model).__name__}")
    return ModelFile(Path(model))


def model_files(models: Models) -> dict[str, ModelFile | InMemoryModel]:
    """``models`` with every entry a :class:`ModelFile` or :class:`InMemoryModel`; at least one is needed."""
    if not models:
        raise InputError("no checkpoints to analyse: pass at least one {name: path or (model, spec)}")
    return {str(name): _as_model(str(name), model) for name, model in models.items()}


def check_models(files: Mapping[str, ModelFile], flags: tuple[str, ...] = ("--ckpt", "--baseline")) -> list:
    """Load every checkpoint once, before any work, so a bad one fails first; returns their specs.

    ``flags`` name the options the files came from, in order, for the error messages.
    """
    specs = []
    for flag, file in zip(flags, files.values()):
        if isinstance(file, InMemoryModel):
            specs.append(file.spec)
            continue
        if not file.path.is_file():
            hint = ", or --baseline none" if flag == "--baseline" else ""
            raise DataNotFoundError(f"{flag} {file.path}: no such checkpoint file; pass an existing file (the bundled "
                                    f"ones are in checkpoints/){hint}")
        specs.append(file.load()[1])
    return specs


@dataclass(frozen=True)
class Runtime:
    """Where and how the networks run.

    ``device`` (None: CUDA when available), ``batch_size`` (None: per model,
    :func:`~topoanalysis.running.inputs.default_batch_size` of its input size and T) and ``compile`` (recordings through
    ``torch.compile`` with the plain-ops LIF) change results only by floating-point round-off;
    ``precision`` ("fp32", the tested reference, or "bf16") changes them more, so the report
    keys its cache on it.
    """

    device: str | None = None
    precision: str = "fp32"
    batch_size: int | None = None
    progress: bool = True
    compile: bool = False

    def __post_init__(self) -> None:
        if self.precision not in ("fp32", "bf16"):
            raise InputError(f"unknown precision {self.precision!r}; use fp32 or bf16")
        if self.batch_size is not None and self.batch_size < 1:
            raise InputError(f"batch size must be >= 1, got {self.batch_size}")

    def batch_size_for(self, spec: CheckpointSpec) -> int:
        """``batch_size``, or the default for ``spec``'s input size and T."""
        from ..running.inputs import default_batch_size

        return self.batch_size or default_batch_size(spec.input_size_px, spec.timesteps)

    def recording_options(self, spec: CheckpointSpec | None = None) -> dict:
        """Keyword arguments of :func:`topoanalysis.running.recording.record` (for ``spec``'s model: its default batch
        size when ``batch_size`` is None; without ``spec``, ``record`` picks it)."""
        batch_size = self.batch_size_for(spec) if spec is not None else self.batch_size
        return {"batch_size": batch_size, "device": self.device, "precision": self.precision,
                "progress": self.progress, "compile": self.compile}


def checkpoint_info(file: ModelFile | InMemoryModel, spec: CheckpointSpec) -> dict:
    """Where a model came from, for a result's record."""
    return {"checkpoint": file.label, "checkpoint_sha256": spec.content_sha256}


def choose_layer(spec: CheckpointSpec, requested: str | None, area: str) -> str:
    """``requested`` if the checkpoint has a sheet for it; else the layer standing for ``area``."""
    valid = list(spec.sheets)
    if requested is not None:
        if requested not in valid:
            raise InputError(f"unknown layer {requested!r}; layers with a sheet: {', '.join(valid)}", parameter="layer")
        return requested
    layer = spec.layer_for(area)
    if layer is None:
        raise InputError(f"the checkpoint maps no layer to {area}; pass a layer (one of: {', '.join(valid)})",
                         parameter="layer")
    if layer not in valid:
        raise InputError(f"{area}'s layer {layer} has no sheet in this checkpoint; pass a layer (one of: "
                         f"{', '.join(valid)})", parameter="layer")
    return layer


def model_first(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its ``model`` column first."""
    return table[["model"] + [c for c in table.columns if c != "model"]]


def stacked_tables(results: Mapping, attribute: str) -> pd.DataFrame:
    """One table of ``result.<attribute>`` over models, with a leading ``model`` column."""
    tables = [getattr(result, attribute).assign(model=name) for name, result in results.items()
              if getattr(result, attribute) is not None]
    if not tables:
        return pd.DataFrame()
    return model_first(pd.concat(tables, ignore_index=True))


def check_evaluation_data(dataset: str, data_path: str | None) -> None:
    """Fail before any work when the test images of :func:`evaluation_data` are not there."""
    from ..datasets.resolver import DATA_SETS, find_data_file

    if dataset == "cifar10":
        find_data_file(DATA_SETS["cifar10"], data_path, what="CIFAR-10 JPEG zip", flag="--data-path")
    elif dataset == "imagefolder" and (data_path is None or not Path(data_path).is_dir()):
        raise DataNotFoundError(f"data 'imagefolder' needs data_path ROOT, an existing folder of <class>/<image> "
                                f"files or one holding val/<class>/<image> (got {data_path})", parameter="data_path")


def evaluation_data(spec: CheckpointSpec, model: nn.Module, dataset: str, data_path: str | None,
                    n_per_class: int) -> ImageArrays:
    """Labelled test images for the checkpoint's classifier, checking the class count matches.

    ``dataset`` is "cifar10" (the test split of ``cifar10-jpeg.zip``) or "imagefolder" (the
    ``val`` split of a folder of ``<class>/<image>`` files at ``data_path``).
    """
    import numpy as np

    from ..training.data import ImageArrays, ImageFolder, load_cifar10_zip

    if n_per_class < 1:
        raise InputError(f"n_per_class must be >= 1, got {n_per_class}", parameter="n_per_class")
    if dataset == "cifar10":
        data = load_cifar10_zip(data_path, "test", limit_per_class=n_per_class, flag="--data-path")
    elif dataset == "imagefolder":
        if data_path is None:
            raise InputError("data 'imagefolder' needs data_path ROOT (a folder of <class>/<image> files, or "
                             "one holding val/<class>/<image>)", parameter="data_path")
        root = Path(data_path)
        folder = ImageFolder(root / "val" if (root / "val").is_dir() else root, spec.input_size_px)
        chosen = [i for label in range(len(folder.classes))
                  for i in [j for j, (_, y) in enumerate(folder.samples) if y == label][:n_per_class]]
        items = [folder[i] for i in chosen]
        data = ImageArrays(np.stack([image for image, _ in items]), np.array([y for _, y in items], dtype=np.int64),
                           folder.classes, tuple(spec.mean), tuple(spec.std), f"{folder.root}")
    else:
        raise InputError(f"unknown evaluation data {dataset!r}; use cifar10 or imagefolder")
    from ..models.registry import constructor_kwargs

    n_classes = constructor_kwargs(spec.arch, spec.arch_kwargs).get("num_classes")
    if n_classes is not None and n_classes != len(data.classes):
        raise InputError(f"the checkpoint classifies {n_classes} classes but {data.source} has {len(data.classes)} "
                         f"({', '.join(data.classes[:5])}{' ...' if len(data.classes) > 5 else ''}); pass the data "
                         "it was trained on: data 'cifar10' for CIFAR-10 checkpoints, 'imagefolder' with a data_path "
                         "ROOT for others", parameter="data")
    return data


@dataclass
class Result:
    """An analysis's outcome: a JSON-able ``record`` and named tables (see the module docstring)."""

    record: dict
    tables: dict[str, pd.DataFrame]

    analysis: ClassVar[str] = ""
    """Short name: the JSON file is ``<analysis>_results.json``."""

    @property
    def models(self) -> list[str]:
        """Model names in the order they were compared."""
        return list(self.record["models"])

    def table(self, name: str) -> pd.DataFrame:
        """A table by name; an empty frame when the analysis produced none."""
        return self.tables.get(name, pd.DataFrame())

    def figures(self) -> dict[str, Figure]:
        """``{file stem: figure}``, drawn from the tables."""
        return {}

    def _save_extra(self, out: Path) -> list[Path]:
        return []

    @classmethod
    def _load_extra(cls, folder: Path) -> dict:
        return {}

    def save(self, out: str | os.PathLike) -> list[Path]:
        """Write tables, figures and the record under ``out``; returns the files written."""
        import matplotlib.pyplot as plt

        out = Path(out)
        saved = [name for name, table in self.tables.items() if len(table.columns)]
        written = [write_csv(self.tables[name], out / f"{name}.csv") for name in saved]
        written += self._save_extra(out)
        logger.info("drawing figures")
        for stem, figure in self.figures().items():
            written += save_figure(figure, out, stem)
            plt.close(figure)
        written.append(write_json({**self.record, "tables": saved}, out / f"{self.analysis}_results.json"))
        return written

    @classmethod
    def load(cls, folder: str | os.PathLike):
        """Read a result that :meth:`save` wrote."""
        folder = Path(folder)
        path = folder / f"{cls.analysis}_results.json"
        if not path.is_file():
            raise DataNotFoundError(f"{folder} holds no saved {cls.analysis} result ({path.name} is missing)")
        record = json.loads(path.read_text())
        tables = {name: pd.read_csv(folder / f"{name}.csv") for name in record.pop("tables", [])}
        return cls(record, tables, **cls._load_extra(folder))


@dataclass
class MapResult(Result):
    """A result about the maps on one layer's sheet (V1, IT): its layer, parameters and smoothness."""

    @property
    def layer(self) -> str:
        return self.record["layer"]

    @property
    def parameters(self) -> dict:
        """The metric parameters as applied to this layer."""
        return self.record["parameters"]

    @property
    def smoothness(self) -> pd.DataFrame:
        """Smoothness per model and metric or domain, with SEM and shuffled-position chance."""
        return self.table("smoothness")
