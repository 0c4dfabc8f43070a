"""One module per analysis (v1, it, brain, temporal, robustness), each ``run(models, params, runtime) -> Result``.

The modules are imported on first use (``topoanalysis.analyses.v1``).
"""

from .._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, ("base", "brain", "it", "robustness", "temporal", "v1"))
