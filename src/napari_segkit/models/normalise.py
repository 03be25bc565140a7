"""Per-image intensity normalisation shared by training and prediction.

Each channel is mapped so that its 1st percentile goes to 0 and its 99.8th to
1 (robust to the dtype and the range: uint8, 12-bit in uint16, float with an
offset all give the same values).  A constant channel maps
to zeros with a warning.  For dask input the percentiles come from an
evenly strided sample of about a million voxels.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, Tuple

import numpy as np

__all__ = ["DEFAULT_NORMALISATION", "normalise", "percentiles"]

DEFAULT_NORMALISATION: Dict[str, Any] = {"method": "percentile", "low": 1.0, "high": 99.8}
SAMPLE_SIZE = 1_000_000


def percentiles(image: Any, settings: Dict[str, Any]) -> Tuple[np.ndarray, np.ndarray]:
    """Per-channel (low, high) values of a ``(C, ...)`` array (numpy or dask)."""
    n = int(np.prod(image.shape[1:], dtype=np.int64))
    sample = image
    if hasattr(image, "compute") or n > 4 * SAMPLE_SIZE:
        step = max(1, int((n / SAMPLE_SIZE) ** (1.0 / (image.ndim - 1))))
        sample = image[(slice(None),) + (slice(None, None, step),) * (image.ndim - 1)]
        if hasattr(sample, "compute"):
            sample = sample.compute()
    sample = np.asarray(sample, dtype=np.float64).reshape(image.shape[0], -1)
    low = np.percentile(sample, settings.get("low", 1.0), axis=1)
    high = np.percentile(sample, settings.get("high", 99.8), axis=1)
    return low, high


def normalise(image: Any, settings: Dict[str, Any] = DEFAULT_NORMALISATION, *, name: str = "image") -> Any:
    """``(C, ...)`` image -> float32 normalised per channel (numpy or lazy dask)."""
    low, high = percentiles(image, settings)
    span = high - low
    flat = span <= 1e-12 * np.maximum(1.0, np.abs(high))
    if flat.any():
        warnings.warn(
            f"{name} is constant in channel(s) {np.flatnonzero(flat).tolist()}; "
            "it carries no information for the network",
            UserWarning,
            stacklevel=3,
        )
    scale = np.where(flat, 0.0, 1.0 / np.where(flat, 1.0, span)).astype(np.float32)
    shape = (-1,) + (1,) * (image.ndim - 1)
    low32 = low.astype(np.float32).reshape(shape)
    scale = scale.reshape(shape)
    if hasattr(image, "compute"):
        return (image.astype(np.float32) - low32) * scale
    out = np.array(image, dtype=np.float32, copy=True)  # never write into the input
    out -= low32
    out *= scale
    return out
