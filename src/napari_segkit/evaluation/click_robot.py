"""The standard click robot of interactive segmentation (as in RITM and f-BRS).

For one object with a reference mask the robot gives a first interaction
(the object's bounding box grown by a margin, or a positive click at the
object's deepest interior point), then, for any current mask, the next click:
at the deepest point of the larger error region, positive when that error is a
missed part of the object, negative when it is background taken.  Depth is
the Euclidean distance to the region's edge, with the image border counting
as edge (the mask is padded by one pixel of "outside" before the distance
transform); "larger" compares the two regions' depths, as RITM does, ties
going to the positive click.  With ``jitter`` a click (and box corner) moves
by Gaussian noise of that many pixels per axis, as a less precise real user.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage as ndi

from .._errors import InputError

__all__ = ["ClickRobot", "click_seed"]

Coords = Tuple[int, ...]


def click_seed(coords: Sequence[int], shape: Sequence[int], *, radius: int = 1) -> Tuple[slice, ...]:
    """Slices of the small cube a click paints: 3x3 (2-D) or 3x3x3 (3-D), clipped to the image."""
    return tuple(slice(max(int(c) - radius, 0), min(int(c) + radius + 1, int(n))) for c, n in zip(coords, shape))


def _deepest(region: np.ndarray, sampling: Optional[Tuple[float, ...]]) -> Tuple[Coords, float]:
    """The point of ``region`` farthest from its edge (image border = edge), and that distance."""
    padded = np.pad(region, 1, mode="constant", constant_values=False)
    depth = ndi.distance_transform_edt(padded, sampling=sampling)
    inner = depth[tuple(slice(1, -1) for _ in range(region.ndim))]
    flat = int(np.argmax(inner))
    return tuple(int(v) for v in np.unravel_index(flat, region.shape)), float(inner.flat[flat])


class ClickRobot:
    """A simulated user who segments one object of a reference mask.

    Parameters
    ----------
    reference_mask : array-like
        The object (non-zero = inside), 2-D or 3-D.
    jitter : float
        Standard deviation in pixels of Gaussian noise added to each click and
        box corner (0 = a perfect robot).  Clicks stay inside the image.
    rng : None, int or numpy Generator
        Seed or generator for the jitter.
    spacing : sequence of float, optional
        Physical size of a pixel per axis, so that "deepest" is measured in
        physical distance on anisotropic volumes.

    Examples
    --------
    >>> robot = ClickRobot(reference)
    >>> box = robot.first_box()                 # or: coords = robot.first_click()
    >>> coords, positive = robot.next_click(current_mask)
    """

    def __init__(self, reference_mask: Any, *, jitter: float = 0.0, rng: Any = None, spacing: Any = None) -> None:
        mask = np.asarray(reference_mask)
        if mask.dtype.kind not in "biuf":
            raise InputError(f"reference_mask has dtype {mask.dtype}: expected a boolean or numeric mask")
        if mask.ndim not in (2, 3):
            raise InputError(f"reference_mask must be 2-D or 3-D, got shape {mask.shape}")
        self.reference = mask != 0
        if not self.reference.any():
            raise InputError("reference_mask is empty: the robot needs an object to click on")
        if isinstance(jitter, bool) or not np.isscalar(jitter) or not np.isfinite(jitter) or jitter < 0:
            raise InputError(f"jitter must be a finite number >= 0 (pixels), got {jitter!r}")
        self.jitter = float(jitter)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        if spacing is None:
            self.spacing = None
        else:
            spacing = tuple(float(s) for s in spacing)
            if len(spacing) != mask.ndim or not all(np.isfinite(s) and s > 0 for s in spacing):
                raise InputError(f"spacing must be {mask.ndim} positive numbers, got {spacing!r}")
            self.spacing = spacing

    @property
    def shape(self) -> Tuple[int, ...]:
        return self.reference.shape

    def _move(self, coords: Sequence[float]) -> Coords:
        point = np.asarray(coords, dtype=np.float64)
        if self.jitter > 0:
            point = point + self.rng.normal(0.0, self.jitter, size=point.shape)
        point = np.clip(np.round(point), 0, np.asarray(self.shape) - 1)
        return tuple(int(v) for v in point)

    def first_box(self, margin: int = 3) -> np.ndarray:
        """The object's bounding box grown by ``margin`` pixels, as ``[min corner, max corner)``.

        Returns a (2, ndim) int64 array clipped to the image; with jitter each
        corner moves independently.
        """
        if isinstance(margin, bool) or not isinstance(margin, (int, np.integer)) or margin < 0:
            raise InputError(f"margin must be an integer >= 0, got {margin!r}")
        where = np.nonzero(self.reference)
        lo = np.array([w.min() for w in where], dtype=np.float64) - margin
        hi = np.array([w.max() for w in where], dtype=np.float64) + 1 + margin
        if self.jitter > 0:
            lo = lo + self.rng.normal(0.0, self.jitter, size=lo.shape)
            hi = hi + self.rng.normal(0.0, self.jitter, size=hi.shape)
        size = np.asarray(self.shape)
        lo = np.clip(np.round(lo), 0, size - 1)
        hi = np.clip(np.round(hi), lo + 1, size)
        return np.stack([lo, hi]).astype(np.int64)

    def first_click(self) -> Coords:
        """A positive click at the object's deepest interior point."""
        coords, _ = _deepest(self.reference, self.spacing)
        return self._move(coords)

    def errors(self, current_mask: Any) -> Tuple[np.ndarray, np.ndarray]:
        """The missed part of the object and the background taken, as two masks."""
        current = np.asarray(current_mask) != 0
        if current.shape != self.shape:
            raise InputError(f"current_mask has shape {current.shape}, the reference has shape {self.shape}")
        return self.reference & ~current, current & ~self.reference

    def next_click(self, current_mask: Any) -> Optional[Tuple[Coords, bool]]:
        """The next click for ``current_mask``: ``(coords, positive)``, or None when it is already exact."""
        missed, taken = self.errors(current_mask)
        if not missed.any() and not taken.any():
            return None
        miss_at, miss_depth = _deepest(missed, self.spacing) if missed.any() else ((), -1.0)
        take_at, take_depth = _deepest(taken, self.spacing) if taken.any() else ((), -1.0)
        if miss_depth >= take_depth:
            return self._move(miss_at), True
        return self._move(take_at), False

    def seed(self, coords: Sequence[int]) -> Tuple[slice, ...]:
        """Slices of the 3x3 (3x3x3) seed a click at ``coords`` paints."""
        return click_seed(coords, self.shape)
