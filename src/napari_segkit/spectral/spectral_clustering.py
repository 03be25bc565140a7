"""Spectral clustering: normalized-Laplacian embedding, then k-means."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .._image import parse_image, run_frames
from .._progress import checking
from .._validation import check_int, validate_options
from ._common import build_graph, order_labels, start_graph_job
from ._suitability import warn_if_unsuited
from .laplacian import smallest_eigenvectors

__all__ = ["spectral_clustering", "spectral_embedding"]


N_INIT = 10


def spectral_embedding(weights, self_weight, n_components: int, *, rng, solver: str = "auto") -> np.ndarray:
    """Rows of the ``n_components`` smallest eigenvectors of the normalized
    Laplacian, each scaled to unit length (Ng, Jordan and Weiss 2002)."""
    _, vectors, _ = smallest_eigenvectors(weights, self_weight, n_components, rng=rng, solver=solver)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-300)


def _distinct_values(data: np.ndarray, limit: int) -> int:
    """Number of distinct pixel values (colours); ``limit`` is unused (kept for callers)."""
    flat = data.reshape(-1, data.shape[-1])
    if flat.shape[1] == 1:
        return int(np.unique(flat[:, 0]).size)
    return int(np.unique(flat, axis=0).shape[0])


@validate_options
def spectral_clustering(
    image: Any,
    n_clusters: int,
    *,
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
    n_init: int = N_INIT,
    solver: str = "auto",
    memory_limit: Optional[int] = None,
    rng: Any = None,
    progress: Optional[Callable[[float, str], None]] = None,
) -> np.ndarray:
    """Segment an image by spectral clustering of its affinity graph.

    The graph is the one :func:`normalized_cut` builds (pixels or
    superpixels; see :mod:`napari_segkit.spectral.affinity`).  Each node is
    embedded by the ``n_clusters`` smallest eigenvectors of the normalized
    Laplacian (rows scaled to unit length, Ng, Jordan and Weiss 2002), and
    the embedded nodes are grouped by scikit-learn's ``KMeans`` with
    ``n_init`` fixed starts drawn from ``rng``, each node weighted by its
    number of pixels.

    Parameters
    ----------
    image : (M, N[, P][, C]) array-like
        As in :func:`normalized_cut`.
    n_clusters : int
        Number of clusters (at least 1).  Capped, with a warning, at the
        number of distinct pixel values and at the number of nodes.
    superpixels, n_superpixels, compactness, channel_axis, spacing, spatial_dims,
    smoothing, texture_sigma, texture_weight, contrast, solver, memory_limit
        As in :func:`normalized_cut` (with ``spatial_dims``, each frame gets
        up to ``n_clusters`` clusters).
    n_init : int
        k-means restarts.  Default 10.
    rng : int or numpy.random.Generator, optional
        Eigensolver start vector and k-means starts.  None (default): fresh
        entropy, as everywhere in the package; an integer seed: the same
        image, options and ``rng`` give the same labels.
    progress : callable, optional
        ``progress(fraction, message)``, called between steps (graph,
        eigenvectors, k-means); it may raise :class:`napari_segkit.Cancelled`.

    Returns
    -------
    labels : ndarray of int32
        The image's shape without the channel axis; clusters numbered from 1
        in the raster order of their first pixel.

    Raises
    ------
    InputError, ResourceLimitError, Cancelled
        As in :func:`normalized_cut`.
    """
    arguments = locals()
    series = parse_image(image, method="spectral_clustering", channel_axis=channel_axis, spacing=spacing,
                         spatial_dims=spatial_dims, finite=False, colour_warning=False)
    if series.frame_shape:
        return run_frames(spectral_clustering, series, arguments, task=("n_clusters",))
    job = start_graph_job(arguments, method="spectral_clustering")
    prepared, options, generator, report = job.prepared, job.options, job.rng, job.report
    n_clusters = check_int(n_clusters, name="n_clusters", low=1)
    n_init = check_int(n_init, name="n_init", low=1)
    distinct = _distinct_values(prepared.data, n_clusters)
    if distinct < n_clusters:
        if distinct == 1:
            warnings.warn("image is constant: returning a single segment", UserWarning, stacklevel=2)
        else:
            warnings.warn(
                f"n_clusters={n_clusters} but the image has only {distinct} distinct values; "
                f"using {distinct} clusters",
                UserWarning,
                stacklevel=2,
            )
        n_clusters = distinct
    if prepared.constant:
        options.contrast = 0.0
    report(0.0, "building the affinity graph")
    graph = build_graph(prepared, options, method="spectral_clustering", report=report)
    if n_clusters > graph.n_nodes:
        warnings.warn(
            f"n_clusters={n_clusters} but the graph has only {graph.n_nodes} nodes; "
            f"using {graph.n_nodes} clusters",
            UserWarning,
            stacklevel=2,
        )
        n_clusters = graph.n_nodes
    if n_clusters == 1:
        return order_labels(np.zeros(graph.n_nodes, dtype=np.int64), graph, prepared)
    report(0.3, "spectral embedding")
    with checking(report.check):  # the eigensolver checks for a cancel between its steps
        embedding = spectral_embedding(graph.weights, graph.self_weight, n_clusters, rng=generator, solver=solver)
    report(0.8, "k-means")
    from sklearn.cluster import KMeans

    seed = int(generator.integers(2**31 - 1))
    kmeans = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed)
    node_labels = kmeans.fit_predict(embedding, sample_weight=graph.size)
    report(1.0, "spectral clustering done")
    labels = order_labels(node_labels, graph, prepared)
    warn_if_unsuited(
        labels, prepared.data, method="spectral_clustering",
        advice="more clusters (n_clusters), a larger contrast, or superpixels='pixels'",
    )
    return labels
