"""The code that runs networks, with one input helper; the modules are imported on first use.

* :mod:`.inputs` - the one preprocessing, batching and device helper: ``default_device``,
  ``preprocess`` (resize and normalise), ``labelled_batches`` (uint8 images and labels -> pixel batches);
* :mod:`.recording` - ``record``: layer responses to a stimulus set, with unit positions;
* :mod:`.dynamics` - spikes per layer, accuracy vs T, Fisher information per connection;
* :mod:`.attacks` - the perturbations (noise, masks, FGSM, best-iterate PGD, Square);
* :mod:`.robustness` - accuracy under those perturbations, per image and summarised.
"""

from .._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, ("attacks", "dynamics", "inputs", "recording", "robustness"))
