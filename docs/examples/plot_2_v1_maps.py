"""
V1 maps of a topographic model and its baseline
===============================================

The paper's Figure 3 on the bundled spiking pair: the topographic model (STC loss,
alpha = beta = 0.5) and its baseline, trained with the same recipe, seed and unit positions
without the loss. :func:`topoanalysis.analyses.v1.run` records the gratings on each model's
V1 layer and measures orientation, spatial-frequency and colour preference maps, their
smoothness, response correlation against distance, pinwheels and the Ringach 2002 comparison.
"""

# %%
# Run the analysis
# ----------------
# A model is a checkpoint path (or a loaded ``(model, spec)`` pair); the names are the
# labels of tables and figures. Every default lives in
# :class:`~topoanalysis.analyses.v1.V1MapsParams` and the
# :class:`~topoanalysis.metrics.v1.V1Params` it holds; the seed drives the unit samples.
import tempfile
from pathlib import Path

import topoanalysis as ta
from topoanalysis.analyses.base import Runtime
from topoanalysis.paths import CHECKPOINT_DIR

runtime = Runtime(device="cpu", progress=False)
models = {"topographic": CHECKPOINT_DIR / "tsresnet18_cifar10_a05b05.pt",
          "baseline": CHECKPOINT_DIR / "sresnet18_cifar10_baseline.pt"}
params = ta.analyses.v1.V1MapsParams(seed=424)
result = ta.analyses.v1.run(models, params, runtime)

# %%
# Smoothness
# ----------
# One row per model and map: TDANN's smoothness index of the curve of absolute preference
# difference against distance, its SEM over unit samples, and the same index with the unit
# positions shuffled (chance).
result.smoothness[["model", "metric", "smoothness", "sem", "chance", "n_units"]].round(3)

# %%
# The within-window correlation fall-off: the mean response correlation of the nearest pairs
# minus that of the far ones, per window (SEM over windows), with its shuffled-position chance.
result.correlation_falloff.round(3)

# %%
# What ``topoanalysis v1-maps`` writes
# ------------------------------------
# ``save`` writes every table as CSV, the figures as PNG and PDF, and the record
# (parameters as applied, per-model summaries, checkpoint hashes, timings) as
# ``v1_results.json``; ``V1MapsResult.load`` reads the folder back.
folder = tempfile.TemporaryDirectory()
written = result.save(folder.name)
print("\n".join(sorted(Path(path).name for path in written)))
saved = ta.analyses.v1.V1MapsResult.load(folder.name)
print("applied hypercolumn width (mm):", saved.parameters["applied_hypercolumn_width_mm"])

# %%
# Figures
# -------
# A result draws its figures from its tables, so the reloaded one draws the same:
# ``v1_maps`` (orientation in HSV with pinwheels, spatial frequency and colour, per model) and
# ``v1_summary`` (smoothness bars, difference and correlation against distance, circular
# variance and bandwidth against Ringach et al. 2002).
figures = saved.figures()
folder.cleanup()
