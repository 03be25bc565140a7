"""Graph-cut refinement of a probability map, with scribbles as hard constraints.

Energy of a labelling ``x`` (classes 0..K-1, class 0 = background)::

    E(x) = sum_p -log P_p(x_p) + smoothness * sum_(p,q) w_pq [x_p != x_q]

with ``w_pq = exp(-beta ||I_p - I_q||^2) / dist(p, q)`` the contrast-sensitive
weights of :func:`napari_segkit.graph.pairwise.contrast_weights` (Boykov and
Jolly 2001) over the chosen neighbourhood.  Scribbled pixels are fixed to
their class.  Two classes: one max-flow gives the global minimum; more:
alpha-expansion from the map's own argmax.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from .._errors import InputError
from .._labels import label_dtype
from .._progress import Reporter
from .._validation import check_positive_number, check_spacing
from ..graph.memory import GraphBudget, check_graph_budget, graph_bytes
from ..graph.neighbourhood import neighbour_offsets, resolve_connectivity
from ._inputs import prepare_class_seeds, prepare_image, prepare_probabilities, warn_constant
from .._validation import validate_options

__all__ = ["graph_cut_refine", "estimate_graph_cut_refine_memory"]


DEFAULT_SMOOTHNESS = 3.0
DEFAULT_SEED_REACH = 15.0
PROBABILITY_CLIP = 1e-5
# largest lowering of a class's cost next to its scribbles: overrides a map
# that is 99 % sure of another class (-log 0.01 = 4.6)
SEED_STRENGTH = 8.0
# a step where the gradient magnitude (smoothed over EDGE_SIGMA pixels) equals
# its EDGE_PERCENTILE-th percentile costs 1 + EDGE_COST pixels of geodesic
# distance; the cost grows with the square of the gradient, so noise inside a
# region adds little and an edge a lot
EDGE_COST = 20.0
EDGE_SIGMA = 0.7
EDGE_PERCENTILE = 95.0
EDGE_POWER = 2.0


def _seed_prior(unary, features, seed_array, values, spacing, reach):
    """Lower each scribbled class's cost near its strokes, within the same region.

    ``U_k -= SEED_STRENGTH * exp(-(D_k / reach)^2)``, with ``D_k`` the
    geodesic distance from the strokes of class ``k``: each step costs its
    physical length times ``1 + EDGE_COST * (g / g95)^2`` (``g`` the
    smoothed gradient magnitude, ``g95`` its 95th percentile), so distance
    grows like the Euclidean one inside a region and jumps at its edges.  A stroke inside a region the map got wrong thus flips the
    whole region, not only the stroked pixels.
    """
    from scipy import ndimage as ndi
    from skimage.graph import MCP_Geometric

    unit = min(spacing)
    sampling = tuple(s / unit for s in spacing)
    sigma = [EDGE_SIGMA / s for s in sampling]
    squared = np.zeros(features.shape[:-1], dtype=np.float64)
    for c in range(features.shape[-1]):
        g = ndi.gaussian_gradient_magnitude(features[..., c].astype(np.float64), sigma)
        squared += g**2
    gradient = np.sqrt(squared)
    ref = float(np.percentile(gradient, EDGE_PERCENTILE))
    if ref > 0:
        gradient /= ref
        np.power(gradient, EDGE_POWER, out=gradient)
        costs = 1.0 + EDGE_COST * gradient
    else:
        costs = np.ones_like(gradient)
    for value in values:
        starts = np.argwhere(seed_array == value)
        mcp = MCP_Geometric(costs, sampling=sampling)
        distance, _ = mcp.find_costs(starts)
        distance /= reach
        np.square(distance, out=distance)
        unary[int(value)] -= SEED_STRENGTH * np.exp(-distance)


def estimate_graph_cut_refine_memory(
    shape: Sequence[int], *, n_classes: int = 2, n_channels: int = 1, connectivity: int = 1
) -> GraphBudget:
    """Memory :func:`graph_cut_refine` needs for an image of spatial ``shape``."""
    shape = tuple(int(s) for s in shape)
    conn = resolve_connectivity(connectivity, len(shape))
    n_offsets = len(neighbour_offsets(len(shape), conn))
    n = int(np.prod(shape, dtype=np.int64))
    k = max(int(n_classes), 2)
    # probabilities (float32), features (float32), unary (float64), seeds,
    # weights (float32 per offset for two classes, float64 for more), labels
    per_pixel = 4 * k + 4 * n_channels + 8 * k + 8 + 4
    per_pixel += 4 * n_offsets if k == 2 else 8 * n_offsets + 72 + 8 * k
    return GraphBudget(
        n_nodes=n,
        n_edges=n * n_offsets,
        graph_bytes=graph_bytes(n, n * n_offsets),
        array_bytes=n * per_pixel,
    )


@validate_options
def graph_cut_refine(
    image: Any,
    probabilities: Any,
    *,
    seeds: Any = None,
    spacing: Optional[Sequence[float]] = None,
    channel_axis: Optional[int] = None,
    smoothness: float = DEFAULT_SMOOTHNESS,
    seed_reach: float = DEFAULT_SEED_REACH,
    connectivity: int = 1,
    from_logits: bool = False,
    max_iter: int = 5,
    memory_limit: Optional[int] = None,
    progress: Optional[Callable[[float, str], None]] = None,
) -> np.ndarray:
    """Refine a probability map by max-flow/min-cut, with scribbles as hard constraints.

    The data term is ``-log p`` of the given map (probabilities clipped at
    1e-5); cutting between neighbours ``p, q`` costs
    ``smoothness * exp(-beta ||I_p - I_q||^2) / dist(p, q)``, so boundaries
    move onto the image's edges.  Scribbled pixels keep their class, and the
    cut around them follows the image, so a stroke inside a region the map got
    wrong flips that region.  Two classes are solved exactly by one max-flow;
    more by alpha-expansion.

    Parameters
    ----------
    image : (M, N[, P][, C]) array-like
        The image, 2-D or 3-D, any real dtype, any number of channels.
    probabilities : (M, N[, P], K) array-like of float
        Class probabilities summing to 1 over the LAST axis (class 0 =
        background), as :func:`napari_segkit.predict_probabilities` and
        :func:`crf_refine` return them (or logits with ``from_logits=True``).
        A map with the image's spatial shape alone (or a last axis of length
        1) is the probability of the object: class 1, background class 0.
    seeds : array-like of int, optional
        Scribbles with the image's spatial shape: 0 = unknown, value ``v``
        in 1..K-1 forces class ``v``, value ``K`` forces the background
        (class 0).  For two classes or one object map: 1 = object,
        2 = background, as painted for :func:`napari_segkit.graph_cut`.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis.  Only the ratios matter.
    channel_axis : int, optional
        Axis of ``image`` holding channels; None means grayscale.
    smoothness : float
        Weight of the boundary term against ``-log p`` (0 = argmax of the
        map, with the seeds).  Default 3.
    seed_reach : float
        How far a scribble's influence spreads inside the region it is drawn
        in, in pixels (at the finest spacing) of geodesic distance: a step
        across an image edge counts as several pixels, so the influence stays
        within the region.  Near its strokes, a class's cost ``-log p`` is
        lowered by up to 5, enough to override the map there.  0 makes
        scribbles hard constraints on the stroked pixels only.  Default 15.
    connectivity : int
        1 to ndim (1 = face neighbours), or 4/8 in 2-D, 6/18/26 in 3-D.
    from_logits : bool
        Treat ``probabilities`` as logits.
    max_iter : int
        Most alpha-expansion passes over all classes (more than two classes).
    memory_limit : int, optional
        Bytes the job may use; default 80 % of the memory available now.
    progress : callable, optional
        ``progress(fraction, message)``, called between steps (and after each
        expansion move).  It may raise :class:`napari_segkit.Cancelled`; a
        running max-flow finishes first.

    Returns
    -------
    labels : ndarray of int32
        The image's spatial shape; each pixel holds its class index along the
        class axis, 0 = background (for one object map: 1 = object).  The
        numbering of ``predict_labels(..., output="semantic")``.

    Raises
    ------
    InputError
        Bad image, probabilities, seeds or options (seed values above K,
        shapes that differ, NaN values), naming the argument and value.
    ResourceLimitError
        The graph would not fit in memory or in PyMaxflow's 32-bit limits.
    Cancelled
        Raised by ``progress``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import graph_cut_refine
    >>> image = np.zeros((20, 20)); image[5:15, 5:15] = 1
    >>> p = np.full((20, 20), 0.4); p[4:16, 4:16] = 0.7   # object probability
    >>> labels = graph_cut_refine(image, p)
    >>> int((labels == 1).sum())
    100
    """
    channels_last, spatial = prepare_image(image, channel_axis, method="graph_cut_refine")
    spacing = check_spacing(spacing, len(spatial))
    smoothness = check_positive_number(smoothness, name="smoothness", allow_zero=True)
    seed_reach = check_positive_number(seed_reach, name="seed_reach", allow_zero=True)
    conn = resolve_connectivity(connectivity, len(spatial))
    if isinstance(max_iter, (bool, np.bool_)) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise InputError(f"max_iter must be a positive integer, got {max_iter!r}")
    probs, _ = prepare_probabilities(probabilities, spatial, from_logits=bool(from_logits))
    n_classes = probs.shape[0]
    # per-pixel class index forced by the scribbles, -1 = unknown
    seed_array = prepare_class_seeds(seeds, spatial, n_classes)
    values = np.unique(seed_array[seed_array >= 0]) if seed_array is not None else None
    budget = estimate_graph_cut_refine_memory(
        spatial, n_classes=n_classes, n_channels=channels_last.shape[-1], connectivity=conn
    )
    check_graph_budget(budget, memory_limit=memory_limit)

    from ..graph.pairwise import unit_contrast_weights
    from ..graph.unary import scaled_features

    report = Reporter(progress)
    report(0.0, "computing data and smoothness terms")
    offsets = neighbour_offsets(len(spatial), conn)
    unary = -np.log(np.clip(probs.astype(np.float64), PROBABILITY_CLIP, 1.0))
    del probs
    edges = []
    use_prior = seed_array is not None and seed_reach > 0
    if smoothness > 0 or use_prior:
        features, varies = scaled_features(channels_last)
        if not varies:
            warn_constant("graph_cut_refine")
        if smoothness > 0:
            edges = unit_contrast_weights(features, offsets, spacing)
        if use_prior:
            report(0.05, "spreading the scribbles")
            _seed_prior(unary, features, seed_array, values, spacing, seed_reach)
        del features
    # a seeded pixel pays more to change class than any gain from its
    # neighbours (at most 2 * len(offsets) * smoothness) and its data term
    hard = float(np.abs(unary).max()) + 2.0 * len(offsets) * smoothness + 1.0
    out_dtype = label_dtype(n_classes)
    report(0.1, "max-flow")
    if n_classes == 2:
        from ..graph.solvers import binary_cut_difference

        # cost of class 1 minus cost of class 0; True where class 1 wins
        difference = unary[1] - unary[0]
        del unary
        if seed_array is not None:
            np.copyto(difference, -hard, where=seed_array == 1)
            np.copyto(difference, hard, where=seed_array == 0)
        labels = binary_cut_difference(difference, edges, scale=smoothness).astype(out_dtype)
    else:
        from ..graph.solvers import alpha_expansion

        weighted = [(offset, w.astype(np.float64) * smoothness) for offset, w in edges]
        del edges
        if seed_array is not None:
            seeded = seed_array >= 0
            for k in range(n_classes):
                unary[k][seeded] = hard
                unary[k][seed_array == k] = 0.0
            del seeded
        index = alpha_expansion(
            unary, weighted, max_cycles=int(max_iter), progress=report.sub(0.1, 0.95)
        )
        labels = index.astype(out_dtype)
    if seed_array is not None:
        # the construction guarantees it; make any violation impossible to miss
        np.copyto(labels, seed_array, where=seed_array >= 0, casting="unsafe")
    report(1.0, "done")
    return labels
