"""Per-frame GrabCut work: objects from boxes or from scribbles, claims, reports."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np
from scipy import ndimage as ndi

from .._errors import InputError
from .boxes import MIN_OBJECT_PIXELS, box_depth
from .box_cut import BoxCut, box_interiors, cut_box
from .core import auto_smoothness, grabcut_region, with_smoothness
from .crop import axis_margins, normalise_crop, object_crop
from .fallback import contrast_fallback  # noqa: F401 (re-exported)
from .seeds import BACKGROUND, OBJECT

__all__ = ["GrabCutReport", "ObjectReport"]

logger = logging.getLogger(__name__)




@dataclass
class ObjectReport:
    """What happened to one object in one frame.

    Attributes
    ----------
    index : int
        The box's index (the object's label is ``index + 1``); for a
        seeds-only call, the index of the connected object.
    frame : tuple of int
        Index of the frame along the leading (time) axes; ``()`` without.
    status : str
        ``"ok"``; ``"retried"`` (the first run was degenerate, a retry was
        not); ``"fallback"`` (every GrabCut run was degenerate; the object is
        the part of the box that differs from its surroundings by Otsu's
        threshold); ``"empty"`` or ``"full"`` (degenerate even after the retries:
        left out of the labels); ``"overlapped"`` (every pixel went to other
        overlapping boxes).
    iterations : int
        Graph cuts in the run that was kept.
    energies : list of float
        Energy after each cut of that run.
    """

    index: int
    frame: Tuple[int, ...]
    status: str
    iterations: int
    energies: List[float] = field(default_factory=list)


@dataclass
class GrabCutReport:
    """Per-object outcome of :func:`grabcut`: pass one as ``grabcut(..., report=report)`` to have it filled.

    Attributes
    ----------
    objects : list of ObjectReport
        One entry per object and frame, in the order they were cut.
    """

    objects: List[ObjectReport] = field(default_factory=list)

    @property
    def degenerate(self) -> List[ObjectReport]:
        """Objects left out because no sensible cut was found."""
        return [o for o in self.objects if o.status in ("empty", "full")]


def is_constant(channels_last) -> bool:
    flat = channels_last.reshape(-1, channels_last.shape[-1])
    return bool(np.all(flat.min(axis=0) == flat.max(axis=0)))


def shrink_whole_frame_boxes(boxes: np.ndarray, spatial_shape, nsp: int) -> np.ndarray:
    """A box covering a whole frame leaves no background to learn from."""
    if not len(boxes):
        return boxes
    whole = np.all(boxes[:, 0, -nsp:] == 0, axis=1) & np.all(boxes[:, 1, -nsp:] == np.asarray(spatial_shape), axis=1)
    if not whole.any():
        return boxes
    boxes = boxes.copy()
    boxes[whole, 0, -nsp:] += 1
    boxes[whole, 1, -nsp:] -= 1
    sizes = np.prod(boxes[whole, 1, -nsp:] - boxes[whole, 0, -nsp:], axis=1)
    if np.any(sizes < MIN_OBJECT_PIXELS) or np.any(boxes[whole, 1, -nsp:] <= boxes[whole, 0, -nsp:]):
        i = int(np.flatnonzero(whole)[0])
        raise InputError(
            f"boxes[{i}] covers the whole image {tuple(spatial_shape)}, which is too small to leave a "
            "background border; draw a smaller box or add background scribbles (2)"
        )
    warnings.warn(
        f"box(es) {np.flatnonzero(whole).tolist()} cover the whole image, leaving no background to learn "
        "from; shrunk by one pixel on each side",
        UserWarning,
        stacklevel=3,
    )
    return boxes


def grow_boxes_to_seeds(boxes: np.ndarray, object_seeds: Optional[np.ndarray], nsp: int) -> Tuple[np.ndarray, int]:
    """Spatial boxes grown over object scribbles that start inside them.

    Returns the boxes and the number of scribbled pieces touching no box.
    """
    spatial = boxes[:, :, -nsp:].copy()
    if object_seeds is None or not object_seeds.any():
        return spatial, 0
    pieces, n = ndi.label(object_seeds, structure=ndi.generate_binary_structure(nsp, nsp))
    extents = ndi.find_objects(pieces)
    used = np.zeros(n + 1, dtype=bool)
    for k in range(len(spatial)):
        region = tuple(slice(int(a), int(b)) for a, b in zip(spatial[k, 0], spatial[k, 1]))
        ids = np.unique(pieces[region])
        for i in ids[ids > 0]:
            used[i] = True
            ext = extents[i - 1]
            spatial[k, 0] = np.minimum(spatial[k, 0], [s.start for s in ext])
            spatial[k, 1] = np.maximum(spatial[k, 1], [s.stop for s in ext])
    return spatial, int(n - used[1:].sum())


def boxes_frame(
    image, frame, boxes, seeds, params, margin, conn, single_component, reuse_models, previous, rng, report, out, summary
):
    """All objects of one spatial frame, written into ``out`` (a view of the result)."""
    nsp = len(params.spacing)
    shape = tuple(image.shape[:-1])
    active = [k for k in range(len(boxes)) if all(boxes[k, 0, a] <= frame[a] < boxes[k, 1, a] for a in range(len(frame)))]
    object_seeds = None if seeds is None else seeds == OBJECT
    background_seeds = None if seeds is None else seeds == BACKGROUND
    grown, stray = grow_boxes_to_seeds(boxes[active], object_seeds, nsp) if active else (boxes[:0, :, -nsp:], 0)
    if stray:
        warnings.warn(
            f"{stray} object scribble(s) (seed value {OBJECT}) lie in no box and were ignored"
            + (f" in frame {frame}" if frame else "")
            + "; draw a box around each object",
            UserWarning,
            stacklevel=4,
        )
    spatial = {k: grown[j] for j, k in enumerate(active)}
    where = f" frame {frame}" if frame else ""
    options = dict(params=params, margin=margin, conn=conn, single_component=single_component,
                   interiors=box_interiors(spatial),
                   object_seeds=object_seeds, background_seeds=background_seeds, rng=rng, where=where)
    cuts: Dict[int, BoxCut] = {}
    for j, k in enumerate(active):
        obj_report = report.sub(j / len(active), (j + 1) / len(active))
        cuts[k], models = cut_box(image, k, spatial, models=previous.get(k) if reuse_models else None,
                                  report=obj_report, **options)
        if models is not None:
            previous[k] = models
    for k in active:
        cut = cuts[k]
        summary.objects.append(ObjectReport(k, tuple(frame), cut.status, cut.iterations, cut.energies))
        if cut.mask is not None:
            _claim(out, cut.region, cut.mask, k, spatial)
    counts = np.bincount(out.ravel(), minlength=len(boxes) + 1)
    for entry in summary.objects:
        if entry.frame == tuple(frame) and entry.status in ("ok", "retried", "fallback") and counts[entry.index + 1] == 0:
            entry.status = "overlapped"


def _claim(out: np.ndarray, region: Tuple[slice, ...], mask: np.ndarray, k: int, boxes: Dict[int, np.ndarray]) -> None:
    """Write object ``k`` into ``out``; a pixel already taken goes to the box it lies deepest in."""
    target = out[region]
    taken = mask & (target != 0)
    if taken.any():
        coords = np.nonzero(taken)
        points = [c + s.start for c, s in zip(coords, region)]
        owners = target[coords] - 1
        mine = box_depth(points, boxes[k])
        theirs = np.empty(len(owners))
        for owner in np.unique(owners):
            sel = owners == owner
            theirs[sel] = box_depth([p[sel] for p in points], boxes[int(owner)])
        # ties go to the lower index
        win = (mine < theirs) | ((mine == theirs) & (k < owners))
        lose = tuple(c[~win] for c in coords)
        mask = mask.copy()
        mask[lose] = False
    target[mask] = k + 1


def seeds_frame(image, frame, seeds, params, conn, out, summary, rng, report):
    """Seeds-only: cut the whole frame; each piece holding object scribbles is an object."""
    if seeds is None:
        return
    fg_seed = seeds == OBJECT
    bg_seed = seeds == BACKGROUND
    if not fg_seed.any() or not bg_seed.any():
        warnings.warn(
            f"frame {frame} lacks object or background scribbles and is left empty", UserWarning, stacklevel=4
        )
        return
    raw = np.asarray(image)
    features, reg = normalise_crop(raw)
    unknown = np.ones(fg_seed.shape, dtype=bool)
    if np.all(fg_seed | bg_seed):
        warnings.warn("seeds cover every pixel; returning the object scribbles as the result", UserWarning, stacklevel=4)
        mask = fg_seed
        result = None
    else:
        if params.smoothness is None:
            where = np.nonzero(fg_seed)
            params = with_smoothness(params, auto_smoothness([w.max() - w.min() + 1 for w in where], params.spacing))
        result = grabcut_region(
            features, unknown=unknown, hard_fg=fg_seed, hard_bg=bg_seed, init_fg=fg_seed, init_bg=bg_seed,
            band=np.zeros((0, features.shape[-1]), np.float32), params=params, reg=reg, rng=rng, report=report,
        )
        if result.status == "full" or not result.mask.any():  # small objects in a whole frame are fine
            summary.objects.append(ObjectReport(0, tuple(frame), result.status, result.iterations, result.energies))
            return
        mask = result.mask
    pieces, n = ndi.label(mask, structure=ndi.generate_binary_structure(mask.ndim, conn))
    seeded = np.unique(pieces[fg_seed])
    seeded = seeded[seeded > 0]
    lookup = np.zeros(n + 1, dtype=np.int64)
    lookup[seeded] = np.arange(1, len(seeded) + 1)
    target = out[frame] if frame else out
    if len(seeded) > np.iinfo(target.dtype).max:  # pragma: no cover - int32 holds any frame's count
        raise InputError("too many objects for the label dtype")
    target[...] = lookup[pieces]
    for i in range(len(seeded)):
        summary.objects.append(
            ObjectReport(i, tuple(frame), "ok", 0 if result is None else result.iterations,
                         [] if result is None else result.energies)
        )


def warn_degenerate(report: GrabCutReport) -> None:
    fallen = [o for o in report.objects if o.status == "fallback"]
    if fallen:
        listed = ", ".join(f"{o.index}" + (f" (frame {o.frame})" if o.frame else "") for o in fallen[:10])
        warnings.warn(
            f"GrabCut gave an empty or whole-box cut for {len(fallen)} box(es) [{listed}] even after retrying "
            "with a central start, a weaker boundary term and fewer components; for these the object is the "
            "part of the box that differs from its surroundings (Otsu threshold). Check them, or add scribbles",
            UserWarning,
            stacklevel=3,
        )
    bad = report.degenerate
    if not bad:
        return
    listed = ", ".join(
        f"{o.index}" + (f" (frame {o.frame})" if o.frame else "") + f": {o.status}" for o in bad[:10]
    )
    warnings.warn(
        f"GrabCut found no sensible object for {len(bad)} box(es) [{listed}] even after retrying "
        "(empty: nothing like an object; full: the whole box); they are left out of the labels. "
        "Try a tighter box, object (1) or background (2) scribbles, or fewer components",
        UserWarning,
        stacklevel=3,
    )
