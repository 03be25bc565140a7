"""Seeded watershed on a chosen feature: the intensity or its gradient magnitude."""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from .._image import check_memory, map_frames, normalise_channels, parse_image, unit_spacing
from .._validation import check_choice, check_float
from ._common import plan_seeds
from .._validation import validate_options

__all__ = ["watershed", "FEATURES", "watershed_feature"]

FEATURES = ("gradient", "intensity")
DEFAULT_SIGMA = 1.0
def watershed_feature(frame: np.ndarray, feature: str, sigma: float, spacing: Sequence[float]) -> np.ndarray:
    """The landscape flooded from the seeds, for one ``(spatial..., C)`` frame.

    Each channel is scaled so its 0.5th and 99.5th percentiles become 0 and
    1.  ``"gradient"``: the Gaussian gradient magnitude (``sigma`` in pixels
    of the finest spacing, per axis divided by the spacing), combined over
    channels as a Euclidean norm.  ``"intensity"``: minus the mean scaled
    intensity, so bright objects are basins and dark valleys are ridges.
    """
    from scipy import ndimage as ndi

    sampling = unit_spacing(spacing)
    scaled, _ = normalise_channels(frame)
    if feature == "intensity":
        return -scaled.astype(np.float64).mean(axis=-1)
    squared = np.zeros(frame.shape[:-1], dtype=np.float64)
    for c in range(frame.shape[-1]):
        channel = scaled[..., c].astype(np.float64)
        if sigma > 0:
            g = ndi.gaussian_gradient_magnitude(channel, [sigma / s for s in sampling])
        else:
            g = np.sqrt(sum(np.gradient(channel, *sampling)[a] ** 2 for a in range(channel.ndim)))
        squared += g**2
    return np.sqrt(squared)


@validate_options
def watershed(
    image: Any,
    seeds: Any,
    *,
    feature: str = "gradient",
    spacing: Optional[Sequence[float]] = None,
    channel_axis: Optional[int] = None,
    spatial_dims: Optional[int] = None,
    mask: Any = None,
    background_seed: Optional[int] = None,
    sigma: float = DEFAULT_SIGMA,
    compactness: float = 0.0,
    memory_limit: Optional[int] = None,
    progress: Optional[Callable[[float, str], None]] = None,
) -> np.ndarray:
    """Grow the seed regions over a landscape until they meet (seeded watershed).

    Pixels are flooded from the seeds in order of the chosen feature, so
    regions meet on its ridges: on edges (``feature="gradient"``), or in the
    dark valleys between bright objects (``feature="intensity"``).
    scikit-image's priority-flood watershed.

    Parameters
    ----------
    image : (..., M, N[, P][, C]) array-like
        As in :func:`random_walker`.
    seeds : array-like of int
        0 = unlabelled, each positive value one region (one value per cell,
        and one for the background if painted).  The image's shape without
        channels, or one frame's shape (then used on every frame, with a
        warning).
    feature : {"gradient", "intensity"}
        ``"gradient"`` (default): the gradient magnitude, for seeds on the
        objects and on the background.  ``"intensity"``: the inverted
        intensity, to split touching bright objects (fluorescent nuclei)
        along the dark valleys between them; bound the objects with
        ``mask`` or a background seed.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis; the gradient's smoothing is
        physical.  Only the ratios matter.
    channel_axis, spatial_dims
        As in :func:`random_walker`.
    mask : array-like of bool, optional
        Pixels to segment (for example ``image > threshold``); the others
        are 0 in the output.
    background_seed : int, optional
        The seed value that marks the background, 0 in the output.  Default:
        the largest seed value (1 = object, 2 = background as painted for
        :func:`napari_segkit.graph_cut`); 0: every seed value is an object.
    sigma : float
        Smoothing of the gradient, in pixels of the finest spacing (0 = none).
        Default 1.
    compactness : float
        scikit-image's compact watershed: larger values give more regular
        regions.  Default 0.
    memory_limit, progress
        As in :func:`random_walker`.

    Returns
    -------
    labels : ndarray of int32 (int64 if a seed value needs it)
        The image's shape without channels: each pixel in ``mask`` holds the
        value of the seed region it was flooded from; the background seed
        value and pixels outside ``mask`` are 0.

    Raises
    ------
    InputError, ResourceLimitError
        As in :func:`random_walker`.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import watershed
    >>> yy, xx = np.mgrid[:30, :50]   # two touching bright blobs
    >>> image = np.exp(-((yy - 15)**2 + (xx - 15)**2) / 60) + np.exp(-((yy - 15)**2 + (xx - 32)**2) / 60)
    >>> seeds = np.zeros((30, 50), int); seeds[15, 15] = 1; seeds[15, 32] = 2
    >>> labels = watershed(image, seeds, feature="intensity", mask=image > 0.3, background_seed=0)
    >>> int(np.flatnonzero(labels[15] == 1).max()), int(np.flatnonzero(labels[15] == 2).min())
    (23, 24)
    """
    parsed = parse_image(image, method="watershed", channel_axis=channel_axis, spacing=spacing,
                         spatial_dims=spatial_dims, mask=mask, memory_limit=memory_limit)
    feature = check_choice(feature, name="feature", choices=FEATURES)
    sigma = check_float(sigma, name="sigma", low=0.0)
    compactness = check_float(compactness, name="compactness", low=0.0)
    plan = plan_seeds(parsed, seeds, background_seed=background_seed, min_values=1, method="watershed")
    n = int(np.prod(parsed.spatial_shape, dtype=np.int64))
    # float64 feature and scaled channel, gradient, int64 markers and output, queue
    check_memory(n * (8 * 4 + 8 * 2 + 24), parsed.memory_limit, method="watershed",
                 what=f"one frame of shape {parsed.spatial_shape}")

    def segment(index, frame, report):
        from skimage.segmentation import watershed as skimage_watershed

        report(0.0, "watershed" + (f" of frame {index}" if index else ""))
        frame_seeds = plan.frame(index)
        if not frame_seeds.any():
            return np.zeros(parsed.spatial_shape, np.int64)
        landscape = watershed_feature(frame, feature, sigma, parsed.spacing)
        frame_mask = parsed.frame_mask(index)
        markers = frame_seeds.astype(np.int64)
        if frame_mask is not None:
            markers = np.where(frame_mask, markers, 0)
        out = skimage_watershed(landscape, markers=markers, mask=frame_mask, compactness=compactness)
        return plan.finish(out)

    return map_frames(parsed, segment, unique_ids=False, progress=progress)
