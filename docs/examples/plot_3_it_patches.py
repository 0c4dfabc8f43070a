"""
IT category patches
===================

The paper's Figure 4 on the bundled spiking pair: :func:`topoanalysis.analyses.it.run`
records the fLoc images (five domains: faces, bodies, characters, places, objects) on each
model's IT layer, computes a t-value per unit and domain, finds category patches on the
sheet, and measures how smooth the t-maps are and how much the domains' maps overlap.

To keep the build short this example uses the first 48 fLoc images of each of the ten
categories (480 of 1,440) and fewer bootstrap and shuffle replicates than the defaults.
"""

# %%
# Run the analysis
# ----------------
import topoanalysis as ta
from topoanalysis.analyses.base import Runtime
from topoanalysis.paths import CHECKPOINT_DIR

runtime = Runtime(device="cpu", progress=False)
models = {"topographic": CHECKPOINT_DIR / "tsresnet18_cifar10_a05b05.pt",
          "baseline": CHECKPOINT_DIR / "sresnet18_cifar10_baseline.pt"}
metric = ta.metrics.it.ITParams(overlap_bootstrap=200, overlap_shuffles=50, tmap_bootstrap=50, tmap_shuffles=50)
params = ta.analyses.it.ITPatchesParams(metric=metric, max_per_category=48, seed=424)
result = ta.analyses.it.run(models, params, runtime)

# %%
# t-map smoothness per domain
# ---------------------------
# The smoothness index of the curve of absolute t difference against distance (to 60 mm), with its
# shuffled-position chance.
result.smoothness[["model", "domain", "smoothness", "sem", "chance"]].round(3)

# %%
# Patches
# -------
# One row per patch: its domain, area (mm^2), centroid and number of units.
result.table("patches").groupby(["model", "domain"]).size().unstack(fill_value=0)

# %%
# The overlap claim
# -----------------
# Faces-bodies minus characters-places overlap, by TDANN's spatial co-localisation (bootstrap
# over windows, position-shuffle null) and by the non-spatial t-map correlation (bootstrap over
# images, label-shuffle null).
result.overlap_contrast[["model", "method", "value", "ci_low", "ci_high", "null_kind", "null_mean"]].round(3)

# %%
# Figures
# -------
# ``it_tmaps`` (each domain's t-map with its patch outlines), ``it_overlap`` (the domain x
# domain overlap matrices, one per method) and ``it_summary`` (smoothness, selectivity vs
# distance, and the generalisation to the 92-image set).
figures = result.figures()
