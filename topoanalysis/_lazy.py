"""Lazy attributes for packages: submodules and functions imported on first use, so importing stays free."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable


def lazy_attributes(package: str, submodules: Iterable[str], objects: dict[str, tuple[str, str]] | None = None
                    ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``submodules`` by name, ``objects`` as name -> (module, name)."""
    submodules, objects = frozenset(submodules), dict(objects or {})

    def getattr_(name: str):
        if name in submodules:
            return importlib.import_module(f"{package}.{name}")
        if name in objects:
            module, attribute = objects[name]
            return getattr(importlib.import_module(module, package), attribute)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def dir_() -> list[str]:
        return sorted(submodules | set(objects))

    return getattr_, dir_
