"""Temporal dynamics of a spiking checkpoint: spikes per layer, accuracy vs T, Fisher information.

* :func:`layer_spike_statistics` - firing rate and entropy of every layer, per timestep
  and over the window, at any inference T (:mod:`topoanalysis.metrics.temporal`).
* :func:`accuracy_vs_timesteps` - top-1 accuracy when the network runs for T steps.
* :func:`fisher_information` - METHODS 1.4 Eq. 8: for t = 1..T, the classifier output is
  the mean of the logits over the first t steps and ``I_t = 1/N sum_n ||grad_theta
  log f(y_n | x_n)||^2``, summed over the parameters of each residual block (the
  connection into that block's area). ``batch_size = 1`` is Eq. 8 exactly (per-image
  gradients); larger batches square the batch-mean gradient, as Kim et al. 2023's code
  does [I].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional
from tqdm.auto import tqdm

from ..metrics.temporal import SpikeCountTally
from ..models.registry import family_of
from ..stimuli.base import StimulusSet
from .inputs import default_device, labelled_batches, preprocess
from .recording import record

if TYPE_CHECKING:
    from torch import nn

    from ..models.checkpoints import CheckpointSpec


def as_stimulus_set(images_uint8: np.ndarray, name: str, degrees: float) -> StimulusSet:
    """Wrap ``uint8 [N, H, W, 3]`` images (e.g. a CIFAR-10 split) as a :class:`StimulusSet`."""
    labels = pd.DataFrame({"stimulus_id": [f"{name}-{i}" for i in range(len(images_uint8))]})
    return StimulusSet(name, np.ascontiguousarray(images_uint8), labels, degrees)


def layer_spike_statistics(model: nn.Module, spec: CheckpointSpec, stimuli: StimulusSet, *,
                           timesteps: int | None = None, layers: Sequence[str] | None = None, batch_size: int = 64,
                           device=None) -> pd.DataFrame:
    """Firing rate and entropy of each layer at inference T = ``timesteps`` (default: the checkpoint's).

    One forward pass per batch records every layer with every timestep kept, and each layer's spikes are
    tallied (:class:`~topoanalysis.metrics.temporal.SpikeCountTally`) before the next batch: memory stays at one
    batch's ``T x units`` of all layers plus the tallies, whatever the number of stimuli. Returns
    ``spike_statistics`` rows with ``layer`` and ``timesteps`` columns. A SEW block's spike counts get the
    entropy over their values (:mod:`topoanalysis.metrics.temporal`); a layer whose outputs are not counts (a
    ReLU network's) is refused.
    """
    steps = int(timesteps or spec.timesteps)
    layers = list(layers or spec.sheets)
    tallies = {layer: SpikeCountTally(f"layer {layer}") for layer in layers}
    for start in range(0, len(stimuli), batch_size):
        batch = stimuli.subset(np.arange(start, min(start + batch_size, len(stimuli))))
        ds = record(model, batch, layers, spec=spec, timesteps=steps, reduce="none", batch_size=batch_size,
                    device=device)
        spikes = ds["responses"].transpose("stimulus", "time", "unit").values
        unit_layer = ds["layer"].values
        for layer in layers:
            tallies[layer].add(spikes[:, :, unit_layer == layer])
    table = pd.concat([tallies[layer].table().assign(layer=layer, timesteps=steps) for layer in layers],
                      ignore_index=True)
    return table[["timesteps", "layer", "timestep", "firing_rate", "entropy_bits", "fraction_silent"]]


def _batches(images_uint8: np.ndarray, labels: np.ndarray, spec, batch_size: int, device):
    """Normalised batches of labelled images at the checkpoint's input size."""
    for x01, y in labelled_batches(images_uint8, labels, spec.input_size_px, batch_size, device):
        yield preprocess(x01, None, spec.mean, spec.std), y


def accuracy_vs_timesteps(model: nn.Module, spec: CheckpointSpec, images_uint8: np.ndarray, labels: np.ndarray,
                          timesteps: Sequence[int], *, batch_size: int = 128, device=None) -> pd.DataFrame:
    """Top-1 accuracy (%) of ``model`` run for each T in ``timesteps``."""
    device = default_device() if device is None else torch.device(device)
    model = model.to(device).eval()
    rows = []
    for steps in timesteps:
        correct = 0
        with torch.no_grad():
            for x, y in _batches(images_uint8, labels, spec, batch_size, device):
                correct += int((model(x, timesteps=int(steps)).argmax(1) == y).sum())
                functional.reset_net(model)
        rows.append({"timesteps": int(steps), "accuracy": 100.0 * correct / len(labels), "n_images": len(labels)})
    return pd.DataFrame(rows)


def fisher_information(model: nn.Module, spec: CheckpointSpec, images_uint8: np.ndarray, labels: np.ndarray, *,
                       timesteps: int | None = None, batch_size: int = 1, device=None,
                       progress: bool = False) -> pd.DataFrame:
    """Fisher information per timestep t = 1..T and parameter group (METHODS 1.4, Eq. 8).

    Returns
    -------
    pandas.DataFrame
        ``timestep`` (1..T), ``group`` (the family's connections: ResNet blocks and stem, CORnet's
        inter-area ``V2->V4`` and recurrent ``V4 recurrent`` connections; ``classifier``), ``area``
        (the area the group feeds, from the checkpoint's layer -> area map; "" for stem and classifier), ``fisher``
        (the group's trace: sum over its parameters of the mean squared gradient), ``fisher_se`` (its
        standard error over the ``n_batches`` batches: over images with ``batch_size = 1``).
    """
    device = default_device() if device is None else torch.device(device)
    steps = int(timesteps or spec.timesteps)
    model = model.to(device).eval()
    params = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    connection = family_of(spec.arch).connections
    groups = [connection(name) for name, _ in params]
    names = list(dict.fromkeys(groups))
    totals = torch.zeros(steps, len(names), dtype=torch.float64)
    squares_of_totals = torch.zeros_like(totals)  # per-batch totals squared: the SE over batches
    group_index = torch.tensor([names.index(g) for g in groups])
    n_batches = 0
    for x, y in tqdm(list(_batches(images_uint8, labels, spec, batch_size, device)), desc="fisher",
                     disable=not progress):
        logits = model.timestep_logits(x, timesteps=steps)  # [T, B, K]
        cumulative = logits.cumsum(0) / torch.arange(1, steps + 1, device=device).view(-1, 1, 1)
        for t in range(steps):
            loss = F.cross_entropy(cumulative[t], y)  # -log f(y | x) with outputs up to step t
            grads = torch.autograd.grad(loss, [p for _, p in params], retain_graph=t < steps - 1, allow_unused=True)
            squares = torch.stack([(g.double() ** 2).sum() if g is not None else torch.zeros((), dtype=torch.float64,
                                                                                          device=device)
                                   for g in grads]).cpu()
            batch_total = torch.zeros(len(names), dtype=torch.float64).index_add_(0, group_index, squares)
            totals[t] += batch_total
            squares_of_totals[t] += batch_total ** 2
        functional.reset_net(model)
        n_batches += 1
    n = max(n_batches, 1)
    totals /= n
    variance = (squares_of_totals / n - totals ** 2).clamp_min(0) * n / max(n - 1, 1)
    se = (variance / n).sqrt() if n > 1 else torch.full_like(totals, float("nan"))
    areas = {group: _area_of_group(group, spec.layer_areas) for group in names}
    return pd.DataFrame([{"timestep": t + 1, "group": group, "area": areas[group], "fisher": float(totals[t, j]),
                          "fisher_se": float(se[t, j]), "n_batches": n_batches}
                         for t in range(steps) for j, group in enumerate(names)])


def _area_of_group(group: str, layer_areas: dict[str, str]) -> str:
    """The area of a Fisher group: that of the sheet layer it names (a residual block), of the area a connection
    leads into (``V1->V2 ...``), or of the sheet layer inside it (a transformer block holds its projection's
    sheet); "" for a group without one (stem, classifier)."""
    target = group.split("->")[-1].split(" ")[0]
    for name in (group, target):
        if name in layer_areas:
            return layer_areas[name]
    inside = [area for layer, area in layer_areas.items() if layer.startswith(group + ".")]
    return inside[0] if inside else ""
