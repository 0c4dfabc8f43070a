"""Opening data files so that a broken one gives an error naming the file and the fix.

MATLAB files (scipy raises several unrelated types for truncated or foreign files), images
(truncated, undecodable, or decompression bombs: PIL's pixel limit is kept) and zip archives.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from .errors import InputError

REPLACE = "replace it with an intact copy of the data set"
MAX_MEMBER_BYTES = 64 * 2**20
"""The largest zip member :func:`read_member` reads: far above any stimulus image (CIFAR's are ~1 kB)."""


def read_mat(file: str | os.PathLike, *, what: str, **kwargs) -> dict:
    """``scipy.io.loadmat(file, **kwargs)``; a ValueError naming ``file`` when it cannot be read."""
    import scipy.io

    try:
        return scipy.io.loadmat(file, **kwargs)
    except Exception as exc:  # truncated files raise OSError, ValueError, UnboundLocalError ... inside scipy
        raise InputError(f"{file}: not a readable MATLAB file for the {what} ({type(exc).__name__}: "
                         f"{str(exc)[:200]}); {REPLACE}") from None


def decode_image(source: str | os.PathLike | bytes, *, name: str | None = None):
    """A decoded RGB PIL image from a path or bytes (``name`` labels bytes in messages)."""
    from PIL import Image

    label = name or str(source)
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            return _to_rgb(image, label)
    except UnusableImageMode:
        raise
    except Image.DecompressionBombError as exc:
        raise InputError(f"{label}: refused to decode an image this large ({exc}); it is not a real stimulus "
                         f"(a decompression bomb?): remove it or {REPLACE}") from None
    except (OSError, SyntaxError, ValueError) as exc:  # PIL: UnidentifiedImageError, truncated data, bad headers
        raise InputError(f"{label}: cannot decode the image ({type(exc).__name__}: {str(exc)[:200]}); "
                         f"remove it or {REPLACE}") from None


class UnusableImageMode(InputError):
    """An image that decodes but whose pixel values have no fixed 8-bit meaning (float, 32-bit)."""


EIGHT_BIT_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr")
"""PIL modes with 8 bits (or 1) per channel: converted to RGB as they are."""
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
"""16-bit greyscale (PNG, TIFF): scaled to 8 bits (65535 -> 255), not clipped (which turns most pixels white)."""


def _to_rgb(image, label: str):
    """``image`` as 8-bit RGB; 16-bit greyscale scaled down; float and 32-bit integer images refused."""
    from PIL import Image

    if image.mode in EIGHT_BIT_MODES:
        return image.convert("RGB")
    if image.mode in SIXTEEN_BIT_MODES:
        import numpy as np

        levels = np.asarray(image).astype(np.uint32)
        return Image.fromarray(((levels * 255 + 32767) // 65535).astype(np.uint8), "L").convert("RGB")
    kind = "floating-point" if image.mode.startswith("F") else "32-bit or unusual"
    raise UnusableImageMode(f"{label}: its pixels are in mode {image.mode} ({kind} values with no fixed white "
                            "level), which would need a guessed scale to show as an 8-bit image; convert it to an "
                            "8-bit RGB or greyscale PNG/JPEG")


def open_zip(path: str | os.PathLike, *, what: str) -> zipfile.ZipFile:
    """An open zip archive; a ValueError naming ``path`` when it is not a readable zip."""
    try:
        return zipfile.ZipFile(Path(path))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise InputError(f"{path}: not a readable zip archive of the {what} ({type(exc).__name__}: "
                         f"{str(exc)[:200]}); {REPLACE}") from None


def read_member(archive: zipfile.ZipFile, name: str, *, max_bytes: int | None = None) -> bytes:
    """One member's bytes; a ValueError naming the archive and member when it is damaged or larger than
    ``max_bytes`` (default :data:`MAX_MEMBER_BYTES`; by its declared size, before reading, and by what it
    actually inflates to)."""
    max_bytes = MAX_MEMBER_BYTES if max_bytes is None else max_bytes
    try:
        declared = archive.getinfo(name).file_size
        if declared > max_bytes:
            raise InputError(f"{archive.filename}: member {name} declares {declared:,} bytes, over the "
                             f"{max_bytes:,} an image may have; it is not a real stimulus: {REPLACE}")
        with archive.open(name) as member:
            data = member.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise InputError(f"{archive.filename}: member {name} inflates past {max_bytes:,} bytes (more than "
                             f"its header declares); {REPLACE}")
        return data
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:  # CRC errors, truncation, encryption
        raise InputError(f"{archive.filename}: member {name} is damaged ({type(exc).__name__}: {str(exc)[:200]}); "
                         f"{REPLACE}") from None
