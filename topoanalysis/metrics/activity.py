"""Per-layer activity: firing rates and silent units or layers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import SilentLayerError

__all__ = ["SilentLayerError", "layer_activity", "require_active"]


def layer_activity(ds: xr.Dataset) -> pd.DataFrame:
    """One row per recorded layer: units, mean and max rate, fraction of silent units.

    A unit is silent when its response is zero for every stimulus (and timestep); a
    layer is silent when all its units are.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"responses": (("stimulus", "unit"), np.array([[0.0, 0.5], [0.0, 0.25]]))},
    ...                 coords={"layer": ("unit", ["a", "a"])})
    >>> layer_activity(ds)["fraction_silent_units"].tolist()
    [0.5]
    """
    responses = ds["responses"]
    other_dims = [d for d in responses.dims if d != "unit"]
    values = responses.values
    peak = np.abs(values).max(axis=tuple(responses.get_axis_num(other_dims)))
    mean = values.mean(axis=tuple(responses.get_axis_num(other_dims)))
    layers = ds["layer"].values
    rows = []
    for layer in dict.fromkeys(layers.tolist()):
        mask = layers == layer
        rows.append({"layer": layer, "n_units": int(mask.sum()), "mean_rate": float(mean[mask].mean()),
                     "max_rate": float(peak[mask].max()),
                     "fraction_silent_units": float((peak[mask] == 0).mean()),
                     "silent_layer": bool((peak[mask] == 0).all())})
    return pd.DataFrame(rows)


def require_active(ds: xr.Dataset, layer: str) -> None:
    """Raise :class:`SilentLayerError` naming ``layer`` if it never responded."""
    table = layer_activity(ds).set_index("layer")
    if layer in table.index and table.loc[layer, "silent_layer"]:
        raise SilentLayerError(
            f"layer {layer} is silent: no unit responded to any of the {ds.sizes['stimulus']} stimuli. "
            "Its maps would be meaningless; check the checkpoint (an untrained spiking network is silent "
            "beyond its first blocks unless its batch norm is calibrated), the input normalisation, or "
            "pick an earlier layer")
