"""The last resort of a degenerate box: the part of the box unlike its surroundings."""

from __future__ import annotations

from typing import Optional

import numpy as np

from .boxes import MIN_OBJECT_PIXELS
from .core import MIN_BACKGROUND_SAMPLES, keep_components

__all__ = ["contrast_fallback", "FALLBACK_CONTRAST"]

#: contrast (in noise sigmas of the surroundings) an object needs for the fallback to keep it
FALLBACK_CONTRAST = 1.5


def contrast_fallback(
    features: np.ndarray, unknown: np.ndarray, band: np.ndarray, hard_fg: np.ndarray, hard_bg: np.ndarray
) -> Optional[np.ndarray]:
    """The part of the box that differs from its surroundings, when GrabCut found nothing sensible.

    Projects the pixels on the direction from the surroundings' mean to the
    box's mean (over all channels), splits the box by Otsu's threshold on
    that projection and keeps the side unlike the surroundings, largest
    connected piece (plus pieces holding object scribbles).  None when the
    split is degenerate or the box does not clearly differ from its
    surroundings: the kept piece's mean lies less than ``FALLBACK_CONTRAST``
    (1.5) robust standard deviations (1.4826 MAD) of the surroundings
    beyond their median.
    """
    from skimage.filters import threshold_otsu

    outside = np.concatenate([features[~unknown], band.reshape(-1, features.shape[-1])])
    inside = features[unknown]
    if len(outside) < MIN_BACKGROUND_SAMPLES or len(inside) < MIN_OBJECT_PIXELS:
        return None
    direction = inside.mean(axis=0, dtype=np.float64) - outside.mean(axis=0, dtype=np.float64)
    norm = float(np.linalg.norm(direction))
    if norm == 0 or not np.isfinite(norm):
        return None
    values = features.reshape(-1, features.shape[-1]) @ (direction / norm)
    values = values.reshape(unknown.shape)
    inside_values = values[unknown]
    if float(inside_values.max()) <= float(inside_values.min()):
        return None
    mask = (values > threshold_otsu(inside_values)) & unknown & ~hard_bg
    mask |= hard_fg
    if not mask.any() or mask[unknown].all():
        return None
    mask = keep_components(mask, hard_fg, 1)
    # "clearly differs": the object's mean lies 1.5 noise sigmas (robust) beyond its surroundings'
    # median (the brighter half of pure noise lies about 0.8 sigma above it)
    surroundings = outside @ (direction / norm)
    centre = float(np.median(surroundings))
    sigma = 1.4826 * float(np.median(np.abs(surroundings - centre)))
    if float(values[mask].mean()) - centre <= FALLBACK_CONTRAST * max(sigma, 1e-12):
        return None
    return mask
