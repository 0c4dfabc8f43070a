"""Representational similarity analysis (RSA) of model layers against IT and EVC RDMs.

All benchmarks use the 92 object images of Kriegeskorte et al. 2008 (Neuron 60:1126),
in the order of :func:`topoanalysis.stimuli.rsa92.load_rsa92`:

* monkey IT, Kiani et al. 2007 (J Neurophysiol 97:4296): one RDM from 674 neurons
  pooled over two monkeys (no subject split, so no noise ceiling);
* human IT, Kriegeskorte et al. 2008: 4 subjects x 2 fMRI sessions (``92_brainRDMs.mat``);
* human IT and EVC of 15 subjects, Cichy et al. 2014 (Nat Neurosci 17:455), as
  distributed for the Algonauts 2019 challenge.

RDMs are 1 - Pearson r between stimulus patterns; models and brains are compared by
the Spearman rho of the upper triangles, and noise ceilings follow Nili et al. 2014
(PLoS Comput Biol 10:e1003553).
"""

from __future__ import annotations

import os
import re

import numpy as np

from ..datafiles import read_mat
from ..datasets.resolver import DATA_SETS, find_data_file
from ..errors import InputError
from ..stimuli.rsa92 import load_rsa92_rdms

HUMAN_IT_FILENAME = f"{DATA_SETS['rsa92']}/92_brainRDMs.mat"
ALGONAUTS_FILENAME = f"{DATA_SETS['rsa92']}/algonauts2019_target_fmri_92.mat"
ALGONAUTS_REGIONS = {"IT": "IT_RDMs", "EVC": "EVC_RDMs"}
_N = 92
_KRIEGESKORTE = "Kriegeskorte et al. 2008, Neuron 60:1126"
_CICHY = "Cichy et al. 2014, Nat Neurosci 17:455 (Algonauts 2019 release)"

RSA_BENCHMARKS: dict[str, dict] = {
    "IT-RSA-Kiani2007": {"region": "IT", "data": "monkey_it", "n_subjects": 1, "reference":
                         f"Kiani et al. 2007, J Neurophysiol 97:4296 (674 neurons; RDM from {_KRIEGESKORTE})"},
    "IT-RSA-Kriegeskorte2008": {"region": "IT", "data": "human_it", "n_subjects": 4,
                                "reference": f"{_KRIEGESKORTE} (hIT, 4 subjects, sessions averaged)"},
    "IT-RSA-Algonauts2019": {"region": "IT", "data": "algonauts", "n_subjects": 15, "reference": _CICHY},
    "EVC-RSA-Algonauts2019": {"region": "EVC", "data": "algonauts", "n_subjects": 15, "reference": _CICHY},
}
"""Offline RSA benchmarks run by :func:`rsa_benchmark`. ``n_subjects`` is the number of
RDMs behind the reference; 1 (a pooled group RDM) means no noise ceiling."""


def rdm(features: np.ndarray) -> np.ndarray:
    """Correlation-distance RDM: 1 - Pearson r between stimulus patterns across units.

    Units whose response is identical for every stimulus carry no information and are
    dropped first. A stimulus whose pattern is constant over the remaining units (e.g.
    no unit responds to it) has no defined correlation: its row and column are NaN,
    diagonal included; :func:`rsa_score` drops those pairs.

    Parameters
    ----------
    features : numpy.ndarray
        ``(n_stimuli, n_units)`` finite responses, n_stimuli >= 2.

    Returns
    -------
    numpy.ndarray
        ``(n_stimuli, n_stimuli)`` float64, symmetric, zero diagonal, values in [0, 2].
        ValueError if fewer than 2 units vary across stimuli ("the layer is silent").

    Examples
    --------
    >>> rdm(np.array([[0.0, 1, 2], [0.0, 2, 4], [2.0, 1, 0]])).round(6).tolist()
    [[0.0, 0.0, 2.0], [0.0, 0.0, 2.0], [2.0, 2.0, 0.0]]
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise InputError(f"features must be (n_stimuli >= 2, n_units), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InputError("features contain NaN or inf")
    x = x[:, ~np.all(x == x[:1], axis=0)]
    if x.shape[1] < 2:
        raise InputError(f"only {x.shape[1]} unit(s) vary across the {x.shape[0]} stimuli: "
                         "the layer is silent for these images")
    flat = np.all(x == x[:, :1], axis=1)
    x = x - x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    z = np.where(flat[:, None], np.nan, x / np.where(flat[:, None], 1.0, norms))
    out = 1.0 - np.clip(z @ z.T, -1.0, 1.0)
    out = (out + out.T) / 2
    np.fill_diagonal(out, np.where(flat, np.nan, 0.0))
    return out


def upper_triangle(matrix: np.ndarray) -> np.ndarray:
    """Entries above the diagonal (``k=1``) of a square matrix, row by row.

    Parameters
    ----------
    matrix : numpy.ndarray
        ``(n, n)``; ValueError otherwise.

    Returns
    -------
    numpy.ndarray
        ``n * (n - 1) / 2`` values.

    Examples
    --------
    >>> upper_triangle(np.arange(9.0).reshape(3, 3)).tolist()
    [1.0, 2.0, 5.0]
    """
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise InputError(f"expected a square matrix, got shape {m.shape}")
    return m[np.triu_indices(m.shape[0], k=1)]


def rsa_score(model_rdm: np.ndarray, neural_rdm: np.ndarray) -> float:
    """Spearman rho between the upper triangles of two RDMs.

    Parameters
    ----------
    model_rdm, neural_rdm : numpy.ndarray
        Square RDMs of one shape, rows in the same stimulus order; ValueError naming
        both shapes otherwise. Pairs that are NaN in either are dropped.

    Returns
    -------
    float
        rho in [-1, 1]; NaN when fewer than 3 pairs remain or either triangle is constant.

    Examples
    --------
    >>> a = np.array([[0, 1, 2, 3], [1, 0, 4, 5], [2, 4, 0, 6], [3, 5, 6, 0]], float)
    >>> rsa_score(a, a ** 2)
    1.0
    """
    from scipy.stats import rankdata

    a, b = np.asarray(model_rdm, dtype=np.float64), np.asarray(neural_rdm, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise InputError(f"RDMs must be square and of one shape: model {a.shape}, neural {b.shape}")
    a, b = upper_triangle(a), upper_triangle(b)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(np.clip(np.corrcoef(rankdata(a), rankdata(b))[0, 1], -1.0, 1.0))


def noise_ceiling(subject_rdms: np.ndarray) -> tuple[float, float]:
    """Lower and upper noise-ceiling bounds of Nili et al. 2014, with Spearman rho.

    Upper: mean over subjects of rho(subject, mean RDM of all subjects). Lower: mean
    over subjects of rho(subject, mean RDM of the other subjects). The true model's
    mean per-subject rho is expected between them. RDMs are averaged as they are
    (Nili et al. rank-transform them before averaging for Spearman; plain averaging
    keeps the ceiling's reference equal to the group RDM that models are compared
    with, and on the benchmarks here the two differ by < 0.01). NaN pairs are dropped.

    Parameters
    ----------
    subject_rdms : numpy.ndarray
        ``(n_subjects >= 2, n, n)``.

    Returns
    -------
    tuple of float
        ``(lower, upper)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> common = rng.random((10, 10)); common = common + common.T
    >>> lo, up = noise_ceiling(np.stack([common] * 3))
    >>> round(lo, 6), round(up, 6)
    (1.0, 1.0)
    """
    s = np.asarray(subject_rdms, dtype=np.float64)
    if s.ndim != 3 or s.shape[1] != s.shape[2]:
        raise InputError(f"subject_rdms must be (n_subjects, n, n), got shape {s.shape}")
    if s.shape[0] < 2:
        raise InputError(f"a noise ceiling needs >= 2 subjects, got {s.shape[0]}")
    total, k = s.sum(axis=0), s.shape[0]
    upper = np.mean([rsa_score(x, total / k) for x in s])
    lower = np.mean([rsa_score(x, (total - x) / (k - 1)) for x in s])
    return float(lower), float(upper)


def _check_rdms(rdms: np.ndarray, file: os.PathLike, what: str) -> np.ndarray:
    bad = (rdms.shape[1:] != (_N, _N) or not np.all(np.isfinite(rdms))
           or not np.allclose(rdms, rdms.transpose(0, 2, 1), rtol=0, atol=1e-12)
           or np.any(np.diagonal(rdms, axis1=1, axis2=2) != 0))
    if bad:
        raise InputError(f"{file}: {what} should be finite symmetric {_N} x {_N} RDMs with a zero "
                         f"diagonal; got shape {rdms.shape}")
    return (rdms + rdms.transpose(0, 2, 1)) / 2


def load_human_it_subject_rdms(path: str | os.PathLike | None = None, *,
                               average_sessions: bool = True) -> np.ndarray:
    """Human IT RDMs of the 4 subjects x 2 sessions of Kriegeskorte et al. 2008.

    ``92_brainRDMs.mat`` holds a (4, 2) struct array ``RDMs``: rows are subjects (BE,
    KO, SN, TI), columns sessions 1 and 2, as the ``name`` fields ("hIT | BE | Session: 1")
    show; the layout is read from those names, not assumed. The mean of all 8 RDMs is
    the published group hIT RDM (``load_rsa92_rdms()["human_it"]``).

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file, its folder or a data root holding ``rsa92/``; default: see
        :func:`topoanalysis.datasets.resolver.find_data_file`.
    average_sessions : bool, default True
        Average each subject's two sessions (subjects are the independent units for
        a noise ceiling); otherwise return subject-major ``(BE s1, BE s2, KO s1, ...)``.

    Returns
    -------
    numpy.ndarray
        ``(4, 92, 92)`` or ``(8, 92, 92)`` float64, symmetric, zero diagonals.

    Examples
    --------
    >>> load_human_it_subject_rdms().shape  # doctest: +SKIP
    (4, 92, 92)
    """
    file = find_data_file(HUMAN_IT_FILENAME, path, what="Kriegeskorte 2008 subject RDMs", flag="--rsa92")
    mat = read_mat(file, what="Kriegeskorte 2008 subject RDMs", squeeze_me=True, struct_as_record=False)
    if "RDMs" not in mat:
        raise InputError(f"{file}: no RDMs struct array; is this the Kriegeskorte 2008 subject-RDM file?")
    entries = np.atleast_1d(mat["RDMs"]).ravel()
    found: dict[tuple[str, int], np.ndarray] = {}
    for e in entries:
        m = re.fullmatch(r"\s*hIT\s*\|\s*(\w+)\s*\|\s*Session:\s*(\d+)\s*", str(getattr(e, "name", "")))
        if m is None:
            raise InputError(f"{file}: unexpected RDM name {getattr(e, 'name', None)!r}")
        found[(m.group(1), int(m.group(2)))] = np.asarray(e.RDM, dtype=np.float64)
    subjects = list(dict.fromkeys(k[0] for k in found))
    if len(subjects) != 4 or set(found) != {(s, i) for s in subjects for i in (1, 2)}:
        raise InputError(f"{file}: expected 4 subjects x sessions 1-2, found {sorted(found)}")
    rdms = _check_rdms(np.stack([found[(s, i)] for s in subjects for i in (1, 2)]), file, "RDMs")
    return rdms.reshape(4, 2, _N, _N).mean(axis=1) if average_sessions else rdms


def load_algonauts_rdms(region: str, path: str | os.PathLike | None = None) -> np.ndarray:
    """IT or EVC fMRI RDMs of the 15 subjects of Cichy et al. 2014 (Algonauts 2019).

    The MATLAB v7.3 file stores ``EVC_RDMs`` and ``IT_RDMs`` as 15 x 92 x 92; h5py
    reverses the axes to (92, 92, 15), so they are transposed back to (subject, row,
    column). The RDMs are symmetric up to 1 ulp and are symmetrised exactly.

    Parameters
    ----------
    region : {"IT", "EVC"}
    path : str or os.PathLike, optional
        The file, its folder or a data root holding ``rsa92/``.

    Returns
    -------
    numpy.ndarray
        ``(15, 92, 92)`` float64, symmetric, zero diagonals.

    Examples
    --------
    >>> load_algonauts_rdms("EVC").shape  # doctest: +SKIP
    (15, 92, 92)
    """
    if region not in ALGONAUTS_REGIONS:
        raise InputError(f"unknown region {region!r}; valid regions: {sorted(ALGONAUTS_REGIONS)}")
    import h5py

    file = find_data_file(ALGONAUTS_FILENAME, path, what="Algonauts 2019 92-image fMRI RDMs", flag="--rsa92")
    try:
        with h5py.File(file, "r") as f:
            raw = np.asarray(f[ALGONAUTS_REGIONS[region]][()], dtype=np.float64)
    except (OSError, KeyError) as err:
        raise InputError(f"{file}: cannot read {ALGONAUTS_REGIONS[region]} ({err})") from err
    if raw.ndim != 3:
        raise InputError(f"{file}: {ALGONAUTS_REGIONS[region]} has shape {raw.shape}, expected (92, 92, n)")
    return _check_rdms(np.transpose(raw, (2, 1, 0)), file, ALGONAUTS_REGIONS[region])


def _benchmark_data(name: str, path) -> tuple[np.ndarray, np.ndarray | None]:
    """The reference RDM of benchmark ``name`` and its subject RDMs (None for a group RDM alone)."""
    if name not in RSA_BENCHMARKS:
        raise InputError(f"unknown RSA benchmark {name!r}; valid: {sorted(RSA_BENCHMARKS)}")
    spec = RSA_BENCHMARKS[name]
    if spec["data"] == "monkey_it":
        return load_rsa92_rdms(path)["monkey_it"], None
    subjects = load_human_it_subject_rdms(path) if spec["data"] == "human_it" else load_algonauts_rdms(
        spec["region"], path)
    return subjects.mean(axis=0), subjects


def _model_rdm(model_rdm: np.ndarray) -> np.ndarray:
    model = np.asarray(model_rdm, dtype=np.float64)
    if model.shape != (_N, _N):
        raise InputError(f"model_rdm must be ({_N}, {_N}) for the 92 images, got {model.shape}")
    return model


def rsa_benchmark(name: str, model_rdm: np.ndarray, path: str | os.PathLike | None = None) -> dict:
    """Score a model RDM of the 92 images on one of :data:`RSA_BENCHMARKS`.

    ``raw`` is rho with the reference RDM: the monkey group RDM for Kiani 2007, else
    the mean of the subjects' RDMs. The Nili ceiling bounds a *mean per-subject* rho,
    not a rho with the group mean (which averages noise away and can exceed it), so
    ``score`` divides ``subject_mean`` (mean over subjects of rho(model, subject)) by
    the upper bound. The upper bound is used because it is conservative: the group
    mean RDM scores exactly 1, and a model within the noise (between the bounds) gets
    lower/upper to 1 rather than being inflated above 1 as with the lower bound. Without a subject split
    (Kiani 2007) no ceiling exists: ``score`` is ``raw``, the ceiling fields are None.

    Parameters
    ----------
    name : str
        A key of :data:`RSA_BENCHMARKS`.
    model_rdm : numpy.ndarray
        ``(92, 92)``, rows in :func:`topoanalysis.stimuli.rsa92.load_rsa92` order.
    path : str or os.PathLike, optional
        The folder holding the three ``rsa92`` files, or a data root holding ``rsa92/``.

    Returns
    -------
    dict
        ``benchmark``, ``region``, ``raw``, ``subject_mean``, ``ceiling_lower``,
        ``ceiling_upper``, ``ceiling``, ``score``, ``n_subjects``, ``reference``.

    Examples
    --------
    >>> monkey = load_rsa92_rdms()["monkey_it"]  # doctest: +SKIP
    >>> rsa_benchmark("IT-RSA-Kiani2007", monkey)["score"]  # doctest: +SKIP
    1.0
    """
    if name not in RSA_BENCHMARKS:
        raise InputError(f"unknown RSA benchmark {name!r}; valid: {sorted(RSA_BENCHMARKS)}")
    spec = RSA_BENCHMARKS[name]
    model = _model_rdm(model_rdm)
    out = {"benchmark": name, "region": spec["region"], "subject_mean": None, "ceiling_lower": None,
           "ceiling_upper": None, "ceiling": None, "n_subjects": spec["n_subjects"],
           "reference": spec["reference"]}
    group, subjects = _benchmark_data(name, path)
    if subjects is None:
        out["raw"] = out["score"] = rsa_score(model, group)
        return out
    lower, upper = noise_ceiling(subjects)
    subject_mean = float(np.mean([rsa_score(model, s) for s in subjects]))
    out.update(raw=rsa_score(model, group), subject_mean=subject_mean, ceiling_lower=lower,
               ceiling_upper=upper, ceiling=upper, score=subject_mean / upper, n_subjects=len(subjects))
    return out
