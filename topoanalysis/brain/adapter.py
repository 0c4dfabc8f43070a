"""A loaded checkpoint as a Brain-Score ``BrainModel`` (``brainscore_vision.model_interface``).

Brain-Score's own ``PytorchWrapper`` + ``ModelCommitment`` do not fit a spiking network
on this stack: their hooks see ``[T, B, ...]`` multi-step outputs, and their assembly
packaging passes coordinates to ``NeuroidAssembly(values, coords=..., dims=...)``, which
drops them on xarray >= 2024 (ENVIRONMENT.md). The ``TopoBrainModel`` returned by :func:`brain_model` implements the
same interface directly: it commits each region to a layer (from the checkpoint's
layer -> area map), presents the stimuli at the checkpoint's visual degrees, records the
layer with :func:`topoanalysis.running.recording.record` (firing rates over the T timesteps),
and returns a ``NeuroidAssembly`` built through indexes, with each unit's position on its
cortical sheet as ``tissue_x`` / ``tissue_y`` (mm) next to ``channel``, ``channel_x``,
``channel_y``.

Besides neural recordings under passive fixation, the model performs Brain-Score's ``probabilities``
task the way Brain-Score's own model commitment does (:mod:`topoanalysis.brain.behaviour`): a
standardised multinomial logistic regression fitted on the IT layer's rates to the fitting stimuli's
``image_label``.

Call :func:`configure_brainscore` before importing ``brainscore_vision``: it turns off
Brain-Score's run-time ``pip install`` and keeps its caches under a project folder. The adapter does
so itself unless ``brainscore_vision`` is imported already: then whoever imported it (Brain-Score's
own scoring run, loading an exported plugin) has set it up, and its settings are left alone.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from ..datafiles import decode_image
from ..errors import InputError
from ..paths import REPO_ROOT
from ..running.recording import record
from ..stimuli.base import StimulusSet, rgb_array
from .behaviour import ProbabilitiesReadout

if TYPE_CHECKING:
    from torch import nn

    from ..models.checkpoints import CheckpointSpec

BRAINSCORE_CACHE_ENV = "TOPOANALYSIS_BRAINSCORE_HOME"
REGIONS = ("V1", "V2", "V4", "IT")
TASKS = ("passive", "probabilities")
"""The Brain-Score tasks the model performs (``BrainModel.Task``)."""


def configure_brainscore(cache_dir: str | os.PathLike | None = None) -> Path:
    """Set Brain-Score's environment: no run-time installs, caches under ``cache_dir``.

    ``cache_dir`` defaults to ``$TOPOANALYSIS_BRAINSCORE_HOME`` or ``.cache/brainscore`` in
    the repository. Sets ``BS_INSTALL_DEPENDENCIES=no`` and, unless already set,
    ``BRAINIO_HOME``, ``BRAINSCORE_HOME`` and ``RESULTCACHING_HOME`` below it.
    """
    root = Path(cache_dir or os.environ.get(BRAINSCORE_CACHE_ENV) or REPO_ROOT / ".cache" / "brainscore")
    root.mkdir(parents=True, exist_ok=True)
    os.environ["BS_INSTALL_DEPENDENCIES"] = "no"
    for name, sub in (("BRAINIO_HOME", "brainio"), ("BRAINSCORE_HOME", "brainscore"),
                      ("RESULTCACHING_HOME", "result_caching")):
        os.environ.setdefault(name, str(root / sub))
    return root


def neuroid_assembly(values: np.ndarray, presentation: dict, neuroid: dict, time_bins=None):
    """A ``NeuroidAssembly`` whose coords survive on new xarray (built via ``set_index``).

    ``values`` is ``(presentation, neuroid)`` or, with ``time_bins`` (a list of
    ``(start_ms, end_ms)``), ``(presentation, neuroid, time_bin)``. Each dimension needs
    at least two coords: with one, xarray makes a plain index that Brain-Score's
    constructor drops, and its regression packaging fails.
    """
    for dim, names in (("presentation", presentation), ("neuroid", neuroid)):
        if len(names) < 2:
            raise InputError(f"{dim} needs at least two coords (e.g. stimulus_id and stimulus_path, or neuroid_id "
                             f"and region); got {list(names)}")
    coords = {name: ("presentation", np.asarray(v)) for name, v in presentation.items()}
    coords.update({name: ("neuroid", np.asarray(v)) for name, v in neuroid.items()})
    dims = ["presentation", "neuroid"]
    index = {"presentation": list(presentation), "neuroid": list(neuroid)}
    if time_bins is not None:
        starts, ends = zip(*time_bins)
        coords.update(time_bin_start=("time_bin", np.asarray(starts)), time_bin_end=("time_bin", np.asarray(ends)))
        dims.append("time_bin")
        index["time_bin"] = ["time_bin_start", "time_bin_end"]
    return _assembly("NeuroidAssembly", xr.DataArray(values, coords=coords, dims=dims).set_index(index))


def behavioral_assembly(probabilities: np.ndarray, presentation: dict, choices):
    """A ``BehavioralAssembly`` of ``probabilities`` (presentation x choice) with ``choices`` as the ``choice`` coord.

    ``presentation`` needs at least two coords, as for :func:`neuroid_assembly`.
    """
    if len(presentation) < 2:
        raise InputError(f"presentation needs at least two coords (e.g. stimulus_id and stimulus_path); got "
                         f"{list(presentation)}")
    coords = {name: ("presentation", np.asarray(v)) for name, v in presentation.items()}
    coords["choice"] = ("choice", np.asarray(choices))
    array = xr.DataArray(probabilities, coords=coords, dims=["presentation", "choice"])
    return _assembly("BehavioralAssembly", array.set_index(presentation=list(presentation)))


def _prepare_brainscore() -> None:
    """:func:`configure_brainscore`, unless ``brainscore_vision`` is imported already (its importer set it up)."""
    if "brainscore_vision" not in sys.modules:
        configure_brainscore()


def _assembly(kind: str, array: xr.DataArray):
    """``array`` as the Brain-Score assembly class named ``kind`` (its coords indexed, so they survive)."""
    _prepare_brainscore()
    from brainscore_core.supported_data_standards.brainio import assemblies

    return getattr(assemblies, kind)(array)


def default_region_layer_map(spec: CheckpointSpec) -> dict[str, str]:
    """Each Brain-Score region -> ``spec.layer_for(region)``; regions without a layer are left out."""
    layers = {region: spec.layer_for(region) for region in REGIONS}
    return {region: layer for region, layer in layers.items() if layer is not None}


def _load_images(paths, size_px: int) -> np.ndarray:
    images = np.empty((len(paths), size_px, size_px, 3), np.uint8)
    for i, path in enumerate(paths):
        images[i] = rgb_array(decode_image(path), size_px)
    return images


def _time_bin(value) -> tuple[int, int]:
    """``(start_ms, end_ms)`` from a tuple or the 0-d array Brain-Score passes for a single bin."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    start, end = value
    return int(start), int(end)


@functools.cache
def _brain_model_class():
    """The adapter class, defined on first use so importing this module does not import Brain-Score."""
    _prepare_brainscore()
    from brainscore_vision.model_interface import BrainModel

    class TopoBrainModel(BrainModel):
        """A checkpoint behind Brain-Score's ``BrainModel`` interface: neural recordings under passive fixation,
        and the ``probabilities`` task read out of the IT layer.

        Parameters
        ----------
        model, spec
            From :func:`topoanalysis.models.checkpoints.load_checkpoint`.
        identifier : str
            The model's name in Brain-Score results.
        region_layer_map : dict, optional
            Region -> layer; default :func:`default_region_layer_map`.
        batch_size, device, precision
            Passed to :func:`topoanalysis.running.recording.record`.
        """

        def __init__(self, model, spec, *, identifier: str, region_layer_map: dict[str, str] | None = None,
                     batch_size: int = 64, device=None, precision: str = "fp32") -> None:
            self._model, self._spec, self._identifier = model, spec, identifier
            self.region_layer_map = dict(region_layer_map or default_region_layer_map(spec))
            unknown = {layer for layer in self.region_layer_map.values() if layer not in spec.sheets}
            if unknown:
                raise InputError(f"region_layer_map names layers without a sheet: {sorted(unknown)}; valid: "
                                 f"{', '.join(spec.sheets)}")
            self._record_options = dict(batch_size=batch_size, device=device, precision=precision)
            self._region: str | None = None
            self._time_bins = [(70, 170)]
            self._readout: ProbabilitiesReadout | None = None  # set: look_at answers the probabilities task

        @property
        def identifier(self) -> str:
            return self._identifier

        def visual_degrees(self) -> float:
            return float(self._spec.visual_degrees)

        def start_task(self, task: str, fitting_stimuli=None, *args, **kwargs) -> None:
            """``passive``: ``look_at`` returns neural recordings (of the region given to ``start_recording``).
            ``probabilities``: record the IT layer on ``fitting_stimuli`` (a ``StimulusSet`` with an
            ``image_label`` column), fit :class:`~topoanalysis.brain.behaviour.ProbabilitiesReadout` to the
            labels, and from then on ``look_at`` returns each stimulus's probability of each label.
            ``number_of_trials`` and ``require_variance`` are accepted and ignored (the network is
            deterministic). Other tasks raise ``NotImplementedError``.
            """
            if task == "passive":
                self._readout = None
                return
            if task not in TASKS:
                raise NotImplementedError(f"task {task!r} is not supported: this model performs {' and '.join(TASKS)} "
                                          "(neural recordings under passive fixation; label probabilities from a "
                                          "logistic readout of its IT layer fitted on labelled stimuli)")
            extra = sorted(set(kwargs) - {"number_of_trials", "require_variance"})
            if args or extra:
                raise InputError(f"start_task({task!r}) takes fitting_stimuli, number_of_trials and require_variance; "
                                 f"got {len(args)} more positional argument(s) and the keywords {extra}")
            if fitting_stimuli is None or "image_label" not in getattr(fitting_stimuli, "columns", ()):
                raise InputError(f"start_task({task!r}) needs fitting_stimuli: a StimulusSet with an image_label "
                                 "column, the labels to fit the readout to")
            ds, _ = self._record(fitting_stimuli, self._readout_layer())
            labels = fitting_stimuli["image_label"].to_numpy()
            self._readout = ProbabilitiesReadout().fit(ds["responses"].values, labels)

        def start_recording(self, recording_target: str, time_bins) -> None:
            """Record ``recording_target``'s layer in ``time_bins``; ``look_at`` returns neural recordings again."""
            if recording_target not in self.region_layer_map:
                raise InputError(f"no layer is committed to region {recording_target!r}; committed regions: "
                                 f"{', '.join(self.region_layer_map)}")
            self._region = recording_target
            self._time_bins = [_time_bin(time_bin) for time_bin in time_bins]
            self._readout = None

        def look_at(self, stimuli, number_of_trials: int = 1, require_variance: bool = False):
            """Responses to a Brain-Score ``StimulusSet``, or to a plain list of image paths (each path is
            then its own ``stimulus_id``): after ``start_recording``, the committed layer's recordings; after
            ``start_task(probabilities)``, a ``BehavioralAssembly`` of label probabilities (presentation x
            choice). Every column of the stimulus set is a presentation coord.

            The network is deterministic, so repeated trials are identical and one response
            per stimulus is returned. Rates are averaged over all T timesteps and reported in
            every requested time bin (a static model, like Brain-Score's ``TemporalIgnore``).
            """
            if self._readout is not None:
                ds, presentation = self._record(stimuli, self._readout_layer())
                probabilities = self._readout.predict_proba(ds["responses"].values)
                return behavioral_assembly(probabilities, presentation, self._readout.choices)
            if self._region is None:
                raise RuntimeError("call start_recording(region, time_bins) before look_at")
            layer = self.region_layer_map[self._region]
            ds, presentation = self._record(stimuli, layer)
            rates = ds["responses"].values
            n_units = rates.shape[1]
            neuroid = {"neuroid_id": np.array([f"{self.identifier}.{layer}.{i}" for i in range(n_units)]),
                       "region": np.full(n_units, self._region), "layer": np.full(n_units, layer),
                       "channel": ds["channel"].values, "channel_x": ds["col"].values, "channel_y": ds["row"].values,
                       "tissue_x": ds["x_mm"].values, "tissue_y": ds["y_mm"].values}
            values = np.repeat(rates[:, :, None], len(self._time_bins), axis=2)
            return neuroid_assembly(values, presentation, neuroid, self._time_bins)

        def _readout_layer(self) -> str:
            if "IT" not in self.region_layer_map:
                raise InputError("the probabilities task reads the layer committed to IT, and this model commits none;"
                                 f" committed regions: {', '.join(self.region_layer_map)}")
            return self.region_layer_map["IT"]

        def _record(self, stimuli, layer: str):
            """``layer``'s recording of ``stimuli`` (``responses``: firing rates over T, stimuli x units) and
            their presentation coords (``stimulus_id``, ``stimulus_path`` and every scalar column)."""
            if isinstance(stimuli, (list, tuple)):  # Brain-Score's interface also allows paths
                stimuli = pd.DataFrame({"stimulus_id": [str(path) for path in stimuli]})
                paths = list(stimuli["stimulus_id"])
            else:
                paths = [str(stimuli.get_stimulus(stimulus_id)) for stimulus_id in stimuli["stimulus_id"]]
            size = self._spec.input_size_px
            images = StimulusSet(getattr(stimuli, "identifier", None) or "brainscore", _load_images(paths, size),
                                 stimuli[["stimulus_id"]].reset_index(drop=True).astype(str), self.visual_degrees())
            ds = record(self._model, images, [layer], spec=self._spec, **self._record_options)
            presentation = {"stimulus_id": np.asarray(list(stimuli["stimulus_id"]), dtype=str),
                            "stimulus_path": np.asarray(paths)}
            for column in stimuli.columns:
                if column not in presentation and stimuli[column].map(np.isscalar).all():
                    presentation[column] = stimuli[column].to_numpy()
            return ds, presentation

    return TopoBrainModel


def brain_model(model: nn.Module, spec: CheckpointSpec, *, identifier: str,
                region_layer_map: dict[str, str] | None = None, batch_size: int = 64, device=None,
                precision: str = "fp32"):
    """``model`` (with its ``spec``) as a ``brainscore_vision`` ``BrainModel``; see ``TopoBrainModel``."""
    return _brain_model_class()(model, spec, identifier=identifier, region_layer_map=region_layer_map,
                                batch_size=batch_size, device=device, precision=precision)
