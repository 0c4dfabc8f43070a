"""Temporal dynamics (the paper's Figure 1) on each checkpoint's test images.

Firing rate and spike-train entropy of every layer, per timestep and over the window, at
several inference T; the entropy shift (first model minus second); accuracy vs T; Fisher
information per timestep and connection (:mod:`topoanalysis.running.dynamics`). Tables
``temporal_stats``, ``accuracy_vs_timesteps``, ``fisher`` and ``entropy_shift`` (two models);
figure ``temporal``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import pandas as pd

from .. import __version__
from ..errors import InputError
from ..metrics.temporal import entropy_shift
from ..models.registry import MAX_TIMESTEPS
from .base import (
    Models,
    Result,
    Runtime,
    check_evaluation_data,
    checkpoint_info,
    data_path,
    evaluation_data,
    model_files,
)
from .registry import Analysis

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TemporalParams:
    """``timesteps``: inference T values (1 to ``MAX_TIMESTEPS``, 256); ``fisher_images``: images for
    the Fisher information;
    ``fisher_batch_size``: 1 for per-image gradients (Eq. 8 exactly), larger for Kim et al.'s
    batch estimate; ``data``/``data_path``/``n_per_class``: the test images (see
    :func:`topoanalysis.analyses.base.evaluation_data`)."""

    timesteps: tuple[int, ...] = (1, 2, 4, 6, 8)
    fisher_images: int = 64
    fisher_batch_size: int = 1
    data: str = "cifar10"
    data_path: str | None = None
    n_per_class: int = 25

    def __post_init__(self) -> None:
        if not self.timesteps or min(self.timesteps) < 1:
            raise InputError(f"timesteps must be >= 1; got {list(self.timesteps)}", parameter="timesteps")
        if max(self.timesteps) > MAX_TIMESTEPS:
            raise InputError(f"timesteps {max(self.timesteps)} is above the limit of {MAX_TIMESTEPS} (memory grows "
                             "with T: each layer's spikes are kept for every step); pass smaller values",
                             parameter="timesteps")
        for name in ("fisher_images", "fisher_batch_size", "n_per_class"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1, got {getattr(self, name)}", parameter=name)


@dataclass
class TemporalResult(Result):
    """Temporal dynamics of every model: spike statistics per layer and T, accuracy vs T, Fisher information per
    timestep and connection, and the entropy shift of the first model over the second."""

    analysis = "temporal"

    @property
    def timesteps(self) -> list[int]:
        return self.record["timesteps"]

    @property
    def fisher_description(self) -> str:
        return self.record["fisher"]

    @property
    def entropy_shift(self) -> pd.DataFrame:
        return self.table("entropy_shift")

    def figures(self) -> dict:
        from ..plotting.temporal import temporal_figure

        shift = self.entropy_shift if len(self.entropy_shift.columns) else None
        return {"temporal": temporal_figure(self.table("temporal_stats"), self.table("accuracy_vs_timesteps"),
                                            self.table("fisher"), shift)}


def check_data(params: TemporalParams) -> None:
    """Fail before any work when the test images are not there."""
    check_evaluation_data(params.data, params.data_path)


def run(models: Models, params: TemporalParams = TemporalParams(), runtime: Runtime = Runtime()) -> TemporalResult:
    """Spike statistics, accuracy vs T and Fisher information for each checkpoint.

    Each model runs at ``params.timesteps`` and at its own T (10 for a spiking CORnet-RT); Fisher information
    at its own T, per connection of its family (:attr:`~topoanalysis.models.family.Family.connections`)."""
    from ..running.dynamics import accuracy_vs_timesteps, as_stimulus_set, fisher_information, layer_spike_statistics
    from ..running.inputs import default_batch_size

    check_data(params)
    stats, accuracy, fisher, infos = [], [], [], {}
    for name, file in model_files(models).items():
        started = time.perf_counter()
        model, spec = file.load()
        data = evaluation_data(spec, model, params.data, params.data_path, params.n_per_class)
        stimuli = as_stimulus_set(data.images, "test", spec.visual_degrees)
        sweep = sorted(set(params.timesteps) | {spec.timesteps})  # the sweep and the model's own T
        batch = {steps: runtime.batch_size or default_batch_size(spec.input_size_px, steps) for steps in sweep}
        logger.info(f"{name}: spike statistics for T = {sweep} on {len(stimuli)} images")
        for steps in sweep:
            stats.append(layer_spike_statistics(model, spec, stimuli, timesteps=steps, batch_size=batch[steps],
                                                device=runtime.device).assign(model=name))
        accuracy.append(accuracy_vs_timesteps(model, spec, data.images, data.labels, sweep, batch_size=batch[sweep[-1]],
                                              device=runtime.device).assign(model=name))
        n = min(params.fisher_images, len(data.labels))
        fisher.append(fisher_information(model, spec, data.images[:n], data.labels[:n],
                                         batch_size=params.fisher_batch_size, device=runtime.device,
                                         progress=runtime.progress).assign(model=name))
        infos[name] = {**checkpoint_info(file, spec), "data": data.source, "n_images": len(data.labels),
                       "batch_size": {str(steps): size for steps, size in batch.items()},
                       "seconds": round(time.perf_counter() - started, 2)}
    tables = {"temporal_stats": pd.concat(stats, ignore_index=True),
              "accuracy_vs_timesteps": pd.concat(accuracy, ignore_index=True),
              "fisher": pd.concat(fisher, ignore_index=True)}
    names = list(infos)
    if len(names) > 1:
        table = tables["temporal_stats"]
        tables["entropy_shift"] = entropy_shift(table[table["model"] == names[0]], table[table["model"] == names[1]])
    record = {
        "command": "temporal", "version": __version__, "timesteps": list(params.timesteps), "models": infos,
        "entropy": "binary entropy (bits) of each neuron's firing probability, mean over neurons; per timestep "
                   "and over the window (timestep = -1)",
        "fisher": f"Eq. 8, cumulative-mean logits up to t, per-connection trace (SE over batches), batch size "
                  f"{params.fisher_batch_size} "
                  f"on {min(params.fisher_images, infos[names[0]]['n_images'])} images",
        "entropy_shift": f"{names[0]} - {names[1]}" if len(names) > 1 else None,
    }
    return TemporalResult(record, tables)


ANALYSIS = Analysis(name="temporal", title="Temporal dynamics (Figure 1)", params=TemporalParams, result=TemporalResult,
                    run=run, check_data=check_data,
                    data_sets=lambda params: [data_path(params.data_path, "cifar10")],
                    cli="topoanalysis.cli.temporal", needs_spikes=True,
                    report_params=TemporalParams(n_per_class=10, timesteps=(1, 2, 4, 8), fisher_images=32))
