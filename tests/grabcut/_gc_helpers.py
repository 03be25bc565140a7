"""Helpers shared by the GrabCut tests."""

import numpy as np
from scipy import ndimage as ndi


def truth_boxes(labels):
    """(N, 2, ndim) bounding boxes of labels 1..N."""
    return np.array([[[s.start for s in o], [s.stop for s in o]] for o in ndi.find_objects(labels)])


def iou(a, b):
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0
