"""The fLoc functional-localizer images (Stigliani, Weiner & Grill-Spector 2015).

The images are not part of this repository. They are looked up as flat
``<category>-<N>.jpg`` files (the naming TDANN uses) by the data resolver: by default in
``$TOPOANALYSIS_DATA/floc``, else ``../shared/data/floc`` next to the checkout; see
:func:`find_floc_dir`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..datafiles import decode_image
from ..datasets.resolver import DATA_ENV_VAR, find_data_dir
from ..errors import DataNotFoundError, InputError
from .base import StimulusSet, rgb_array

FLOC_DOMAINS = {
    "faces": ("adult", "child"),
    "bodies": ("body", "limb"),
    "characters": ("word", "number"),
    "places": ("house", "corridor"),
    "objects": ("car", "instrument"),
}
FLOC_CATEGORIES = tuple(c for cats in FLOC_DOMAINS.values() for c in cats) + ("scrambled",)
FLOC_ENV_VAR = DATA_ENV_VAR
FLOC_URL = "https://github.com/VPNL/fLoc"

_CATEGORY_TO_DOMAIN = {c: d for d, cats in FLOC_DOMAINS.items() for c in cats}
_CATEGORY_TO_DOMAIN["scrambled"] = "scrambled"
_FILE_RE = re.compile(r"^([a-z]+)-(\d+)\.jpg$")


def _scan(directory: Path) -> dict[str, list[tuple[int, Path]]]:
    """Map each known category to its ``(N, path)`` files, sorted by N."""
    found: dict[str, list[tuple[int, Path]]] = {}
    for entry in directory.iterdir():
        match = _FILE_RE.match(entry.name)
        if match and match.group(1) in _CATEGORY_TO_DOMAIN and entry.is_file():
            found.setdefault(match.group(1), []).append((int(match.group(2)), entry))
    for category, files in found.items():
        files.sort()
        numbers = [n for n, _ in files]
        if len(set(numbers)) != len(numbers):
            dup = sorted({n for n in numbers if numbers.count(n) > 1})
            raise InputError(
                f"{directory}: several files for {category} image numbers {dup} "
                "(e.g. adult-1.jpg and adult-01.jpg); keep one of each"
            )
    return found


def _holds_floc(directory: Path) -> bool:
    """Whether ``directory`` is a folder holding a file named ``<category>-<N>.jpg`` of a known category."""
    return directory.is_dir() and any(
        (m := _FILE_RE.match(p.name)) and m.group(1) in _CATEGORY_TO_DOMAIN for p in directory.iterdir()
    )


def find_floc_dir(path: str | os.PathLike | None = None) -> Path:
    """Locate the folder of fLoc ``<category>-<N>.jpg`` images.

    Looks, in order, at ``path``; at ``$TOPOANALYSIS_DATA/floc``; at ``floc/`` in the shared
    data folder beside the checkout (``../shared/data/floc`` relative to the repository root),
    through the toolkit's one data resolver
    (:func:`topoanalysis.datasets.resolver.find_data_dir`). An explicit ``path`` is never
    replaced by a fallback, and the current working directory plays no part. A folder counts
    when it holds at least one ``<category>-<N>.jpg`` file of a known category; what it must
    hold beyond that (every category asked for, one file per image number, images of one size)
    is checked by :func:`load_floc`.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Folder that holds the images (not a data folder holding ``floc/``).

    Returns
    -------
    pathlib.Path
        The first folder that holds fLoc images.

    Raises
    ------
    FileNotFoundError
        A :class:`~topoanalysis.errors.DataNotFoundError`: if ``path`` is given but missing or
        holds no fLoc images, or if no default place holds them; the message lists every place
        it looked and how to fix it.

    Examples
    --------
    >>> find_floc_dir("../shared/data/floc")  # doctest: +SKIP
    PosixPath('../shared/data/floc')
    """
    try:
        return find_data_dir("floc", path, what=f"fLoc images (<category>-<N>.jpg with category in "
                                                f"{list(FLOC_CATEGORIES)})", flag="--stimuli", holds=_holds_floc)
    except DataNotFoundError as exc:
        if path is not None:
            raise
        raise DataNotFoundError(f"{exc} Or download the fLoc stimuli from {FLOC_URL} (folder stimuli/) into "
                                "one of these places.") from None


def load_floc(
    path: str | os.PathLike | None = None,
    *,
    image_size_px: int | None = None,
    include_scrambled: bool = False,
    categories: Iterable[str] | None = None,
    max_per_category: int | None = None,
    degrees: float = 8.0,
) -> StimulusSet:
    """Load the fLoc images as an RGB :class:`StimulusSet`.

    Greyscale images are repeated to three channels. Images are ordered by category
    (in :data:`FLOC_CATEGORIES` order) and then by image number. Files that do not
    follow ``<category>-<N>.jpg`` are ignored.

    Parameters
    ----------
    path : str or os.PathLike, optional
        Image folder; default found by :func:`find_floc_dir`.
    image_size_px : int, optional
        Resize every image to this square size with bicubic interpolation. Needed
        when the images differ in size.
    include_scrambled : bool, default False
        Add the ``"scrambled"`` baseline category (TDANN drops it).
    categories : iterable of str, optional
        Categories to load (default: the ten non-scrambled ones). ``include_scrambled``
        adds ``"scrambled"`` to these.
    max_per_category : int, optional
        Keep only the lowest-numbered images of each category (for quick runs).
    degrees : float, default 8.0
        Visual degrees spanned by the image width (TDANN's value).

    Returns
    -------
    StimulusSet
        Named ``"floc"``, labels ``stimulus_id`` (``"adult-1"``), ``category``,
        ``domain`` (``"faces"`` ... or ``"scrambled"``), ``image_number`` and ``path``.

    Examples
    --------
    >>> s = load_floc(image_size_px=32, max_per_category=2)  # doctest: +SKIP
    >>> s.images.shape, s.labels.domain.unique().tolist()  # doctest: +SKIP
    ((20, 32, 32, 3), ['faces', 'bodies', 'characters', 'places', 'objects'])
    """

    if categories is None:
        wanted = set(FLOC_CATEGORIES[:-1])
    else:
        wanted = {categories} if isinstance(categories, str) else set(categories)
        unknown = sorted(wanted - set(FLOC_CATEGORIES))
        if unknown:
            raise InputError(
                f"unknown fLoc categories {unknown}; valid categories are {list(FLOC_CATEGORIES)}"
            )
        if not wanted:
            raise InputError(f"categories is empty; choose from {list(FLOC_CATEGORIES)}")
    if include_scrambled:
        wanted.add("scrambled")
    if image_size_px is not None and (int(image_size_px) != image_size_px or image_size_px < 1):
        raise InputError(f"image_size_px must be a positive integer, got {image_size_px!r}")
    if max_per_category is not None and (
        int(max_per_category) != max_per_category or max_per_category < 1
    ):
        raise InputError(f"max_per_category must be a positive integer, got {max_per_category!r}")

    directory = find_floc_dir(path)
    found = _scan(directory)
    rows, arrays = [], []
    for category in (c for c in FLOC_CATEGORIES if c in wanted):
        files = found.get(category, [])
        if not files:
            raise DataNotFoundError(f"no fLoc images named {category}-<N>.jpg in {directory}")
        for number, file in files[:max_per_category]:
            arrays.append(rgb_array(decode_image(file, name=f"fLoc image {file}"), image_size_px))
            domain = _CATEGORY_TO_DOMAIN[category]
            rows.append((f"{category}-{number}", category, domain, number, str(file)))

    shapes = sorted({a.shape for a in arrays})
    if len(shapes) > 1:
        raise InputError(
            f"fLoc images in {directory} differ in size ({[s[:2] for s in shapes]}); "
            "pass image_size_px to resize them to one square size"
        )
    labels = pd.DataFrame(rows, columns=["stimulus_id", "category", "domain", "image_number", "path"])
    images = np.stack(arrays)
    check_varied(images, labels["category"].to_numpy(), str(directory))
    return StimulusSet("floc", images, labels, float(degrees))


def check_varied(images: np.ndarray, categories: np.ndarray, source: str) -> None:
    """ValueError when every image is the same, or every image of a category is (zero variance): selectivity and
    smoothness computed on such a set are meaningless numbers (smoothness 1.000), not findings."""
    if len(images) > 1 and (images == images[0]).all():
        raise InputError(f"all {len(images)} fLoc images in {source} are identical, so there is nothing to tell "
                         "categories apart by; pass the real fLoc images (--stimuli)")
    for category in dict.fromkeys(categories):
        group = images[categories == category]
        if len(group) > 1 and (group == group[0]).all():
            raise InputError(f"all {len(group)} fLoc {category} images in {source} are identical (zero variance), so "
                             f"its selectivity would be meaningless; replace them with the real fLoc {category} "
                             "images")
