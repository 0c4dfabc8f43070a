"""Opening data files so that a broken one gives an error naming the file and the fix.

MATLAB files (scipy raises several unrelated types for truncated or foreign files), images
(truncated, undecodable, or decompression bombs: PIL's pixel limit is kept) and zip archives.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

REPLACE = "replace it with an intact copy of the data set"


def read_mat(file: str | os.PathLike, *, what: str, **kwargs) -> dict:
    """``scipy.io.loadmat(file, **kwargs)``; a ValueError naming ``file`` when it cannot be read."""
    import scipy.io

    try:
        return scipy.io.loadmat(file, **kwargs)
    except Exception as exc:  # truncated files raise OSError, ValueError, UnboundLocalError ... inside scipy
        raise ValueError(f"{file}: not a readable MATLAB file for the {what} ({type(exc).__name__}: "
                         f"{str(exc)[:200]}); {REPLACE}") from None


def decode_image(source: str | os.PathLike | bytes, *, name: str | None = None):
    """A decoded RGB PIL image from a path or bytes (``name`` labels bytes in messages)."""
    from PIL import Image

    label = name or str(source)
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            return image.convert("RGB")
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{label}: refused to decode an image this large ({exc}); it is not a real stimulus "
                         f"(a decompression bomb?): remove it or {REPLACE}") from None
    except (OSError, SyntaxError, ValueError) as exc:  # PIL: UnidentifiedImageError, truncated data, bad headers
        raise ValueError(f"{label}: cannot decode the image ({type(exc).__name__}: {str(exc)[:200]}); "
                         f"remove it or {REPLACE}") from None


def open_zip(path: str | os.PathLike, *, what: str) -> zipfile.ZipFile:
    """An open zip archive; a ValueError naming ``path`` when it is not a readable zip."""
    try:
        return zipfile.ZipFile(Path(path))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise ValueError(f"{path}: not a readable zip archive of the {what} ({type(exc).__name__}: "
                         f"{str(exc)[:200]}); {REPLACE}") from None


def read_member(archive: zipfile.ZipFile, name: str) -> bytes:
    """One member's bytes; a ValueError naming the archive and member when it is damaged."""
    try:
        return archive.read(name)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:  # CRC errors, truncation, encryption
        raise ValueError(f"{archive.filename}: member {name} is damaged ({type(exc).__name__}: {str(exc)[:200]}); "
                         f"{REPLACE}") from None
