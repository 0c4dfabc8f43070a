"""The package's layers: the metrics and the responses module need neither torch nor the layers above them."""

import json
import pkgutil
import subprocess
import sys

import pytest

import topoanalysis.metrics

ANALYSIS_MODULES = ["topoanalysis.responses"] + [f"topoanalysis.metrics.{m.name}"
                                                 for m in pkgutil.iter_modules(topoanalysis.metrics.__path__)]
FORBIDDEN = ("torch", "spikingjelly", "topoanalysis.recording", "topoanalysis.plotting", "topoanalysis.cli",
             "topoanalysis.models", "topoanalysis.training")


def _loaded_after_import(module: str) -> list[str]:
    """Modules from FORBIDDEN that importing ``module`` in a fresh interpreter loads."""
    code = (f"import json, sys; import {module}; "
            f"print(json.dumps([m for m in {list(FORBIDDEN)!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ANALYSIS_MODULES)
def test_analysis_modules_import_nothing_above_them(module):
    assert _loaded_after_import(module) == []


def test_the_check_sees_a_violation():
    assert "torch" in _loaded_after_import("topoanalysis.recording")
