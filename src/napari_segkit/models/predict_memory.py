"""How much memory a prediction needs, estimated before it starts (no torch needed).

A whole-image (numpy) prediction holds a float32 copy of the image, the
class probabilities twice while they are accumulated and moved channels-last,
and the labels (three int32 volumes for instances: markers, distances,
labels).  Block by block (dask) only the labels stay whole, and none of them
when a zarr output is written chunk by chunk; each block in flight holds its
image and probabilities with a halo.
"""

from __future__ import annotations

import math
from typing import Sequence

__all__ = ["TILE_RESERVE", "estimate_prediction_memory"]

# the network's weights and one tile's activations: the tiling shrinks tiles to fit what is left
TILE_RESERVE = 64 * 2**20


def estimate_prediction_memory(
    n_pixels: int,
    *,
    n_channels: int,
    n_classes: int,
    instances: bool,
    block_shape: Sequence[int] | None = None,
    halo: int = 0,
    labels_held: bool = True,
    blocks_in_flight: int = 2,
) -> int:
    """Bytes a prediction needs beyond the image already read.

    Parameters
    ----------
    n_pixels : int
        Pixels of the label image (all frames, no channels).
    n_channels, n_classes : int
        Image channels and model classes.
    instances : bool
        Whether instance labels (not classes) are made.
    block_shape : sequence of int, optional
        Block by block (dask) with these spatial block sizes; None: whole image.
    halo : int
        Halo added on each side of a block.
    labels_held : bool
        Whether the whole labels volume is held (False: written chunk by chunk).
    blocks_in_flight : int
        Blocks computed at once.
    """
    per_pixel_work = 4 * n_channels + 8 * n_classes
    labels = n_pixels * 4 * (3 if instances else 1) if labels_held else 0
    if block_shape is None:
        return int(n_pixels * per_pixel_work + labels + TILE_RESERVE)
    block = min(math.prod(int(b) + 2 * int(halo) for b in block_shape), max(n_pixels, 1))
    return int(blocks_in_flight * block * (per_pixel_work + 4 * 3) + labels + TILE_RESERVE)
