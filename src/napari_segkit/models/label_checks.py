"""Checks on training labels: integer values, and labels that would train a useless network.

No torch here.  :func:`as_instance_labels` turns one label array into int64
(accepting integer-valued floats, which Fiji and many scripts save) and
:func:`check_trainable` refuses label sets a network cannot learn cells from:
no background anywhere in the annotated pixels, or one id that covers most of
an image and touches all its edges (a foreground/background mask whose
background is not 0, such as graph-cut output holding seed values 1 and 2).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .._errors import InputError

__all__ = ["LARGEST_OBJECT_FRACTION", "as_instance_labels", "check_trainable"]

#: One id covering more than this fraction of an image's annotated pixels, and
#: touching every edge of the image, is taken for background that is not 0.
LARGEST_OBJECT_FRACTION = 0.5


def as_instance_labels(label: np.ndarray, name: str) -> np.ndarray:
    """``label`` as int64; bool is {0, 1}; floats must hold whole numbers.

    Raises
    ------
    InputError
        For floats with NaN/inf or fractional values (probabilities, an
        intensity image), or values beyond the int64 range.
    """
    label = np.asarray(label)
    if label.dtype.kind == "f":
        finite = np.isfinite(label)
        if not finite.all():
            raise InputError(
                f"{name} (float dtype {label.dtype}) holds NaN or infinite values; labels must be whole "
                "numbers (0 = background, 1..K = objects)"
            )
        fractional = label != np.round(label)
        if fractional.any():
            example = float(label[fractional].flat[0])
            raise InputError(
                f"{name} has float dtype {label.dtype} with non-integer values (e.g. {example:g}): "
                "labels must be whole numbers (0 = background, 1..K = objects). If this is a probability "
                "or intensity image, threshold it and label the objects (e.g. "
                "skimage.measure.label(p > 0.5)); if it is a Labels layer saved as float, round it"
            )
        if label.size and (label.min() < -(2.0**62) or label.max() > 2.0**62):
            raise InputError(f"{name} holds values beyond the range of integer ids")
        return label.astype(np.int64)
    if label.dtype.kind not in "biu":
        raise InputError(f"{name} has dtype {label.dtype}; labels must be integers (or bool)")
    return label.astype(np.int64, copy=False)


def _touches_every_edge(mask: np.ndarray) -> bool:
    for axis in range(mask.ndim):
        first = np.take(mask, 0, axis=axis)
        last = np.take(mask, -1, axis=axis)
        if not (first.any() and last.any()):
            return False
    return True


def check_trainable(labels: Sequence[np.ndarray], ignore_label: Optional[int]) -> None:
    """Refuse labels that would train a network that cannot find cells.

    Parameters
    ----------
    labels : sequence of int64 arrays
        Instance labels, 0 = background.
    ignore_label : int, optional
        The value of unannotated pixels (left out of every check).

    Raises
    ------
    InputError
        When no annotated pixel is background (0), or when one id covers more
        than half of an image's annotated pixels and touches every edge of
        the image.  The message says which image and what to do.
    """
    if ignore_label is not None and int(ignore_label) == 0:
        raise InputError(
            "ignore_label=0 marks the background as unannotated, so the network would never learn what "
            "is not an object; give unannotated pixels another value (e.g. -1) and keep 0 for background"
        )
    any_background = False
    for i, label in enumerate(labels):
        annotated = label != ignore_label if ignore_label is not None else None
        values = label[annotated] if annotated is not None else label.ravel()
        if values.size == 0:
            continue
        any_background |= bool((values == 0).any())
        ids, counts = np.unique(values[values != 0], return_counts=True)
        if ids.size == 0:
            continue
        largest = int(np.argmax(counts))
        fraction = counts[largest] / values.size
        if fraction > LARGEST_OBJECT_FRACTION and _touches_every_edge(label == ids[largest]):
            biggest = int(ids[largest])
            found = ", ".join(str(int(v)) for v in ids[:5]) + (", ..." if ids.size > 5 else "")
            raise InputError(
                f"labels[{i}]: label {biggest} covers {fraction:.0%} of the annotated pixels and touches "
                f"every edge of the image (values found: {found}). This looks like a foreground/background "
                f"mask whose background is {biggest} (e.g. graph-cut or GrabCut output holding the seed "
                f"values 1 and 2), not instance labels with background 0; a network trained on it learns "
                f"nothing useful. Map the background value to 0 (labels[labels == {biggest}] = 0) and give "
                "each cell its own id, e.g. use the method's instance output"
            )
    if not any_background:
        where = "annotated pixels" if ignore_label is not None else "labels"
        raise InputError(
            f"no pixel of the {where} is background (0): the network would never learn what is not an "
            "object. Label some background as 0 (with ignore_label=V for pixels you did not annotate), "
            "or, if the background has another value, map it to 0"
        )
