"""Synthetic microscopy images with ground truth, generated (never downloaded).

Each generator returns a :class:`Sample`: the image, its ground-truth
instance labels, example seeds (1 = nuclei, 2 = background) and the voxel
spacing.  Images look like widefield nuclear stains: nuclei of varied size and
brightness (some dim, some touching), blurred by the optics, on an uneven
background, with shot and camera noise, stored as 12-bit values in uint16.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from scipy import ndimage as ndi

__all__ = ["Sample", "nuclei_2d", "nuclei_3d", "nuclei_time_series"]

NUCLEUS_SEED = 1
BACKGROUND_SEED = 2


@dataclass
class Sample:
    """A synthetic image with its truth.

    Attributes
    ----------
    image : ndarray of uint16
    labels : ndarray of int32
        Ground-truth instances, 0 = background.
    seeds : ndarray of int32
        Example scribbles: 1 = nuclei, 2 = background, 0 = unknown.
    spacing : tuple of float
        Physical voxel size per axis of ``labels`` (1.0 along time).
    name : str
    """

    image: np.ndarray
    labels: np.ndarray
    seeds: np.ndarray
    spacing: Tuple[float, ...]
    name: str


def _place_nuclei(shape, spacing, n, radius_range, rng) -> Tuple[np.ndarray, np.ndarray]:
    """Non-overlapping ellipsoids (touching allowed); returns labels, centres."""
    labels = np.zeros(shape, dtype=np.int32)
    grid = np.indices(shape, dtype=np.float32)
    centres = []
    attempts = 0
    while len(centres) < n and attempts < 50 * n:
        attempts += 1
        radii = rng.uniform(*radius_range) * rng.uniform(0.8, 1.2, size=len(shape))
        half = [r / s for r, s in zip(radii, spacing)]
        centre = [rng.uniform(h + 1, size - h - 2) for h, size in zip(half, shape)]
        dist = sum(((g - c) / h) ** 2 for g, c, h in zip(grid, centre, half))
        inside = dist <= 1.0
        if not inside.any() or labels[inside].any():
            continue
        labels[inside] = len(centres) + 1
        centres.append(centre)
    return labels, np.array(centres)


def _render(labels, spacing, rng, *, blur=1.2) -> np.ndarray:
    """Labels -> a noisy 12-bit widefield-like image."""
    n = int(labels.max())
    brightness = np.concatenate([[0.0], rng.uniform(0.35, 1.0, size=n)])
    signal = brightness[labels].astype(np.float32)
    texture = ndi.gaussian_filter(rng.normal(0, 1, labels.shape).astype(np.float32), 1.5)
    signal *= 1.0 + 0.15 * texture / (texture.std() + 1e-6)
    signal = ndi.gaussian_filter(signal, [blur / s for s in spacing])
    ramp = np.linspace(0.0, 0.08, labels.shape[-1], dtype=np.float32)
    background = 0.12 + ramp
    photons = (signal + background) * 900.0
    counts = rng.poisson(photons).astype(np.float32) + rng.normal(100.0, 12.0, labels.shape)
    return np.clip(counts, 0, 4095).astype(np.uint16)


def _example_seeds(labels, rng) -> np.ndarray:
    """A dot in every nucleus and background strokes away from all nuclei."""
    seeds = np.zeros(labels.shape, dtype=np.int32)
    for index, region in enumerate(ndi.find_objects(labels), start=1):
        if region is None:
            continue
        mask = labels[region] == index
        core = ndi.binary_erosion(mask, iterations=2)
        seeds[region][core if core.any() else mask] = NUCLEUS_SEED
    far = ndi.distance_transform_edt(labels == 0) > 6
    strokes = np.zeros(labels.shape, dtype=bool)
    step = max(labels.shape[-1] // 6, 4)
    strokes[..., ::step] = True  # vertical lines in y, x
    strokes &= far
    strokes &= rng.random(labels.shape) < 0.6
    seeds[strokes] = BACKGROUND_SEED
    return seeds


def nuclei_2d(
    shape: Tuple[int, int] = (256, 256),
    *,
    n_nuclei: int = 24,
    rng: Optional[int | np.random.Generator] = 0,
) -> Sample:
    """A 2-D nuclear stain with ground truth and example seeds."""
    rng = np.random.default_rng(rng)
    labels, _ = _place_nuclei(shape, (1.0, 1.0), n_nuclei, (7, 14), rng)
    image = _render(labels, (1.0, 1.0), rng)
    return Sample(image, labels, _example_seeds(labels, rng), (1.0, 1.0), "nuclei 2D")


def nuclei_3d(
    shape: Tuple[int, int, int] = (24, 128, 128),
    *,
    spacing: Tuple[float, float, float] = (4.0, 1.0, 1.0),
    n_nuclei: int = 12,
    rng: Optional[int | np.random.Generator] = 0,
) -> Sample:
    """An anisotropic 3-D volume: round nuclei sampled every ``spacing[0]`` in z."""
    rng = np.random.default_rng(rng)
    labels, _ = _place_nuclei(shape, spacing, n_nuclei, (10, 16), rng)
    image = _render(labels, spacing, rng)
    return Sample(image, labels, _example_seeds(labels, rng), tuple(map(float, spacing)), "nuclei 3D")


def nuclei_time_series(
    n_frames: int = 8,
    shape: Tuple[int, int] = (160, 160),
    *,
    n_nuclei: int = 10,
    rng: Optional[int | np.random.Generator] = 0,
) -> Sample:
    """A (T, Y, X) series of drifting nuclei; seeds on the first frame only."""
    rng = np.random.default_rng(rng)
    pad = 2 * n_frames
    big = (shape[0] + pad, shape[1] + pad)
    base, _ = _place_nuclei(big, (1.0, 1.0), n_nuclei, (7, 12), rng)
    labels = np.stack(
        [base[t : t + shape[0], (t // 2) : (t // 2) + shape[1]] for t in range(n_frames)]
    )
    image = np.stack([_render(frame, (1.0, 1.0), rng) for frame in labels])
    seeds = np.zeros_like(labels)
    seeds[0] = _example_seeds(labels[0], rng)
    return Sample(image, labels, seeds, (1.0, 1.0, 1.0), "nuclei time series")
