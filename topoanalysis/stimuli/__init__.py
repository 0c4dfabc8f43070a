"""Stimulus sets: sine gratings and fLoc images, all returned as :class:`StimulusSet`."""

from .base import StimulusSet
from .floc import FLOC_DOMAINS, find_floc_dir, load_floc
from .gratings import default_sfs_cpd, make_sine_gratings, nyquist_cpd

__all__ = [
    "StimulusSet",
    "make_sine_gratings",
    "default_sfs_cpd",
    "nyquist_cpd",
    "load_floc",
    "find_floc_dir",
    "FLOC_DOMAINS",
]
