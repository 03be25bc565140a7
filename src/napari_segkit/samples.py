"""Synthetic microscopy images with ground truth, generated (never downloaded).

Each generator returns a :class:`Sample`: the image, its ground-truth
labels, example seeds and the voxel spacing.  The nuclei images look like
widefield nuclear stains: nuclei of varied size and brightness (some dim,
some touching), blurred by the optics, on an uneven background, with shot and
camera noise, stored as 12-bit values in uint16; their seeds are 1 = nuclei,
2 = background.  :func:`voronoi_rgb` is an RGB image of flat colour regions
for the clustering and graph-spectral methods, seeded with one value per
region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
from scipy import ndimage as ndi

__all__ = ["Sample", "nuclei_2d", "nuclei_3d", "nuclei_time_series", "rods_2d", "voronoi_rgb"]

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


def _place_rods(shape, n, length_range, radius_range, angle_spread, rng) -> np.ndarray:
    """Capsules (rods with round caps) packed side by side; later rods take only free pixels."""
    labels = np.zeros(shape, dtype=np.int32)
    yy, xx = np.indices(shape, dtype=np.float32)
    main = rng.uniform(0, np.pi)
    count, attempts = 0, 0
    while count < n and attempts < 60 * n:
        attempts += 1
        length = rng.uniform(*length_range)
        radius = rng.uniform(*radius_range)
        angle = main + rng.normal(0.0, angle_spread)
        cy, cx = (rng.uniform(radius + 2, s - radius - 3) for s in shape)
        dy, dx = np.sin(angle) * length / 2, np.cos(angle) * length / 2
        # distance to the segment (cy - dy, cx - dx) .. (cy + dy, cx + dx)
        vy, vx = yy - (cy - dy), xx - (cx - dx)
        t = np.clip((vy * 2 * dy + vx * 2 * dx) / (4 * (dy * dy + dx * dx) + 1e-6), 0.0, 1.0)
        dist = np.hypot(vy - t * 2 * dy, vx - t * 2 * dx)
        inside = dist <= radius
        if not inside.any() or inside[[0, -1], :].any() or inside[:, [0, -1]].any():
            continue
        overlap = (labels[inside] > 0).mean()
        if overlap > 0.15:
            continue
        free = inside & (labels == 0)
        labels[free] = count + 1
        count += 1
    # drop pieces cut off by later rods: keep each rod's largest piece
    for index, region in enumerate(ndi.find_objects(labels), start=1):
        if region is None:
            continue
        pieces, k = ndi.label(labels[region] == index)
        if k > 1:
            sizes = ndi.sum(np.ones_like(pieces), pieces, index=np.arange(1, k + 1))
            labels[region][(pieces > 0) & (pieces != int(np.argmax(sizes)) + 1)] = 0
    return labels


def rods_2d(
    shape: Tuple[int, int] = (256, 256),
    *,
    n_rods: int = 90,
    rng: Optional[int | np.random.Generator] = 0,
) -> Sample:
    """Touching rod-shaped cells (bacteria in a colony): capsules 16-36 px long, 7-10 px wide,
    mostly aligned and packed side by side, with a faint dip in signal where two cells meet."""
    rng = np.random.default_rng(rng)
    labels = _place_rods(shape, n_rods, (16.0, 36.0), (3.5, 5.0), 0.35, rng)
    edges = np.zeros(shape, dtype=bool)
    for axis in (0, 1):
        a = np.moveaxis(labels, axis, 0)
        e = np.moveaxis(edges, axis, 0)
        touch = (a[1:] != a[:-1]) & (a[1:] > 0) & (a[:-1] > 0)
        e[1:] |= touch
        e[:-1] |= touch
    image = _render(labels, (1.0, 1.0), rng, blur=1.0).astype(np.float32)
    dip = ndi.gaussian_filter(edges.astype(np.float32), 1.0)
    image = image - 0.35 * (image - 100.0) * dip / (dip.max() + 1e-6)
    return Sample(np.clip(image, 0, 4095).astype(np.uint16), labels, _example_seeds(labels, rng),
                  (1.0, 1.0), "rods 2D")


def voronoi_rgb(
    shape: Tuple[int, int] = (512, 512),
    *,
    n_regions: int = 6,
    noise: float = 20.0,
    colour_range: Tuple[float, float] = (30.0, 225.0),
    grainy_region: Optional[int] = None,
    grain: float = 60.0,
    rng: Optional[int | np.random.Generator] = 0,
) -> Sample:
    """Regions of random flat colours (Voronoi cells), blurred edges, Gaussian noise; uint8 RGB.

    Parameters
    ----------
    shape : (int, int)
    n_regions : int
        Regions, labelled 1 .. ``n_regions`` in the truth.
    noise : float
        Standard deviation of the noise, in grey levels.
    colour_range : (float, float)
        Each channel of each region's colour is drawn uniformly from it.
    grainy_region : int, optional
        This region gets region 1's colour and noise ``grain`` instead of
        ``noise``: two regions of equal mean that differ only in texture.
    grain : float
    rng : int or Generator

    Returns
    -------
    Sample
        Seeds: a disc of radius 4 deep inside each region, valued with the
        region's label.
    """
    rng = np.random.default_rng(rng)
    centres = rng.uniform(0, 1, size=(n_regions, 2)) * np.array(shape)
    yy, xx = np.indices(shape)
    dist = (yy[..., None] - centres[:, 0]) ** 2 + (xx[..., None] - centres[:, 1]) ** 2
    labels = np.argmin(dist, axis=-1).astype(np.int32) + 1
    colours = rng.uniform(colour_range[0], colour_range[1], size=(n_regions + 1, 3))
    sigma = np.full(shape, float(noise))
    if grainy_region is not None:
        colours[grainy_region] = colours[1]
        sigma[labels == grainy_region] = float(grain)
    image = ndi.gaussian_filter(colours[labels], (1.0, 1.0, 0))
    image += rng.normal(0, 1, image.shape) * sigma[..., None]
    seeds = np.zeros(shape, dtype=np.int32)
    for region in range(1, n_regions + 1):
        inside = ndi.distance_transform_edt(labels == region)
        y, x = np.unravel_index(int(np.argmax(inside)), shape)
        disc = (yy - y) ** 2 + (xx - x) ** 2 <= min(16.0, float(inside[y, x]) ** 2 / 4)
        seeds[disc & (labels == region)] = region
    return Sample(np.clip(image, 0, 255).astype(np.uint8), labels, seeds, (1.0, 1.0), "voronoi RGB")

