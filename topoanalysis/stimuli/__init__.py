"""Stimulus sets: sine gratings, fLoc images and the 92-image set, all returned as :class:`StimulusSet`."""

from .base import StimulusSet
from .floc import FLOC_DOMAINS, find_floc_dir, load_floc
from .gratings import default_sfs_cpd, make_sine_gratings, nyquist_cpd
from .rsa92 import find_rsa92_file, load_rsa92

__all__ = [
    "StimulusSet",
    "make_sine_gratings",
    "default_sfs_cpd",
    "nyquist_cpd",
    "load_floc",
    "find_floc_dir",
    "FLOC_DOMAINS",
    "load_rsa92",
    "find_rsa92_file",
]
