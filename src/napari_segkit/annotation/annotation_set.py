"""``AnnotationSet``: the labels of a whole dataset, grown by accepted objects.

One set per dataset holds, for each image (2-D, 3-D or a time series), an
int32 label array of *accepted* objects, a mask of pixels the user marked as
background, and a mask of *done* regions (boxes in which everything is
labelled).  Every change is an *event* (a plain JSON-able dict) that records
what was done (kind, prompt coordinates, parameters, model version, time)
and the exact pixels it wrote; :meth:`AnnotationSet.replay` applies the same
events to an empty set and checks after each one that the labels match the
recorded checksum, so a saved session rebuilds headless and identically.

Rules:

- accepted objects get fresh ids, unique over the whole set and never
  reused (not even after undo);
- a later acceptance never overwrites accepted pixels unless
  ``overwrite=True``;
- accepting an object over background marks clears them (the user says:
  object); background is never marked over an accepted object;
- undo reverts the last change (accept, delete, merge, split, marks).
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage as ndi

from .._errors import InputError
from ._codec import box_slices, decode_mask, encode_mask, labels_checksum

__all__ = ["AnnotationSet", "Effort", "FORMAT", "replay"]

FORMAT = "napari-segkit-annotations"
FORMAT_VERSION = 1
RECORD_NAME = "annotations.json"
#: a pause longer than this between two interactions is counted as this long
IDLE_CAP_SECONDS = 120.0
_AXIS_LETTERS = set("tzyx")


@dataclass(frozen=True)
class Effort:
    """What the annotation has cost so far."""

    objects: int
    interactions: int
    seconds: float

    @property
    def seconds_per_object(self) -> float:
        return self.seconds / self.objects if self.objects else math.nan

    @property
    def interactions_per_object(self) -> float:
        return self.interactions / self.objects if self.objects else math.nan

    def __str__(self) -> str:
        per = f"{self.seconds_per_object:.1f} s" if self.objects else "-"
        ipo = f"{self.interactions_per_object:.2f}" if self.objects else "-"
        return (f"{self.objects} objects, {self.interactions} interactions ({ipo} per object), "
                f"{self.seconds:.0f} s ({per} per object)")


@dataclass
class _Change:
    """What an event overwrote, for undo."""

    image: str
    box: Tuple[slice, ...]
    labels: np.ndarray
    background: np.ndarray
    done: np.ndarray
    event_index: int


def _plain(value: Any) -> Any:
    """JSON-able copy of prompt coordinates and parameters (numpy -> lists and numbers)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def _union_box(boxes: Iterable[Tuple[slice, ...]], ndim: int) -> Optional[Tuple[slice, ...]]:
    boxes = [b for b in boxes if all(s.stop > s.start for s in b)]
    if not boxes:
        return None
    return tuple(
        slice(min(b[a].start for b in boxes), max(b[a].stop for b in boxes)) for a in range(ndim)
    )


class AnnotationSet:
    """Accepted objects, background marks and done regions of a dataset, with their history.

    Parameters
    ----------
    images : mapping of str to shape, optional
        Images to register at once (``{"name": (T, Y, X)}``); more can be
        added with :meth:`add_image`.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.annotation import AnnotationSet
    >>> aset = AnnotationSet({"cells": (64, 64)})
    >>> mask = np.zeros((64, 64), bool); mask[10:20, 10:20] = True
    >>> aset.accept("cells", mask, prompt={"kind": "box", "coords": [[7, 7], [23, 23]]}, source="grabcut")
    [1]
    >>> aset.undo(); aset.n_objects
    0
    """

    def __init__(self, images: Optional[Mapping[str, Sequence[int]]] = None) -> None:
        self.labels: Dict[str, np.ndarray] = {}
        self.background: Dict[str, np.ndarray] = {}
        self.done: Dict[str, np.ndarray] = {}
        self.axes: Dict[str, Optional[str]] = {}
        self.spacing: Dict[str, Optional[List[float]]] = {}
        self.events: List[Dict[str, Any]] = []
        self._changes: List[_Change] = []
        self._next_id = 1
        for key, shape in (images or {}).items():
            self.add_image(key, shape)

    # ----------------------------------------------------------------- state
    @property
    def images(self) -> List[str]:
        return list(self.labels)

    @property
    def next_id(self) -> int:
        """The id the next accepted object will get."""
        return self._next_id

    @property
    def n_objects(self) -> int:
        """Accepted objects over all images."""
        return sum(len(self.object_ids(key)) for key in self.labels)

    def object_ids(self, image: str) -> List[int]:
        labels = self._labels(image)
        ids = np.unique(labels)
        return [int(i) for i in ids if i != 0]

    def annotated(self, image: str) -> np.ndarray:
        """Boolean mask of pixels whose label is known: accepted objects, background marks, done regions."""
        self._labels(image)
        return (self.labels[image] != 0) | self.background[image] | self.done[image]

    def effort(self) -> Effort:
        """Accepted objects, interactions and active seconds (pauses capped at 2 minutes) so far."""
        times = [e["time"] for e in self.events if e.get("interactions", 0) > 0]
        seconds = 0.0
        for a, b in zip(times[:-1], times[1:]):
            seconds += min(max(0.0, b - a), IDLE_CAP_SECONDS)
        interactions = sum(int(e.get("interactions", 0)) for e in self.events)
        return Effort(self.n_objects, interactions, seconds)

    def _labels(self, image: str) -> np.ndarray:
        if image not in self.labels:
            known = ", ".join(repr(k) for k in self.labels) or "none"
            raise InputError(f"image {image!r} is not in the annotation set (images: {known}); add it with add_image")
        return self.labels[image]

    # ------------------------------------------------------------ operations
    def add_image(self, image: str, shape: Sequence[int], *, axes: Optional[str] = None,
                  spacing: Optional[Sequence[float]] = None) -> None:
        """Register an image (its label shape, without channels) to annotate.

        ``axes`` names each axis with one of ``t z y x`` (e.g. ``"tyx"`` for a
        time series of 2-D frames, ``"zyx"`` for a volume); it decides how
        :func:`training_inputs` cuts the image into training samples.
        """
        if not isinstance(image, str) or not image:
            raise InputError(f"image must be a non-empty name, got {image!r}")
        if image in self.labels:
            raise InputError(f"image {image!r} is already in the annotation set")
        try:
            shape = tuple(int(s) for s in shape)
        except TypeError:
            raise InputError(f"shape must be a sequence of integers, got {shape!r}") from None
        if not 2 <= len(shape) <= 5 or any(s < 1 for s in shape):
            raise InputError(f"shape must have 2 to 5 positive sizes, got {shape!r}")
        if axes is not None:
            axes = str(axes).lower()
            if len(axes) != len(shape) or not set(axes) <= _AXIS_LETTERS or len(set(axes)) != len(axes):
                raise InputError(
                    f"axes must name each of the {len(shape)} axes once with letters from 'tzyx', got {axes!r}"
                )
        self._commit({"op": "add_image", "image": image, "shape": list(shape), "axes": axes,
                      "spacing": None if spacing is None else [float(s) for s in spacing], "interactions": 0})

    def accept(
        self,
        image: str,
        result: Any,
        *,
        frame: Optional[Sequence[int]] = None,
        ids: Optional[Sequence[int]] = None,
        overwrite: bool = False,
        background: Any = None,
        prompt: Optional[Mapping[str, Any]] = None,
        source: Optional[str] = None,
        params: Optional[Mapping[str, Any]] = None,
        model: Optional[Mapping[str, Any]] = None,
        interactions: int = 1,
        min_size: int = 1,
    ) -> List[int]:
        """Accept a method's result as new objects; returns their new ids.

        Parameters
        ----------
        image : str
            The image annotated.
        result : array of bool or int
            A mask (one object) or instance labels (each id one object; 0 is
            nothing), shaped as the image, or as one frame with ``frame``.
        frame : sequence of int, optional
            Index of the frame (leading axes, e.g. ``(t,)``) that ``result`` covers.
        ids : sequence of int, optional
            Accept only these ids of ``result`` (object-by-object acceptance of proposals).
        overwrite : bool
            Let the new objects take pixels of accepted objects.  Default:
            accepted pixels are kept and the new objects get the rest.
        background : array of bool or box, optional
            Pixels the prompt showed to be background (e.g. the rest of a
            GrabCut box): a mask like ``result`` or a box ``(start, stop)`` in
            ``result``'s coordinates.  Marked where no object is.
        prompt : mapping, optional
            What the user did, e.g. ``{"kind": "box", "coords": [[y0, x0], [y1, x1]]}``.
        source, params, model
            The method (``"grabcut"``, ``"network"``...), its parameters, and
            the model version for network proposals (recorded).
        interactions : int
            Interactions this acceptance cost (clicks, boxes); 1 by default.
        min_size : int
            Objects with fewer remaining pixels are dropped.
        """
        labels = self._labels(image)
        index, region_shape = self._frame(image, frame)
        result = np.asarray(result)
        if result.shape != region_shape:
            raise InputError(f"result has shape {result.shape}; image {image!r}"
                             f"{' frame ' + str(tuple(frame)) if frame is not None else ''} has shape {region_shape}")
        if result.dtype.kind == "b":
            result = result.astype(np.int32)
        elif result.dtype.kind not in "iu":
            raise InputError(f"result must be a bool mask or integer labels, got dtype {result.dtype}")
        current = labels[index]
        taken = current != 0
        objects = []
        slices = ndi.find_objects(np.where(result > 0, result, 0).astype(np.int64, copy=False)) if result.any() else []
        wanted = None if ids is None else {int(i) for i in ids}
        if wanted is not None:
            missing = sorted(i for i in wanted if i < 1 or i > len(slices) or slices[i - 1] is None)
            if missing:
                raise InputError(f"ids {missing} are not in the result (its ids: {sorted(int(i) for i in np.unique(result) if i > 0)[:20]})")
        next_id = self._next_id
        claimed = np.zeros(region_shape, dtype=bool)
        for source_id, box in enumerate(slices, start=1):
            if box is None or (wanted is not None and source_id not in wanted):
                continue
            mask = result[box] == source_id
            if not overwrite:
                mask &= ~taken[box]
            mask &= ~claimed[box]
            if int(mask.sum()) < max(1, int(min_size)):
                continue
            claimed[box] |= mask
            objects.append({"id": next_id, "source_id": int(source_id),
                            "mask": self._code(mask, box, index)})
            next_id += 1
        bg_code = None
        if background is not None:
            if isinstance(background, np.ndarray) and background.shape == region_shape:
                bg = background.astype(bool)
            else:
                bg = np.zeros(region_shape, dtype=bool)
                bg[box_slices(background, region_shape, "background")] = True
            bg &= ~taken & ~claimed
            if bg.any():
                full = (slice(None),) * len(region_shape)
                bg_code = self._code(bg, full, index)
        if not objects and bg_code is None:
            return []
        self._commit({
            "op": "accept", "image": image, "frame": None if frame is None else [int(f) for f in frame],
            "objects": objects, "background": bg_code, "overwrite": bool(overwrite),
            "prompt": _plain(prompt), "source": source, "params": _plain(params), "model": _plain(model),
            "interactions": int(interactions),
        })
        return [o["id"] for o in objects]

    def delete(self, image: str, ids: Sequence[int] | int, *, as_background: bool = False,
               prompt: Optional[Mapping[str, Any]] = None) -> None:
        """Remove accepted objects; their pixels become unlabelled (or background with ``as_background``)."""
        ids = self._existing(image, ids)
        self._commit({"op": "delete", "image": image, "ids": ids, "as_background": bool(as_background),
                      "prompt": _plain(prompt), "interactions": 1})

    def merge(self, image: str, ids: Sequence[int], *, prompt: Optional[Mapping[str, Any]] = None) -> int:
        """Merge two or more accepted objects into the first one's id; returns that id."""
        ids = self._existing(image, ids)
        if len(ids) < 2:
            raise InputError(f"merge needs at least two object ids, got {ids}")
        self._commit({"op": "merge", "image": image, "ids": ids, "prompt": _plain(prompt), "interactions": 1})
        return ids[0]

    def split(self, image: str, object_id: int, *, seeds: Optional[Sequence[Sequence[float]]] = None,
              line: Optional[Sequence[Sequence[float]]] = None, intensity: Optional[np.ndarray] = None,
              prompt: Optional[Mapping[str, Any]] = None) -> List[int]:
        """Split an accepted object by two or more seed clicks or by a line; returns the pieces' ids.

        ``seeds`` are image coordinates (all axes); the first piece keeps
        ``object_id``, the others get fresh ids.  ``line`` is a polyline in
        the last two axes, applied on the plane the object lies in (a 2-D
        object, or one frame of a time series).  ``intensity`` (the image,
        same shape as the labels) makes a seeded split follow image edges
        instead of the object's shape.
        """
        from .edits import split_by_line, split_by_seeds

        labels = self._labels(image)
        (object_id,) = self._existing(image, [object_id])
        box = ndi.find_objects((labels == object_id).astype(np.int8))[0]
        mask = labels[box] == object_id
        if (seeds is None) == (line is None):
            raise InputError("split needs either seeds (two or more clicks) or a line, not both")
        if seeds is not None:
            local = [[float(c) - s.start for c, s in zip(point, box)] for point in seeds]
            crop = None
            if intensity is not None:
                intensity = np.asarray(intensity)
                if intensity.shape != labels.shape:
                    raise InputError(f"intensity has shape {intensity.shape}, the labels {labels.shape}")
                crop = intensity[box]
            pieces = split_by_seeds(mask, [[int(round(c)) for c in p] for p in local], image=crop)
            kind = {"kind": "split_seeds", "coords": _plain(seeds)}
        else:
            points = np.asarray(line, dtype=float)
            lead = labels.ndim - 2
            extent = [s.stop - s.start for s in box[:lead]]
            if any(e != 1 for e in extent):
                raise InputError(f"object {object_id} spans several planes; split it with seeds, not a line")
            local = points[:, -2:] - np.array([box[-2].start, box[-1].start])
            pieces2d = split_by_line(mask.reshape(mask.shape[-2:]), local)
            pieces = pieces2d.reshape(mask.shape)
            kind = {"kind": "split_line", "coords": _plain(line)}
        n = int(pieces.max())
        if n < 2:
            raise InputError(f"the split left object {object_id} in one piece; click inside each part")
        new = []
        for k in range(2, n + 1):
            new.append({"id": self._next_id + k - 2, "mask": self._code(pieces == k, box, ())})
        self._commit({"op": "split", "image": image, "id": object_id, "pieces": new,
                      "prompt": _plain(prompt) or kind, "interactions": 1})
        return [object_id] + [p["id"] for p in new]

    def mark_background(self, image: str, mask: Any, *, frame: Optional[Sequence[int]] = None,
                        prompt: Optional[Mapping[str, Any]] = None, source: Optional[str] = None,
                        interactions: int = 1) -> int:
        """Mark pixels as background (never over accepted objects); returns how many were newly marked.

        ``mask`` is a boolean array shaped as the image (or one frame), or a
        list of points ``[(y, x), ...]`` each marking a 3x3 (3x3x3) patch.
        """
        labels = self._labels(image)
        index, region_shape = self._frame(image, frame)
        array = np.asarray(mask)
        if array.dtype.kind == "b" and array.shape == region_shape:
            marks = array.copy()
        else:
            points = np.atleast_2d(np.asarray(mask, dtype=float))
            if points.ndim != 2 or points.shape[1] != len(region_shape):
                raise InputError(f"mask must be a boolean array of shape {region_shape} or points with "
                                 f"{len(region_shape)} coordinates each, got shape {array.shape}")
            marks = np.zeros(region_shape, dtype=bool)
            for point in points:
                lo = [max(0, int(round(p)) - 1) for p in point]
                hi = [min(s, int(round(p)) + 2) for p, s in zip(point, region_shape)]
                if all(h > l for l, h in zip(lo, hi)):
                    marks[tuple(slice(l, h) for l, h in zip(lo, hi))] = True
        marks &= labels[index] == 0
        marks &= ~self.background[image][index]
        count = int(marks.sum())
        full = (slice(None),) * len(region_shape)
        self._commit({"op": "background", "image": image, "frame": None if frame is None else list(frame),
                      "mask": self._code(marks, full, index), "prompt": _plain(prompt), "source": source,
                      "interactions": int(interactions)})
        return count

    def mark_done(self, image: str, box: Any, *, prompt: Optional[Mapping[str, Any]] = None) -> None:
        """Mark a box ``(start, stop)`` (all axes, stop exclusive) as done: every object inside is labelled."""
        shape = self._labels(image).shape
        slices = box_slices(box, shape, "box")
        self._commit({"op": "done", "image": image,
                      "box": [[s.start for s in slices], [s.stop for s in slices]],
                      "prompt": _plain(prompt), "interactions": 1})

    def note_training(self, model_config: Mapping[str, Any], *, path: Optional[str] = None) -> None:
        """Record that a model was trained on this set (its version, for proposals made later)."""
        self._commit({"op": "train", "model": _plain({"path": path, "config": dict(model_config)}),
                      "n_objects": self.n_objects, "interactions": 0})

    def undo(self) -> bool:
        """Revert the last change; False when there is nothing to undo."""
        if not self._changes:
            return False
        self._commit({"op": "undo", "interactions": 1})
        return True

    # --------------------------------------------------------------- helpers
    def _frame(self, image: str, frame: Optional[Sequence[int]]):
        labels = self._labels(image)
        if frame is None:
            return (slice(None),) * labels.ndim, labels.shape
        try:
            frame = tuple(int(f) for f in frame)
        except TypeError:
            raise InputError(f"frame must be a sequence of integers, got {frame!r}") from None
        if len(frame) >= labels.ndim - 1 or any(not 0 <= f < s for f, s in zip(frame, labels.shape)):
            raise InputError(f"frame {frame} is not a valid frame index of image {image!r} (shape {labels.shape})")
        return frame + (slice(None),) * (labels.ndim - len(frame)), labels.shape[len(frame):]

    def _code(self, mask: np.ndarray, box: Tuple[slice, ...], index: Tuple) -> Dict[str, Any]:
        """Encode ``mask`` (a crop at ``box`` of the region at ``index``) in whole-image coordinates."""
        code = encode_mask(mask)
        lead = [int(i) for i in index if not isinstance(i, slice)]
        offsets = [int(s.start or 0) for s in box]
        code["start"] = lead + [a + b for a, b in zip(code["start"], offsets)]
        code["shape"] = [1] * len(lead) + code["shape"]
        return code

    def _existing(self, image: str, ids: Sequence[int] | int) -> List[int]:
        labels = self._labels(image)
        if isinstance(ids, (int, np.integer)):
            ids = [ids]
        try:
            ids = [int(i) for i in ids]
        except (TypeError, ValueError):
            raise InputError(f"ids must be object ids (integers), got {ids!r}") from None
        present = set(np.unique(labels[np.isin(labels, ids)]).tolist())
        missing = [i for i in ids if i not in present]
        if missing:
            raise InputError(f"objects {missing} are not accepted objects of image {image!r}")
        return list(dict.fromkeys(ids))

    # ---------------------------------------------------- applying an event
    def _commit(self, event: Dict[str, Any], *, check: bool = False) -> None:
        """Apply ``event`` (new, or read from a record) and append it to the history."""
        event = dict(event)
        event.setdefault("time", time.time())
        recorded = event.get("checksum")
        image = self._apply(event)
        if image is not None:
            checksum = labels_checksum(self.labels[image], self.background[image], self.done[image])
            if check and recorded is not None and recorded != checksum:
                raise InputError(
                    f"replaying event {len(self.events)} ({event['op']!r} on {image!r}) gave labels that differ "
                    "from the record; the record is damaged or was edited"
                )
            event["checksum"] = checksum
        self.events.append(event)

    def _apply(self, event: Dict[str, Any]) -> Optional[str]:
        op = event.get("op")
        if op == "add_image":
            key, shape = event["image"], tuple(event["shape"])
            if key in self.labels:
                raise InputError(f"the record adds image {key!r} twice")
            self.labels[key] = np.zeros(shape, dtype=np.int32)
            self.background[key] = np.zeros(shape, dtype=bool)
            self.done[key] = np.zeros(shape, dtype=bool)
            self.axes[key] = event.get("axes")
            self.spacing[key] = event.get("spacing")
            return key
        if op == "train":
            return None
        if op == "undo":
            if not self._changes:
                raise InputError("the record undoes more changes than it made")
            change = self._changes.pop()
            self.labels[change.image][change.box] = change.labels
            self.background[change.image][change.box] = change.background
            self.done[change.image][change.box] = change.done
            self.events[change.event_index]["undone"] = True
            return change.image
        key = event.get("image")
        labels = self._labels(key)
        shape = labels.shape
        if op == "accept":
            decoded = [(o["id"], *decode_mask(o["mask"], shape)) for o in event["objects"]]
            bg = decode_mask(event["background"], shape) if event.get("background") else None
            box = _union_box([b for _, b, _ in decoded] + ([bg[0]] if bg else []), labels.ndim)
            self._snapshot(key, box)
            for object_id, obox, crop in decoded:
                labels[obox][crop] = object_id
                self.background[key][obox][crop] = False
                self._next_id = max(self._next_id, int(object_id) + 1)
            if bg is not None:
                bbox_, crop = bg
                self.background[key][bbox_] |= crop & (labels[bbox_] == 0)
        elif op in ("delete", "merge"):
            ids = [int(i) for i in event["ids"]]
            hit = np.isin(labels, ids if op == "delete" else ids[1:])
            box = _union_box([s for s in ndi.find_objects(hit.astype(np.int8)) if s is not None], labels.ndim)
            if op == "merge":
                keep = labels == ids[0]
                box = _union_box([box] + [s for s in ndi.find_objects(keep.astype(np.int8)) if s is not None],
                                 labels.ndim) if box else None
            if box is None:
                raise InputError(f"the record's {op} names objects {ids} that are not in image {key!r}")
            self._snapshot(key, box)
            sub = hit[box]
            if op == "delete":
                labels[box][sub] = 0
                if event.get("as_background"):
                    self.background[key][box][sub] = True
            else:
                labels[box][sub] = ids[0]
        elif op == "split":
            decoded = [(p["id"], *decode_mask(p["mask"], shape)) for p in event["pieces"]]
            box = _union_box([b for _, b, _ in decoded], labels.ndim)
            self._snapshot(key, box)
            for object_id, pbox, crop in decoded:
                region = labels[pbox]
                region[crop & (region == int(event["id"]))] = object_id
                self._next_id = max(self._next_id, int(object_id) + 1)
        elif op == "background":
            mbox, crop = decode_mask(event["mask"], shape)
            self._snapshot(key, mbox)
            self.background[key][mbox] |= crop & (labels[mbox] == 0)
        elif op == "done":
            start, stop = event["box"]
            box = tuple(slice(int(a), int(b)) for a, b in zip(start, stop))
            self._snapshot(key, box)
            self.done[key][box] = True
        else:
            raise InputError(f"unknown event {op!r} in the annotation record")
        return key

    def _snapshot(self, image: str, box: Optional[Tuple[slice, ...]]) -> None:
        if box is None:
            box = tuple(slice(0, 0) for _ in self.labels[image].shape)
        self._changes.append(_Change(
            image, box, self.labels[image][box].copy(), self.background[image][box].copy(),
            self.done[image][box].copy(), len(self.events),
        ))

    def summary(self) -> Dict[str, Any]:
        """What a model trained on this set should remember: images, objects, effort, record checksum."""
        import hashlib

        effort = self.effort()
        digest = hashlib.sha256(json.dumps(self.record()["events"], sort_keys=True).encode()).hexdigest()[:16]
        return {"images": {k: list(v.shape) for k, v in self.labels.items()}, "objects": effort.objects,
                "interactions": effort.interactions, "events": len(self.events),
                "prompts": sorted({str((e.get("prompt") or {}).get("kind")) for e in self.events
                                   if e.get("prompt")}),
                "record_sha256": digest}

    def snapshot(self) -> "AnnotationSet":
        """An independent copy of the current labels, marks and history (without undo steps)."""
        copy = AnnotationSet()
        copy.labels = {k: v.copy() for k, v in self.labels.items()}
        copy.background = {k: v.copy() for k, v in self.background.items()}
        copy.done = {k: v.copy() for k, v in self.done.items()}
        copy.axes = dict(self.axes)
        copy.spacing = dict(self.spacing)
        copy.events = [dict(e) for e in self.events]
        copy._next_id = self._next_id
        return copy

    # ------------------------------------------------------ record and files
    def record(self) -> Dict[str, Any]:
        """The JSON-able record: every event, enough to :func:`replay` the labels exactly."""
        from .. import __version__

        return {"format": FORMAT, "version": FORMAT_VERSION, "napari_segkit": __version__,
                "events": [dict(e) for e in self.events]}

    @classmethod
    def replay(cls, record: Any) -> "AnnotationSet":
        """Rebuild a set from a record (dict, path of a saved folder or JSON file); checks every checksum."""
        record = _read_record(record)
        aset = cls()
        for event in record["events"]:
            event = {k: v for k, v in event.items() if k != "undone"}
            aset._commit(event, check=True)
        return aset

    def save(self, path: Any, *, overwrite: bool = False) -> Path:
        """Write the set to a folder, atomically: ``annotations.json`` (the record) and
        ``<image>_labels.npy`` per image (the accepted objects, for other tools).

        The labels are a convenience: :func:`replay` rebuilds them from the record alone.
        """
        from ..io.preflight import output_path
        from ..io.writers import write_dir_atomically

        out = output_path(path)
        if out.exists() and not overwrite:
            raise InputError(f"{str(out)!r} already exists; choose a new folder or pass overwrite=True")
        document = json.dumps(self.record(), separators=(",", ":")).encode()

        def write(tmp: Path) -> None:
            tmp.mkdir()
            (tmp / RECORD_NAME).write_bytes(document)
            for key, labels in self.labels.items():
                np.save(tmp / f"{_safe_name(key)}_labels.npy", labels)

        write_dir_atomically(out, write, overwrite=overwrite)
        return out

    def to_python(self, path: Optional[str] = None) -> str:
        """Python that rebuilds this set headless (for a "copy as Python" button)."""
        where = repr(str(path)) if path else "'annotations'  # the folder saved by AnnotationSet.save"
        lines = [
            "import napari_segkit",
            "from napari_segkit.annotation import training_inputs",
            "",
            f"annotations = napari_segkit.replay({where})",
            f"print(annotations.effort())",
        ]
        for key in self.labels:
            lines.append(f"labels = annotations.labels[{key!r}]  # {self.labels[key].shape}, 0 = unlabelled")
        lines += [
            "# train on what was annotated (everything else is left out of the loss):",
            "# data = training_inputs(annotations, {name: image_array, ...})",
            "# model = napari_segkit.train_model(data.images, data.labels, ignore_label=data.ignore_label,",
            "#                                   channel_axis=data.channel_axis, time_budget=240)",
        ]
        return "\n".join(lines) + "\n"


def _safe_name(key: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key) or "image"


def _read_record(record: Any) -> Dict[str, Any]:
    if isinstance(record, AnnotationSet):
        return record.record()
    if isinstance(record, (str, os.PathLike)):
        path = Path(record)
        if path.is_dir():
            path = path / RECORD_NAME
        if not path.is_file():
            raise InputError(f"no annotation record at {str(path)!r}")
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"annotation record {str(path)!r} is not valid JSON: {exc}") from None
    if not isinstance(record, Mapping) or record.get("format") != FORMAT:
        raise InputError(f"not an annotation record (expected a dict with format {FORMAT!r})")
    if int(record.get("version", 0)) > FORMAT_VERSION:
        raise InputError(f"annotation record version {record.get('version')} is newer than this napari-segkit reads")
    if not isinstance(record.get("events"), list):
        raise InputError("annotation record has no list of events")
    return dict(record)


def replay(record: Any) -> AnnotationSet:
    """Rebuild an :class:`AnnotationSet` headless from its record, identically.

    Parameters
    ----------
    record : dict, path or AnnotationSet
        A record (:meth:`AnnotationSet.record`), the folder written by
        :meth:`AnnotationSet.save` or its ``annotations.json``.

    Raises
    ------
    InputError
        If the record is not one, or a replayed step does not reproduce the
        recorded labels (damaged or edited record).
    """
    return AnnotationSet.replay(record)
