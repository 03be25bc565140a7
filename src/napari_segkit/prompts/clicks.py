"""Clicks as prompts: positive and negative points become instance labels.

A positive click away from every object starts a new object: its extent is
found from the image around the click (the scale of the strongest blob
response there, :func:`~.scale.estimate_radius`), and GrabCut runs in a crop
of a few radii around it, the click's 3x3 (3x3x3) seed fixed to the object,
the crop's rim to the background.  A click on or near an object corrects that
object only: positive clicks add object seeds (and widen its crop), negative
clicks add background seeds; the object is cut again from its previous mask,
with every other object's pixels fixed to background, so no object takes
another's pixels.  Each interaction costs one crop, not the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError
from .._progress import Reporter
from .._validation import (
    as_image_array,
    check_channel_axis,
    check_finite,
    check_spacing,
    move_channels_last,
)
from ..evaluation.click_robot import click_seed
from ..graph.neighbourhood import neighbour_offsets
from ..grabcut.core import CutParams, auto_smoothness, grabcut_region, keep_components
from ..grabcut.crop import normalise_crop, with_denoised
from .scale import RADIUS_RANGE, estimate_radius
from .._validation import validate_options

__all__ = ["ClickSegmenter", "segment_clicks"]

Coords = Tuple[int, ...]

#: the object may extend this many radii from a positive click
REACH = 2.0
#: background samples come from a band this many radii wide around the object's region
BAND = 1.0
#: grow the region (up to twice) when more than this fraction of its rim is object
RIM_FRACTION = 0.15
#: weight (in units of the colour models' log-likelihood) of a click's pull on its neighbourhood
CLICK_WEIGHT = 6.0
#: weight of the cost of object pixels farther than one radius from the object's clicks
SHAPE_WEIGHT = 1.0


@dataclass
class _Object:
    label: int
    radius: float  # pixels along the finest axis
    positive: List[Coords] = field(default_factory=list)
    negative: List[Coords] = field(default_factory=list)
    box: Optional[np.ndarray] = None  # (2, d) box the user drew, if any
    region: Optional[Tuple[slice, ...]] = None  # where it was last computed
    reach: Dict[Coords, float] = field(default_factory=dict)  # how far each click pulls (fine pixels)


def _check_coords(coords: Any, shape: Tuple[int, ...], name: str) -> Coords:
    try:
        point = np.asarray(coords, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be {len(shape)} numbers, got {coords!r}") from None
    if point.size != len(shape) or not np.all(np.isfinite(point)):
        raise InputError(f"{name} must be {len(shape)} finite numbers (pixel coordinates), got {coords!r}")
    rounded = np.round(point).astype(np.int64)
    if np.any(rounded < 0) or np.any(rounded >= np.asarray(shape)):
        raise InputError(f"{name} {point.tolist()} lies outside the image of shape {shape}")
    return tuple(int(v) for v in rounded)


class ClickSegmenter:
    """An interactive session: clicks (and boxes) in, instance labels out.

    Parameters
    ----------
    image : (M, N[, P][, C]) array-like
        A 2-D image or 3-D volume, any real dtype, with an optional channel
        axis.  numpy or dask (read crop by crop).
    channel_axis : int, optional
        Axis holding channels; None means one channel.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis (a napari layer's ``scale``);
        a click on one plane of an anisotropic volume reaches as far in
        physical distance along z as in y and x.
    labels : array-like of int, optional
        Existing objects to continue from (copied; 0 = background).
    n_components : int
        Gaussians per colour model (default 3: small objects, few samples).
    max_iter : int
        Most graph cuts per interaction (default 5).
    smoothness : float or "auto"
        Boundary weight; "auto" scales it with the object's size as
        :func:`napari_segkit.grabcut` does.
    rng : int or numpy Generator, optional
        Seed of the colour-model initialisation.

    Examples
    --------
    >>> session = ClickSegmenter(image)
    >>> label = session.add_click((40, 52))                    # a new object
    >>> session.add_click((47, 60), positive=False)            # correct it
    >>> labels = session.labels
    """

    def __init__(
        self,
        image: Any,
        *,
        channel_axis: Optional[int] = None,
        spacing: Optional[Sequence[float]] = None,
        labels: Any = None,
        n_components: int = 3,
        max_iter: int = 5,
        smoothness: Any = "auto",
        rng: Any = None,
    ) -> None:
        array = as_image_array(image, name="image", lazy=True)
        axis = check_channel_axis(channel_axis, array.ndim)
        self._image = move_channels_last(array, axis)
        self.shape = tuple(int(s) for s in self._image.shape[:-1])
        if len(self.shape) not in (2, 3):
            raise InputError(
                f"image must be 2-D or 3-D (plus an optional channel axis); got {len(self.shape)} "
                f"non-channel axes {self.shape}: pass one frame of a series"
            )
        if isinstance(self._image, np.ndarray):
            check_finite(self._image, name="image")
        self.spacing = check_spacing(spacing, len(self.shape))
        if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) or not 1 <= n_components <= 20:
            raise InputError(f"n_components must be an integer from 1 to 20, got {n_components!r}")
        if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
            raise InputError(f"max_iter must be an integer >= 1, got {max_iter!r}")
        if isinstance(smoothness, str):
            if smoothness != "auto":
                raise InputError(f"smoothness must be a number >= 0 or 'auto', got {smoothness!r}")
            smoothness = None
        elif isinstance(smoothness, bool) or not np.isscalar(smoothness) or not np.isfinite(smoothness) or smoothness < 0:
            raise InputError(f"smoothness must be a number >= 0 or 'auto', got {smoothness!r}")
        self._smoothness = None if smoothness is None else float(smoothness)
        self._n_components = int(n_components)
        self._max_iter = int(max_iter)
        self._rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self._offsets = tuple(neighbour_offsets(len(self.shape), 1))
        if labels is None:
            self.labels = np.zeros(self.shape, dtype=np.int32)
        else:
            current = np.asarray(labels)
            if current.shape != self.shape:
                raise InputError(f"labels has shape {current.shape}, the image's spatial shape is {self.shape}")
            if current.dtype.kind not in "iu" or (current.size and current.min() < 0):
                raise InputError("labels must hold non-negative integers (0 = background)")
            self.labels = current.astype(np.int32, copy=True)
        self._objects: Dict[int, _Object] = {}
        self._background: List[Coords] = []  # negative clicks near no object: background for every object

    # ------------------------------------------------------------------ prompts
    @property
    def objects(self) -> List[int]:
        """Labels of the objects this session made or corrected."""
        return sorted(self._objects)

    def add_click(self, coords: Any, positive: bool = True, *, object_id: Optional[int] = None) -> int:
        """Add one click and re-segment the object it concerns.

        Parameters
        ----------
        coords : sequence of float
            Pixel coordinates (spatial axes, rounded to the nearest pixel).
        positive : bool
            True: this pixel is object; False: it is background.
        object_id : int, optional
            The object the click corrects; by default a click on an object,
            or within one object-radius of it, corrects that object, and a
            positive click farther from every object starts a new one.

        Returns
        -------
        int
            The label of the object made or corrected; 0 for a negative click
            near no object (it is kept as background for later objects).
        """
        point = _check_coords(coords, self.shape, "coords")
        target = self._owner(point) if object_id is None else int(object_id)
        if object_id is not None and target not in self._objects and not np.any(self.labels == target):
            raise InputError(f"object_id {object_id} is not an object of this session")
        if target == 0:
            if not positive:
                self._background.append(point)
                return 0
            target = self._new_label()
            obj = _Object(target, self._radius_at(point))
            self._objects[target] = obj
        obj = self._objects.get(target) or self._adopt(target)
        obj.reach[point] = self._click_reach(obj, point, positive)
        if positive and obj.positive:  # a click far out says the object is larger than thought
            scale = np.asarray(self.spacing) / min(self.spacing)
            far = float(np.sqrt((((np.asarray(point) - obj.positive[0]) * scale) ** 2).sum()))
            obj.radius = max(obj.radius, far)
        (obj.positive if positive else obj.negative).append(point)
        self._solve(obj)
        return target

    def add_box(self, box: Any) -> int:
        """Start a new object from a box ``[min corner, max corner)`` (a (2, d) array); returns its label."""
        array = np.asarray(box, dtype=np.float64)
        if array.shape != (2, len(self.shape)) or not np.all(np.isfinite(array)):
            raise InputError(f"box must be a (2, {len(self.shape)}) array [min corner, max corner], got {box!r}")
        lo = np.clip(np.floor(array.min(axis=0)), 0, self.shape).astype(np.int64)
        hi = np.clip(np.ceil(array.max(axis=0)), 0, self.shape).astype(np.int64)
        if np.any(hi - lo < 3):
            raise InputError(f"box {array.tolist()} is under 3 pixels wide inside the image of shape {self.shape}")
        label = self._new_label()
        extent = (hi - lo) * np.asarray(self.spacing) / min(self.spacing)
        obj = _Object(label, float(np.exp(np.mean(np.log(extent)))) / 2.0, box=np.stack([lo, hi]))
        self._objects[label] = obj
        self._solve(obj)
        return label

    # ---------------------------------------------------------------- helpers
    def _new_label(self) -> int:
        used = max([int(self.labels.max()), *self._objects]) if self._objects else int(self.labels.max())
        return used + 1

    def _adopt(self, label: int) -> _Object:
        """An object from ``labels`` the session did not make: its size from its pixels."""
        where = np.nonzero(self.labels == label)
        extent = np.array([w.max() - w.min() + 1 for w in where], dtype=np.float64)
        extent = extent * np.asarray(self.spacing) / min(self.spacing)
        obj = _Object(label, max(float(np.exp(np.mean(np.log(extent)))) / 2.0, RADIUS_RANGE[0]))
        obj.region = tuple(slice(int(w.min()), int(w.max()) + 1) for w in where)
        self._objects[label] = obj
        return obj

    def _pixels_per_axis(self, length: float) -> np.ndarray:
        """``length`` (pixels along the finest axis) in pixels of each axis."""
        return length * min(self.spacing) / np.asarray(self.spacing)

    def _radius_at(self, point: Coords) -> float:
        reach = np.ceil(self._pixels_per_axis(5 * RADIUS_RANGE[1])).astype(int)
        window = tuple(slice(max(c - r, 0), min(c + r + 1, n)) for c, r, n in zip(point, reach, self.shape))
        values, _ = normalise_crop(self._read(window))
        local = tuple(c - w.start for c, w in zip(point, window))
        return estimate_radius(values.mean(axis=-1), local, self.spacing)

    def _read(self, window: Tuple[slice, ...]) -> np.ndarray:
        raw = self._image[window]
        if not isinstance(raw, np.ndarray):
            raw = np.asarray(raw.compute() if hasattr(raw, "compute") else raw)
        return raw

    def _owner(self, point: Coords) -> int:
        """The object a click at ``point`` concerns: the one under it, or the nearest within its radius."""
        here = int(self.labels[point])
        if here:
            return here
        best, best_distance = 0, np.inf
        scale = np.asarray(self.spacing) / min(self.spacing)
        for label, obj in self._objects.items():
            reach = np.ceil(self._pixels_per_axis(obj.radius)).astype(int)
            window = tuple(slice(max(c - r, 0), min(c + r + 1, n)) for c, r, n in zip(point, reach, self.shape))
            where = np.argwhere(self.labels[window] == label)
            if not len(where):
                continue
            offsets = (where + [w.start for w in window] - np.asarray(point)) * scale
            distance = float(np.sqrt((offsets**2).sum(axis=1)).min())
            if distance <= obj.radius and distance < best_distance:
                best, best_distance = label, distance
        return best

    def _click_reach(self, obj: _Object, point: Coords, positive: bool) -> float:
        """How far a click pulls: the object's radius for its first click; for a correction, the
        click's depth in the error it fixes (its distance to the current mask's other side)."""
        if obj.region is None or not np.any(self.labels[obj.region] == obj.label):
            return obj.radius
        from scipy import ndimage as ndi

        reach = np.ceil(self._pixels_per_axis(obj.radius)).astype(int) + 1
        window = tuple(slice(max(c - r, 0), min(c + r + 1, n)) for c, r, n in zip(point, reach, self.shape))
        inside = self.labels[window] == obj.label
        other_side = inside if positive else ~inside  # pixels of the class the click is NOT in
        if not other_side.any():
            return obj.radius
        scale = tuple(np.asarray(self.spacing) / min(self.spacing))
        distance = ndi.distance_transform_edt(~other_side, sampling=scale)
        local = tuple(c - w.start for c, w in zip(point, window))
        # the error around the click is at least as deep as the click; its extent along the boundary is
        # unknown: pull up to twice the depth, and at least half the object's radius, fading with distance
        depth = max(float(distance[local]), 1.5)
        return float(min(max(2.0 * depth, 0.5 * obj.radius), 2.0 * obj.radius))

    def _prior(self, obj: _Object, region: Tuple[slice, ...], radius: float) -> np.ndarray:
        """Object-minus-background cost from the clicks: each click pulls its neighbourhood to its side,
        fading to nothing at its reach; far from every positive click the object costs more."""
        shape = tuple(r.stop - r.start for r in region)
        pull_obj = np.zeros(shape)
        pull_bg = np.zeros(shape)
        nearest = np.full(shape, np.inf)
        for points, pull in ((obj.positive, pull_obj), (obj.negative, pull_bg)):
            for point in points:
                distance = np.sqrt(self._local_distance2(point, region))
                # full pull at the click, fading to nothing at its reach
                reach = obj.reach.get(point, radius)
                np.maximum(pull, np.clip(1.0 - distance / reach, 0.0, 1.0), out=pull)
                if points is obj.positive:
                    np.minimum(nearest, distance, out=nearest)
        prior = CLICK_WEIGHT * (pull_bg - pull_obj)
        if obj.positive and obj.box is None:
            prior += SHAPE_WEIGHT * np.clip(nearest / radius - 1.0, 0.0, 1.0)
        return prior

    def _local_distance2(self, point: Coords, region: Tuple[slice, ...]) -> np.ndarray:
        shape = tuple(r.stop - r.start for r in region)
        grids = np.ogrid[tuple(slice(0, n) for n in shape)]
        scale = np.asarray(self.spacing) / min(self.spacing)
        return sum(((g + r.start - p) * s) ** 2 for g, r, p, s in zip(grids, region, point, scale))

    def _region(self, obj: _Object, radius: float) -> Tuple[slice, ...]:
        """Where the object may lie: its box, its clicks' neighbourhoods and its current pixels."""
        lo = np.full(len(self.shape), np.inf)
        hi = np.full(len(self.shape), -np.inf)
        reach = self._pixels_per_axis(REACH * radius)
        for point in obj.positive:
            lo = np.minimum(lo, np.asarray(point) - reach)
            hi = np.maximum(hi, np.asarray(point) + reach + 1)
        if obj.box is not None:
            lo = np.minimum(lo, obj.box[0] - 1)
            hi = np.maximum(hi, obj.box[1] + 1)
        if obj.region is not None:
            mine = self.labels[obj.region] == obj.label
            if mine.any():
                where = np.nonzero(mine)
                extra = self._pixels_per_axis(0.5 * radius)
                lo = np.minimum(lo, [w.min() + s.start for w, s in zip(where, obj.region)] - extra)
                hi = np.maximum(hi, [w.max() + 1 + s.start for w, s in zip(where, obj.region)] + extra)
        lo = np.clip(np.floor(lo), 0, self.shape).astype(int)
        hi = np.clip(np.ceil(hi), 0, self.shape).astype(int)
        return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))

    def _solve(self, obj: _Object) -> None:
        radius = obj.radius
        for attempt in range(3):
            region = self._region(obj, radius)
            mask, rim_share = self._cut(obj, region, radius)
            if obj.box is not None or rim_share <= RIM_FRACTION or attempt == 2 or radius >= RADIUS_RANGE[1]:
                break
            radius *= 1.6  # the object reaches the region's rim: it is larger than the click's blob
        obj.radius = radius
        # the object's old pixels outside the new region go; then write the new ones
        if obj.region is not None:
            old = self.labels[obj.region]
            old[old == obj.label] = 0
        target = self.labels[region]
        target[target == obj.label] = 0
        target[mask & (target == 0)] = obj.label
        obj.region = region

    def _cut(self, obj: _Object, region: Tuple[slice, ...], radius: float) -> Tuple[np.ndarray, float]:
        band = np.ceil(self._pixels_per_axis(max(BAND * radius, 4.0))).astype(int)
        crop = tuple(slice(max(r.start - b, 0), min(r.stop + b, n)) for r, b, n in zip(region, band, self.shape))
        features, reg = normalise_crop(self._read(crop))
        features = with_denoised(features, self.spacing)
        inner = tuple(slice(r.start - c.start, r.stop - c.start) for r, c in zip(region, crop))
        region_features = np.ascontiguousarray(features[inner])
        shape = region_features.shape[:-1]
        labels = self.labels[region]
        # the rim of the region is background, except where the region meets the image border
        unknown = np.zeros(shape, dtype=bool)
        unknown[tuple(slice(0 if r.start == 0 else 1, None if r.stop == n else -1) for r, n in zip(region, self.shape))] = True
        if obj.box is not None:
            box_mask = np.zeros(shape, dtype=bool)
            box_mask[tuple(slice(max(int(a) - r.start, 0), max(int(b) - r.start, 0)) for a, b, r in zip(obj.box[0], obj.box[1], region))] = True
            grown = np.zeros(shape, dtype=bool)  # clicks may reach beyond the box
            for point in obj.positive:
                grown[self._local_ball(point, region, REACH * radius)] = True
            unknown &= box_mask | grown
        hard_fg = np.zeros(shape, dtype=bool)
        for point in obj.positive:
            hard_fg[self._local_seed(point, region)] = True
        hard_bg = (labels != 0) & (labels != obj.label)
        for point in obj.negative + self._background:
            sl = self._local_seed(point, region)
            if sl is not None:
                hard_bg[sl] = True
        hard_fg &= ~hard_bg
        current = labels == obj.label
        if current.any():
            init_fg = current
        elif obj.box is not None and not obj.positive:
            init_fg = unknown.copy()
        else:
            init_fg = np.zeros(shape, dtype=bool)
            for point in obj.positive:
                init_fg |= self._local_ball(point, region, 0.7 * radius)
        init_fg = (init_fg | hard_fg) & unknown & ~hard_bg
        if not init_fg.any():
            init_fg = hard_fg.copy()
        init_bg = ~init_fg
        band_mask = np.ones(features.shape[:-1], dtype=bool)
        band_mask[inner] = False
        other = np.zeros(features.shape[:-1], dtype=bool)
        crop_labels = self.labels[crop]
        other |= crop_labels == obj.label
        samples = features[band_mask & ~other]
        smoothness = self._smoothness
        if smoothness is None:
            smoothness = auto_smoothness(self._pixels_per_axis(2 * radius), self.spacing)
        params = CutParams(self._n_components, self._max_iter, smoothness, 1e-3, self.spacing, self._offsets)
        result = grabcut_region(
            region_features, unknown=unknown, hard_fg=hard_fg, hard_bg=hard_bg, init_fg=init_fg, init_bg=init_bg,
            band=samples, params=params, reg=reg, rng=self._rng, prior=self._prior(obj, region, radius),
        )
        mask = keep_components(result.mask & unknown, hard_fg, 1)
        rim = unknown & ~_interior(unknown, region, self.shape)
        rim_share = float(np.count_nonzero(mask & rim)) / max(int(np.count_nonzero(rim)), 1)
        return mask, rim_share

    def _local_seed(self, point: Coords, region: Tuple[slice, ...]) -> Optional[Tuple[slice, ...]]:
        local = [p - r.start for p, r in zip(point, region)]
        shape = [r.stop - r.start for r in region]
        if any(v < -1 or v > n for v, n in zip(local, shape)):
            return None
        return click_seed(local, shape)

    def _local_ball(self, point: Coords, region: Tuple[slice, ...], radius: float) -> np.ndarray:
        return self._local_distance2(point, region) <= radius * radius


def _interior(unknown: np.ndarray, region: Tuple[slice, ...], shape: Tuple[int, ...]) -> np.ndarray:
    """``unknown`` without its outer one-pixel layer on faces that are not the image border."""
    from scipy import ndimage as ndi

    padded = np.pad(unknown, 1, mode="constant", constant_values=False)
    for axis, (r, n) in enumerate(zip(region, shape)):  # the image border is no rim
        if r.start == 0:
            index = [slice(None)] * unknown.ndim
            index[axis] = 0
            padded[tuple(index)] = np.take(padded, 1, axis=axis)
        if r.stop == n:
            index = [slice(None)] * unknown.ndim
            index[axis] = -1
            padded[tuple(index)] = np.take(padded, -2, axis=axis)
    eroded = ndi.binary_erosion(padded)
    return eroded[tuple(slice(1, -1) for _ in range(unknown.ndim))]


@validate_options
def segment_clicks(
    image: Any,
    points: Any,
    *,
    positive: Any = None,
    channel_axis: Optional[int] = None,
    spacing: Optional[Sequence[float]] = None,
    labels: Any = None,
    n_components: int = 3,
    max_iter: int = 5,
    smoothness: Any = "auto",
    rng: Any = None,
    progress: Optional[Callable[[float, str], None]] = None,
) -> np.ndarray:
    """Objects from positive and negative clicks, replayed in order.

    Parameters
    ----------
    image : (M, N[, P][, C]) array-like
        2-D image or 3-D volume, optional channel axis, any real dtype.
    points : (K, d) array-like
        Click coordinates in pixels of the spatial axes (a napari Points
        layer's data in the image's pixel grid), in the order clicked.
    positive : (K,) array-like of bool, optional
        True for a positive click (object), False for a negative one
        (background); default all positive.  A positive click away from
        every object starts a new object; a click on or near an object
        corrects it (see :class:`ClickSegmenter`).
    channel_axis, spacing, labels, n_components, max_iter, smoothness, rng
        As for :class:`ClickSegmenter`.
    progress : callable, optional
        ``progress(fraction, message)`` after each click's cut; it may raise
        :class:`napari_segkit.Cancelled` to stop.

    Returns
    -------
    labels : ndarray of int32
        The spatial shape; 0 = background, one id per object (continuing
        after the largest id of ``labels`` when given).

    Raises
    ------
    InputError
        Bad image or options, points of the wrong shape, NaN, or outside the
        image, ``positive`` of another length.
    """
    session = ClickSegmenter(
        image, channel_axis=channel_axis, spacing=spacing, labels=labels, n_components=n_components,
        max_iter=max_iter, smoothness=smoothness, rng=rng,
    )
    try:
        coords = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"points must be numbers, got {type(points).__name__}") from None
    if coords.ndim == 1 and coords.size == len(session.shape):
        coords = coords[np.newaxis]
    if coords.ndim != 2 or coords.shape[1] != len(session.shape):
        raise InputError(
            f"points must have shape (K, {len(session.shape)}) (one row of pixel coordinates per click); "
            f"got shape {coords.shape}"
        )
    signs = np.ones(len(coords), dtype=bool) if positive is None else np.asarray(positive)
    if signs.shape != (len(coords),):
        raise InputError(f"positive must have one entry per point ({len(coords)}), got shape {signs.shape}")
    if signs.dtype.kind not in "biu" or not np.isin(signs, (0, 1)).all():
        raise InputError("positive must hold booleans (True = object click, False = background click)")
    report = Reporter(progress)
    for k, (point, sign) in enumerate(zip(coords, signs.astype(bool))):
        session.add_click(_check_coords(point, session.shape, f"points[{k}]"), bool(sign))
        report((k + 1) / len(coords), f"click {k + 1}/{len(coords)}")
    return session.labels
