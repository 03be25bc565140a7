"""Mask and instance scores: IoU, Dice, one-to-one instance matching, F1.

Instance matching follows the usual convention of microscopy challenges: a
predicted object matches a reference object when their IoU *exceeds* the
threshold; matches are one-to-one (at a threshold of 0.5 or more an object
can overlap only one partner by more than half, so the matching is unique;
below 0.5 the pairs are chosen to maximise the summed IoU).  F1 is
``2 TP / (2 TP + FP + FN)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

import numpy as np

from .._errors import InputError

__all__ = ["iou", "dice", "foreground_dice", "match_instances", "instance_f1", "InstanceMatch"]


def _as_mask(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise InputError(f"{name} has dtype {array.dtype}: expected a boolean or numeric mask")
    return array != 0


def _pair(a: Any, b: Any, names: Tuple[str, str]) -> Tuple[np.ndarray, np.ndarray]:
    a_mask, b_mask = _as_mask(a, names[0]), _as_mask(b, names[1])
    if a_mask.shape != b_mask.shape:
        raise InputError(f"{names[0]} has shape {a_mask.shape} but {names[1]} has shape {b_mask.shape}")
    return a_mask, b_mask


def iou(a: Any, b: Any) -> float:
    """Intersection over union of two masks (non-zero = inside); 1.0 when both are empty."""
    a_mask, b_mask = _pair(a, b, ("a", "b"))
    union = np.count_nonzero(a_mask | b_mask)
    if union == 0:
        return 1.0
    return float(np.count_nonzero(a_mask & b_mask) / union)


def dice(a: Any, b: Any) -> float:
    """Dice coefficient ``2|A & B| / (|A| + |B|)`` of two masks; 1.0 when both are empty."""
    a_mask, b_mask = _pair(a, b, ("a", "b"))
    total = np.count_nonzero(a_mask) + np.count_nonzero(b_mask)
    if total == 0:
        return 1.0
    return float(2.0 * np.count_nonzero(a_mask & b_mask) / total)


def foreground_dice(pred: Any, ref: Any, *, region: Any = None) -> float:
    """Dice of the foregrounds (label != 0) of two label images.

    Blind to merged or split objects: report it beside :func:`instance_f1`.
    ``region`` (a mask) restricts the score to the pixels where it is non-zero.
    """
    pred_mask, ref_mask = _pair(pred, ref, ("pred", "ref"))
    if region is not None:
        keep = _region(region, pred_mask.shape)
        pred_mask, ref_mask = pred_mask & keep, ref_mask & keep
    return dice(pred_mask, ref_mask)


def _region(region: Any, shape: Tuple[int, ...]) -> np.ndarray:
    keep = _as_mask(region, "region")
    if keep.shape != shape:
        raise InputError(f"region has shape {keep.shape} but the labels have shape {shape}")
    return keep


def _labels(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind == "b":
        return array.astype(np.int64)
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
            raise InputError(f"{name} must hold integer labels; got non-integer floats")
        array = array.astype(np.int64)
    if array.dtype.kind not in "iu":
        raise InputError(f"{name} has dtype {array.dtype}: expected integer labels")
    if array.size and array.min() < 0:
        raise InputError(f"{name} holds negative labels (min {int(array.min())}); expected 0 = background, ids > 0")
    return array


@dataclass
class InstanceMatch:
    """Result of :func:`match_instances`.

    Attributes
    ----------
    threshold : float
        IoU a pair must exceed to match.
    pairs : list of (pred_id, ref_id, iou)
        The matched pairs, one-to-one.
    pred_ids, ref_ids : ndarray
        All object ids (non-zero) of the prediction and the reference.
    """

    threshold: float
    pairs: List[Tuple[int, int, float]] = field(default_factory=list)
    pred_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ref_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def tp(self) -> int:
        return len(self.pairs)

    @property
    def fp(self) -> int:
        return len(self.pred_ids) - self.tp

    @property
    def fn(self) -> int:
        return len(self.ref_ids) - self.tp

    @property
    def precision(self) -> float:
        return self.tp / len(self.pred_ids) if len(self.pred_ids) else (1.0 if not len(self.ref_ids) else 0.0)

    @property
    def recall(self) -> float:
        return self.tp / len(self.ref_ids) if len(self.ref_ids) else (1.0 if not len(self.pred_ids) else 0.0)

    @property
    def f1(self) -> float:
        denominator = 2 * self.tp + self.fp + self.fn
        return 1.0 if denominator == 0 else 2.0 * self.tp / denominator

    @property
    def mean_matched_iou(self) -> float:
        return float(np.mean([p[2] for p in self.pairs])) if self.pairs else 0.0


def iou_table(pred: np.ndarray, ref: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IoU of every (pred object, ref object) pair that overlaps.

    Returns ``(pred_ids, ref_ids, table)`` with ``table[i, j]`` the IoU of
    ``pred_ids[i]`` and ``ref_ids[j]`` (0 where they do not touch).
    """
    pred_ids, pred_inverse, pred_sizes = np.unique(pred.ravel(), return_inverse=True, return_counts=True)
    ref_ids, ref_inverse, ref_sizes = np.unique(ref.ravel(), return_inverse=True, return_counts=True)
    both = pred_inverse.astype(np.int64) * len(ref_ids) + ref_inverse
    overlap = np.bincount(both, minlength=len(pred_ids) * len(ref_ids)).reshape(len(pred_ids), len(ref_ids))
    union = pred_sizes[:, None] + ref_sizes[None, :] - overlap
    table = np.where(union > 0, overlap / np.maximum(union, 1), 0.0)
    keep_pred, keep_ref = pred_ids != 0, ref_ids != 0
    return pred_ids[keep_pred], ref_ids[keep_ref], table[np.ix_(keep_pred, keep_ref)]


def match_instances(pred: Any, ref: Any, threshold: float = 0.5, *, region: Any = None) -> InstanceMatch:
    """Match predicted objects to reference objects one-to-one by IoU.

    Parameters
    ----------
    pred, ref : array-like of int
        Label images of the same shape, 0 = background, each id one object.
    threshold : float
        A pair matches when its IoU exceeds this value (0 <= threshold < 1).
    region : array-like, optional
        Score only where ``region`` is non-zero (e.g. the annotated part of a
        sparsely labelled image): reference objects are cut to the region and
        a predicted object counts only if most of its pixels lie inside it.

    Returns
    -------
    InstanceMatch
        Pairs, counts, precision, recall and F1.
    """
    pred_labels, ref_labels = _labels(pred, "pred"), _labels(ref, "ref")
    if pred_labels.shape != ref_labels.shape:
        raise InputError(f"pred has shape {pred_labels.shape} but ref has shape {ref_labels.shape}")
    if isinstance(threshold, bool) or not np.isscalar(threshold) or not 0 <= float(threshold) < 1:
        raise InputError(f"threshold must be a number from 0 (inclusive) to 1 (exclusive), got {threshold!r}")
    threshold = float(threshold)
    if region is not None:
        keep = _region(region, pred_labels.shape)
        ref_labels = np.where(keep, ref_labels, 0)
        ids, sizes = np.unique(pred_labels, return_counts=True)
        inside = np.bincount(pred_labels[keep].ravel(), minlength=int(ids.max()) + 1)[ids] if ids.size else sizes
        drop = ids[(ids != 0) & (inside * 2 <= sizes)]
        pred_labels = np.where(np.isin(pred_labels, drop), 0, pred_labels)
    pred_ids, ref_ids, table = iou_table(pred_labels, ref_labels)
    result = InstanceMatch(threshold=threshold, pred_ids=pred_ids, ref_ids=ref_ids)
    if not (len(pred_ids) and len(ref_ids)):
        return result
    candidate = table > threshold
    if threshold >= 0.5:
        rows, cols = np.nonzero(candidate)
    else:
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(np.where(candidate, table, 0.0), maximize=True)
        good = candidate[rows, cols]
        rows, cols = rows[good], cols[good]
    result.pairs = [(int(pred_ids[r]), int(ref_ids[c]), float(table[r, c])) for r, c in zip(rows, cols)]
    return result


def instance_f1(pred: Any, ref: Any, threshold: float = 0.5, *, region: Any = None) -> float:
    """Instance F1 ``2 TP / (2 TP + FP + FN)`` at an IoU threshold (see :func:`match_instances`)."""
    return match_instances(pred, ref, threshold, region=region).f1
