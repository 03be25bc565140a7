"""Correcting a network's proposals object by object: clicks from the proposal, then accept.

A correction starts from what the user sees, the dataset's labels (accepted
objects over the proposals, :func:`dataset_labels`), and changes one object
with positive and negative clicks (:class:`napari_segkit.prompts.ClickSegmenter`
continuing from those labels: the other objects stay as they are).  The
corrected object, or a proposal taken as it is, is then accepted into the
:class:`AnnotationSet` with its clicks recorded as the prompt.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError
from .annotation_set import AnnotationSet

__all__ = ["ProposalCorrection", "dataset_labels"]

#: clicks that :meth:`ProposalCorrection.undo` can take back
UNDO_STEPS = 20


def dataset_labels(accepted: Any, proposals: Any, *, keep_share: float = 0.5) -> np.ndarray:
    """Accepted objects over the proposals: the labels the dataset has now.

    Parameters
    ----------
    accepted : array of int
        Accepted objects (an :class:`AnnotationSet`'s labels, or one frame of them).
    proposals : array of int
        The network's objects, the same shape.
    keep_share : float
        A proposal keeps its pixels outside accepted objects when they are at
        least this share of it; a proposal mostly covered by an accepted
        object was replaced by it and is dropped.

    Returns
    -------
    ndarray of int32
        Accepted objects with their ids, then the kept proposals with ids
        after the largest accepted id.
    """
    accepted = np.asarray(accepted)
    proposals = np.asarray(proposals)
    if accepted.shape != proposals.shape:
        raise InputError(f"accepted has shape {accepted.shape}, proposals has shape {proposals.shape}")
    if not 0.0 <= float(keep_share) <= 1.0:
        raise InputError(f"keep_share must be between 0 and 1, got {keep_share!r}")
    out = np.where(accepted > 0, accepted, 0).astype(np.int32)
    free = np.where(accepted > 0, 0, proposals)
    total = np.bincount(np.where(proposals > 0, proposals, 0).ravel())
    left = np.bincount(np.where(free > 0, free, 0).ravel(), minlength=total.size)
    keep = (left >= float(keep_share) * total) & (left > 0)
    keep[0] = False
    offset = int(out.max())
    where = keep[np.where(free > 0, free, 0)]
    out[where] = free[where].astype(np.int32) + offset
    return out


class ProposalCorrection:
    """Correct proposals with clicks and accept them, one object at a time.

    Parameters
    ----------
    image : (M, N[, P][, C]) array-like
        The image (one frame), with an optional channel axis.
    labels : array of int
        What the user sees: usually :func:`dataset_labels` of the accepted
        objects and the proposals (copied; 0 = background).
    channel_axis : int, optional
        The image's channel axis.
    rng : int or numpy Generator, optional
        Seed of the cuts.

    Examples
    --------
    >>> fix = ProposalCorrection(image, dataset_labels(accepted, proposals))
    >>> fix.click(7, (40, 52), positive=False)        # proposal 7 took background
    >>> fix.accept(annotations, "image", 7)            # into the set, the click recorded
    >>> fix.accept(annotations, "image", 9)            # proposal 9 as it is: one interaction
    """

    def __init__(self, image: Any, labels: Any, *, channel_axis: Optional[int] = None, rng: Any = None) -> None:
        from ..prompts import ClickSegmenter

        self._session = ClickSegmenter(image, channel_axis=channel_axis, labels=labels, rng=rng)
        self._clicks: Dict[int, List[Tuple[List[int], bool]]] = {}
        self._history: List[Tuple[Any, Dict[int, List[Tuple[List[int], bool]]]]] = []
        self._spent: Dict[int, int] = {}  # clicks per object, undone ones included
        areas = np.bincount(self._session.labels.ravel())[1:]
        areas = areas[areas > 0]
        #: a new object starts as a disc of the objects' median size (half of it: a cut grows, rarely shrinks)
        self._typical_radius = float(np.sqrt(np.median(areas) / np.pi) / 2) if areas.size else 3.0

    @property
    def labels(self) -> np.ndarray:
        """The labels after the corrections so far (the session's own array: copy to keep)."""
        return self._session.labels

    @property
    def shape(self) -> Tuple[int, ...]:
        return self._session.shape

    def mask(self, object_id: int) -> np.ndarray:
        """The object's pixels now."""
        return self._session.labels == int(object_id)

    def clicks(self, object_id: int) -> List[Tuple[List[int], bool]]:
        """The clicks given to an object so far, ``(coords, positive)`` in order."""
        return list(self._clicks.get(int(object_id), []))

    def _remember(self) -> None:
        """Keep the state before a click, for :meth:`undo` (the image itself is shared, not copied)."""
        image = getattr(self._session, "_image", None)
        memo = {} if image is None else {id(image): image}
        self._history.append((copy.deepcopy(self._session, memo), {k: list(v) for k, v in self._clicks.items()}))
        del self._history[:-UNDO_STEPS]

    def undo(self) -> bool:
        """Take back the last click (or new object); False when there is nothing to undo."""
        if not self._history:
            return False
        self._session, self._clicks = self._history.pop()
        return True

    def click(self, object_id: int, coords: Sequence[float], *, positive: bool = True) -> int:
        """Correct object ``object_id`` (a proposal, or one :meth:`new_object` made) by one click."""
        object_id = int(object_id)
        if object_id < 1 or (object_id not in self._clicks and not np.any(self._session.labels == object_id)):
            raise InputError(f"object_id {object_id} is not an object of these labels")
        self._remember()
        self._session.add_click(coords, bool(positive), object_id=object_id)
        self._spent[object_id] = self._spent.get(object_id, 0) + 1
        self._clicks.setdefault(object_id, []).append(([int(round(float(c))) for c in coords], bool(positive)))
        return object_id

    def new_object(self, coords: Sequence[float]) -> int:
        """Start a new object (one the proposals missed) by a positive click; returns its id.

        The cut starts from a disc of the labels' typical object size around
        the click (on free pixels), then follows the image as any click does.
        """
        try:
            point = tuple(int(round(float(c))) for c in coords)
        except (TypeError, ValueError):
            raise InputError(f"coords must be {len(self.shape)} numbers, got {coords!r}") from None
        if len(point) != len(self.shape) or any(not 0 <= p < n for p, n in zip(point, self.shape)):
            raise InputError(f"coords {coords!r} lie outside the image of shape {self.shape}")
        labels = self._session.labels
        if labels[point] != 0:
            raise InputError(f"coords {list(point)} lie on object {int(labels[point])}: correct that object instead")
        self._remember()
        new_id = int(labels.max()) + 1
        grid = np.ogrid[tuple(slice(0, n) for n in self.shape)]
        disc = sum((g - p) ** 2 for g, p in zip(grid, point)) <= self._typical_radius**2
        labels[disc & (labels == 0)] = new_id
        labels[point] = new_id
        self._session.add_click(point, True, object_id=new_id)
        self._clicks[new_id] = [(list(point), True)]
        self._spent[new_id] = 1
        return new_id

    def accept(self, annotations: AnnotationSet, image: str, object_id: int, *,
               frame: Optional[Sequence[int]] = None, source: str = "proposal",
               model: Optional[Dict[str, Any]] = None) -> List[int]:
        """Accept the object as it is now; returns its new id in the set (empty if nothing was left).

        The interactions counted are its clicks (undone ones too), or one
        (the accept) for a proposal taken as it is; the clicks kept are
        recorded as the prompt.
        """
        object_id = int(object_id)
        mask = self.mask(object_id)
        if not mask.any():
            raise InputError(f"object {object_id} has no pixels to accept")
        clicks = self._clicks.get(object_id, [])
        prompt = {"kind": "clicks", "from": "proposal", "object": object_id,
                  "points": [c for c, _ in clicks], "positive": [p for _, p in clicks]} if clicks else \
            {"kind": "accept", "from": "proposal", "object": object_id}
        return annotations.accept(image, mask, frame=frame, prompt=prompt,
                                  source=source if not clicks else f"{source}+clicks", model=model,
                                  interactions=max(self._spent.get(object_id, 0), 1))
