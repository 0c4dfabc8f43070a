"""Official Brain-Score benchmarks by id, with a clear error when their data cannot be fetched."""

from __future__ import annotations

from ..errors import InputError
from .adapter import configure_brainscore
from .benchmarks import BENCHMARKS as OFFLINE_BENCHMARKS


def _is_fetch_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or its cause) comes from fetching Brain-Score's data (no network, no credentials)."""
    while exc is not None:
        if isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in ("botocore", "boto3", "urllib3"):
            return True
        if "EndpointConnectionError" in str(exc) or "NoCredentialsError" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _unknown(benchmark_id: str) -> InputError:
    return InputError(f"unknown benchmark {benchmark_id!r}: neither offline ({', '.join(OFFLINE_BENCHMARKS)}) nor "
                      "registered in brainscore_vision (ids like 'MajajHong2015public.IT-pls')", parameter="benchmarks")


def check_registered(benchmark_id: str) -> None:
    """Fail unless ``benchmark_id`` is registered in brainscore_vision: its plugins are searched, nothing is
    downloaded or installed, so an unknown id fails before any model is loaded."""
    configure_brainscore()
    from brainscore_core.plugin_management.import_plugin import ImportPlugin

    try:
        ImportPlugin("brainscore_vision", "benchmarks", benchmark_id)
    except AssertionError as exc:
        if "No registrations found" not in str(exc):
            raise
        raise _unknown(benchmark_id) from None


def official_benchmark(benchmark_id: str, candidate):
    """Score ``candidate`` (a Brain-Score model) on a registered benchmark, e.g. ``MajajHong2015public.IT-pls``."""
    configure_brainscore()
    from brainscore_vision import load_benchmark

    try:
        return load_benchmark(benchmark_id)(candidate)
    except AssertionError as exc:
        if "No registrations found" not in str(exc):
            raise
        raise _unknown(benchmark_id) from exc
    except Exception as exc:
        if not _is_fetch_error(exc):
            raise
        raise ConnectionError(
            f"cannot run the Brain-Score benchmark {benchmark_id!r} here: its stimuli and neural data are fetched "
            "from Brain-Score's storage at run time and could not be downloaded (no network?). Run it on a machine "
            "with a network connection, or copy its cached data into $TOPOANALYSIS_BRAINSCORE_HOME; the offline "
            f"benchmarks ({', '.join(OFFLINE_BENCHMARKS)}) need no network") from exc
