"""GrabCut of one box in its crop: background samples, retries, fallback."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .._errors import InputError
from .core import (
    MIN_BACKGROUND_SAMPLES,
    CutParams,
    auto_smoothness,
    central_part,
    grabcut_region,
    keep_components,
    with_smoothness,
)
from .crop import axis_margins, normalise_crop, object_crop, with_denoised
from .fallback import contrast_fallback
from .seeds import BACKGROUND
from .tightness import TIGHT_SLACK_PIXELS

__all__ = ["BoxCut", "box_interiors", "cut_box", "MAX_BAND_SAMPLES"]

logger = logging.getLogger(__name__)

MAX_BAND_SAMPLES = 10_000
# (initialisation, factor on the boundary weight, number of components) of the retries
_RETRIES = (("central", 0.5, None), ("central", 0.25, 1))


@dataclass
class BoxCut:
    """One box's object: ``mask`` over ``region`` (frame coordinates), or None when degenerate."""

    region: Tuple[slice, ...]
    mask: Optional[np.ndarray]
    status: str
    iterations: int
    energies: List[float] = field(default_factory=list)


def _intersect(box: np.ndarray, crop: Tuple[slice, ...]) -> Optional[Tuple[slice, ...]]:
    out = []
    for a, s in enumerate(crop):
        lo, hi = max(int(box[0, a]), s.start), min(int(box[1, a]), s.stop)
        if hi <= lo:
            return None
        out.append(slice(lo - s.start, hi - s.start))
    return tuple(out)


def box_interiors(boxes: Dict[int, np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """The boxes' keys and their interiors (each box less its outer ``TIGHT_SLACK_PIXELS``), as arrays.

    The outer pixels of a box are its pad (background next to its object):
    they stay background samples for the neighbouring boxes.
    """
    keys = np.fromiter(boxes, dtype=np.int64, count=len(boxes))
    if not len(keys):
        return keys, np.zeros((0, 2, 0), dtype=np.int64)
    array = np.stack([boxes[int(key)] for key in keys]).astype(np.int64)
    return keys, np.stack([array[:, 0] + TIGHT_SLACK_PIXELS, array[:, 1] - TIGHT_SLACK_PIXELS], axis=1)


def _interiors_in(box_interiors: Tuple[np.ndarray, np.ndarray], k: int, crop: Tuple[slice, ...]) -> np.ndarray:
    """Interiors of the boxes other than ``k`` that reach into ``crop``."""
    keys, interiors = box_interiors
    lo = np.array([s.start for s in crop])
    hi = np.array([s.stop for s in crop])
    hit = (
        (keys != k)
        & np.all(interiors[:, 1] > interiors[:, 0], axis=1)
        & np.all(interiors[:, 0] < hi, axis=1)
        & np.all(interiors[:, 1] > lo, axis=1)
    )
    return interiors[hit]


def _fits(models: Any, features: np.ndarray) -> bool:
    """Whether mixtures (of an earlier frame) model as many channels as ``features`` holds."""
    return models is not None and len(models[0].centre) == features.shape[-1]


def cut_box(
    image: Any,
    k: int,
    boxes: Dict[int, np.ndarray],
    *,
    interiors: Tuple[np.ndarray, np.ndarray],
    params: CutParams,
    margin: Optional[float],
    conn: int,
    single_component: bool,
    object_seeds: Optional[np.ndarray],
    background_seeds: Optional[np.ndarray],
    models: Any,
    rng: np.random.Generator,
    report,
    where: str = "",
) -> Tuple[BoxCut, Any]:
    """GrabCut of box ``k`` of ``boxes`` (spatial boxes of one frame).

    Background samples come from a margin around the box, leaving out the
    other boxes' ``interiors`` (from :func:`box_interiors`: they hold other
    objects; a box's outer ``TIGHT_SLACK_PIXELS`` are the pad between it and
    its object, the dark gaps and blurred rims next to objects).  Returns the cut and its final
    (object, background) mixtures.
    """
    shape = tuple(image.shape[:-1])
    box = boxes[k]
    margins = axis_margins(tuple(box[1] - box[0]), params.spacing, margin)
    crop = object_crop(box, shape, margins)
    raw = image[crop.crop]
    if not isinstance(raw, np.ndarray):
        raw = np.asarray(raw.compute() if hasattr(raw, "compute") else raw)
    features, reg = normalise_crop(raw)
    n_raw = features.shape[-1]
    features = with_denoised(features, params.spacing)
    region_features = features[crop.region_in_crop]
    region_shape = crop.region_shape
    unknown = np.zeros(region_shape, dtype=bool)
    unknown[crop.box_in_region] = True
    hard_fg = np.zeros(region_shape, dtype=bool)
    hard_bg = np.zeros(region_shape, dtype=bool)
    band_mask = np.ones(crop.crop_shape, dtype=bool)
    band_mask[crop.region_in_crop] = False
    band_all = band_mask.copy()
    # other objects are not background samples for this one
    for inner in _interiors_in(interiors, k, crop.crop):
        band_mask[_intersect(inner, crop.crop)] = False
    if object_seeds is not None:
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
        # the retries see the raw channels only: on a noisy crop, the median-filtered copies let a
        # central start find a blob in pure noise
        channels = slice(None) if a == 0 else slice(0, n_raw)
        result = grabcut_region(
            region_features[..., channels], unknown=unknown, hard_fg=hard_fg, hard_bg=hard_bg, init_fg=init_fg,
            init_bg=init_bg, band=band[:, channels], params=with_smoothness(params, base * factor, k_override),
            reg=reg, rng=rng, models=models if (a == 0 and _fits(models, region_features)) else None,
            report=report.sub(a / len(attempts), (a + 1) / len(attempts)), tight_box=crop.box_in_region,
        )
        if result.status == "ok":
            break
        logger.info("object %d%s: %s cut, retrying (%s init)", k, where, result.status, init)
    status = result.status if result.status != "ok" else ("ok" if a == 0 else "retried")
    if status in ("empty", "full"):
        fallback = contrast_fallback(region_features[..., :n_raw], unknown, band[:, :n_raw], hard_fg, hard_bg)
        if fallback is not None:
            result.mask, status = fallback, "fallback"
            logger.info("object %d: GrabCut stayed %s; kept the contrast threshold inside the box", k, result.status)
    mask = None
    if status not in ("empty", "full"):
        mask = keep_components(result.mask, hard_fg, conn) if single_component else result.mask
    return BoxCut(crop.region, mask, status, result.iterations, result.energies), result.models
