"""Normalized cut (Shi and Malik 2000): recursive two-way and k-way, deterministic."""

from __future__ import annotations

import heapq
import logging
import warnings
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np
from scipy import sparse

from .._errors import InputError
from .._image import parse_image, run_frames
from .._progress import Reporter, checking
from .._validation import check_int, check_positive_number, validate_options
from ._common import build_graph, order_labels, start_graph_job
from ._suitability import warn_if_unsuited
from .affinity import AffinityGraph
from .laplacian import smallest_eigenvectors

__all__ = ["normalized_cut", "best_two_way_cut", "recursive_ncut", "kway_ncut", "DEFAULT_THRESHOLD"]

logger = logging.getLogger(__name__)

# default stopping rules (no n_segments, no threshold): on the pixel graph a segment is split while its
# best cut's Ncut is below DEFAULT_THRESHOLD; on superpixels while the mean affinity of the links the cut
# severs is below DEFAULT_MAX_AFFINITY (links inside a uniform noisy region average about 0.5 to 0.6)
DEFAULT_THRESHOLD = 1e-5
DEFAULT_MAX_AFFINITY = 0.2
# eigenvectors tried for each two-way cut (the second smallest and the next ones):
# with several well-separated regions the smallest eigenvalues cluster near 0 and any
# mixture of their eigenvectors may come out; sweeping each keeps the best split
N_EIGENVECTORS = 4
METHODS = ("recursive", "kway")


def _subgraph(graph_w: sparse.csr_array, self_weight: np.ndarray, nodes: np.ndarray):
    """Weights among ``nodes``; the weight to the other nodes is dropped (as in Shi and Malik)."""
    sub = graph_w[nodes][:, nodes]
    return sparse.csr_array(sub), self_weight[nodes]


def ncut_sweep(
    y: np.ndarray,
    weights: sparse.csr_array,
    degree: np.ndarray,
    contact: Optional[sparse.csr_array] = None,
) -> Tuple[np.ndarray, float, float]:
    """The best Ncut among the splits ``y <= t`` for every threshold ``t``.

    All ``n - 1`` splits of the nodes sorted by ``y`` are scored at once: an
    edge ``(u, v)`` is cut by the prefixes that hold exactly one of its ends,
    so the cut weights are a cumulative sum over edge ends in sorted order.

    Returns
    -------
    mask : ndarray of bool
        Nodes on the low side of the best split.
    value : float
        Its Ncut, ``cut / vol(A) + cut / vol(B)``.
    affinity : float
        The mean affinity of the links it cuts, ``cut / contact cut``: the
        cut's weight over the contact (boundary length) it severs, 1 when
        ``contact`` is None.
    """
    n = y.size
    order = np.argsort(y, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    coo = sparse.triu(weights, k=1, format="coo")
    cut = _prefix_cuts(coo, rank, n)  # cut[i]: split after the first i + 1 nodes
    vol = np.cumsum(degree[order])
    total = vol[-1]
    vol_a = vol[: n - 1]
    vol_b = total - vol_a
    with np.errstate(divide="ignore", invalid="ignore"):
        ncut = cut / vol_a + cut / vol_b
    ncut[~np.isfinite(ncut)] = np.inf
    best = int(np.argmin(ncut))
    mask = np.zeros(n, dtype=bool)
    mask[order[: best + 1]] = True
    affinity = 1.0
    if contact is not None:
        severed = float(_prefix_cuts(sparse.triu(contact, k=1, format="coo"), rank, n)[best])
        affinity = float(cut[best]) / severed if severed > 0 else 0.0
    return mask, float(ncut[best]), affinity


def _prefix_cuts(coo, rank: np.ndarray, n: int) -> np.ndarray:
    """Weight cut by each split ``rank <= i`` (i = 0 .. n - 2) of the upper-triangle edges ``coo``."""
    r1 = rank[coo.row]
    r2 = rank[coo.col]
    lo = np.minimum(r1, r2)
    hi = np.maximum(r1, r2)
    delta = np.bincount(lo, weights=coo.data, minlength=n) - np.bincount(hi, weights=coo.data, minlength=n)
    return np.cumsum(delta)[: n - 1]


def best_two_way_cut(
    weights: sparse.csr_array,
    self_weight: np.ndarray,
    *,
    rng: np.random.Generator,
    solver: str = "auto",
    contact: Optional[sparse.csr_array] = None,
) -> Tuple[Optional[np.ndarray], float, float]:
    """Shi and Malik's two-way cut of one (sub)graph.

    A disconnected graph is split between its first connected component (the
    one holding node 0) and the rest, at Ncut 0.  Otherwise the eigenvector of
    the second smallest eigenvalue of ``(D - W) y = l D y`` is computed and
    the best of all its threshold splits is kept (see :func:`ncut_sweep`);
    the next ``N_EIGENVECTORS - 1`` eigenvectors are swept too, and the split
    with the lowest Ncut wins.

    Returns
    -------
    mask : ndarray of bool or None
        None when the graph has fewer than two nodes.
    value : float
        Its Ncut.
    affinity : float
        The mean affinity of the links it cuts (see :func:`ncut_sweep`); 0
        between connected components.
    """
    n = weights.shape[0]
    if n < 2:
        return None, np.inf, np.inf
    from scipy.sparse.csgraph import connected_components

    n_comp, comp = connected_components(weights, directed=False)
    if n_comp > 1:
        return comp == comp[0], 0.0, 0.0
    degree = np.asarray(weights.sum(axis=1)).ravel() + self_weight
    if n == 2:
        mask = np.array([True, False])
        cut = float(weights[0, 1])
        severed = float(contact[0, 1]) if contact is not None else 0.0
        affinity = cut / severed if severed > 0 else 1.0
        return mask, cut / degree[0] + cut / degree[1], affinity
    k = min(n, N_EIGENVECTORS + 1)
    _, vectors, inv_sqrt = smallest_eigenvectors(weights, self_weight, k, rng=rng, solver=solver)
    best = (None, np.inf, np.inf)
    for j in range(1, k):
        found = ncut_sweep(vectors[:, j] * inv_sqrt, weights, degree, contact)
        if found[1] < best[1]:
            best = found
    return best


def recursive_ncut(
    graph: AffinityGraph,
    *,
    n_segments: Optional[int],
    threshold: float,
    rng: np.random.Generator,
    solver: str = "auto",
    report: Optional[Reporter] = None,
    max_affinity: float = np.inf,
) -> np.ndarray:
    """Split the graph two ways again and again, best cut first.

    Every segment's best two-way cut is computed; the segment whose cut has
    the lowest Ncut is split next, until ``n_segments`` segments exist or no
    segment has a cut with Ncut below ``threshold`` and mean severed affinity
    (see :func:`ncut_sweep`) below ``max_affinity``.  Ties go to the older segment, so
    the order is fixed.  ``report`` is called after each split (it may raise
    :class:`Cancelled`).

    Returns
    -------
    ndarray of int64
        A segment number per node.
    """
    report = report or Reporter(None)
    n = graph.n_nodes
    labels = np.zeros(n, dtype=np.int64)
    heap: List[Tuple[float, int, np.ndarray, Optional[np.ndarray]]] = []
    counter = 0
    cap = n if n_segments is None else min(n_segments, n)

    def push(nodes: np.ndarray) -> None:
        nonlocal counter
        if nodes.size >= 2:
            sub_w, sub_s = _subgraph(graph.weights, graph.self_weight, nodes)
            sub_c = None if graph.contact is None else sparse.csr_array(graph.contact[nodes][:, nodes])
            mask, value, affinity = best_two_way_cut(sub_w, sub_s, rng=rng, solver=solver, contact=sub_c)
            logger.debug("best cut of %d nodes: Ncut %.4g, affinity %.4g", nodes.size, value, affinity)
            if mask is not None and value < threshold and affinity < max_affinity:
                heapq.heappush(heap, (value, counter, nodes, mask))
        counter += 1

    report(0.0, "cutting: first eigenvector")
    push(np.arange(n))
    n_done = 1
    next_label = 1
    while heap and n_done < cap:
        value, _, nodes, mask = heapq.heappop(heap)
        part_a, part_b = nodes[mask], nodes[~mask]
        labels[part_b] = next_label
        next_label += 1
        n_done += 1
        logger.debug("split %d nodes into %d + %d (Ncut %.4g)", nodes.size, part_a.size, part_b.size, value)
        fraction = (n_done - 1) / (cap - 1) if n_segments is not None else 1.0 - 1.0 / n_done
        report(fraction, f"normalized cut: {n_done} segments")
        if n_done < cap:
            push(part_a)
            push(part_b)
    return labels


def _discretize(vectors: np.ndarray, weights: np.ndarray, max_iter: int = 50) -> np.ndarray:
    """Yu and Shi (2003) multiclass discretization of an eigenvector embedding.

    Rows are normalized, a rotation ``R`` is started from the heaviest node
    and then the nodes most orthogonal to the ones chosen (no random start),
    and ``R`` and the indicator matrix are alternately optimized.
    """
    n, k = vectors.shape
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    x = vectors / np.maximum(norms, 1e-300)
    rotation = np.zeros((k, k))
    first = int(np.argmax(weights))
    rotation[:, 0] = x[first]
    c = np.zeros(n)
    for j in range(1, k):
        c += np.abs(x @ rotation[:, j - 1])
        rotation[:, j] = x[int(np.argmin(c))]
    last = -1.0
    labels = np.argmax(x @ rotation, axis=1)
    for _ in range(max_iter):
        labels = np.argmax(x @ rotation, axis=1)
        indicator = np.zeros((n, k))
        indicator[np.arange(n), labels] = 1.0
        u, s, vt = np.linalg.svd(indicator.T @ x)
        value = 2.0 * (n - s.sum())
        if abs(value - last) < 1e-12 * max(1.0, abs(value)):
            break
        last = value
        rotation = vt.T @ u.T
    return labels


def kway_ncut(
    graph: AffinityGraph,
    *,
    n_segments: int,
    rng: np.random.Generator,
    solver: str = "auto",
) -> np.ndarray:
    """Simultaneous k-way cut: ``n_segments`` eigenvectors, discretized (Yu and Shi)."""
    k = min(n_segments, graph.n_nodes)
    if k < 2:
        return np.zeros(graph.n_nodes, dtype=np.int64)
    _, vectors, _ = smallest_eigenvectors(graph.weights, graph.self_weight, k, rng=rng, solver=solver)
    return _discretize(vectors, graph.degree)


#: what to change when the image does not suit normalized cut (see ``_suitability``)
NCUT_ADVICE = (
    "n_segments=N to ask for N segments, a larger threshold (0 to 2; splits stop above it), "
    "a larger contrast, or superpixels='pixels'"
)


#: eigensolves of the whole graph an automatic (threshold) recursive cut costs on 128 x 128 pixels
#: (measured: 5 times one split); it grows with the image, as more segments pass the threshold
AUTOMATIC_SOLVES = 5
AUTOMATIC_SOLVES_PIXELS = 128 * 128


def expected_solves(method: str, n_segments: Optional[int], n_nodes: int) -> float:
    """Eigensolves of the whole graph a cut costs: one per level of recursive splits, one for k-way.

    An automatic cut (no ``n_segments``) splits until the threshold: 5 at
    128 x 128 pixels, growing with the square root of the nodes (a 512 x 512
    pixel graph ran for more than 400 s against 20 s for one split, on 2
    shared cores at load 7).
    """
    if method == "kway":
        return 1.0
    if n_segments is None:
        return AUTOMATIC_SOLVES * max(1.0, (n_nodes / AUTOMATIC_SOLVES_PIXELS) ** 0.5)
    return float(max(1, int(np.ceil(np.log2(max(n_segments, 2))))))


@validate_options
def normalized_cut(
    image: Any,
    *,
    n_segments: Optional[int] = None,
    method: str = "recursive",
    threshold: Optional[float] = None,
    superpixels: Any = None,
    n_superpixels: Optional[int] = None,
    compactness: Optional[float] = None,
    channel_axis: Optional[int] = None,
    spacing: Optional[Sequence[float]] = None,
    spatial_dims: Optional[int] = None,
    smoothing: float = 0.0,
    texture_sigma: float = 2.0,
    texture_weight: float = 0.0,
    contrast: float = 1.0,
    solver: str = "auto",
    memory_limit: Optional[int] = None,
    rng: Any = None,
    progress: Optional[Callable[[float, str], None]] = None,
) -> np.ndarray:
    """Segment an image by normalized cuts of its affinity graph (Shi and Malik).

    The image becomes a graph: pixels (small images) or superpixels (larger
    ones) are nodes, and neighbours are linked by affinities that fall with
    their difference in smoothed intensity or colour and in local texture
    (see :mod:`napari_segkit.spectral.affinity`).  A normalized cut splits
    the graph where the links are weak relative to the volume of both sides.
    ``method="recursive"`` splits two ways, again and again, always taking
    the segment with the cheapest cut next; ``method="kway"`` computes
    ``n_segments`` eigenvectors at once and discretizes them.

    Unlike ``skimage.graph.cut_normalized`` the result is deterministic: the
    eigensolver starts from a vector drawn from ``rng`` (default seed 0),
    all threshold splits of each eigenvector are scored (not 10 random ones)
    and labels are numbered by position.

    Parameters
    ----------
    image : (..., M, N[, P][, C]) array-like
        2-D or 3-D image with an optional channel axis (and up to two
        leading frame axes, see ``spatial_dims``).  Any real dtype; the
        image is rescaled by its own minimum and maximum (over all channels),
        so the result does not depend on its dtype or range.  A bool image is
        read as 0/1 (with a warning).  Singleton axes are dropped for the
        computation and kept in the output.
    n_segments : int, optional
        Number of segments wanted.  ``recursive``: the most segments (fewer
        if no cut is below ``threshold``); required for ``kway``.
    method : {"recursive", "kway"}
    threshold : float, optional
        ``recursive`` only: the largest Ncut value (between 0 and 2) for which
        a segment is still split.  Default (neither ``threshold`` nor
        ``n_segments`` given): on superpixels a segment is split while the
        links its best cut severs have a mean affinity below 0.2 (links
        inside a uniform noisy region average 0.5 to 0.6, true boundaries on
        the synthetic benchmark images 1e-5 to 0.13), which does not depend
        on the image size or the number of superpixels; on the pixel graph
        while the Ncut is below 1e-5.  With ``n_segments`` and no
        ``threshold``: no limit, so that ``n_segments`` segments are
        returned.
    superpixels : None, "slic", "pixels" or array of int, optional
        The nodes.  None: pixels when the image is small (about 16,000 pixels
        in 2-D, 4,000 in 3-D), else SLIC superpixels with a warning.
        ``"slic"``: SLIC superpixels (``n_superpixels``, ``compactness``,
        with ``spacing``).  ``"pixels"``: force the pixel graph (refused if it
        would not fit in memory).  An array: your own superpixels, with the
        image's shape without channels; label 0 marks pixels to leave out
        (labelled 0 in the output).
    n_superpixels : int, optional
        Number of SLIC superpixels asked for.  Default: from the image's
        object scale, about four per object, between 200 and 1000 (on the
        synthetic 256 x 256 nuclei sample with 30 nuclei: 488, foreground
        IoU of the normalized cut 0.27 with 400 -> 0.50).
    compactness : float, optional
        SLIC compactness: default 10 for three channels (SLIC works in
        CIELAB), 0.1 otherwise (intensities in [0, 1]).
    channel_axis : int, optional
        Axis of ``image`` holding channels; None for grayscale.  A 3-D image
        with a first or last axis of length 2 to 4 is refused unless
        ``channel_axis`` or ``spacing`` says what it is.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis (``(dz, dy, dx)``); only the
        ratios matter.  Used for neighbour distances, filter sizes and SLIC.
    spatial_dims : {2, 3}, optional
        Trailing spatial axes; the axes before them (time, position) are
        frames, each cut on its own (``n_segments`` each), with ids unique
        over the result; an array of ``superpixels`` of the series' shape
        is used frame by frame.  Default: 2 for a 2-D image, else 3.
    smoothing : float
        Gaussian sigma (pixels along the finest axis) applied to the
        intensities before comparing them.  Default 0 (none).
    texture_sigma : float
        Window (Gaussian sigma, pixels) of the local standard deviation used
        as texture feature.  Default 2.
    texture_weight : float
        Weight of the local standard deviation as a feature; any value > 0
        turns it on (on superpixels only its presence matters).  Use it
        when regions differ by texture rather than by mean.  Default 0.
    contrast : float
        How fast affinities fall with feature difference (0 = geometry
        only).  Default 1.
    solver : {"auto", "dense", "arpack", "amg"}
        Eigensolver (see :mod:`napari_segkit.spectral.laplacian`); ``"amg"``
        needs the optional package pyamg.
    memory_limit : int, optional
        Bytes the pixel graph may use; default 80 % of the memory available.
    rng : int or numpy.random.Generator, optional
        Start vectors of the eigensolver.  None (default): fresh entropy, as
        everywhere in the package; an integer seed: the same image, options
        and ``rng`` give the same labels.
    progress : callable, optional
        ``progress(fraction, message)``, called after each split; it may raise
        :class:`napari_segkit.Cancelled` to stop.

    Returns
    -------
    labels : ndarray of int32
        The image's shape without the channel axis; segments numbered from 1
        in the raster order of their first pixel.

    Raises
    ------
    InputError
        Bad image or option; the message names the argument and value.
    ResourceLimitError
        ``superpixels="pixels"`` and the pixel graph would not fit in memory.
    Cancelled
        Raised by ``progress``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.spectral import normalized_cut
    >>> image = np.zeros((30, 30)); image[:, 15:] = 1
    >>> labels = normalized_cut(image, n_segments=2)
    >>> [int(v) for v in np.unique(labels[:, :15])], [int(v) for v in np.unique(labels[:, 15:])]
    ([1], [2])
    """
    arguments = locals()
    series = parse_image(image, method="normalized_cut", channel_axis=channel_axis, spacing=spacing,
                         spatial_dims=spatial_dims, finite=False, colour_warning=False)
    if series.frame_shape:
        return run_frames(normalized_cut, series, arguments)
    job = start_graph_job(arguments, method="normalized_cut")
    prepared, options, generator, report = job.prepared, job.options, job.rng, job.report
    if method not in METHODS:
        raise InputError(f"method must be 'recursive' or 'kway', got {method!r}")
    if n_segments is not None:
        n_segments = check_int(n_segments, name="n_segments", low=1)
    elif method == "kway":
        raise InputError("method='kway' needs n_segments")
    automatic = threshold is None and n_segments is None
    if threshold is None:
        threshold = np.inf
    else:
        threshold = check_positive_number(threshold, name="threshold")
    report(0.0, "building the affinity graph")
    if prepared.constant:
        warnings.warn("image is constant: returning a single segment", UserWarning, stacklevel=2)
        options.contrast = 0.0
    graph = build_graph(prepared, options, method="normalized_cut", report=report,
                        solves=lambda n_nodes: expected_solves(method, n_segments, n_nodes))
    if prepared.constant or n_segments == 1:
        node_labels = np.zeros(graph.n_nodes, dtype=np.int64)
        return order_labels(node_labels, graph, prepared)
    if n_segments is not None and n_segments > graph.n_nodes:
        warnings.warn(
            f"n_segments={n_segments} but the graph has only {graph.n_nodes} nodes; "
            f"returning at most {graph.n_nodes} segments",
            UserWarning,
            stacklevel=2,
        )
    cut_report = report.sub(0.1, 1.0)
    max_affinity = np.inf
    if automatic:
        if graph.pixels:
            threshold = DEFAULT_THRESHOLD
        else:
            max_affinity = DEFAULT_MAX_AFFINITY
    with checking(report.check):  # the eigensolvers check for a cancel between their steps
        if method == "recursive":
            node_labels = recursive_ncut(
                graph, n_segments=n_segments, threshold=threshold, rng=generator, solver=solver,
                report=cut_report, max_affinity=max_affinity,
            )
        else:
            cut_report(0.0, f"normalized cut: {n_segments} eigenvectors")
            node_labels = kway_ncut(graph, n_segments=n_segments, rng=generator, solver=solver)
    report(1.0, "normalized cut done")
    labels = order_labels(node_labels, graph, prepared)
    warn_if_unsuited(labels, prepared.data, method="normalized_cut", advice=NCUT_ADVICE)
    return labels
