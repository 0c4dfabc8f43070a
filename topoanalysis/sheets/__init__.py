"""Virtual cortical sheets: unit positions, retinotopic initialisation, neighbourhoods."""

from .init import default_sheets, retinotopic_positions, rf_overlap
from .neighborhoods import sample_neighborhoods, square_cluster
from .positions import (
    AREA_NEIGHBORHOOD_WIDTH_MM,
    AREA_SHEET_SIZE_MM,
    LayerPositions,
    load_sheets,
    save_sheets,
)
from .swapopt import pair_loss, swap_optimize, swap_optimize_sheets, window_spatial_loss

__all__ = [
    "AREA_SHEET_SIZE_MM",
    "AREA_NEIGHBORHOOD_WIDTH_MM",
    "LayerPositions",
    "save_sheets",
    "load_sheets",
    "rf_overlap",
    "retinotopic_positions",
    "default_sheets",
    "sample_neighborhoods",
    "square_cluster",
    "pair_loss",
    "swap_optimize",
    "swap_optimize_sheets",
    "window_spatial_loss",
]
