"""
Four models side by side
========================

V1 and IT smoothness of the four bundled ResNet-18s: the spiking pair (topographic with the
STC loss, and its baseline) and the ReLU pair (topographic with TDANN's spatial loss, and its
baseline), all trained on CIFAR-10 with the same recipe, seed and unit positions. Passing
all four to one ``run`` analyses them with the same parameters and seed.

The IT analysis here uses the first 24 fLoc images of each category (240 of 1,440) and few
bootstrap replicates, to keep the build short: its t-values are noisier than a full run's, so
its IT numbers differ somewhat from those of ``topoanalysis it-patches``.
"""

# %%
# Run V1 and IT on every model
# ----------------------------
import matplotlib.pyplot as plt
import numpy as np

import topoanalysis as ta
from topoanalysis.analyses.base import Runtime
from topoanalysis.paths import CHECKPOINT_DIR

runtime = Runtime(device="cpu", progress=False)
models = {"spiking topo": CHECKPOINT_DIR / "tsresnet18_cifar10_a05b05.pt",
          "spiking base": CHECKPOINT_DIR / "sresnet18_cifar10_baseline.pt",
          "ReLU topo": CHECKPOINT_DIR / "tresnet18_cifar10_a05.pt",
          "ReLU base": CHECKPOINT_DIR / "resnet18_cifar10_baseline.pt"}
v1 = ta.analyses.v1.run(models, ta.analyses.v1.V1MapsParams(seed=424), runtime)
it_metric = ta.metrics.it.ITParams(overlap_bootstrap=20, overlap_shuffles=20, tmap_bootstrap=20, tmap_shuffles=20)
it = ta.analyses.it.run(models, ta.analyses.it.ITPatchesParams(metric=it_metric, max_per_category=24, rsa92="none",
                                                               seed=424), runtime)

# %%
# One table
# ---------
# V1: orientation-map smoothness. IT: the mean t-map smoothness over the five fLoc domains
# (its SEM the root mean square of the domains' SEMs). Chance: the same measure with unit
# positions shuffled.
orientation = v1.smoothness[v1.smoothness["metric"] == "orientation"].set_index("model")
domains = it.smoothness.groupby("model", sort=False)
it_mean = domains[["smoothness", "chance"]].mean().assign(sem=domains["sem"].apply(lambda s: np.sqrt((s**2).mean())))
table = {"V1 orientation": orientation.loc[list(models), ["smoothness", "sem", "chance"]],
         "IT t-maps (mean over domains)": it_mean.loc[list(models), ["smoothness", "sem", "chance"]]}
for name, frame in table.items():
    print(name, frame.round(3), sep="\n", end="\n\n")

# %%
# Bar chart
# ---------
# Topographic models in a strong colour, baselines pale; black ticks mark chance.
colours = ["tab:blue", "lightsteelblue", "tab:orange", "navajowhite"]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True, layout="constrained")
for ax, (name, frame) in zip(axes, table.items()):
    positions = np.arange(len(frame))
    ax.bar(positions, frame["smoothness"], yerr=frame["sem"], color=colours, capsize=3)
    ax.scatter(positions, frame["chance"], marker="_", s=300, color="black", label="chance (shuffled positions)")
    ax.set(xticks=positions, xticklabels=frame.index, title=name)
axes[0].set_ylabel("smoothness")
axes[0].legend(loc="upper right", fontsize="small")
plt.show()
