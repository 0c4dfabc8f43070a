"""Spike-train statistics per layer: firing rates and binary entropy (paper Fig. 1, METHODS 1.4).

TDSNN derives entropy "from the neurons' firing probabilities" without giving the formula.
We use the natural reading [I]: the firing probability ``p`` of a neuron is its mean
spike count per timestep across stimuli; its entropy is the binary entropy
``H(p) = -p log2 p - (1 - p) log2(1 - p)`` in bits; a layer's entropy is the mean over
its neurons. Per timestep, ``p`` is taken at that timestep; over the window, across all
timesteps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError


def binary_entropy_bits(p: np.ndarray) -> np.ndarray:
    """``-p log2 p - (1 - p) log2 (1 - p)``, with ``0 log 0 = 0``.

    Examples
    --------
    >>> binary_entropy_bits(np.array([0.0, 0.5, 1.0])).tolist()
    [0.0, 1.0, 0.0]
    """
    p = np.asarray(p, dtype=np.float64)
    if np.any((p < 0) | (p > 1)):
        raise InputError("firing probabilities must lie in [0, 1]; pass spike counts per timestep (0 or 1), "
                         "not rates summed over time")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -p * np.log2(p) - (1 - p) * np.log2(1 - p)
    return np.nan_to_num(terms, nan=0.0)


def spike_statistics(spikes: np.ndarray) -> pd.DataFrame:
    """Firing rate and entropy of one layer, per timestep and over the window.

    Parameters
    ----------
    spikes : numpy.ndarray
        ``(n_stimuli, n_timesteps, n_units)`` spikes (0 or 1), e.g. ``record(..., reduce="none")``.

    Returns
    -------
    pandas.DataFrame
        One row per timestep (``timestep`` 0 ... T-1) and a last row with ``timestep = -1``
        for the whole window: ``firing_rate`` (mean firing probability), ``entropy_bits``
        (mean binary entropy), ``fraction_silent`` (units that never fired at that step).

    Examples
    --------
    >>> spikes = np.zeros((4, 2, 3)); spikes[:2, :, 0] = 1  # unit 0 fires for half the stimuli
    >>> spike_statistics(spikes)["entropy_bits"].round(4).tolist()
    [0.3333, 0.3333, 0.3333]
    """
    spikes = np.asarray(spikes, dtype=np.float64)
    if spikes.ndim != 3:
        raise InputError(f"spikes must be (stimulus, time, unit); got shape {spikes.shape}. Record with "
                         "reduce='none' to keep the timesteps")
    per_step = spikes.mean(axis=0)  # (T, units)
    window = spikes.mean(axis=(0, 1))
    rows = [{"timestep": t, "firing_rate": float(p.mean()), "entropy_bits": float(binary_entropy_bits(p).mean()),
             "fraction_silent": float((p == 0).mean())} for t, p in enumerate(per_step)]
    rows.append({"timestep": -1, "firing_rate": float(window.mean()),
                 "entropy_bits": float(binary_entropy_bits(window).mean()),
                 "fraction_silent": float((window == 0).mean())})
    return pd.DataFrame(rows)


def entropy_shift(topographic: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """``Delta H = H_topo - H_baseline`` per layer and inference T, over the window.

    Both tables need columns ``timesteps, layer, timestep, entropy_bits`` (window rows have
    ``timestep = -1``).
    """
    keys = ["timesteps", "layer"]
    a = topographic[topographic["timestep"] == -1].set_index(keys)["entropy_bits"]
    b = baseline[baseline["timestep"] == -1].set_index(keys)["entropy_bits"]
    shift = (a - b).dropna().rename("entropy_shift_bits").reset_index()
    return shift.assign(entropy_topographic_bits=a.reindex(pd.MultiIndex.from_frame(shift[keys])).to_numpy(),
                        entropy_baseline_bits=b.reindex(pd.MultiIndex.from_frame(shift[keys])).to_numpy())
