"""Random training patches: their shape, and the augmentation (flips, rotations, intensity, elastic)."""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
from scipy import ndimage as ndi

from .._errors import InputError
from .targets import IGNORE

__all__ = ["AUGMENTATIONS", "Augmentation", "augmentation", "choose_patch_shape", "sample_patch"]

DEFAULT_PATCH = {2: 128, 3: 64}


@dataclass(frozen=True)
class Augmentation:
    """How strongly a patch is augmented (``None`` in :data:`AUGMENTATIONS` is no augmentation).

    Every level flips each axis with probability 1/2 and rotates by a random
    multiple of 90 degrees in (y, x); then the intensity of each channel is
    multiplied by ``1 + U(-scale, scale)`` and shifted by ``U(-shift, shift)``,
    and with probability ``elastic`` the patch is warped by a smooth field of at
    most ``elastic_strength`` pixels.
    """

    scale: float
    shift: float
    elastic: float
    elastic_strength: float = 2.0


#: The levels ``train_model(augment=...)`` accepts; ``True`` is ``"default"``, ``False`` ``"none"``.
AUGMENTATIONS = {
    "none": None,
    "flips": Augmentation(scale=0.0, shift=0.0, elastic=0.0),
    "default": Augmentation(scale=0.2, shift=0.1, elastic=0.3),
    "strong": Augmentation(scale=0.4, shift=0.2, elastic=0.6, elastic_strength=4.0),
}


def augmentation(value: Any) -> Optional[Augmentation]:
    """``augment=`` as an :class:`Augmentation` (None: off); refuses an unknown level, naming it."""
    if value is True or value is False or isinstance(value, np.bool_):
        return AUGMENTATIONS["default" if value else "none"]
    if isinstance(value, str) and value in AUGMENTATIONS:
        return AUGMENTATIONS[value]
    raise InputError(f"augment must be True, False or one of {list(AUGMENTATIONS)}, got {value!r}")


def choose_patch_shape(train, spatial_dims, align, patch_shape):
    """``patch_shape`` (or the default) rounded up to ``align`` and capped by the largest training image."""
    if patch_shape is not None:
        if isinstance(patch_shape, numbers.Integral):
            patch_shape = (int(patch_shape),) * spatial_dims
        patch_shape = tuple(int(p) for p in patch_shape)
        if len(patch_shape) != spatial_dims or any(p < 1 for p in patch_shape):
            raise InputError(f"patch_shape must be {spatial_dims} positive integers, got {patch_shape!r}")
        largest = [max(t.shape[a] for _, t in train) for a in range(spatial_dims)]
        cap = [max(align, -(-size // align) * align) for size in largest]
        wanted = tuple(-(-p // align) * align for p in patch_shape)
        if any(w > c for w, c in zip(wanted, cap)):
            warnings.warn(f"patch_shape {patch_shape} is larger than the largest training image "
                          f"{tuple(largest)}; using {tuple(min(w, c) for w, c in zip(wanted, cap))}",
                          UserWarning, stacklevel=3)
        return tuple(min(w, c) for w, c in zip(wanted, cap))
    largest = [max(t.shape[a] for _, t in train) for a in range(spatial_dims)]
    out = []
    for size in largest:
        p = min(DEFAULT_PATCH[spatial_dims], size)
        out.append(max(align, -(-p // align) * align))
    if spatial_dims >= 2 and out[-1] != out[-2]:  # square in y, x so 90-degree rotations keep the shape
        side = min(out[-1], out[-2])
        out[-1] = out[-2] = side
    return tuple(out)


def _elastic(image, target, rng, strength=2.0, smooth=6.0):
    shape = target.shape
    grid = np.indices(shape, dtype=np.float32)
    coords = []
    for axis in range(len(shape)):
        field = ndi.gaussian_filter(rng.normal(0.0, 1.0, shape).astype(np.float32), smooth)
        field *= strength / (np.abs(field).max() + 1e-6)
        coords.append(grid[axis] + field)
    warped = np.stack([ndi.map_coordinates(c, coords, order=1, mode="reflect") for c in image])
    warped_target = ndi.map_coordinates(target, coords, order=0, mode="nearest")
    return warped.astype(np.float32), warped_target


def sample_patch(train, patch, rng, augment: Optional[Augmentation], weights):
    """One ``(image, target)`` patch from an image drawn with ``weights``, augmented as ``augment`` says."""
    index = rng.choice(len(train), p=weights)
    image, target = train[index]
    pads = [max(0, p - s) for p, s in zip(patch, target.shape)]
    if any(pads):
        image = np.pad(image, [(0, 0)] + [(0, p) for p in pads], mode="reflect" if all(
            p < s for p, s in zip(pads, target.shape)) else "edge")
        target = np.pad(target, [(0, p) for p in pads], constant_values=IGNORE)
    starts = [int(rng.integers(0, s - p + 1)) for s, p in zip(target.shape, patch)]
    window = tuple(slice(a, a + p) for a, p in zip(starts, patch))
    x = image[(slice(None),) + window].astype(np.float32, copy=True)
    y = target[window].copy()
    if augment is not None:
        for axis in range(y.ndim):
            if rng.random() < 0.5:
                x = np.flip(x, axis + 1)
                y = np.flip(y, axis)
        k = int(rng.integers(0, 4)) if patch[-1] == patch[-2] else 2 * int(rng.integers(0, 2))
        if k:
            x = np.rot90(x, k, axes=(-2, -1))
            y = np.rot90(y, k, axes=(-2, -1))
        if augment.scale or augment.shift:
            per_channel = (x.shape[0],) + (1,) * y.ndim
            scale = rng.uniform(1.0 - augment.scale, 1.0 + augment.scale, size=per_channel).astype(np.float32)
            shift = rng.uniform(-augment.shift, augment.shift, size=per_channel).astype(np.float32)
            x = x * scale + shift
        if augment.elastic and rng.random() < augment.elastic:
            x, y = _elastic(np.ascontiguousarray(x), np.ascontiguousarray(y), rng, augment.elastic_strength)
    return np.ascontiguousarray(x, dtype=np.float32), np.ascontiguousarray(y, dtype=np.int64)
