"""Class probabilities averaged over SLIC superpixels (Farabet et al. 2013's final labelling).

A network's per-pixel scores are blurry where its context is coarse; SLIC
superpixels follow the image's own edges.  Replacing every pixel's class
probabilities by their mean over its superpixel makes each superpixel take
one class, so labels follow the image edges instead of the network's blur.
No torch here.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from .._errors import InputError

__all__ = ["DEFAULT_COMPACTNESS", "superpixel_count", "vote_over_superpixels"]

#: SLIC compactness for the vote: the package's ``slic`` scales the image to
#: [0, 1], where a low value lets superpixels follow intensity edges closely.
DEFAULT_COMPACTNESS = 0.1


def superpixel_count(shape: Sequence[int], size: Any) -> int:
    """The number of superpixels of about ``size`` pixels (voxels) each that tile ``shape``."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 4:
        raise InputError(f"superpixel_size must be an integer >= 4 (pixels per superpixel), got {size!r}")
    return max(1, int(round(float(np.prod(shape)) / int(size))))


def vote_over_superpixels(
    probabilities: np.ndarray,
    image: Any,
    *,
    superpixel_size: int = 30,
    compactness: float = DEFAULT_COMPACTNESS,
    channel_axis: Optional[int] = None,
    spacing: Optional[Sequence[float]] = None,
    segments: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Replace each pixel's class probabilities by their mean over its SLIC superpixel.

    Parameters
    ----------
    probabilities : (M, N[, P], K) ndarray
        Class axis last, as :func:`~napari_segkit.predict_probabilities` gives.
    image : (M, N[, P][, C]) array-like
        The image the superpixels are computed on (the one predicted).
    superpixel_size : int
        Pixels (voxels) per superpixel, about; smaller than the objects.
    compactness : float
        SLIC's balance of intensity and space (image scaled to [0, 1]).
    channel_axis, spacing
        As for :func:`~napari_segkit.slic`.
    segments : ndarray of int, optional
        Superpixels to use instead of computing them (ids >= 0).

    Returns
    -------
    ndarray of float32, the shape of ``probabilities``
    """
    probabilities = np.asarray(probabilities)
    spatial = probabilities.shape[:-1]
    if segments is None:
        from ..superpixels import slic

        segments = slic(
            image, superpixel_count(spatial, superpixel_size), compactness=compactness,
            channel_axis=channel_axis, spacing=spacing, sigma=0.0,
        )
    segments = np.asarray(segments)
    if segments.shape != spatial:
        raise InputError(
            f"superpixels have shape {segments.shape}, the probabilities {spatial}; they must match"
        )
    flat = segments.ravel().astype(np.int64)
    flat -= flat.min()
    counts = np.bincount(flat).astype(np.float64)
    counts[counts == 0] = 1.0
    out = np.empty(probabilities.shape, dtype=np.float32)
    for k in range(probabilities.shape[-1]):
        means = np.bincount(flat, weights=probabilities[..., k].ravel()) / counts
        out[..., k] = means[flat].reshape(spatial)
    return out
