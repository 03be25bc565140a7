"""Saying so when an image does not suit a graph partition.

Normalized cut and spectral clustering partition the affinity graph; on some
images (fluorescence nuclei on a dark background, with the defaults made for
photographs) that gives one segment for the whole image, or segments that
follow the intensity worse than one global threshold would.  Both are checked
after the fact, cheaply, and reported as a :class:`UserWarning` that says
what to try instead.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["explained_variance", "warn_if_unsuited", "TOLERANCE"]

#: segments must explain at least this much less intensity variance than one
#: Otsu threshold before they are called worse than a threshold
TOLERANCE = 0.05


def explained_variance(intensity: np.ndarray, groups: np.ndarray) -> float:
    """Fraction of the variance of ``intensity`` explained by the group means (R squared)."""
    values = intensity.ravel().astype(np.float64)
    _, index = np.unique(groups.ravel(), return_inverse=True)
    total = float(np.square(values - values.mean()).sum())
    if total == 0:
        return 1.0
    counts = np.bincount(index)
    means = np.bincount(index, weights=values) / counts
    between = float((counts * np.square(means - values.mean())).sum())
    return between / total


def warn_if_unsuited(labels: np.ndarray, data: np.ndarray, *, method: str, advice: str) -> None:
    """Warn when ``labels`` is one segment, or follows intensity worse than a threshold.

    Parameters
    ----------
    labels : ndarray of int
        The result, with the spatial shape of ``data`` (singleton axes may
        differ).
    data : (..., C) ndarray of float
        The image as the method saw it (channels last, scaled to [0, 1]);
        the intensity is the mean over channels.
    method : str
        The public function's name, first word of the message.
    advice : str
        What to change in this method's options, appended to the message.
    """
    intensity = data.mean(axis=-1).ravel()
    if not intensity.size or intensity.min() == intensity.max():
        return  # a constant image has its own warning
    groups = np.asarray(labels).ravel()
    n_segments = int(np.unique(groups).size)
    alternatives = "a threshold or kmeans(image, 2) for bright objects on a dark background"
    if n_segments == 1:
        warnings.warn(
            f"{method} found one segment for the whole image: this image does not suit it with these "
            f"options. Try {advice}; or {alternatives}",
            UserWarning,
            stacklevel=3,
        )
        return
    from skimage.filters import threshold_otsu

    by_threshold = explained_variance(intensity, intensity > threshold_otsu(intensity))
    by_segments = explained_variance(intensity, groups)
    if by_segments < by_threshold - TOLERANCE:
        warnings.warn(
            f"{method}: its {n_segments} segments explain {100 * by_segments:.0f} % of the intensity "
            f"variance, one Otsu threshold {100 * by_threshold:.0f} %: the result is worse than a "
            f"threshold, so this image does not suit it with these options. Try {advice}; or "
            f"{alternatives}",
            UserWarning,
            stacklevel=3,
        )
