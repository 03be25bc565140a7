"""``grabcut``: boxes and scribbles to instance labels, 2-D and 3-D, any channels."""

from __future__ import annotations

import logging
import numbers
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage as ndi

from .._errors import InputError
from .._labels import label_dtype
from .._progress import Reporter
from .._validation import (
    as_image_array,
    check_channel_axis,
    check_finite,
    check_positive_number,
    check_spacing,
    check_spatial_dims,
    move_channels_last,
)
from ..graph.memory import GraphBudget, check_graph_budget, graph_bytes
from ..graph.neighbourhood import neighbour_offsets, resolve_connectivity
from .boxes import MIN_OBJECT_PIXELS, box_depth, check_boxes
from .core import MIN_BACKGROUND_SAMPLES, CutParams, central_part, grabcut_region, keep_components
from .crop import axis_margins, normalise_crop, object_crop
from .seeds import BACKGROUND, OBJECT, check_grabcut_seeds

__all__ = ["grabcut", "GrabCutReport", "ObjectReport", "DEFAULT_SMOOTHNESS"]

logger = logging.getLogger(__name__)

#: weight of the boundary term (GrabCut's gamma = 50)
DEFAULT_SMOOTHNESS = 50.0
#: background samples kept from one object's margin (a random subset beyond this)
MAX_BAND_SAMPLES = 10_000
# retries of a degenerate object: (initialisation, smoothness factor, components or None)
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
        not); ``"empty"`` or ``"full"`` (degenerate even after the retries:
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
    """Per-object outcome of :func:`grabcut` (``return_report=True``)."""

    objects: List[ObjectReport] = field(default_factory=list)

    @property
    def degenerate(self) -> List[ObjectReport]:
        """Objects left out because no sensible cut was found."""
        return [o for o in self.objects if o.status in ("empty", "full")]


def _check_int(value: Any, name: str, low: int, high: Optional[int] = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < low or (
        high is not None and value > high
    ):
        bounds = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"
        raise InputError(f"{name} must be {bounds}, got {value!r}")
    return int(value)


def grabcut(
    image: Any,
    boxes: Any = None,
    *,
    seeds: Any = None,
    spacing: Optional[Sequence[float]] = None,
    channel_axis: Optional[int] = None,
    spatial_dims: Optional[int] = None,
    n_components: int = 5,
    max_iter: int = 10,
    smoothness: float = DEFAULT_SMOOTHNESS,
    connectivity: int = 1,
    margin: Optional[float] = None,
    tol: float = 1e-3,
    single_component: bool = True,
    reuse_models: bool = False,
    memory_limit: Optional[int] = None,
    rng: Any = None,
    progress: Optional[Callable[[float, str], None]] = None,
    return_report: bool = False,
):
    """Segment the object in each box by GrabCut, with optional scribbles.

    GrabCut (Rother, Kolmogorov and Blake 2004) models the object and its
    background with two Gaussian mixtures over the pixels' channel values and
    alternates a graph cut (contrast-sensitive boundary term, global optimum)
    with re-learning the mixtures from the cut, until the energy stops
    decreasing.  Each box is one object, computed in a crop around the box:
    pixels outside the box are background; the mixtures of background also
    learn from a margin around the box (leaving out other boxes).

    Parameters
    ----------
    image : (M, N[, P][, C]) array-like
        2-D or 3-D image, with up to two leading (time) axes processed frame
        by frame and an optional channel axis.  Any real dtype (uint8, uint16,
        float, ...) and any number of channels (RGB or fluorescence); each
        channel is scaled by its own 0.5th-99.5th percentiles in each crop.
        numpy or dask (a dask array is read crop by crop).
    boxes : (K, 2, d) array-like, optional
        ``[min corner, max corner]`` of each box in pixel coordinates
        (min inclusive, max exclusive), one object per box; object ``k`` is
        labelled ``k + 1``.  ``d`` is the number of spatial axes (the box
        applies to every frame) or of all non-channel axes (the leading
        entries choose the frames).  Corners may come in either order;
        fractional corners are widened to whole pixels.  A box partly outside
        the image is clipped with a warning.  A box covering a whole frame is
        shrunk by one pixel on each side, with a warning (its background
        model needs samples).  Where boxes overlap and several objects claim
        a pixel, it goes to the box it lies deepest in (smallest
        ``max |x - centre| / half-size`` over the axes; ties to the lower
        index).
    seeds : array-like of int, optional
        Scribbles: 0 = none, 1 = definitely object, 2 = definitely background;
        the image's shape without channel axis, or the spatial shape (used
        for every frame).  With boxes, a 1-scribble inside a box forces those
        pixels into that box's object, and a stroke that starts in a box and
        leaves it grows the box to hold it; 1-scribbles touching no box are
        ignored with a warning.  A 2-scribble keeps pixels out of every
        object.  Without boxes, both values are needed and the whole frame is
        cut: each connected piece of the result that holds a 1-scribble is one
        object, numbered in scan order.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis (e.g. ``(4, 1, 1)``); only the
        ratios matter.  Scales the boundary term and the margin.
    channel_axis : int, optional
        Axis of ``image`` holding channels; None means one channel.
    spatial_dims : {2, 3}, optional
        Number of trailing spatial axes; default 2 for a 2-D image, else 3.
        Pass 2 for a (T, Y, X) series.
    n_components : int
        Gaussians per mixture (1 to 20).  Default 5.
    max_iter : int
        Most graph cuts per object.  Default 10.
    smoothness : float
        Weight of the boundary term (GrabCut's gamma).  Default 50.
    connectivity : int
        1 to ndim (1 = face neighbours), or 4/8 in 2-D, 6/18/26 in 3-D.
    margin : float, optional
        Background margin around each box, in pixels along the finest axis
        (fewer along coarser axes).  Default: half the box's largest extent,
        at least 8 pixels.
    tol : float
        Stop when a cut lowers the energy by less than this fraction.
    single_component : bool
        Keep only the largest connected piece of each object (and pieces
        holding its 1-scribbles).  Default True.
    reuse_models : bool
        In a series, start each frame's object from its mixtures of the
        previous frame (same box index) instead of learning them afresh.
    memory_limit : int, optional
        Bytes one object's graph may use; default 80 % of available memory.
    rng : int or numpy.random.Generator, optional
        Seed of the k-means++ initialisation of the mixtures.
    progress : callable, optional
        ``progress(fraction, message)``, called after every cut; it may raise
        :class:`napari_segkit.Cancelled` to stop the job.
    return_report : bool
        Also return a :class:`GrabCutReport` with each object's outcome.

    Returns
    -------
    labels : ndarray of int32
        The image's shape without channel axis; 0 = background.
    report : GrabCutReport
        Only with ``return_report=True``.

    Raises
    ------
    InputError
        Bad image, boxes, seeds or options, a box of zero size, wholly outside
        the image or with fewer than 9 pixels, too few background samples,
        NaN/inf pixels; the message names the argument and the value.
    ResourceLimitError
        One object's graph would not fit in memory or PyMaxflow's limits.
    Cancelled
        Raised by ``progress``.

    Warns
    -----
    UserWarning
        Clipped or shrunk boxes; objects for which no sensible cut was found
        (empty, or the whole box) after retrying with a central
        initialisation, a weaker boundary term and fewer components: they are
        left out of the labels and listed.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import grabcut
    >>> rng = np.random.default_rng(0)
    >>> image = rng.normal(0.2, 0.05, (60, 60)); image[20:40, 15:45] += 0.6
    >>> labels = grabcut(image, [[[10, 5], [50, 55]]], rng=0)
    >>> int((labels == 1).sum())
    600
    """
    array = as_image_array(image, name="image", lazy=True)
    axis = check_channel_axis(channel_axis, array.ndim)
    if axis is None and array.ndim == 3 and array.shape[-1] in (3, 4) and spatial_dims is None:
        warnings.warn(
            f"image has shape {tuple(array.shape)} and no channel_axis: it is treated as a 3-D volume "
            f"of {array.shape[-1]} planes along the last axis; pass channel_axis=-1 for RGB(A) data",
            UserWarning,
            stacklevel=2,
        )
    channels_last = move_channels_last(array, axis)
    full_shape = tuple(int(s) for s in channels_last.shape[:-1])
    n_channels = int(channels_last.shape[-1])
    nsp = check_spatial_dims(spatial_dims, len(full_shape), method="grabcut")
    spatial_shape = full_shape[-nsp:]
    leading_shape = full_shape[:-nsp]
    spacing = check_spacing(spacing, nsp)
    n_components = _check_int(n_components, "n_components", 1, 20)
    max_iter = _check_int(max_iter, "max_iter", 1)
    smoothness = check_positive_number(smoothness, name="smoothness", allow_zero=True)
    tol = check_positive_number(tol, name="tol", allow_zero=True)
    if margin is not None:
        margin = check_positive_number(margin, name="margin")
    conn = resolve_connectivity(connectivity, nsp)
    offsets = tuple(neighbour_offsets(nsp, conn))
    seed_array = check_grabcut_seeds(seeds, full_shape=full_shape, spatial_shape=spatial_shape)
    box_array = check_boxes(
        np.zeros((0, 2, nsp)) if boxes is None else boxes, full_shape, nsp, stacklevel=3
    )
    n_boxes = len(box_array)
    if n_boxes == 0:
        if seed_array is None:
            raise InputError(
                "no boxes and no seeds: give boxes (one per object) or scribbles "
                f"({OBJECT} = object, {BACKGROUND} = background)"
            )
        values = set(np.unique(seed_array).tolist())
        missing = [name for v, name in ((OBJECT, "object (1)"), (BACKGROUND, "background (2)")) if v not in values]
        if missing:
            raise InputError(
                f"seeds hold no {' and no '.join(missing)} scribbles; without boxes GrabCut needs both "
                f"{OBJECT} = definitely object and {BACKGROUND} = definitely background"
            )
    box_array = _shrink_whole_frame_boxes(box_array, spatial_shape, nsp)

    # the largest graph built at once, checked before any pixel is read
    if n_boxes:
        region_sizes = np.prod(
            np.minimum(box_array[:, 1, -nsp:] + 1, spatial_shape) - np.maximum(box_array[:, 0, -nsp:] - 1, 0), axis=1
        )
        n_nodes = int(region_sizes.max())
    else:
        n_nodes = int(np.prod(spatial_shape, dtype=np.int64))
    n_edges = n_nodes * len(offsets)
    check_graph_budget(
        GraphBudget(n_nodes, n_edges, graph_bytes(n_nodes, n_edges), n_nodes * (n_channels * 40 + 8 * 8 + 8 * len(offsets))),
        memory_limit=memory_limit,
    )
    if isinstance(array, np.ndarray):
        check_finite(array, name="image")
        if _is_constant(channels_last):
            warnings.warn(
                "image is constant: GrabCut has nothing to separate; returning all background",
                UserWarning,
                stacklevel=2,
            )
            empty = np.zeros(full_shape, dtype=np.int32)
            return (empty, GrabCutReport()) if return_report else empty

    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    params = CutParams(n_components, max_iter, smoothness, tol, spacing, offsets)
    out = np.zeros(full_shape, dtype=label_dtype(max(n_boxes, 1)))
    report = GrabCutReport()
    reporter = Reporter(progress)
    frames = list(np.ndindex(*leading_shape)) if leading_shape else [()]
    previous: Dict[int, Any] = {}
    for f, frame in enumerate(frames):
        frame_report = reporter.sub(f / len(frames), (f + 1) / len(frames))
        frame_image = channels_last[frame] if frame else channels_last
        frame_seeds = None
        if seed_array is not None:
            frame_seeds = seed_array[frame] if (frame and seed_array.shape == full_shape) else seed_array
        if n_boxes:
            _boxes_frame(
                frame_image, frame, box_array, frame_seeds, params, margin, conn, single_component,
                reuse_models, previous, rng, frame_report, out[frame] if frame else out, report,
            )
        else:
            _seeds_frame(
                frame_image, frame, frame_seeds, params, conn, out, report, rng, frame_report,
            )
    _warn_degenerate(report)
    return (out, report) if return_report else out


def _is_constant(channels_last) -> bool:
    flat = channels_last.reshape(-1, channels_last.shape[-1])
    return bool(np.all(flat.min(axis=0) == flat.max(axis=0)))


def _shrink_whole_frame_boxes(boxes: np.ndarray, spatial_shape, nsp: int) -> np.ndarray:
    """C6: a box covering a whole frame leaves no background to learn from."""
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


def _grow_boxes_to_seeds(boxes: np.ndarray, object_seeds: Optional[np.ndarray], nsp: int) -> Tuple[np.ndarray, int]:
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


def _boxes_frame(
    image, frame, boxes, seeds, params, margin, conn, single_component, reuse_models, previous, rng, report, out, summary
):
    """All objects of one spatial frame, written into ``out`` (a view of the result)."""
    nsp = len(params.spacing)
    shape = tuple(image.shape[:-1])
    active = [k for k in range(len(boxes)) if all(boxes[k, 0, a] <= frame[a] < boxes[k, 1, a] for a in range(len(frame)))]
    object_seeds = None if seeds is None else seeds == OBJECT
    background_seeds = None if seeds is None else seeds == BACKGROUND
    grown, stray = _grow_boxes_to_seeds(boxes[active], object_seeds, nsp) if active else (boxes[:0, :, -nsp:], 0)
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
        result = None
        for a, (init, factor, k_override) in enumerate(attempts):
            init_fg = unknown & ~hard_bg
            init_bg = ring | hard_bg
            if init == "central":
                centre = central_part(region_shape, crop.box_in_region)
                init_fg = (centre & ~hard_bg) | hard_fg
                init_bg = init_bg | (unknown & ~centre & ~hard_fg)
            p = params
            if factor != 1.0 or k_override is not None:
                p = CutParams(
                    k_override or params.n_components, params.max_iter, params.smoothness * factor,
                    params.tol, params.spacing, params.offsets,
                )
            models = previous.get(k) if (reuse_models and a == 0) else None
            result = grabcut_region(
                region_features, unknown=unknown, hard_fg=hard_fg, hard_bg=hard_bg, init_fg=init_fg,
                init_bg=init_bg, band=band, params=p, reg=reg, rng=rng, models=models,
                report=obj_report.sub(a / len(attempts), (a + 1) / len(attempts)),
            )
            if result.status == "ok":
                break
            logger.info("object %d%s: %s cut, retrying (%s init)", k, f" frame {frame}" if frame else "", result.status, init)
        status = result.status if result.status != "ok" else ("ok" if a == 0 else "retried")
        if result.models is not None:
            previous[k] = result.models
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
        if entry.frame == tuple(frame) and entry.status in ("ok", "retried") and counts[entry.index + 1] == 0:
            entry.status = "overlapped"


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


def _seeds_frame(image, frame, seeds, params, conn, out, summary, rng, report):
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
        result = grabcut_region(
            features, unknown=unknown, hard_fg=fg_seed, hard_bg=bg_seed, init_fg=fg_seed, init_bg=bg_seed,
            band=np.zeros((0, features.shape[-1]), np.float32), params=params, reg=reg, rng=rng, report=report,
        )
        if result.status != "ok":
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


def _warn_degenerate(report: GrabCutReport) -> None:
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
