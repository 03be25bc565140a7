"""Affinity graphs shared by normalized cut and spectral clustering.

Two graphs, built from the same per-pixel features:

* the **pixel graph** links face neighbours ``p, q`` with
  ``w(p, q) = exp(-contrast * ||f_p - f_q||^2 / (2 s)) / dist(p, q)``, where
  ``f`` are the features below, ``s`` the median of ``||f_p - f_q||^2`` over
  all neighbour pairs (a typical within-region difference, so the weights do
  not depend on the intensity range) and ``dist`` the physical distance from
  ``spacing``, scaled so the finest spacing is 1;
* the **region adjacency graph** (RAG) over superpixels links two adjacent
  superpixels ``i, j`` with the product of three terms: their contact (the
  number of neighbour pairs across their common boundary, each counted
  ``1 / dist``), a boundary-strength affinity ``exp(-contrast * b_ij / (2
  c_ij))`` where ``b_ij`` is the mean of ``||f_p - f_q||^2`` over the
  boundary pairs and ``c_ij`` the same mean over the neighbour pairs inside
  ``i`` and inside ``j`` (a grainy region's boundaries are judged against its
  grain), and a region affinity ``exp(-contrast * t_ij / 2)`` where
  ``t_ij = sum_f (med_if - med_jf)^2 / s_f`` compares the superpixels'
  median features in units of the pixel noise ``s_f`` (the median over all
  superpixels of the variance of feature ``f`` inside a superpixel, at least
  ``1e-4``).  The median, unlike the mean, gives a superpixel that straddles
  a true boundary the colour of its majority side.  There are no self-loops:
  a segment's volume is the weight of its links, so a single superpixel that
  resembles none of its neighbours has an Ncut near 1 and is not cut off
  on its own, as it would be if each node's volume counted its pixels.

Above ``_MAX_EXPONENT`` (10) an exponent grows only as a logarithm
(``10 + log(x / 10)``): weights stay far from underflow, so graphs stay
connected and eigensolvers converge, but keep their order, so among weak
links the less different neighbour still wins.

Features, per pixel: each channel smoothed by a Gaussian of ``smoothing``
pixels (default 0: none), and, when ``texture_weight`` > 0, each channel's
local standard deviation in a Gaussian window of ``texture_sigma`` pixels,
followed by a grey-level opening about ``6 * texture_sigma`` wide that removes
the bands of high deviation every intensity edge leaves.  The local standard
deviation lets regions of equal mean intensity but different texture (smooth
against grainy) be told apart.  It is off by default: on the synthetic
benchmark images (docs/benchmarks.md) it left the median adjusted Rand
index unchanged (0.958) and took twice the time.  Sigmas are in pixels
along the finest axis and scaled by ``spacing`` along the others, so the
windows are round in physical space.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
from scipy import ndimage as ndi
from scipy import sparse

from ..graph.neighbourhood import grid_slices, neighbour_offsets, offset_length

__all__ = [
    "AffinityGraph",
    "image_features",
    "pixel_graph",
    "lu_fill",
    "pixel_graph_bytes",
    "region_graph",
    "slic_superpixels",
]

# above exp(-10) ~ 5e-5 the exponent grows as a logarithm (see _affinity): weights never underflow,
# graphs stay connected and the eigensolvers converge
_MAX_EXPONENT = 10.0
# the smallest pixel-noise variance assumed per feature (features lie in [0, 1]): a standard
# deviation of 1 % of the intensity range, so noise-free images do not divide by zero
_MIN_NOISE_VARIANCE = 1e-4
# a SLIC superpixel this many times the requested size means SLIC merged what it should have split
_MAX_SUPERPIXEL_FACTOR = 20.0


@dataclass
class AffinityGraph:
    """A weighted undirected graph over pixels or superpixels.

    Attributes
    ----------
    weights : scipy.sparse.csr_array, shape (n, n)
        Symmetric, zero diagonal.
    self_weight : ndarray, shape (n,)
        Self-loop weights: they count in the degree (the volume of a segment)
        but are never cut.
    node_of_pixel : ndarray of int64
        For each pixel (the prepared image's spatial shape) its node, -1 for
        pixels in no node (superpixel label 0).
    size : ndarray, shape (n,)
        Pixels per node.
    """

    weights: sparse.csr_array
    self_weight: np.ndarray
    node_of_pixel: np.ndarray
    size: np.ndarray
    contact: Optional[sparse.csr_array] = None
    pixels: bool = False

    @property
    def n_nodes(self) -> int:
        return int(self.weights.shape[0])

    @property
    def degree(self) -> np.ndarray:
        return np.asarray(self.weights.sum(axis=1)).ravel() + self.self_weight


def _pixel_sigmas(sigma: float, spacing: Sequence[float]) -> Tuple[float, ...]:
    finest = min(spacing)
    return tuple(sigma * finest / s for s in spacing) + (0.0,)


def image_features(
    data: np.ndarray,
    spacing: Sequence[float],
    *,
    smoothing: float = 0.0,
    texture_sigma: float = 2.0,
    texture_weight: float = 0.0,
) -> np.ndarray:
    """Per-pixel features of a channels-last image in [0, 1].

    Returns
    -------
    ndarray of float64, shape (M, N[, P], F)
        The smoothed channels, then (when ``texture_weight`` > 0) the local
        standard deviation of each channel times ``texture_weight``.
    """
    if smoothing > 0:
        smooth = ndi.gaussian_filter(data, _pixel_sigmas(smoothing, spacing), mode="reflect")
    else:
        smooth = data.copy()
    if texture_weight <= 0:
        return smooth
    sigmas = _pixel_sigmas(texture_sigma, spacing)
    mean = ndi.gaussian_filter(data, sigmas, mode="reflect")
    mean_sq = ndi.gaussian_filter(data * data, sigmas, mode="reflect")
    np.multiply(mean, mean, out=mean)
    np.subtract(mean_sq, mean, out=mean_sq)
    np.maximum(mean_sq, 0.0, out=mean_sq)
    np.sqrt(mean_sq, out=mean_sq)
    # an intensity edge raises the local deviation in a band some 4 sigma wide; a
    # grey opening (minimum then maximum filter) 6 sigma wide removes
    # those bands and keeps textured areas larger than the window
    size = tuple(max(1, 2 * int(np.ceil(3 * s)) + 1) for s in sigmas[:-1]) + (1,)
    mean_sq = ndi.grey_opening(mean_sq, size=size, mode="reflect")
    mean_sq *= texture_weight
    return np.concatenate([smooth, mean_sq], axis=-1)


def _neighbour_pairs(shape: Tuple[int, ...], spacing: Sequence[float]):
    """Yield (src, dst, length) for each face-neighbour offset; length 1 at the finest spacing."""
    finest = min(spacing)
    for offset in neighbour_offsets(len(shape), 1):
        src, dst = grid_slices(shape, offset)
        yield src, dst, offset_length(offset, spacing) / finest


def _squared_differences(features: np.ndarray, shape: Tuple[int, ...], spacing):
    """List of (src, dst, length, ||f_p - f_q||^2 flattened) for each offset, and their mean."""
    pairs = []
    total = 0.0
    count = 0
    for src, dst, length in _neighbour_pairs(shape, spacing):
        diff = features[src] - features[dst]
        sq = np.einsum("...f,...f->...", diff, diff).ravel()
        total += float(sq.sum())
        count += sq.size
        pairs.append((src, dst, length, sq))
    if not count:
        return pairs, 0.0
    return pairs, _scale(np.concatenate([p[3] for p in pairs]))


def _scale(sq: np.ndarray) -> float:
    """The median squared difference (the mean if the median is 0): a typical
    within-region difference, which the rare boundary pairs do not inflate."""
    if not sq.size:
        return 0.0
    value = float(np.median(sq))
    return value if value > 0 else float(sq.mean())


def _affinity(sq: np.ndarray, scale: float, contrast: float, length: float = 1.0) -> np.ndarray:
    """``exp(-contrast * sq / (2 scale)) / length``, the exponent bent to a logarithm above ``_MAX_EXPONENT``."""
    if scale <= 0:
        return np.full(sq.shape, 1.0 / length)
    exponent = np.multiply(sq, contrast / (2.0 * scale))
    # above the knee the exponent grows as a logarithm: weights stay far from underflow (the graph
    # stays connected, eigensolvers converge) but keep their order, so a superpixel that differs
    # from both neighbours still links more strongly to the one it differs from less
    big = exponent > _MAX_EXPONENT
    exponent[big] = _MAX_EXPONENT + np.log(exponent[big] / _MAX_EXPONENT)
    np.negative(exponent, out=exponent)
    np.exp(exponent, out=exponent)
    exponent /= length
    return exponent


def lu_fill(n_pixels: int, ndim: int) -> float:
    """Non-zeros of the sparse LU factor of a pixel graph's Laplacian (an estimate).

    Measured with SuperLU's default ordering on face-neighbour grid graphs:
    about ``0.7 n^1.5`` in 2-D and ``6 n^1.5`` in 3-D.
    """
    return (0.7 if ndim == 2 else 6.0) * float(n_pixels) ** 1.5


def pixel_graph_bytes(n_pixels: int, ndim: int, n_features: int) -> int:
    """Memory for the pixel graph and its eigenproblem, in bytes (an estimate).

    Features and filter temporaries (four float64 copies), the sparse matrices
    (weights, Laplacian and their construction temporaries: ``2 ndim + 1``
    non-zeros per row at 20 bytes, four copies) and the sparse LU factor of
    the shift-invert eigensolver (:func:`lu_fill` non-zeros at 12 bytes).
    """
    n = float(n_pixels)
    features = 4 * n * n_features * 8
    matrices = 4 * n * (2 * ndim + 1) * 20
    factor = lu_fill(n_pixels, ndim) * 12 + 40 * n
    return int(features + matrices + factor)


def pixel_graph(features: np.ndarray, spacing: Sequence[float], *, contrast: float = 1.0) -> AffinityGraph:
    """The graph of face-neighbouring pixels (see the module's docstring)."""
    shape = features.shape[:-1]
    n = int(np.prod(shape))
    index = np.arange(n, dtype=np.int64).reshape(shape)
    pairs, scale = _squared_differences(features, shape, spacing)
    rows, cols, vals, contacts = [], [], [], []
    for src, dst, length, sq in pairs:
        rows.append(index[src].ravel())
        cols.append(index[dst].ravel())
        vals.append(_affinity(sq, scale, contrast, length))
        contacts.append(np.full(sq.size, 1.0 / length))
    row = np.concatenate(rows + cols)
    col = np.concatenate(cols + rows)
    weights = sparse.csr_array((np.concatenate(vals + vals), (row, col)), shape=(n, n))
    weights.sum_duplicates()
    contact = sparse.csr_array((np.concatenate(contacts + contacts), (row, col)), shape=(n, n))
    contact.sum_duplicates()
    return AffinityGraph(
        weights=weights,
        self_weight=np.zeros(n),
        node_of_pixel=index,
        size=np.ones(n),
        contact=contact,
        pixels=True,
    )


def region_graph(
    features: np.ndarray,
    superpixels: np.ndarray,
    spacing: Sequence[float],
    *,
    contrast: float = 1.0,
) -> AffinityGraph:
    """The region adjacency graph of ``superpixels`` (see the module's docstring).

    ``superpixels`` has the features' spatial shape; label 0 marks pixels left
    out, every other value one node (nodes are ordered by label value).
    """
    shape = features.shape[:-1]
    values, inverse = np.unique(superpixels, return_inverse=True)
    inverse = inverse.reshape(shape).astype(np.int64)
    if values[0] == 0:
        inverse -= 1  # label 0 -> -1: outside every node
        values = values[1:]
    n = values.size
    n_features = features.shape[-1]
    flat_nodes = inverse.ravel()
    inside = flat_nodes >= 0
    size = np.bincount(flat_nodes[inside], minlength=n).astype(np.float64)
    flat_features = features.reshape(-1, n_features)[inside]
    means = np.stack(
        [np.bincount(flat_nodes[inside], weights=flat_features[:, f], minlength=n) for f in range(n_features)],
        axis=1,
    ) / size[:, None]
    mean_sq = np.stack(
        [np.bincount(flat_nodes[inside], weights=flat_features[:, f] ** 2, minlength=n) for f in range(n_features)],
        axis=1,
    ) / size[:, None]
    variances = np.maximum(mean_sq - means**2, 0.0)
    del mean_sq

    pairs, _ = _squared_differences(features, shape, spacing)
    keys, lengths, sums = [], [], []
    inner_sum = np.zeros(n)
    inner_count = np.zeros(n)
    for src, dst, length, sq in pairs:
        a = inverse[src].ravel()
        b = inverse[dst].ravel()
        same = (a == b) & (a >= 0)
        inner_sum += np.bincount(a[same], weights=sq[same], minlength=n)
        inner_count += np.bincount(a[same], minlength=n)
        cross = (a != b) & (a >= 0) & (b >= 0)
        lo = np.minimum(a[cross], b[cross])
        hi = np.maximum(a[cross], b[cross])
        keys.append(lo * n + hi)
        lengths.append(np.full(lo.size, 1.0 / length))
        sums.append(sq[cross])
    key = np.concatenate(keys)
    edge_keys, edge_index = np.unique(key, return_inverse=True)
    contact = np.bincount(edge_index, weights=np.concatenate(lengths), minlength=edge_keys.size)
    count = np.bincount(edge_index, minlength=edge_keys.size)
    boundary_sq = np.bincount(edge_index, weights=np.concatenate(sums), minlength=edge_keys.size) / np.maximum(count, 1)
    lo = edge_keys // n
    hi = edge_keys % n
    # each superpixel is represented by its per-feature median (not its mean): a superpixel
    # that straddles a true boundary takes the colour of its majority side instead of a mix
    # that resembles neither side
    medians = _region_medians(flat_nodes[inside], flat_features, n)
    diff = medians[lo] - medians[hi]
    # differences in units of the pixel noise: the median variance inside the superpixels
    # (most superpixels lie inside one region, so this is the noise, not the contrast)
    noise = np.maximum(np.median(variances, axis=0), _MIN_NOISE_VARIANCE)
    region_sq = np.einsum("ef,ef->e", diff, diff / noise)
    # boundary strength in units of the two superpixels' own neighbour differences, so that
    # a grainy region's boundaries are judged against its grain, a smooth region's against its smoothness
    inner = inner_sum / np.maximum(inner_count, 1)
    inner_edge = np.maximum(0.5 * (inner[lo] + inner[hi]), 2.0 * n_features * _MIN_NOISE_VARIANCE)
    bterm = _affinity(boundary_sq / inner_edge, 1.0, contrast)
    w = contact * bterm * _affinity(region_sq, 1.0, contrast)
    weights = sparse.csr_array(
        (np.concatenate([w, w]), (np.concatenate([lo, hi]), np.concatenate([hi, lo]))), shape=(n, n)
    )
    contacts = sparse.csr_array(
        (np.concatenate([contact, contact]), (np.concatenate([lo, hi]), np.concatenate([hi, lo]))), shape=(n, n)
    )
    return AffinityGraph(
        weights=weights, self_weight=np.zeros(n), node_of_pixel=inverse, size=size, contact=contacts
    )


def _region_medians(nodes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per-node median of each column of ``values`` (``nodes``: a node number per row, 0 .. n - 1).

    One sort per column of the key ``node + value scaled into [0, 0.5]``,
    which orders the rows by node and, within a node, by value.
    """
    size = np.bincount(nodes, minlength=n)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    low = start + (np.maximum(size, 1) - 1) // 2
    high = start + np.maximum(size, 1) // 2
    out = np.zeros((n, values.shape[1]))
    for f in range(values.shape[1]):
        column = values[:, f]
        lo, hi = float(column.min()), float(column.max())
        scaled = (column - lo) * (0.5 / (hi - lo)) if hi > lo else np.zeros_like(column)
        ordered = column[np.argsort(nodes + scaled)]
        out[:, f] = 0.5 * (ordered[low] + ordered[high])
    return out


def slic_superpixels(
    data: np.ndarray,
    spacing: Sequence[float],
    *,
    n_superpixels: int,
    compactness: float,
) -> np.ndarray:
    """SLIC superpixels (labels from 1) of a prepared channels-last image in [0, 1].

    Calls ``skimage.segmentation.slic(data, n_segments=n_superpixels,
    compactness=compactness, sigma=1, spacing=spacing, channel_axis=-1,
    start_label=1)``; three channels are converted to CIELAB first, as SLIC
    does by default.  The light pre-smoothing (``sigma=1`` pixel) matters on
    noisy images: without it SLIC's clusters fragment and its connectivity
    step merges the fragments, which on a 512 x 512 RGB image with noise of
    20 grey levels left a single superpixel.  If a superpixel still comes
    out more than ``_MAX_SUPERPIXEL_FACTOR`` times the requested size, SLIC
    is run again with three times the compactness (twice at most), and a
    warning says so if that does not help either.
    """
    from skimage.segmentation import slic

    n_pixels = int(np.prod(data.shape[:-1]))
    expected = n_pixels / max(int(n_superpixels), 1)
    for attempt in range(3):
        labels = slic(
            data,
            n_segments=int(n_superpixels),
            compactness=float(compactness) * 3**attempt,
            sigma=1.0,
            spacing=np.asarray(spacing, dtype=float),
            channel_axis=-1,
            start_label=1,
        ).astype(np.int64, copy=False)
        largest = int(np.bincount(labels.ravel()).max())
        if largest <= _MAX_SUPERPIXEL_FACTOR * expected or n_pixels <= _MAX_SUPERPIXEL_FACTOR * expected:
            return labels
    warnings.warn(
        f"SLIC gave a superpixel of {largest:,} pixels ({largest / expected:.0f}x the requested size) even with "
        f"compactness {float(compactness) * 9:g}; segments may merge regions. Pass your own superpixels or "
        "a larger n_superpixels / compactness",
        UserWarning,
        stacklevel=4,
    )
    return labels
