"""
Analyse a model trained in memory
=================================

Every analysis accepts a loaded ``(model, spec)`` pair beside checkpoint paths, so a network
can be analysed straight after training, without reading it back from disk. Here
:func:`topoanalysis.training.trainer.train` trains a tiny spiking ResNet-18 (4 channels in
its first stage, T = 2) with the STC loss for 80 steps on 500 CIFAR-10 images, and
:func:`topoanalysis.analyses.v1.run` maps its V1 layer.

80 steps teach this network nothing about CIFAR-10 (its test accuracy stays near chance);
they are enough for its batch-norm statistics to settle, so every layer fires and the
analysis has something to measure. A real run trains for epochs (``topoanalysis train``).
"""

# %%
# Train
# -----
# ``train`` writes its log and checkpoints under ``out_dir`` (here a temporary folder) and
# returns the trained network with its spec (the architecture's own width and T unless given).
# The trainer draws a progress bar on stderr, silenced here.
import contextlib
import io
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import topoanalysis as ta
from topoanalysis.analyses.base import Runtime
from topoanalysis.training.trainer import TrainConfig, train

runtime = Runtime(device="cpu", progress=False)
folder = tempfile.TemporaryDirectory()
config = TrainConfig(out_dir=str(Path(folder.name) / "run"), arch="tiny_spiking_resnet", limit_per_class=50,
                     epochs=3, max_steps=80, batch_size=16, alpha=0.5, beta=0.5, device="cpu", seed=0, workers=0)
with contextlib.redirect_stderr(io.StringIO()):
    model, spec = train(config)
print(f"{spec.arch}, T = {spec.timesteps}, {spec.input_size_px} px; "
      f"test accuracy {spec.provenance['test_accuracy']:.2f} on {spec.provenance['test_images']} images")

# %%
# The training log
# ----------------
# ``train_log.jsonl`` holds one line per logged step: the task loss, the STC loss
# (alpha L_L + beta L_S, averaged over clusters and summed over layers), training accuracy and
# throughput.
log = pd.DataFrame([json.loads(line) for line in (Path(config.out_dir) / "train_log.jsonl").read_text().splitlines()])
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
ax.plot(log["step"], log["task_loss"], label="task (cross-entropy)")
ax.plot(log["step"], log["stc_loss"], label="STC")
ax.set(xlabel="step", ylabel="loss")
ax.legend()
plt.show()

# %%
# Analyse the network in memory
# -----------------------------
# The pair goes in where a path would; the result names it ``trained``.
result = ta.analyses.v1.run({"trained": (model, spec)}, ta.analyses.v1.V1MapsParams(seed=0), runtime)
summary = result.record["models"]["trained"]["summary"]
print({key: summary[key] for key in ("n_units", "n_responsive", "fraction_orientation_selective",
                                     "median_circular_variance", "n_pinwheels")})

# %%
# A network this little trained is barely tuned (see the fraction of orientation-selective units
# and the median circular variance above), so its smoothness values describe noise, not maps.
# Its 2,048-unit layer has fewer masked units than a sample holds (``sample_size``), so every
# sample is the same and the SEM is 0; and a flat curve, e.g. when every masked unit prefers the
# same colour, has a smoothness index of 1 by definition, as does its chance.
result.smoothness[["model", "metric", "smoothness", "sem", "chance", "n_units"]].round(3)

# %%
figures = result.figures()
folder.cleanup()
