"""Shared by the model tests: touching-cell images and instance F1."""

from __future__ import annotations

import numpy as np

from napari_segkit.samples import nuclei_2d


def touching_nuclei(shape=(128, 128), n=30, seed=0):
    """Dense synthetic nuclei (several touching pairs): ``(image, labels)``."""
    sample = nuclei_2d(shape, n_nuclei=n, rng=seed)
    return sample.image, sample.labels


def touching_pairs(labels: np.ndarray) -> int:
    pairs = set()
    for axis in range(labels.ndim):
        a = np.moveaxis(labels, axis, 0)[:-1]
        b = np.moveaxis(labels, axis, 0)[1:]
        m = (a > 0) & (b > 0) & (a != b)
        pairs |= {tuple(sorted(p)) for p in zip(a[m].tolist(), b[m].tolist())}
    return len(pairs)


def instance_f1(truth: np.ndarray, pred: np.ndarray, threshold: float = 0.5) -> float:
    """F1 of instances matched one-to-one at IoU > threshold (> 0.5 makes matches unique)."""
    truth = np.asarray(truth).ravel()
    pred = np.asarray(pred).ravel()
    n_truth = len(np.unique(truth[truth > 0]))
    n_pred = len(np.unique(pred[pred > 0]))
    both = (truth > 0) & (pred > 0)
    pairs, overlap = np.unique(np.stack([truth[both], pred[both]]), axis=1, return_counts=True)
    t_ids, t_sizes = np.unique(truth, return_counts=True)
    p_ids, p_sizes = np.unique(pred, return_counts=True)
    t_size = dict(zip(t_ids.tolist(), t_sizes.tolist()))
    p_size = dict(zip(p_ids.tolist(), p_sizes.tolist()))
    tp = 0
    for (t, p), inter in zip(pairs.T.tolist(), overlap.tolist()):
        if inter / (t_size[t] + p_size[p] - inter) > threshold:
            tp += 1
    return 2.0 * tp / (n_truth + n_pred) if n_truth + n_pred else 1.0


def same_up_to_permutation(a: np.ndarray, b: np.ndarray) -> bool:
    """True when a and b partition the pixels identically (0 maps to 0)."""
    a = np.asarray(a).ravel()
    b = np.asarray(b).ravel()
    if not np.array_equal(a == 0, b == 0):
        return False
    pairs = np.unique(np.stack([a, b]), axis=1)
    return len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1]))
