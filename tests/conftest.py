"""Shared fixtures: a tiny checkpoint saved to disk, and headless matplotlib."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


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
