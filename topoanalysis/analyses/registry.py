"""The analyses the toolkit knows: one :class:`Analysis` entry each, read by the report, the CLI and the tests.

Adding an analysis is its module (params dataclass, ``check_data``, ``run``, a :class:`~.base.Result`
subclass) plus one entry: built-in ones declare ``ANALYSIS`` at the end of their module and are listed in
:data:`BUILTIN`; others call :func:`register`. The report runs every registered analysis (each
cached separately, its figures and tables in its own section), the CLI gains the entry's command,
and the conformance test checks every entry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ..errors import InputError

BUILTIN = ("v1", "it", "brain", "temporal", "robustness")
"""The built-in analyses, in report order (each module's ``ANALYSIS``)."""


@dataclass(frozen=True)
class Analysis:
    """One analysis, as everything that runs or shows it needs it.

    Attributes
    ----------
    name : str
        Its key (report section, cache folder, ``ReportParams`` field), e.g. ``"v1"``.
    title : str
        Its report section's title.
    params : type
        Its frozen params dataclass (every default lives there; bad values fail on construction).
    result : type
        Its :class:`~topoanalysis.analyses.base.Result` subclass (``load`` reads a saved one back).
    run : callable
        ``run(models, params, runtime) -> result``.
    check_data : callable
        ``check_data(params)``: fails before any work when its data are missing.
    data_sets : callable
        ``data_sets(params) -> [Path]``: the data it reads (the report keys its cache on their fingerprint).
    cli : str or module
        The command-line module (``add_parser(subparsers)`` and ``run(args)``), or its dotted name.
    report_params : params instance, optional
        The params the report runs it with (default: ``params()``).
    needs_spikes : bool
        Skipped for networks without spike trains (ReLU).
    per_model : bool
        Also run on every model of a multi-model report (V1, IT, brain), not only on pairs.
    """

    name: str
    title: str
    params: type
    result: type
    run: Callable
    check_data: Callable
    data_sets: Callable[[object], list[Path]]
    cli: str | ModuleType
    report_params: object = None
    needs_spikes: bool = False
    per_model: bool = False

    def default_report_params(self):
        return self.params() if self.report_params is None else self.report_params

    def cli_module(self) -> ModuleType:
        return importlib.import_module(self.cli) if isinstance(self.cli, str) else self.cli


_REGISTERED: dict[str, Analysis] = {}


def register(entry: Analysis) -> Analysis:
    """Add ``entry`` (after the built-ins, in registration order); its name must be new."""
    if entry.name in analyses():
        raise InputError(f"an analysis named {entry.name!r} is already registered; pick another name")
    _REGISTERED[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove an analysis added with :func:`register` (built-ins stay)."""
    _REGISTERED.pop(name, None)


def analyses() -> dict[str, Analysis]:
    """Every analysis by name: the built-ins (imported on first use), then the registered ones."""
    builtin = {name: importlib.import_module(f"{__package__}.{name}").ANALYSIS for name in BUILTIN}
    return {**builtin, **_REGISTERED}


def get(name: str) -> Analysis:
    entries = analyses()
    if name not in entries:
        raise InputError(f"unknown analysis {name!r}; registered: {', '.join(entries)}")
    return entries[name]
