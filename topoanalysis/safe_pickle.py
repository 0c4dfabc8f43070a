"""Load pickles without running code from them: only named, harmless globals are resolved.

``pickle.load`` imports and calls whatever the file names, so a planted file can run code.
:func:`restricted_load` resolves a global only if it is in the ``allowed`` table; anything
else stops the load with a clear error. The default, :func:`numpy_array_globals`, admits numpy
arrays and dtypes: what the CIFAR python pickles hold besides dicts, lists, bytes, strings and
numbers, which pickle builds without any global.
"""

from __future__ import annotations

import codecs
import importlib
import io
import pickle
from collections.abc import Mapping
from typing import Any, BinaryIO

import numpy as np

from .errors import InputError, UnsafePickleError

__all__ = ["UnsafePickleError", "numpy_array_globals", "restricted_load"]


def _numpy_internal(submodule: str, name: str):
    for package in ("numpy._core", "numpy.core"):  # numpy 2, numpy 1
        try:
            return getattr(importlib.import_module(f"{package}.{submodule}"), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(f"numpy's {submodule}.{name} was not found")


def numpy_array_globals() -> dict[tuple[str, str], Any]:
    """The globals pickled numpy arrays and bytes need (protocols 2-5), under numpy 1's and numpy 2's names."""
    allowed: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                                           ("_codecs", "encode"): codecs.encode}  # bytes in protocol-2 pickles
    for package in ("numpy.core", "numpy._core"):
        for submodule, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar"), ("numeric", "_frombuffer")):
            allowed[(f"{package}.{submodule}", name)] = _numpy_internal(submodule, name)
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, handle: BinaryIO, allowed: Mapping[tuple[str, str], Any], source: str, **kwargs) -> None:
        super().__init__(handle, **kwargs)
        self._allowed, self._source = allowed, source

    def find_class(self, module: str, name: str):
        if (module, name) not in self._allowed:
            raise UnsafePickleError(
                f"{self._source} asks for {module}.{name}, which a data file of this kind never needs (it could "
                "run code); refusing to load it. Use the original files from the data set's publisher")
        return self._allowed[(module, name)]


def restricted_load(handle: BinaryIO | bytes, allowed: Mapping[tuple[str, str], Any] | None = None, *,
                    source: str = "the pickle", encoding: str = "ASCII") -> Any:
    """Unpickle ``handle`` (a binary file or bytes), resolving only the globals in ``allowed``.

    ``allowed`` maps ``(module, name)`` to the object to use; default :func:`numpy_array_globals`.

    Raises
    ------
    UnsafePickleError
        If the pickle names any other global.
    ValueError
        If the data is not a readable pickle (truncated or not a pickle at all).
    """
    if isinstance(handle, (bytes, bytearray)):
        handle = io.BytesIO(handle)
    allowed = numpy_array_globals() if allowed is None else allowed
    try:
        return _RestrictedUnpickler(handle, allowed, source, encoding=encoding).load()
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError) as exc:
        raise InputError(f"{source} is not a readable pickle ({type(exc).__name__}: {exc}); "
                         "re-extract it from the original archive") from None
