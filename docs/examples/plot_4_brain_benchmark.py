"""
Brain benchmarks: a layer sweep
===============================

:func:`topoanalysis.analyses.brain.run` scores every layer of each model on offline
benchmarks with real neural data (the paper's Table 1). Here: the V1 tuning comparison
with 308 macaque V1 cells (Ringach et al. 2002) and the representational similarity with
monkey IT (Kiani et al. 2007) and human IT (Kriegeskorte et al. 2008) on the 92 images.

Each benchmark's region is committed to one layer by the checkpoint's layer -> area map
(IT: ``layer4.1``); the layer sweep shows how the other layers would have scored.
"""

# %%
# Run the benchmarks
# ------------------
# ``n_bootstrap`` image resamples of the 92 images score each RSA benchmark's committed
# layer again; every model gets the same resamples, so model differences are paired.
import matplotlib.pyplot as plt
import numpy as np

import topoanalysis as ta
from topoanalysis.analyses.base import Runtime
from topoanalysis.paths import CHECKPOINT_DIR

runtime = Runtime(device="cpu", progress=False)
models = {"topographic": CHECKPOINT_DIR / "tsresnet18_cifar10_a05b05.pt",
          "baseline": CHECKPOINT_DIR / "sresnet18_cifar10_baseline.pt"}
params = ta.analyses.brain.BrainParams(
    benchmarks=("V1-Ringach2002", "IT-RSA-Kiani2007", "IT-RSA-Kriegeskorte2008"), n_bootstrap=200, seed=0)
result = ta.analyses.brain.run(models, params, runtime)

# %%
# The committed layers
# --------------------
# Per model and benchmark: the committed layer's score and the best layer's.
result.region_scores.round(3)

# %%
# Every layer
# -----------
# ``brain_layer_sweep``: each benchmark's score over the layers, committed layers marked.
figures = result.figures()

# %%
# A paired difference
# -------------------
# The topographic minus baseline score of each RSA benchmark on the same image resamples:
# the spread of the differences is the bootstrap's 95 % interval.
boot = result.rsa_bootstrap.pivot_table(index=["benchmark", "replicate"], columns="model", values="score")
difference = (boot["topographic"] - boot["baseline"]).unstack("benchmark")
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
for position, benchmark in enumerate(difference.columns):
    values = difference[benchmark].dropna().to_numpy()
    low, high = np.percentile(values, [2.5, 97.5])
    ax.errorbar(position, values.mean(), yerr=[[values.mean() - low], [high - values.mean()]], fmt="o", capsize=4)
ax.axhline(0, color="grey", lw=0.8)
ax.set(xticks=range(len(difference.columns)), xticklabels=difference.columns,
       xlim=(-0.5, len(difference.columns) - 0.5),
       ylabel="score difference\n(topographic - baseline)", title="IT RSA, image bootstrap (95 %)")
plt.show()
