"""Synthetic images with known regions for the spectral tests."""

import numpy as np


def regions_2d(shape=(48, 48), noise=0.03, seed=0):
    """Three regions with known truth: background 0.2, square 0.9, rectangle 0.55."""
    rng = np.random.default_rng(seed)
    h, w = shape
    truth = np.zeros(shape, dtype=np.int32)
    truth[h // 8 : h // 2, w // 8 : w // 2] = 1
    truth[5 * h // 8 : 15 * h // 16, 3 * w // 8 : 7 * w // 8] = 2
    image = np.array([0.2, 0.9, 0.55])[truth] + rng.normal(0, noise, shape)
    return image, truth


def texture_2d(n=128, seed=0):
    """A grainy disc on a smooth background of the same mean."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:n, :n]
    truth = (((yy - n / 2) ** 2 + (xx - n / 2) ** 2) < (0.3 * n) ** 2).astype(np.int32)
    image = 0.5 + np.where(truth == 1, rng.normal(0, 0.25, truth.shape), rng.normal(0, 0.03, truth.shape))
    return image, truth


def same_partition(a, b):
    """True when a and b are the same partition (labels up to renaming)."""
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return pairs.shape[1] == np.unique(a).size == np.unique(b).size


def ari(a, b):
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(np.ravel(a), np.ravel(b))
