"""How large the objects in an image are: the scale that picks defaults.

Methods whose good settings depend on the object size (the number of SLIC
superpixels, the superpixels of a normalized cut) ask :func:`object_radius`
instead of assuming the size of an object in a photograph.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

__all__ = ["object_radius", "superpixels_for"]

#: the image is reduced to at most this many pixels along its longest axis first
LONGEST_AXIS = 384
#: fraction of the strongest responses averaged per scale
TOP_FRACTION = 0.002
#: superpixels per object wanted by default
PER_OBJECT = 4


def object_radius(channels_last: np.ndarray, spacing: Optional[Sequence[float]] = None) -> float:
    """Typical radius of the bright objects, in pixels of the finest spacing.

    The scale-normalised Laplacian of Gaussian ``-sigma^2 LoG`` of the summed,
    robustly scaled channels responds most to a blob of radius
    ``sigma * sqrt(ndim)``; the scale whose strongest responses (top 0.2 %)
    are largest wins.  Computed on a copy reduced to at most 384 pixels per
    axis, so it takes well under a second.
    """
    from scipy import ndimage as ndi

    from ._image import normalise_channels, unit_spacing

    spatial = channels_last.shape[:-1]
    sampling = np.asarray(unit_spacing(spacing or (1.0,) * len(spatial)))
    step = max(1, int(math.ceil(max(spatial) / LONGEST_AXIS)))
    reduced = channels_last[tuple(slice(None, None, step) for _ in spatial)]
    scaled, _ = normalise_channels(np.asarray(reduced))
    image = scaled.sum(axis=-1, dtype=np.float64)
    ndim = image.ndim
    largest = max(1.0, min(image.shape) / 6.0)
    sigmas = np.geomspace(0.8, largest, 14)
    best, best_sigma = -np.inf, sigmas[0]
    for sigma in sigmas:
        response = -(sigma**2) * ndi.gaussian_laplace(image, sigma / (sampling / sampling.min()))
        k = max(1, int(TOP_FRACTION * response.size))
        score = float(np.partition(response.ravel(), -k)[-k:].mean())
        if score > best:
            best, best_sigma = score, sigma
    return float(best_sigma * math.sqrt(ndim) * step)


def superpixels_for(spatial_shape: Sequence[int], radius: float, *, per_object: int = PER_OBJECT) -> int:
    """Number of superpixels that gives about ``per_object`` per object of ``radius``."""
    n = float(np.prod(spatial_shape))
    ndim = len(spatial_shape)
    volume = math.pi * radius**2 if ndim == 2 else 4.0 / 3.0 * math.pi * radius**3
    return int(np.clip(round(n * per_object / max(volume, 1.0)), 16, 20000))
