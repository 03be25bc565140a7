"""What the seeded methods share: seeds against the parsed image, the background value."""

from __future__ import annotations

import warnings
from typing import Any, Optional, Tuple

import numpy as np

from .._errors import InputError
from .._image import ParsedImage
from .._seeds import check_seeds
from .._validation import check_int

__all__ = ["SeedPlan", "plan_seeds"]


class SeedPlan:
    """Seeds checked against an image, and what becomes 0 in the output.

    Attributes
    ----------
    seeds : ndarray
        ``labels_shape`` or the spatial shape (then the same for every frame).
    values : ndarray of int64
        The distinct non-zero seed values.
    background : int
        The seed value mapped to 0 in the output (0 when there is none).
    """

    def __init__(self, seeds: np.ndarray, values: np.ndarray, background: int, spatial: Tuple[int, ...]):
        self.seeds = seeds
        self.values = values
        self.background = background
        self._spatial = spatial

    def frame(self, index: Tuple[int, ...]) -> np.ndarray:
        return self.seeds if self.seeds.shape == self._spatial else self.seeds[index]

    def finish(self, labels: np.ndarray) -> np.ndarray:
        """Seed values per pixel -> output labels (background seed value -> 0)."""
        if self.background:
            labels = np.where(labels == self.background, 0, labels)
        return labels


def plan_seeds(
    parsed: ParsedImage, seeds: Any, *, background_seed: Optional[int], min_values: int, method: str
) -> SeedPlan:
    """Check ``seeds`` against ``parsed`` and choose the background value.

    ``background_seed``: None = the largest seed value (as painted for graph
    cut: 1 = object, 2 = background; or cells 1..n and background n + 1);
    0 = no background seeds (every value is an object); else that value.
    """
    array, values = check_seeds(
        seeds, full_shape=parsed.labels_shape, spatial_shape=parsed.spatial_shape, min_values=min_values
    )
    if parsed.frame_shape and array.shape == parsed.spatial_shape:
        warnings.warn(
            f"{method}: seeds have one frame's shape {array.shape}; the same seeds are used on every "
            f"one of the {parsed.n_frames} frames (pass seeds of shape {parsed.labels_shape} to seed "
            "frames separately)",
            UserWarning,
            stacklevel=3,
        )
    if background_seed is None:
        background = int(values[-1])
    else:
        background = check_int(background_seed, name="background_seed", low=0)
        if background and background not in values:
            raise InputError(
                f"background_seed={background} but the seeds hold the values {values.tolist()}; "
                "pass one of them, or 0 when no value marks the background"
            )
    return SeedPlan(array, values, background, parsed.spatial_shape)
