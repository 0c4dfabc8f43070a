"""The Python API: ``import topoanalysis as ta`` stays free of torch; analyses take loaded models."""

import subprocess
import sys

import pytest

import topoanalysis as ta
from topoanalysis.analyses.base import Runtime


def test_importing_the_package_imports_no_torch_and_names_the_api():
    code = "import sys, topoanalysis as ta; print('torch' in sys.modules, sorted(dir(ta)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("False") and "'load'" in out and "'analyses'" in out
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        ta.nothing  # noqa: B018


def test_an_analysis_runs_on_a_model_in_memory(tiny):
    model, spec, path = tiny
    loaded = ta.load(path)
    params = ta.analyses.v1.V1MapsParams(metric=ta.metrics.v1.V1Params(n_samples=2, sample_size=50), seed=3)
    result = ta.analyses.v1.run({"file": path, "memory": loaded}, params, Runtime(device="cpu", progress=False))
    smooth = result.smoothness.set_index(["model", "metric"])["smoothness"]
    assert smooth["file"].equals(smooth["memory"])  # the same network, from disk or from memory
    assert result.record["models"]["memory"]["checkpoint"] == f"in memory ({spec.arch})"
    with pytest.raises(ValueError, match="a .model, spec. pair"):
        ta.analyses.v1.run({"bad": (model,)}, params)
