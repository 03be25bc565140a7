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
from .core import (
    MIN_BACKGROUND_SAMPLES,
    CutParams,
    auto_smoothness,
    central_part,
    grabcut_region,
    keep_components,
    with_smoothness,
)
from .crop import axis_margins, normalise_crop, object_crop
from .seeds import BACKGROUND, OBJECT

__all__ = ["GrabCutReport", "ObjectReport"]

logger = logging.getLogger(__name__)

MAX_BAND_SAMPLES = 10_000
#: contrast (in noise sigmas of the surroundings) an object needs for the fallback to keep it
FALLBACK_CONTRAST = 1.5
_RETRIES = (("central", 0.5, None), ("central", 0.25, 1))



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
    for j, k in enumerate(active):
        obj_report = report.sub(j / len(active), (j + 1) / len(active))
        box = spatial[k]
        margins = axis_margins(tuple(box[1] - box[0]), params.spacing, margin)
        crop = object_crop(box, shape, margins)
        raw = image[crop.crop]
        if not isinstance(raw, np.ndarray):
            raw = np.asarray(raw.compute() if hasattr(raw, "compute") else raw)
        features, reg = normalise_crop(raw)
        region_features = features[crop.region_in_crop]
        region_shape = crop.region_shape
        unknown = np.zeros(region_shape, dtype=bool)
        unknown[crop.box_in_region] = True
        hard_fg = np.zeros(region_shape, dtype=bool)
        hard_bg = np.zeros(region_shape, dtype=bool)
        band_mask = np.ones(crop.crop_shape, dtype=bool)
        band_mask[crop.region_in_crop] = False
        band_all = band_mask.copy()
        # other boxes hold other objects: not background samples for this one
        for other, obox in spatial.items():
            if other == k:
                continue
            sl = _intersect(obox, crop.crop)
            if sl is not None:
                band_mask[sl] = False
        if seeds is not None:
            hard_fg = object_seeds[crop.region] & unknown
            hard_bg = background_seeds[crop.region]
            band_mask &= ~object_seeds[crop.crop]
            band_all &= ~object_seeds[crop.crop]
        if np.count_nonzero(band_mask) < MIN_BACKGROUND_SAMPLES:
            band_mask = band_all
        band = features[band_mask]
        if len(band) > MAX_BAND_SAMPLES:
            band = band[np.sort(rng.choice(len(band), MAX_BAND_SAMPLES, replace=False))]
        ring = ~unknown
        if len(band) + np.count_nonzero(ring | hard_bg) < MIN_BACKGROUND_SAMPLES:
            raise InputError(
                f"boxes[{k}] leaves too few background samples ({len(band) + np.count_nonzero(ring | hard_bg)} "
                f"< {MIN_BACKGROUND_SAMPLES}) in an image of shape {shape}; draw a smaller box or add "
                f"background scribbles ({BACKGROUND})"
            )
        attempts = [("box", 1.0, None)] + list(_RETRIES)
        base = params.smoothness
        if base is None:
            base = auto_smoothness(tuple(box[1] - box[0]), params.spacing)
        result = None
        for a, (init, factor, k_override) in enumerate(attempts):
            init_fg = unknown & ~hard_bg
            init_bg = ring | hard_bg
            if init == "central":
                centre = central_part(region_shape, crop.box_in_region)
                init_fg = (centre & ~hard_bg) | hard_fg
                init_bg = init_bg | (unknown & ~centre & ~hard_fg)
            p = with_smoothness(params, base * factor, k_override)
            models = previous.get(k) if (reuse_models and a == 0) else None
            result = grabcut_region(
                region_features, unknown=unknown, hard_fg=hard_fg, hard_bg=hard_bg, init_fg=init_fg,
                init_bg=init_bg, band=band, params=p, reg=reg, rng=rng, models=models,
                report=obj_report.sub(a / len(attempts), (a + 1) / len(attempts)), tight_box=crop.box_in_region,
            )
            if result.status == "ok":
                break
            logger.info("object %d%s: %s cut, retrying (%s init)", k, f" frame {frame}" if frame else "", result.status, init)
        status = result.status if result.status != "ok" else ("ok" if a == 0 else "retried")
        if result.models is not None:
            previous[k] = result.models
        if status in ("empty", "full"):
            fallback = contrast_fallback(region_features, unknown, band, hard_fg, hard_bg)
            if fallback is not None:
                result.mask, status = fallback, "fallback"
                logger.info("object %d: GrabCut stayed %s; kept the contrast threshold inside the box", k, result.status)
        summary.objects.append(ObjectReport(k, tuple(frame), status, result.iterations, result.energies))
        if status in ("empty", "full"):
            continue
        mask = result.mask
        if single_component:
            mask = keep_components(mask, hard_fg, conn)
        _claim(out, crop.region, mask, k, spatial)
        obj_report(1.0, f"object {k + 1} done")
    counts = np.bincount(out.ravel(), minlength=len(boxes) + 1)
    for entry in summary.objects:
        if entry.frame == tuple(frame) and entry.status in ("ok", "retried", "fallback") and counts[entry.index + 1] == 0:
            entry.status = "overlapped"


def contrast_fallback(
    features: np.ndarray, unknown: np.ndarray, band: np.ndarray, hard_fg: np.ndarray, hard_bg: np.ndarray
) -> Optional[np.ndarray]:
    """The part of the box that differs from its surroundings, when GrabCut found nothing sensible.

    Projects the pixels on the direction from the surroundings' mean to the
    box's mean (over all channels), splits the box by Otsu's threshold on
    that projection and keeps the side unlike the surroundings, largest
    connected piece (plus pieces holding object scribbles).  None when the
    split is degenerate or the box does not clearly differ from its
    surroundings: the kept piece's mean lies less than ``FALLBACK_CONTRAST``
    (1.5) robust standard deviations (1.4826 MAD) of the surroundings
    beyond their median.
    """
    from skimage.filters import threshold_otsu

    outside = np.concatenate([features[~unknown], band.reshape(-1, features.shape[-1])])
    inside = features[unknown]
    if len(outside) < MIN_BACKGROUND_SAMPLES or len(inside) < MIN_OBJECT_PIXELS:
        return None
    direction = inside.mean(axis=0, dtype=np.float64) - outside.mean(axis=0, dtype=np.float64)
    norm = float(np.linalg.norm(direction))
    if norm == 0 or not np.isfinite(norm):
        return None
    values = features.reshape(-1, features.shape[-1]) @ (direction / norm)
    values = values.reshape(unknown.shape)
    inside_values = values[unknown]
    if float(inside_values.max()) <= float(inside_values.min()):
        return None
    mask = (values > threshold_otsu(inside_values)) & unknown & ~hard_bg
    mask |= hard_fg
    if not mask.any() or mask[unknown].all():
        return None
    mask = keep_components(mask, hard_fg, 1)
    # "clearly differs": the object's mean lies 1.5 noise sigmas (robust) beyond its surroundings'
    # median (the brighter half of pure noise lies about 0.8 sigma above it)
    surroundings = outside @ (direction / norm)
    centre = float(np.median(surroundings))
    sigma = 1.4826 * float(np.median(np.abs(surroundings - centre)))
    if float(values[mask].mean()) - centre <= FALLBACK_CONTRAST * max(sigma, 1e-12):
        return None
    return mask


def _intersect(box: np.ndarray, crop: Tuple[slice, ...]) -> Optional[Tuple[slice, ...]]:
    out = []
    for a, s in enumerate(crop):
        lo, hi = max(int(box[0, a]), s.start), min(int(box[1, a]), s.stop)
        if hi <= lo:
            return None
        out.append(slice(lo - s.start, hi - s.start))
    return tuple(out)


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
