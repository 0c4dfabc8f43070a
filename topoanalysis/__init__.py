"""topoanalysis: topographic analysis of deep spiking neural networks.

``import topoanalysis as ta`` is free of side effects and of torch; everything is imported on
first use:

* ``ta.load(path)`` - a checkpoint as ``(model, spec)`` (:func:`topoanalysis.models.checkpoints.load_checkpoint`);
* ``ta.record(model, stimuli, layers, spec=spec)`` - responses as an ``xarray.Dataset``;
* ``ta.stimuli`` - sine gratings, fLoc, the 92-image set;
* ``ta.datasets`` - where data sets are found (``datasets.resolver``) and the Ringach 2002 V1 database
  (``datasets.ringach``);
* ``ta.analyses.v1 / it / brain / temporal / robustness`` - each ``run(models, params, runtime)``,
  where a model is a checkpoint path or a loaded ``(model, spec)`` pair;
* ``ta.report`` - the HTML report (``build_report``, ``build_models_report``);
* ``ta.metrics`` - the metrics on recordings; ``ta.models``, ``ta.sheets``; the paper's findings:
  ``ta.report.findings``.
"""

from ._lazy import lazy_attributes

__version__ = "0.3.0"

__getattr__, __dir__ = lazy_attributes(
    __name__, ("analyses", "datasets", "metrics", "models", "report", "sheets", "stimuli"),
    {"load": (".models.checkpoints", "load_checkpoint"), "record": (".running.recording", "record")})
