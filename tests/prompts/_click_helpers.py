"""Synthetic touching discs for the click tests."""

import numpy as np


def _discs(shape=(128, 128), discs=((40, 40, 12), (44, 66, 10), (95, 90, 18)), seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.indices(shape)
    truth = np.zeros(shape, np.int32)
    for k, (cy, cx, r) in enumerate(discs):
        truth[((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) & (truth == 0)] = k + 1
    image = 200 + 600 * (truth > 0) + rng.normal(0, 60, shape)
    return np.clip(image, 0, 4095).astype(np.uint16), truth
