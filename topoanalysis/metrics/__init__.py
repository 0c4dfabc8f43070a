"""Pure functions over recordings; the modules are imported on first use (``topoanalysis.metrics.v1``)."""

from .._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, ("activity", "it", "overlap", "patches", "pinwheels", "ringach",
                                                  "selectivity", "spatial", "temporal", "tuning", "v1"))
