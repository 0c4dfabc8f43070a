"""
Record a layer on its cortical sheet
====================================

Load the default topographic spiking ResNet-18, show it the 640 sine gratings, and draw every
unit of its V1 layer at its position on the virtual cortical sheet (``x_mm``, ``y_mm``).
"""

# %%
# Load a checkpoint
# -----------------
# :func:`topoanalysis.load` returns the network (in eval mode) and its
# :class:`~topoanalysis.models.checkpoints.CheckpointSpec`: input size, timesteps, the
# layer -> area map and the unit positions of every sheet. ``spec.layer_for("V1")`` is the
# layer that stands for V1 (the first one mapped to it).
import matplotlib.pyplot as plt
import numpy as np

import topoanalysis as ta
from topoanalysis.analyses.base import Runtime
from topoanalysis.paths import CHECKPOINT_DIR
from topoanalysis.responses import layer_responses

runtime = Runtime(device="cpu", progress=False)
rng = np.random.default_rng(0)

model, spec = ta.load(CHECKPOINT_DIR / "tsresnet18_cifar10_a05b05.pt")
layer = spec.layer_for("V1")
print(spec.model_card())

# %%
# Record the gratings
# -------------------
# The gratings are rendered at the checkpoint's input size and field of view
# (8 orientations x 8 spatial frequencies x 5 phases x 2 colours). ``ta.record`` returns an
# ``xarray.Dataset``: one firing rate (spikes per step, averaged over the T steps) per
# stimulus and unit, with the grating labels as stimulus coordinates and each unit's
# channel, row, column and sheet position as unit coordinates.
gratings = ta.stimuli.make_sine_gratings(spec.input_size_px, spec.visual_degrees)
ds = ta.record(model, gratings, [layer], spec=spec, **runtime.recording_options(spec))
responses = layer_responses(ds, layer)
print(responses.sizes)

# %%
# The layer on its sheet
# ----------------------
# Left: each unit's mean rate over all gratings. Right: its preferred orientation (the peak
# of its mean response per orientation), for units that respond at all. Neighbouring units
# of this topographic model share preferences, so the right panel shows smooth patches.
x_mm, y_mm = responses["x_mm"].values, responses["y_mm"].values
rates = responses.values  # (stimulus, unit)
orientation = responses["orientation_deg"].values
levels = np.unique(orientation)
curves = np.stack([rates[orientation == level].mean(axis=0) for level in levels])  # (orientation, unit)
preferred = levels[curves.argmax(axis=0)]
active = rates.max(axis=0) > 0

fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
shown = axes[0].scatter(x_mm, y_mm, c=rates.mean(axis=0), s=3, cmap="viridis")
fig.colorbar(shown, ax=axes[0], label="mean rate (spikes / step)")
shown = axes[1].scatter(x_mm[active], y_mm[active], c=preferred[active], s=3, cmap="hsv", vmin=0, vmax=180)
fig.colorbar(shown, ax=axes[1], label="preferred orientation (deg)")
for ax, title in zip(axes, ("mean response", "orientation preference")):
    ax.set(title=f"{layer}: {title}", xlabel="x (mm)", ylabel="y (mm)", aspect="equal")
plt.show()

# %%
# Tuning curves of a few units
# ----------------------------
# Four responsive units drawn at random (seeded): mean rate per orientation.
chosen = rng.choice(np.flatnonzero(active), size=4, replace=False)
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
for unit in chosen:
    ax.plot(levels, curves[:, unit], marker="o", label=f"unit at ({x_mm[unit]:.1f}, {y_mm[unit]:.1f}) mm")
ax.set(xlabel="grating orientation (deg)", ylabel="mean rate (spikes / step)", xticks=levels[::2])
ax.legend(fontsize="small")
plt.show()
