"""Official Brain-Score benchmarks by id, with a clear error when their data cannot be fetched.

Brain-Score fetches a benchmark's data when the benchmark is built or run: ``load_dataset`` /
``load_stimulus_set`` (brainscore_vision) call brainscore_core's ``load_assembly_from_s3`` /
``load_stimulus_set_from_s3``, which download each file from an S3 bucket with a ``BotoFetcher``
into ``$BRAINIO_HOME/<sha1>/``. When that fails, the error says which data set and which file it was
fetching, and where the file is looked for locally, read from those functions' frames in the
exception's traceback.
"""

from __future__ import annotations

from ..errors import InputError
from .adapter import configure_brainscore
from .benchmarks import BENCHMARKS as OFFLINE_BENCHMARKS


def _is_fetch_error(exc: BaseException) -> bool:
    """Whether ``exc`` (or its cause) comes from fetching Brain-Score's data (no network, no credentials)."""
    for link in _chain(exc):
        if isinstance(link, OSError) or type(link).__module__.split(".")[0] in ("botocore", "boto3", "urllib3"):
            return True
        if "EndpointConnectionError" in str(link) or "NoCredentialsError" in str(link):
            return True
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
        fetched = _fetching(exc)
        what = (f"; it was fetching {' -> '.join(fetched)}" if fetched else
                " (which file, Brain-Score did not say: the traceback of this error's cause shows where it failed)")
        raise ConnectionError(
            f"cannot run the Brain-Score benchmark {benchmark_id!r} here: its stimuli and neural data are fetched "
            f"from Brain-Score's storage at run time and could not be downloaded (no network?){what}. Run it on a "
            "machine with a network connection, or copy the file to where it is looked for; the offline benchmarks "
            f"({', '.join(OFFLINE_BENCHMARKS)}) need no network. Cause: {_root_cause(exc)}") from exc


def _chain(exc: BaseException | None):
    """``exc`` and the exceptions it was raised from or while handling, outermost first."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _fetching(exc: BaseException) -> list[str]:
    """What Brain-Score was downloading when ``exc`` was raised: the data identifiers its loaders were called with
    and the S3 file its fetcher was getting, in call order, read from the local variables of the frames in the
    tracebacks of ``exc``'s chain."""
    found: list[str] = []
    for link in _chain(exc):
        traceback = link.__traceback__
        while traceback is not None:
            frame, traceback = traceback.tb_frame, traceback.tb_next
            text = _frame_fetch(frame.f_code.co_name, frame.f_locals)
            if text and text not in found:
                found.append(text)
    return found


def _frame_fetch(function: str, local: dict) -> str | None:
    """The data a frame of Brain-Score's loading functions was fetching, in words; None for other frames."""
    kinds = {"load_dataset": "data set", "load_stimulus_set": "stimulus set",
             "load_assembly_from_s3": "assembly", "load_stimulus_set_from_s3": "stimulus set"}
    if function in kinds and isinstance(local.get("identifier"), str):
        return f"{kinds[function]} {local['identifier']!r}"
    fetcher = local.get("self")
    if function != "download_boto" or not all(hasattr(fetcher, name) for name in ("bucketname", "relative_path")):
        return None
    text = f"the file s3://{fetcher.bucketname}/{fetcher.relative_path}"
    version = (getattr(fetcher, "extra_args", None) or {}).get("VersionId")
    if version not in (None, "null"):
        text += f" (version {version})"
    if getattr(fetcher, "location", None):
        text += f" from {fetcher.location}"
    if getattr(fetcher, "output_filename", None):
        text += f", looked for locally at {fetcher.output_filename}"
    return text


def _root_cause(exc: BaseException) -> str:
    """The download errors in ``exc``'s chain (Brain-Score's fetcher raises a plain ``Exception`` holding both its
    signed and its unsigned attempt's error), each as ``Type: first line of its message``."""
    errors = []
    for link in _chain(exc):
        for error in (link, *(arg for arg in _flat(link.args) if isinstance(arg, BaseException))):
            text = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:160]}"
            if _is_fetch_error(error) and error.__class__ is not Exception and text not in errors:
                errors.append(text)
    return "; ".join(errors) or type(exc).__name__


def _flat(args: tuple) -> list:
    """``args`` with any list or tuple in it unpacked (one level)."""
    return [item for arg in args for item in (arg if isinstance(arg, (list, tuple)) else [arg])]
