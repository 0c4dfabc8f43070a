"""``.. params:: module.Class``: a table of a params dataclass's fields.

The defaults are read from the code; the directive's content gives the meaning of each field,
one entry per field, ``name: text`` (continuation lines indented)::

    .. params:: topoanalysis.analyses.v1.V1MapsParams

       seed: unit samples ...
       layer: ...

A field of the class without an entry, or an entry for a field the class does not have, is a
warning, so ``make docs`` (warnings are errors) fails when the code and the page disagree.
"""

from __future__ import annotations

import dataclasses
import importlib
import re

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)
ENTRY = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*):\s*(?P<text>.*)$")


def _import(path: str):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _default(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        return f"``{field.default!r}``"
    if field.default_factory is not dataclasses.MISSING:
        factory = field.default_factory
        if isinstance(factory, type):  # a nested params dataclass: its own table says its defaults
            return f"``{factory.__name__}()``"
        return f"``{factory()!r}``"
    return "(required)"


class ParamsTable(SphinxDirective):
    required_arguments = 1
    has_content = True

    def _entries(self) -> dict[str, str]:
        entries: dict[str, list[str]] = {}
        current = None
        for offset, line in enumerate(self.content):
            if not line.strip():
                continue
            match = ENTRY.match(line)
            if match and not line[:1].isspace():
                current = match["name"]
                if current in entries:
                    logger.warning(f"params {self.arguments[0]}: {current!r} is described twice",
                                   location=(self.env.docname, self.lineno + offset + 1))
                entries[current] = [match["text"]]
            elif current is not None and line[:1].isspace():
                entries[current].append(line.strip())
            else:
                logger.warning(f"params {self.arguments[0]}: cannot read {line!r} (expected 'name: text')",
                               location=(self.env.docname, self.lineno + offset + 1))
        return {name: " ".join(parts) for name, parts in entries.items()}

    def run(self) -> list[nodes.Node]:
        path = self.arguments[0]
        location = (self.env.docname, self.lineno)
        try:
            cls = _import(path)
            fields = dataclasses.fields(cls)
        except (ImportError, AttributeError, TypeError) as exc:
            logger.warning(f"params {path}: not an importable dataclass ({exc})", location=location)
            return []
        entries = self._entries()
        names = [field.name for field in fields]
        for name in names:
            if name not in entries:
                logger.warning(f"params {path}: field {name!r} is not described on this page", location=location)
        for name in entries:
            if name not in names:
                logger.warning(f"params {path}: describes {name!r}, which {cls.__name__} does not have",
                               location=location)
        lines = [f".. list-table:: :class:`~{path}`", "   :header-rows: 1", "   :widths: 24 20 56", "",
                 "   * - parameter", "     - default", "     - meaning"]
        for field in fields:
            lines += [f"   * - ``{field.name}``", f"     - {_default(field)}", f"     - {entries.get(field.name, '')}"]
        container = nodes.container(classes=["params-table"])
        self.state.nested_parse(StringList(lines, source=self.env.docname), self.content_offset, container)
        return [container]


def setup(app):
    app.add_directive("params", ParamsTable)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
