"""The data sets the toolkit reads, and the one place that finds them.

* :mod:`topoanalysis.datasets.resolver` - where a data set is looked for: an explicit path, else
  ``$TOPOANALYSIS_DATA/<name>``, else the shared data folder beside the checkout
  (``DATA_SETS``, ``default_data_path``, ``find_data_file``, ``find_data_dir``);
* :mod:`topoanalysis.datasets.ringach` - the Ringach, Shapley & Hawken (2002) V1 database
  (``load_ringach2002``, ``find_ringach_file``).

The other loaders stay beside what uses them and find their files through the resolver: the
CIFAR-10 zip (:mod:`topoanalysis.training.data`), the fLoc images and the 92-image set
(:mod:`topoanalysis.stimuli`), the V4 data (:mod:`topoanalysis.brain.v4`) and the RSA RDMs
(:mod:`topoanalysis.brain.rsa`). The modules are imported on first use.
"""

from .._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, ("resolver", "ringach"))
