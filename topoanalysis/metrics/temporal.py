"""Spike-train statistics per layer: firing rates and entropy (paper Fig. 1, METHODS 1.4).

TDSNN derives entropy "from the neurons' firing probabilities" without giving the formula.
We use the natural reading [I]: the firing probability ``p`` of a neuron is its mean
spike count per timestep across stimuli; its entropy is the binary entropy
``H(p) = -p log2 p - (1 - p) log2(1 - p)`` in bits; a layer's entropy is the mean over
its neurons. Per timestep, ``p`` is taken at that timestep; over the window, across all
timesteps.

A SEW ResNet block (Fang et al. 2021) with the ADD connect function outputs the sum of its two
spike trains (and of earlier blocks' sums along the identity path): a spike count in
{0, 1, 2, ...} per step, not a spike. Our extension [I]: a unit's entropy is the Shannon entropy of
its distribution over the values it emits, ``H = -sum_k p_k log2 p_k`` with ``p_k`` the fraction of
stimuli (per timestep; over the window, of stimuli and timesteps) at which it emits ``k``. For
binary spikes this is ``H(p)`` above, so spiking layers read as before; a count layer's entropy
can exceed 1 bit (at most ``log2`` of its alphabet's size). Its ``firing_rate`` is the mean
count per step. Values that are not non-negative integers (a ReLU network's activations) are
refused: they are not spike trains.
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


def check_spike_counts(values: np.ndarray, what: str) -> None:
    """InputError unless ``values`` are spike counts: non-negative integers (0 and 1 for spikes, 0, 1, 2, ...
    for a SEW-ADD block's output); ``what`` names them in the message."""
    values = np.asarray(values)
    bad = (values < 0) | (values != np.round(values))
    if np.any(bad):
        example = float(values[bad].flat[0])
        raise InputError(f"{what} emits values that are not spike counts (non-negative integers), e.g. {example:g}: "
                         "spike-train entropy needs a spiking checkpoint, not its ReLU twin")


def count_entropy_bits(counts: np.ndarray, axis: int = 0) -> np.ndarray:
    """Shannon entropy (bits) of each unit's distribution over the spike counts it emits along ``axis``.

    ``-sum_k p_k log2 p_k`` over the values ``k`` in ``counts`` (non-negative integers), ``p_k`` the fraction
    of samples along ``axis`` equal to ``k``; for 0/1 spikes, :func:`binary_entropy_bits` of the firing
    probability.

    Examples
    --------
    >>> count_entropy_bits(np.array([[0, 0], [1, 0], [2, 0], [2, 0]])).tolist()
    [1.5, 0.0]
    """
    counts = np.asarray(counts, dtype=np.float64)
    check_spike_counts(counts, "the input")
    entropy = np.zeros(np.delete(counts.shape, axis))
    for k in range(int(counts.max(initial=0)) + 1):  # the alphabet: small (at most a few values per layer)
        p = (counts == k).mean(axis=axis)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy -= np.nan_to_num(p * np.log2(p), nan=0.0)
    return entropy


class SpikeCountTally:
    """One layer's spike statistics accumulated batch by batch (:func:`spike_statistics` without the stack).

    Holds, for each value ``k`` a unit emits, how many stimuli emitted ``k`` at each timestep: ``(K, T, units)``
    integers, so memory is independent of the number of stimuli and :meth:`table` equals
    :func:`spike_statistics` of the concatenated batches (to float64 round-off). ``what`` names the layer in the
    error raised for values that are not spike counts.
    """

    def __init__(self, what: str = "the layer") -> None:
        self.what = what
        self.histogram: np.ndarray | None = None  # (K, T, units): stimuli that emitted k at step t
        self.n_stimuli = 0

    def add(self, spikes: np.ndarray) -> None:
        """Tally a batch of ``(n_stimuli, n_timesteps, n_units)`` spikes or spike counts."""
        spikes = np.asarray(spikes)
        if spikes.ndim != 3:
            raise InputError(f"spikes must be (stimulus, time, unit); got shape {spikes.shape}. Record with "
                             "reduce='none' to keep the timesteps")
        check_spike_counts(spikes, self.what)
        if self.histogram is not None and self.histogram.shape[1:] != spikes.shape[1:]:
            raise InputError(f"{self.what}: a batch of shape {spikes.shape[1:]} (time, unit) after batches of "
                             f"{self.histogram.shape[1:]}; tally one layer at one T")
        n_values = int(spikes.max(initial=0)) + 1  # the alphabet: a few values at most
        if self.histogram is None:
            self.histogram = np.zeros((n_values,) + spikes.shape[1:], np.int64)
        elif n_values > len(self.histogram):
            grown = np.zeros((n_values,) + self.histogram.shape[1:], np.int64)
            grown[:len(self.histogram)] = self.histogram
            self.histogram = grown
        for k in range(n_values):
            self.histogram[k] += (spikes == k).sum(axis=0)
        self.n_stimuli += len(spikes)

    def table(self) -> pd.DataFrame:
        """The :func:`spike_statistics` table of everything tallied."""
        if self.histogram is None:
            raise InputError(f"{self.what}: no spikes tallied; add at least one batch")
        values = np.arange(len(self.histogram), dtype=np.float64).reshape(-1, 1, 1)
        per_step_p = self.histogram / self.n_stimuli  # (K, T, units): fraction of stimuli emitting k at t
        window_p = self.histogram.sum(axis=1) / (self.n_stimuli * self.histogram.shape[1])  # (K, units)
        per_step_rate = (values * per_step_p).sum(axis=0)  # (T, units): mean count per step
        window_rate = (values[:, 0] * window_p).sum(axis=0)
        per_step_entropy, window_entropy = _entropy_bits(per_step_p), _entropy_bits(window_p)
        rows = [{"timestep": t, "firing_rate": float(p.mean()), "entropy_bits": float(h.mean()),
                 "fraction_silent": float((p == 0).mean())}
                for t, (p, h) in enumerate(zip(per_step_rate, per_step_entropy))]
        rows.append({"timestep": -1, "firing_rate": float(window_rate.mean()),
                     "entropy_bits": float(window_entropy.mean()), "fraction_silent": float((window_rate == 0).mean())})
        return pd.DataFrame(rows)


def _entropy_bits(p: np.ndarray) -> np.ndarray:
    """``-sum_k p_k log2 p_k`` over the first axis, with ``0 log 0 = 0``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.nan_to_num(p * np.log2(p), nan=0.0).sum(axis=0)


def spike_statistics(spikes: np.ndarray) -> pd.DataFrame:
    """Firing rate and entropy of one layer, per timestep and over the window.

    Parameters
    ----------
    spikes : numpy.ndarray
        ``(n_stimuli, n_timesteps, n_units)`` spikes (0 or 1; or a SEW block's spike counts, see the module
        docstring), e.g. ``record(..., reduce="none")``.

    Returns
    -------
    pandas.DataFrame
        One row per timestep (``timestep`` 0 ... T-1) and a last row with ``timestep = -1``
        for the whole window: ``firing_rate`` (mean firing probability; mean count for counts),
        ``entropy_bits`` (mean entropy, :func:`count_entropy_bits`), ``fraction_silent`` (units that
        never fired at that step).

    Examples
    --------
    >>> spikes = np.zeros((4, 2, 3)); spikes[:2, :, 0] = 1  # unit 0 fires for half the stimuli
    >>> spike_statistics(spikes)["entropy_bits"].round(4).tolist()
    [0.3333, 0.3333, 0.3333]
    """
    tally = SpikeCountTally()
    tally.add(spikes)
    return tally.table()


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
