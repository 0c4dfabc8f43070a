"""Shared fixtures: a tiny checkpoint saved to disk, headless matplotlib, denormal floats flushed to zero,
and a longer per-test timeout for slow-marked tests."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

SLOW_TIMEOUT_S = 1800
"""pytest-timeout's limit for ``@pytest.mark.slow`` tests (the rest get pyproject's ``timeout``)."""


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))


@pytest.fixture(scope="session", autouse=True)
def _flush_denormals():
    """Denormal floats as zero for the whole session, set before the first test starts torch's worker threads
    (they copy the setting when they start); a oneDNN backward over denormals can take minutes per step."""
    import torch

    torch.set_flush_denormal(True)
    yield
    torch.set_flush_denormal(False)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """``(model, spec, path)`` of a calibrated tiny spiking ResNet saved once per session."""
    from topoanalysis.models.checkpoints import save_checkpoint
    from topoanalysis.testing import tiny_checkpoint

    model, spec = tiny_checkpoint()
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    spec = save_checkpoint(path, model, spec)
    return model, spec, path


@pytest.fixture(scope="session")
def tiny_floc(tmp_path_factory):
    """``(model, spec, path)`` of a tiny spiking ResNet whose batch norm is calibrated on fLoc."""
    from topoanalysis.models.checkpoints import save_checkpoint
    from topoanalysis.stimuli import find_floc_dir
    from topoanalysis.testing import tiny_checkpoint

    try:
        find_floc_dir()
    except FileNotFoundError:
        pytest.skip("fLoc images not available at ../shared/data/floc")
    model, spec = tiny_checkpoint(calibrate_on="floc")
    path = tmp_path_factory.mktemp("ckpt") / "tiny_floc.pt"
    spec = save_checkpoint(path, model, spec)
    return model, spec, path


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def default_sigint():
    """SIGINT handled by Python's default handler during the test, whatever the caller set (a background job
    or CI runner may start with SIGINT ignored); the caller's handler is put back after."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)
