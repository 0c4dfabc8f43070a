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


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
