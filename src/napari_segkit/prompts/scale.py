"""How large is the object under a click: the scale of the strongest blob response there.

The scale-normalised Laplacian of Gaussian ``sigma^2 * LoG`` (Lindeberg 1998)
peaks, at the centre of a blob of radius ``r``, at ``sigma = r / sqrt(d)``
(d = 2 or 3 spatial axes).  Evaluated at the clicked point over a geometric
ladder of scales, its strongest response gives the object's radius without
any threshold, for any bit depth (the image is normalised first) and either
contrast (bright on dark or dark on bright).
"""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
from scipy import ndimage as ndi

__all__ = ["estimate_radius", "RADIUS_RANGE"]

#: smallest and largest radius looked for, in pixels along the finest axis
RADIUS_RANGE = (3.0, 96.0)
_STEPS = 16


def estimate_radius(
    values: np.ndarray, coords: Sequence[int], spacing: Sequence[float], *, radius_range: Tuple[float, float] = RADIUS_RANGE
) -> float:
    """Radius of the blob centred near ``coords`` in ``values`` (one channel, spatial axes only).

    Returns the radius in pixels along the finest axis (physical units divided
    by the smallest spacing).  Only a window around the point is filtered.
    """
    spacing = np.asarray(spacing, dtype=np.float64)
    unit = float(spacing.min())
    d = values.ndim
    radii = np.geomspace(radius_range[0], radius_range[1], _STEPS)
    best_r, best_score = radii[0], -np.inf
    for r in radii:
        sigma_fine = r / np.sqrt(d)
        sigma = sigma_fine * unit / spacing  # per axis, in pixels
        # large scales are evaluated on a grid decimated to about two samples per sigma (the Gaussian
        # is smooth there), so every scale costs about the same few hundred pixels
        step = np.maximum(1, np.floor(sigma / 2.0)).astype(int)
        half = np.ceil(4 * sigma / step).astype(int) * step + step
        window = []
        for c, h, n, st in zip(coords, half, values.shape, step):
            lo = int(c) - int(h)
            lo = lo + ((-lo) % st if lo < 0 else 0)  # stay inside the image, on the click's grid
            window.append(slice(max(lo, int(c) % st), min(int(c) + int(h) + 1, int(n)), int(st)))
        patch = values[tuple(window)].astype(np.float64, copy=False)
        centre = tuple((int(c) - w.start) // w.step for c, w in zip(coords, window))
        response = 0.0
        for axis in range(d):
            order = [0] * d
            order[axis] = 2
            filtered = ndi.gaussian_filter(patch, sigma=sigma / step, order=order, mode="reflect")
            response += float(filtered[centre]) / float(step[axis]) ** 2
        score = abs(response) * sigma_fine**2
        if score > best_score:
            best_r, best_score = r, score
    return float(best_r)
