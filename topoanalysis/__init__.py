"""topoanalysis: topographic analysis of deep spiking neural networks.

Importing the package has no side effects; the submodules are imported on use:
``topoanalysis.models``, ``topoanalysis.stimuli``, ``topoanalysis.sheets``,
``topoanalysis.recording``, ``topoanalysis.metrics``, ``topoanalysis.plotting``, and above
them ``topoanalysis.analyses`` (one module per analysis: params, ``run``, result),
``topoanalysis.report`` (the HTML report over the analyses) and ``topoanalysis.cli``.
"""

__version__ = "0.2.0"
