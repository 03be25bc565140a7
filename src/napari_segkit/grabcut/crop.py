"""Per-object crops: the graph covers the box (plus a one-pixel ring), the colour
models also learn from a margin of background around it.

Working in a crop keeps the cost of one object proportional to its box, so
many boxes on a large image cost what their boxes cost, not the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError

__all__ = [
    "ObjectCrop", "axis_margins", "object_crop", "normalise_crop", "crop_noise", "with_denoised",
    "DEFAULT_MIN_MARGIN", "NOISY_CROP",
]

#: smallest automatic margin, in pixels along the finest axis
DEFAULT_MIN_MARGIN = 8
#: low and high percentiles that map a crop's channel to [0, 1]
PERCENTILES = (0.5, 99.5)
#: noise of a channel (robust sigma, in units of its percentile range) above which smoothed copies join the features
NOISY_CROP = 0.08
#: the percentiles are taken from at most about this many evenly strided pixels
PERCENTILE_SAMPLES = 65536


def axis_margins(
    box_size: Sequence[int], spacing: Sequence[float], margin: Optional[float]
) -> Tuple[int, ...]:
    """Margin per axis, in pixels.

    ``margin`` is in pixels along the finest axis; a coarser axis gets
    proportionally fewer (at least one).  None: half the box's largest
    physical extent, at least :data:`DEFAULT_MIN_MARGIN` pixels.
    """
    unit = min(spacing)
    if margin is None:
        extent = max(s * d for s, d in zip(box_size, spacing)) / unit
        margin = max(DEFAULT_MIN_MARGIN, 0.5 * extent)
    return tuple(max(1, int(math.ceil(margin * unit / s))) for s in spacing)


@dataclass(frozen=True)
class ObjectCrop:
    """Where one object is computed, in the coordinates of a spatial frame.

    Attributes
    ----------
    crop : tuple of slice
        Box plus margin, clipped to the frame (background samples).
    region : tuple of slice
        Box plus one pixel, clipped (the graph); inside ``crop``.
    region_in_crop : tuple of slice
        ``region`` relative to ``crop``.
    box_in_region : tuple of slice
        The box relative to ``region``.
    """

    crop: Tuple[slice, ...]
    region: Tuple[slice, ...]
    region_in_crop: Tuple[slice, ...]
    box_in_region: Tuple[slice, ...]

    @property
    def region_shape(self) -> Tuple[int, ...]:
        return tuple(s.stop - s.start for s in self.region)

    @property
    def crop_shape(self) -> Tuple[int, ...]:
        return tuple(s.stop - s.start for s in self.crop)


def object_crop(box: np.ndarray, shape: Sequence[int], margins: Sequence[int]) -> ObjectCrop:
    """Crop, graph region and box slices for a spatial ``box`` (2, d) in ``shape``."""
    lo, hi = box[0], box[1]
    crop, region, region_in_crop, box_in_region = [], [], [], []
    for a, size in enumerate(shape):
        c0, c1 = max(0, int(lo[a]) - margins[a]), min(size, int(hi[a]) + margins[a])
        r0, r1 = max(0, int(lo[a]) - 1), min(size, int(hi[a]) + 1)
        crop.append(slice(c0, c1))
        region.append(slice(r0, r1))
        region_in_crop.append(slice(r0 - c0, r1 - c0))
        box_in_region.append(slice(int(lo[a]) - r0, int(hi[a]) - r0))
    return ObjectCrop(tuple(crop), tuple(region), tuple(region_in_crop), tuple(box_in_region))


def normalise_crop(values: np.ndarray, *, name: str = "image") -> Tuple[np.ndarray, float]:
    """(..., C) raw values -> float32 features and the covariance floor.

    Each channel is mapped so its 0.5th and 99.5th percentiles in the crop
    become 0 and 1 (values beyond keep going; nothing is clipped), so every
    dtype and intensity range gives the same features.  A constant channel
    becomes 0.  The floor is the variance of the quantisation step of
    integer data (plus 1e-6), so flat 8-bit regions stay well modelled.

    Raises
    ------
    InputError
        If the crop holds NaN or infinite values.
    """
    values = np.asarray(values)
    if values.dtype.kind == "b":
        values = values.astype(np.uint8)
    flat = values.reshape(-1, values.shape[-1])
    if values.dtype.kind == "f" and not np.isfinite(flat).all():
        n_bad = int(flat.size - np.isfinite(flat).sum())
        raise InputError(f"{name} has {n_bad} NaN or infinite values inside a box's crop; fill or crop them")
    data = flat.astype(np.float64, copy=False)
    step = max(1, data.shape[0] // PERCENTILE_SAMPLES)
    lo, hi = np.percentile(data[::step], PERCENTILES, axis=0)
    span = hi - lo
    low_spread = span <= 0
    if low_spread.any():
        full_lo, full_hi = data.min(axis=0), data.max(axis=0)
        lo = np.where(low_spread, full_lo, lo)
        span = np.where(low_spread, full_hi - full_lo, span)
    span = np.where(span > 0, span, 1.0)
    features = ((data - lo) / span).astype(np.float32).reshape(values.shape)
    floor = 1e-6
    if values.dtype.kind in "iub":
        floor += float(np.max(1.0 / span) ** 2 / 12.0)
    return features, floor


def crop_noise(features: np.ndarray) -> np.ndarray:
    """Per channel: robust noise sigma of (..., C) normalised features.

    1.4826 times the median absolute deviation of the differences between
    neighbours along the last spatial axis, over sqrt(2): the pixel noise's
    standard deviation for white noise, and nearly blind to edges and
    smooth gradients.  In units of the channel's 0.5-99.5 percentile range,
    so it is a noise-to-contrast ratio.
    """
    if features.shape[-2] < 2:
        return np.zeros(features.shape[-1])
    diffs = np.diff(features, axis=-2).reshape(-1, features.shape[-1]).astype(np.float64)
    step = max(1, diffs.shape[0] // PERCENTILE_SAMPLES)
    diffs = diffs[::step]
    mad = np.median(np.abs(diffs - np.median(diffs, axis=0)), axis=0)
    return 1.4826 * mad / np.sqrt(2.0)


def with_denoised(features: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """``features``, plus a median-filtered copy of each channel when the crop is noisy.

    A dim object a couple of noise sigmas above its background is hard to
    tell from it pixel by pixel; the median of each pixel's 3 x 3 (x 3)
    neighbourhood (axes more than twice as coarse as the finest are not
    filtered) lets the colour models separate them, and unlike a Gaussian
    it keeps step edges where they are, so objects do not grow a rim.  Only crops whose
    noise (:func:`crop_noise`) exceeds :data:`NOISY_CROP` of the intensity
    range get the copy, so clean images (where the smoothing would blur
    touching objects together) are cut exactly as before.
    """
    if float(crop_noise(features).max()) <= NOISY_CROP:
        return features
    from scipy import ndimage as ndi

    unit = min(spacing)
    size = [3 if float(s) < 2 * unit else 1 for s in spacing] + [1]
    smoothed = ndi.median_filter(features, size=size)
    return np.concatenate([features, smoothed.astype(features.dtype)], axis=-1)
