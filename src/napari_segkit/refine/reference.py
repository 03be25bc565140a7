"""The exact dense CRF by brute force, ``O(N^2)`` memory and time: small images only.

Written from the model's definition (every pair of pixels, dense kernel
matrices, no lattice and no separable filter) so that :func:`crf_refine` can be
checked against it, and timed against it in ``benchmarks/bench_crf.py``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from ._inputs import normalise_intensities

__all__ = ["dense_crf_brute_force"]

MAX_PIXELS = 20_000


def dense_crf_brute_force(
    probabilities: np.ndarray,
    image: np.ndarray,
    *,
    spacing: Optional[Sequence[float]] = None,
    max_iter: int = 5,
    theta_alpha: float,
    theta_beta: float,
    theta_gamma: float,
    w_appearance: float,
    w_smoothness: float,
    clip: float = 1e-5,
) -> np.ndarray:
    """Mean-field inference with dense kernel matrices.

    Parameters
    ----------
    probabilities : (K, ...) ndarray
        Probabilities summing to 1 over axis 0 (K >= 2).
    image : (...) or (..., C) ndarray
        Grayscale with the spatial shape, or channels last.
    spacing, max_iter, theta_*, w_*
        As in :func:`~napari_segkit.refine.crf.crf_refine`.

    Returns
    -------
    (K, ...) ndarray of float64
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    spatial = probabilities.shape[1:]
    n = int(np.prod(spatial))
    if n > MAX_PIXELS:
        raise ValueError(f"brute force is for small images (<= {MAX_PIXELS} pixels), got {n}")
    image = np.asarray(image)
    if image.shape == spatial:
        image = image[..., np.newaxis]
    intensities, _ = normalise_intensities(image)
    intensities = intensities.reshape(n, -1).astype(np.float64)
    spacing = np.ones(len(spatial)) if spacing is None else np.asarray(spacing, dtype=np.float64)
    spacing = spacing / spacing.min()
    positions = np.stack([g.ravel() for g in np.indices(spatial)], axis=1) * spacing

    def squared_distances(x):
        return ((x[:, np.newaxis, :] - x[np.newaxis, :, :]) ** 2).sum(axis=-1)

    d_pos = squared_distances(positions)
    kernels = [
        (
            w_appearance,
            np.exp(-d_pos / (2 * theta_alpha**2) - squared_distances(intensities) / (2 * theta_beta**2)),
        ),
        (w_smoothness, np.exp(-d_pos / (2 * theta_gamma**2))),
    ]
    normalised = []
    for weight, k in kernels:
        if weight > 0:
            inv = 1.0 / np.sqrt(k.sum(axis=1))
            normalised.append(weight * inv[:, np.newaxis] * k * inv[np.newaxis, :])
    unary = -np.log(np.clip(probabilities.reshape(len(probabilities), n), clip, 1.0))
    q = np.exp(-unary - (-unary).max(axis=0))
    q /= q.sum(axis=0)
    for _ in range(max_iter):
        energy = -unary
        for k in normalised:
            energy = energy + q @ k  # k is symmetric
        q = np.exp(energy - energy.max(axis=0))
        q /= q.sum(axis=0)
    return q.reshape(probabilities.shape)
