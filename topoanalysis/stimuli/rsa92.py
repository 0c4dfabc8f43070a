"""The 92 object images and IT RDMs of Kriegeskorte et al. 2008 (Neuron 60:1126).

Monkey IT is from Kiani et al. 2007 (J Neurophysiol 97:4296). The ``.mat`` file is not
part of this repository; see :func:`find_rsa92_file`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..datafiles import REPLACE, read_mat
from ..datasets.resolver import DATA_SETS, find_data_file
from ..errors import InputError
from .base import StimulusSet, rgb_array

RSA92_FILENAME = f"{DATA_SETS['rsa92']}/Kriegeskorte_Neuron2008_supplementalData.mat"

# categoryLabels in the file -> label column; rand24, rand48 and other48 are skipped.
_CATEGORY_COLUMNS = {
    "animate": "animate", "inanim": "inanimate", "human": "human", "nonhumani": "nonhuman",
    "body": "body", "face": "face", "natObj": "natural_object", "artiObj": "artificial_object",
    "monkeyape": "monkey_ape",
}
# flags on each image struct -> the label column they must equal (natural = not artificial).
_STRUCT_FLAGS = {"face": "face", "human": "human", "animal": "animate"}
_RDM_NAMES = {"monkey_it": "mIT_674neurons", "human_it": "hITvisStim_316vx"}
_N = 92


def find_rsa92_file(path: str | os.PathLike | None = None) -> Path:
    """Locate ``Kriegeskorte_Neuron2008_supplementalData.mat``.

    Looks, in order, at ``path`` (the file itself, a folder holding it, or a data
    root holding ``rsa92/``); at ``$TOPOANALYSIS_DATA/rsa92/``; at the shared data
    folder beside the checkout. An explicit ``path`` is never replaced by a fallback.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The ``.mat`` file or a folder that holds it.

    Returns
    -------
    pathlib.Path
        The file found. Raises FileNotFoundError naming every place tried and the fix.

    Examples
    --------
    >>> find_rsa92_file("../shared/data/rsa92").name  # doctest: +SKIP
    'Kriegeskorte_Neuron2008_supplementalData.mat'
    """
    return find_data_file(RSA92_FILENAME, path, what="92-image RSA data", flag="--rsa92")


def _load_mat(file: Path, keys: list[str]) -> dict:
    mat = read_mat(file, what="92-image set", squeeze_me=True, struct_as_record=False, variable_names=keys)
    missing = [k for k in keys if k not in mat]
    if missing:
        raise InputError(f"{file}: no variable(s) {missing}; not the Kriegeskorte 2008 file, or a truncated one: "
                         f"{REPLACE}")
    return mat


def load_rsa92(
    path: str | os.PathLike | None = None, *, image_size_px: int | None = None, degrees: float = 8.0
) -> StimulusSet:
    """Load the 92 object images of Kriegeskorte et al. (2008) as a :class:`StimulusSet`.

    Images keep the file's order (12 human bodyparts, 12 human faces, 12 nonhuman
    bodyparts, 12 nonhuman faces, 23 natural and 21 artificial inanimate objects),
    the order of the rows and columns of :func:`load_rsa92_rdms`.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The ``.mat`` file or its folder; default found by :func:`find_rsa92_file`.
    image_size_px : int, optional
        Resize the 175 x 175 images to this square size (PIL bicubic).
    degrees : float, default 8.0
        Visual degrees spanned by the image width (the fLoc convention here, not
        the size used in the original experiments).

    Returns
    -------
    StimulusSet
        Named ``"rsa92"``. Labels: ``stimulus_id`` (``"rsa92-01"`` ... ``"rsa92-92"``),
        ``image_index`` (0-91), ``category`` (e.g. ``"human face"``) and boolean
        columns from the file's ``categoryVectors``: ``animate``, ``inanimate``,
        ``human``, ``nonhuman`` (both animate only), ``body``, ``face``,
        ``natural_object``, ``artificial_object`` (inanimate only) and ``monkey_ape``.
        The ``rand24``, ``rand48`` and ``other48`` columns (random splits used for
        bookkeeping in the paper) are left out. ValueError if the file lacks these
        variables or its per-image flags contradict ``categoryVectors``.

    Examples
    --------
    >>> s = load_rsa92(image_size_px=32)  # doctest: +SKIP
    >>> s.images.shape, int(s.labels.face.sum())  # doctest: +SKIP
    ((92, 32, 32, 3), 24)
    """
    from PIL import Image

    if image_size_px is not None and (int(image_size_px) != image_size_px or image_size_px < 1):
        raise InputError(f"image_size_px must be a positive integer, got {image_size_px!r}")
    file = find_rsa92_file(path)
    mat = _load_mat(file, ["stimuli_92objs", "categoryVectors", "categoryLabels"])
    structs = np.atleast_1d(mat["stimuli_92objs"])
    vectors = np.asarray(mat["categoryVectors"])
    names = [str(n) for n in np.atleast_1d(mat["categoryLabels"])]
    shape_ok = len(structs) == _N and vectors.shape == (_N, len(names))
    if not shape_ok or not set(_CATEGORY_COLUMNS) <= set(names):
        raise InputError(
            f"{file}: expected {_N} stimuli and a {_N} x {len(names)} categoryVectors with "
            f"labels {list(_CATEGORY_COLUMNS)}; got {len(structs)} stimuli, {vectors.shape}, {names}"
        )
    labels = pd.DataFrame({
        "stimulus_id": [f"rsa92-{i + 1:02d}" for i in range(_N)],
        "image_index": np.arange(_N),
        "category": [str(s.category) for s in structs],
    })
    for key, column in _CATEGORY_COLUMNS.items():
        labels[column] = vectors[:, names.index(key)].astype(bool)
    checks = {flag: labels[col].to_numpy() for flag, col in _STRUCT_FLAGS.items()}
    checks["natural"] = ~labels["artificial_object"].to_numpy()
    for flag, expected in checks.items():
        bad = np.flatnonzero(np.array([bool(getattr(s, flag)) for s in structs]) != expected)
        if bad.size:
            raise InputError(f"{file}: stimulus flag {flag!r} disagrees with categoryVectors at {bad}")

    arrays = []
    for i, s in enumerate(structs):
        image = np.asarray(s.image)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
            raise InputError(f"{file}: image {i} is {image.dtype} {image.shape}, not uint8 (H, W, 3)")
        if image_size_px is not None:
            image = rgb_array(Image.fromarray(image), image_size_px)
        arrays.append(image)
    if len({a.shape for a in arrays}) > 1:
        raise InputError(f"{file}: images differ in size; pass image_size_px")
    return StimulusSet("rsa92", np.stack(arrays), labels, float(degrees))


def load_rsa92_rdms(path: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Monkey and human IT dissimilarity matrices of the 92 images (Kriegeskorte 2008, Fig. 1).

    Parameters
    ----------
    path : str or os.PathLike, optional
        The ``.mat`` file or its folder; default found by :func:`find_rsa92_file`.

    Returns
    -------
    dict of str to numpy.ndarray
        ``"monkey_it"`` (Kiani et al. 2007, 674 neurons) and ``"human_it"`` (316
        fMRI voxels): symmetric ``(92, 92)`` float64 arrays (1 - correlation) with a
        zero diagonal, rows in :func:`load_rsa92` image order.

    Examples
    --------
    >>> rdms = load_rsa92_rdms()  # doctest: +SKIP
    >>> rdms["monkey_it"].shape  # doctest: +SKIP
    (92, 92)
    """
    from scipy.spatial.distance import squareform

    file = find_rsa92_file(path)
    entries = np.atleast_1d(_load_mat(file, ["RDMs_mIT_hIT_fig1"])["RDMs_mIT_hIT_fig1"])
    by_name = {str(getattr(e, "name", "")): e for e in entries}
    rdms = {}
    for key, name in _RDM_NAMES.items():
        if name not in by_name:
            raise InputError(f"{file}: RDMs_mIT_hIT_fig1 has no {name!r} (found {sorted(by_name)})")
        rdm = np.asarray(by_name[name].RDM, dtype=np.float64)
        if rdm.shape == (_N * (_N - 1) // 2,):
            rdm = squareform(rdm)
        elif rdm.shape != (_N, _N) or not np.allclose(rdm, rdm.T) or np.any(np.diag(rdm) != 0):
            raise InputError(
                f"{file}: RDM {name!r} has shape {rdm.shape}; expected a condensed vector of "
                f"{_N * (_N - 1) // 2} values or a symmetric {_N} x {_N} matrix with zero diagonal"
            )
        rdms[key] = rdm
    return rdms
