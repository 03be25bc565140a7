"""The GrabCut loop on one graph region: colour models, graph cut, re-estimate.

Energy of a segmentation ``x`` (1 = object) of the region's pixels::

    E(x) = sum_p D_p(x_p) + smoothness * sum_(p,q) w_pq [x_p != x_q]

with ``D_p(1) = -log p_obj(I_p)`` and ``D_p(0) = -log p_bg(I_p)`` under the
two Gaussian mixtures and ``w_pq`` the contrast weights of
:mod:`napari_segkit.graph.pairwise`.  Each iteration cuts (global optimum for
the current models), then re-learns both mixtures by hard EM from the cut, as
in Rother, Kolmogorov and Blake (2004).  The loop stops when the energy
decreases by less than ``tol`` (relative), or after ``max_iter`` cuts; the
lowest-energy cut is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage as ndi

from .._progress import Reporter
from ..graph.gmm import GaussianMixture
from ..graph.neighbourhood import grid_slices
from .tightness import pins_supported, required_lines, tightness_pins

__all__ = ["CutParams", "SMOOTHNESS_PER_PIXEL", "auto_smoothness", "with_smoothness", "RegionResult", "grabcut_region", "keep_components", "MIN_BACKGROUND_SAMPLES"]

#: background samples needed to learn a background model
MIN_BACKGROUND_SAMPLES = 9
#: samples each mixture is re-estimated from per iteration (a random subset beyond this)
MAX_MODEL_SAMPLES = 30_000
#: a cut keeping fewer pixels of its box than both of these is as good as empty
MIN_RESULT_PIXELS = 9
MIN_RESULT_FRACTION = 0.02
# rounds of pinning paths per cut under the tight-box prior
_TIGHT_ROUNDS = 2
# how far inside the box the "central" initialisation starts, per side
_CENTRAL_FRACTION = 0.25


#: boundary weight per pixel of object scale when ``smoothness="auto"``
SMOOTHNESS_PER_PIXEL = 0.35


def auto_smoothness(extent: Sequence[int], spacing: Sequence[float]) -> float:
    """Boundary weight scaled to an object whose box has ``extent`` pixels per axis.

    The data term of a cut grows with the object's area (volume) and the
    boundary term with its perimeter (surface), so their ratio changes with
    the object's size unless the boundary weight grows like the object's
    linear scale.  The scale is the geometric mean of the box's physical
    sides, in pixels along the finest axis (at least 3).
    """
    unit = min(spacing)
    sides = [max(float(n) * float(s) / unit, 1.0) for n, s in zip(extent, spacing)]
    scale = max(float(np.exp(np.mean(np.log(sides)))), 3.0)
    return SMOOTHNESS_PER_PIXEL * scale


@dataclass(frozen=True)
class CutParams:
    n_components: int
    max_iter: int
    #: None = "auto": set per object by :func:`auto_smoothness`
    smoothness: Optional[float]
    tol: float
    spacing: Tuple[float, ...]
    offsets: Tuple[Tuple[int, ...], ...]


@dataclass
class RegionResult:
    """Outcome of GrabCut on one region.

    ``status`` is ``"ok"``, ``"empty"`` (fewer than 9 object pixels, or
    fewer than 2 % of the box when that is more) or ``"full"`` (every
    free pixel of the box is object); ``models`` are the final (object,
    background) mixtures.
    """

    mask: np.ndarray
    status: str
    iterations: int
    energies: List[float] = field(default_factory=list)
    models: Optional[Tuple[GaussianMixture, GaussianMixture]] = None


def with_smoothness(params: "CutParams", smoothness: float, n_components: Optional[int] = None) -> "CutParams":
    """``params`` with another boundary weight (and optionally number of components)."""
    return CutParams(
        n_components or params.n_components, params.max_iter, float(smoothness), params.tol, params.spacing,
        params.offsets,
    )


def _cut(difference: np.ndarray, edges, smoothness: float) -> np.ndarray:
    """Min cut of ``U1 - U0`` with weights scaled by ``smoothness``; True = object."""
    from ..graph import solvers

    if hasattr(solvers, "binary_cut_difference"):
        return solvers.binary_cut_difference(difference, list(edges), scale=smoothness)
    unary = np.stack([np.zeros_like(difference), difference])
    return solvers.binary_cut(unary, [(o, w * smoothness) for o, w in edges])


def _edges(features: np.ndarray, offsets, spacing):
    from ..graph import pairwise

    if hasattr(pairwise, "unit_contrast_weights"):
        return pairwise.unit_contrast_weights(features, offsets, spacing)
    return pairwise.contrast_weights(features, offsets, spacing)


def _subsample(mask: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """``mask`` (bool), or a random subset of about ``limit`` of its True entries, as indices."""
    index = np.flatnonzero(mask)
    if index.size <= limit:
        return index
    return index[rng.random(index.size) < limit / index.size]


def _boundary_cost(seg: np.ndarray, edges) -> float:
    total = 0.0
    for offset, weights in edges:
        src, dst = grid_slices(seg.shape, offset)
        total += float(weights[src][seg[src] != seg[dst]].sum(dtype=np.float64))
    return total


def keep_components(mask: np.ndarray, keep: Optional[np.ndarray], connectivity: int) -> np.ndarray:
    """The largest connected piece of ``mask`` and every piece touching ``keep``."""
    structure = ndi.generate_binary_structure(mask.ndim, connectivity)
    labels, n = ndi.label(mask, structure=structure)
    if n <= 1:
        return mask
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    chosen = np.zeros(n + 1, dtype=bool)
    chosen[int(np.argmax(sizes))] = True
    if keep is not None and keep.any():
        chosen[np.unique(labels[keep & mask])] = True
    chosen[0] = False
    return chosen[labels]


def central_part(shape: Sequence[int], box: Tuple[slice, ...]) -> np.ndarray:
    """Mask of the box shrunk by a quarter of its size on each side (at least one pixel)."""
    mask = np.zeros(shape, dtype=bool)
    inner = []
    for s in box:
        size = s.stop - s.start
        cut = int(size * _CENTRAL_FRACTION)
        if size - 2 * cut < 1:
            cut = (size - 1) // 2
        inner.append(slice(s.start + cut, s.stop - cut))
    mask[tuple(inner)] = True
    return mask


def grabcut_region(
    features: np.ndarray,
    *,
    unknown: np.ndarray,
    hard_fg: np.ndarray,
    hard_bg: np.ndarray,
    init_fg: np.ndarray,
    init_bg: np.ndarray,
    band: np.ndarray,
    params: CutParams,
    reg: float,
    rng: np.random.Generator,
    models: Optional[Tuple[GaussianMixture, GaussianMixture]] = None,
    report: Optional[Reporter] = None,
    prior: Optional[np.ndarray] = None,
    tight_box: Optional[Tuple[slice, ...]] = None,
) -> RegionResult:
    """Iterated GMM + graph cut on one region.

    Parameters
    ----------
    features : (..., C) ndarray of float32
        The region (the graph's nodes).
    unknown : (...) ndarray of bool
        Pixels the cut may give to the object (the box); others are background.
    hard_fg, hard_bg : (...) ndarray of bool
        Scribbled pixels, fixed to object / background.
    init_fg, init_bg : (...) ndarray of bool
        Pixels the first object / background models learn from.
    band : (m, C) ndarray
        Background samples from outside the region (the margin).
    params : CutParams
    reg : float
        Covariance floor.
    models : (object, background) mixtures, optional
        Start from these instead of learning from ``init_fg``/``init_bg``.
    report : Reporter, optional
        Called after each cut; may raise ``Cancelled``.
    prior : (...) ndarray of float, optional
        Extra cost of the object label minus that of the background label
        per pixel (e.g. from the distance to clicks), added to the colour
        models' data term in every cut.
    tight_box : tuple of slice, optional
        The box the user drew, in region coordinates: enforce the tight-box
        prior of :mod:`napari_segkit.grabcut.tightness` (the object reaches
        every side of the box, up to a slack).

    Returns
    -------
    RegionResult
    """
    shape = features.shape[:-1]
    n_channels = features.shape[-1]
    flat = features.reshape(-1, n_channels)
    band = np.asarray(band, dtype=np.float32).reshape(-1, n_channels)
    fixed_fg = hard_fg.ravel()
    fixed_bg = (hard_bg | ~unknown).ravel() & ~fixed_fg
    free = ~(fixed_fg | fixed_bg)

    if models is None:
        n_all = flat.shape[0] + band.shape[0]
        centre = (flat.sum(axis=0, dtype=np.float64) + band.sum(axis=0, dtype=np.float64)) / n_all
        fg = GaussianMixture.fit(flat[init_fg.ravel()], params.n_components, rng, reg=reg, centre=centre)
        bg = GaussianMixture.fit(
            np.concatenate([band, flat[init_bg.ravel()]]), params.n_components, rng, reg=reg, centre=centre
        )
    else:
        fg, bg = models
    # samples in (C, n) layout centred once per centre (both models share one unless reused)
    columns_fg = fg.centred_columns(flat)
    band_bg = bg.centred_columns(band)
    same_centre = np.array_equal(fg.centre, bg.centre)
    columns_bg = columns_fg if same_centre else bg.centred_columns(flat)
    if not same_centre:
        fg = GaussianMixture(fg.weights, fg.means, fg.covariances, fg.reg, bg.centre)
        columns_fg = columns_bg

    edges = _edges(features, list(params.offsets), params.spacing)
    # a fixed pixel pays more to change side than its neighbours could ever give back
    margin = 2.0 * len(params.offsets) * params.smoothness + 1.0

    lines = None if tight_box is None else required_lines(tight_box)
    allowed = unknown & ~hard_bg
    pinned = np.zeros(flat.shape[0], dtype=bool)

    best_seg, best_energy, best_models = None, np.inf, (fg, bg)
    energies: List[float] = []
    iterations = 0
    prev_seg = None
    for it in range(params.max_iter):
        nll_fg, comp_fg = fg.score_columns(columns_fg)
        nll_bg, comp_bg = bg.score_columns(columns_bg)
        difference = nll_fg - nll_bg
        if prior is not None:
            difference = difference + prior.ravel()
        data_difference = difference.copy() if lines is not None else difference
        hard = float(np.abs(difference).max()) + margin
        difference[fixed_fg | pinned] = -hard
        difference[fixed_bg] = hard
        seg = _cut(difference.reshape(shape), edges, params.smoothness).ravel()
        for _ in range(_TIGHT_ROUNDS if lines is not None else 0):
            component = keep_components(seg.reshape(shape), hard_fg | pinned.reshape(shape), 1)
            if not component.any():
                break
            pins = tightness_pins(component, data_difference.reshape(shape), allowed, lines)
            if pins is None:
                break
            pinned |= pins.ravel()
            difference[pinned] = -hard
            seg = _cut(difference.reshape(shape), edges, params.smoothness).ravel()
        iterations = it + 1
        data = float(nll_bg[free].sum()) + float(data_difference[free & seg].sum())
        energy = data + params.smoothness * _boundary_cost(seg.reshape(shape), edges)
        energies.append(energy)
        if report is not None:
            report((it + 1) / params.max_iter, f"iteration {it + 1}, energy {energy:.6g}")
        improved = energy < best_energy
        if improved:
            best_seg, best_energy, best_models = seg, energy, (fg, bg)
        if it > 0 and (energy >= energies[-2] - params.tol * abs(energies[-2]) or np.array_equal(seg, prev_seg)):
            break
        prev_seg = seg
        if it + 1 == params.max_iter or not seg.any():
            break
        # hard EM: each sample to its most likely component (under the models just
        # used), then each component from its samples
        # (from a random subset when there are many samples: the estimates need
        # no more, and the cost then stops growing with the box)
        fg_pixels = _subsample(seg, MAX_MODEL_SAMPLES, rng)
        fg = fg.refit_columns(columns_fg[:, fg_pixels], comp_fg[fg_pixels])
        bg_pixels = _subsample(~seg, max(MAX_MODEL_SAMPLES - band.shape[0], MAX_MODEL_SAMPLES // 2), rng)
        comp_band = bg.score_columns(band_bg)[1] if band.size else np.zeros(0, dtype=np.intp)
        bg = bg.refit_columns(
            np.concatenate([band_bg, columns_bg[:, bg_pixels]], axis=1),
            np.concatenate([comp_band, comp_bg[bg_pixels]]),
        )
        if improved:
            best_models = (fg, bg)

    mask = best_seg.reshape(shape)
    free_mask = free.reshape(shape)
    n_box = int(np.count_nonzero(unknown))
    if np.count_nonzero(mask & unknown) < min(max(MIN_RESULT_PIXELS, MIN_RESULT_FRACTION * n_box), n_box):
        status = "empty"
    elif free_mask.any() and mask[free_mask].all():
        status = "full"
    else:
        status = "ok"
    if lines is not None and not pins_supported(mask, pinned.reshape(shape)):
        # the object did not fill the pinned paths: the box was loose, cut without the prior
        return grabcut_region(
            features, unknown=unknown, hard_fg=hard_fg, hard_bg=hard_bg, init_fg=init_fg, init_bg=init_bg,
            band=band, params=params, reg=reg, rng=rng, models=models, report=report, prior=prior,
        )
    return RegionResult(mask, status, iterations, energies, best_models)
