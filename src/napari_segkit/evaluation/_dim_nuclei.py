"""SYNTHETIC dim nuclei: the hard case of the acceptance set (small, 12-bit, dim on a dark camera background)."""

from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
from scipy import ndimage as ndi

__all__ = ["dim_nuclei"]


def dim_nuclei(shape: Sequence[int] = (512, 512), n: int = 60, seed: int = 5) -> Tuple[np.ndarray, np.ndarray]:
    """12-bit camera image of soft, textured nuclei 4-17 px in radius, about 2 noise sigmas above background.

    Returns the uint16 image and the int32 reference labels (separate
    nuclei, at least 2 px apart).
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.indices(tuple(shape))
    truth = np.zeros(tuple(shape), np.int32)
    signal = np.zeros(tuple(shape))
    k = 0
    for _ in range(n * 20):
        if k == n:
            break
        r = rng.uniform(4, 17)
        cy, cx = rng.uniform(r + 3, shape[0] - r - 3), rng.uniform(r + 3, shape[1] - r - 3)
        disc = (yy - cy) ** 2 / r**2 + (xx - cx) ** 2 / (r * rng.uniform(0.7, 1.3)) ** 2 <= 1
        if (truth[ndi.binary_dilation(disc, iterations=2)] != 0).any():
            continue
        k += 1
        truth[disc] = k
        signal[disc] = 80 * (1 + 0.3 * rng.normal(size=disc.sum()))
    image = 300 + ndi.gaussian_filter(signal, 1.0) + rng.normal(0, 40, tuple(shape))
    return np.clip(image, 0, 4095).astype(np.uint16), truth
