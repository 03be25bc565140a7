"""Mean shift clustering of pixels, with modes found in a binned feature space.

The algorithm is scikit-learn's ``MeanShift`` with ``bin_seeding=True``
(flat kernel, seeds on a grid of one bandwidth, modes closer than one
bandwidth merged keeping the most populated) computed differently:

* pixels with identical features are counted once, with a weight (images have
  few distinct values: 256 per uint8 channel); when the distinct values are
  still more than ``max_points``, they are pooled into cells of
  ``bin_fraction`` bandwidths holding their exact sum and count, so a window
  sum is exact for every cell inside the window;
* all seeds move together: one matrix product per iteration gives every
  seed's window count and sum (or a k-d tree's sparse distance matrix when
  seeds x points is large);
* pixels are then assigned to their nearest mode block by block.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from .._image import run_frames
from .._progress import Reporter, announce_estimate
from .._validation import check_int, check_positive_number, check_rng, validate_options
from ._order import cluster_ids
from .features import DEFAULT_MAX_SAMPLES, fit_spec, label_pixels, parse, prepare, sample_pixels

__all__ = ["estimate_bandwidth", "find_modes", "mean_shift"]

#: seconds per pixel to assign to its nearest mode, and per fitted pixel to find the modes without and
#: with position, measured on 256 x 256 to 1024 x 1024 images on 2 shared cores (1024 x 1024: 0.6 s
#: intensity only; 512 x 512 with spatial_bandwidth: 3.4 s)
MEAN_SHIFT_SECONDS = {"assign": 5e-7, "modes": 3e-6, "modes with position": 3e-5}
DENSE_LIMIT = 1 << 20  # seeds x points per matrix product block (fits in cache)
TREE_LIMIT = 10**6  # seeds x points above which a k-d tree finds the windows (faster)
MAX_POINTS = 30_000


def estimate_bandwidth(
    features: np.ndarray, *, quantile: float = 0.3, n_samples: int = 2000, rng: Any = None
) -> float:
    """Mean distance of each point to its ``quantile * n``-th nearest neighbour.

    The estimate of ``sklearn.cluster.estimate_bandwidth`` on at most
    ``n_samples`` points drawn by ``rng`` (a k-d tree instead of a ball tree).
    """
    from scipy.spatial import cKDTree

    features = np.asarray(features, dtype=np.float64)
    generator = check_rng(rng)
    if len(features) > n_samples:
        features = features[np.sort(generator.choice(len(features), n_samples, replace=False))]
    k = max(1, int(len(features) * quantile))
    dist, _ = cKDTree(features).query(features, k=[k])
    return float(dist.mean())


def mean_shift_seconds(n_pixels: int, n_samples: int, spatial: bool) -> float:
    """An estimate of the seconds :func:`mean_shift` takes (modes of the sample, then every pixel)."""
    per_sample = MEAN_SHIFT_SECONDS["modes with position" if spatial else "modes"]
    return MEAN_SHIFT_SECONDS["assign"] * n_pixels + per_sample * n_samples


def _group_rows(keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of an int (n, F) array: (first index, inverse, counts).

    A lexicographic sort (much faster than ``np.unique(axis=0)``).
    """
    order = np.lexsort(keys.T[::-1])
    ordered = keys[order]
    new = np.empty(len(keys), dtype=bool)
    new[:1] = True
    np.any(ordered[1:] != ordered[:-1], axis=1, out=new[1:])
    group = np.cumsum(new) - 1
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = group
    counts = np.bincount(group)
    return order[new], inverse, counts


def _compress(points: np.ndarray, cell: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pool ``points`` (n, F) into cells of side ``cell`` (in bandwidths).

    Returns (means (B, F), sums (B, F), counts (B,)); sums and counts are
    exact, so a window holding whole cells has the exact sum.  A cell of
    1e-6 only pools points that are equal for any practical purpose.
    """
    keys = np.floor(points / cell).astype(np.int64)
    _, inverse, counts = _group_rows(keys)
    sums = np.zeros((len(counts), points.shape[1]))
    for f in range(points.shape[1]):
        sums[:, f] = np.bincount(inverse, weights=points[:, f], minlength=len(counts))
    counts = counts.astype(np.float64)
    return sums / counts[:, None], sums, counts


def _window_stats(
    seeds: np.ndarray, means: np.ndarray, sums: np.ndarray, counts: np.ndarray, tree: Any
) -> Tuple[np.ndarray, np.ndarray]:
    """Count and sum of the points within distance 1 of each seed."""
    n_seeds, n_points = len(seeds), len(means)
    if tree is None:
        # one product gives counts and sums: [counts | sums] (B, F + 1)
        stacked = np.concatenate([counts[:, None], sums], axis=1)
        result = np.empty((n_seeds, stacked.shape[1]))
        sq_points = np.square(means).sum(axis=1)
        means_t = np.ascontiguousarray(means.T)
        step = max(1, DENSE_LIMIT // max(n_points, 1))
        for start in range(0, n_seeds, step):
            part = seeds[start:start + step]
            d2 = part @ means_t
            d2 *= -2.0
            d2 += sq_points
            d2 += np.square(part).sum(axis=1)[:, None]
            inside = np.less_equal(d2, 1.0, out=np.empty(d2.shape, dtype=bool))
            result[start:start + step] = inside.view(np.uint8).astype(np.float64) @ stacked
        return result[:, 0], result[:, 1:]
    from scipy.spatial import cKDTree

    pairs = cKDTree(seeds).sparse_distance_matrix(tree, 1.0, output_type="ndarray")
    rows, cols = pairs["i"], pairs["j"]
    total = np.bincount(rows, weights=counts[cols], minlength=n_seeds)
    window = np.stack(
        [np.bincount(rows, weights=sums[cols, f], minlength=n_seeds) for f in range(sums.shape[1])],
        axis=1,
    )
    return total, window


def _shift(seeds, points, max_iter, report, start, stop):
    """Move every seed to the mean of its window until it stops; (positions, window counts)."""
    from scipy.spatial import cKDTree

    means, sums, counts = points
    tree = cKDTree(means) if len(seeds) * len(means) > TREE_LIMIT else None
    current = np.array(seeds, dtype=np.float64)
    population = np.zeros(len(seeds))
    active = np.arange(len(seeds))
    for iteration in range(max_iter):
        if report is not None:
            report(start + (stop - start) * iteration / max_iter,
                   f"mean shift: {len(active)} seeds moving")
        total, window = _window_stats(current[active], means, sums, counts, tree)
        empty = total == 0
        new = np.where(empty[:, None], current[active], window / np.maximum(total, 1e-300)[:, None])
        shift = np.sqrt(np.square(new - current[active]).sum(axis=1))
        population[active] = total
        current[active] = new
        done = (shift <= 1e-3) | empty
        active = active[~done]
        if len(active) == 0:
            break
    return current, population


def find_modes(
    features: np.ndarray,
    *,
    min_bin_freq: int = 1,
    max_iter: int = 300,
    max_points: int = MAX_POINTS,
    bin_fraction: float = 0.125,
    report: Optional[Callable[[float, str], None]] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Modes of ``features`` (n, F) under a flat kernel of radius 1.

    Returns (modes (m, F), counts (m,)), most populated first.
    """
    from scipy.spatial import cKDTree

    features = np.asarray(features, dtype=np.float64)
    # seeds: occupied cells of one bandwidth (sklearn's get_bin_seeds)
    rounded = np.round(features).astype(np.int64)
    first, _, bin_counts = _group_rows(rounded)
    binned = rounded[first].astype(np.float64)
    seeds = binned[bin_counts >= min_bin_freq]
    if len(seeds) == 0:
        seeds = binned
    exact = _compress(features, 1e-6)
    if len(exact[0]) > max_points:
        # move on pooled cells first, then finish each path on the exact points
        pooled = _compress(features, bin_fraction)
        current, _ = _shift(seeds, pooled, max_iter, report, 0.0, 0.7)
        seeds = current[_group_rows(np.round(current * 1e4).astype(np.int64))[0]]
        current, population = _shift(seeds, exact, max_iter, report, 0.7, 1.0)
    else:
        current, population = _shift(seeds, exact, max_iter, report, 0.0, 1.0)
    keep = population > 0
    current, population = current[keep], population[keep]
    # merge modes within one bandwidth, most populated first
    # as scikit-learn: by window count, then by position, descending
    order = np.lexsort(tuple(current.T[::-1]) + (population,))[::-1]
    current, population = current[order], population[order]
    unique = np.ones(len(current), dtype=bool)
    neighbours = cKDTree(current).query_ball_point(current, 1.0)
    for i in range(len(current)):
        if unique[i]:
            unique[neighbours[i]] = False
            unique[i] = True
    return current[unique], population[unique]


@validate_options
def mean_shift(
    image: Any,
    *,
    bandwidth: Optional[float] = None,
    spatial_bandwidth: Optional[float] = None,
    channel_axis: Optional[int] = None,
    rgb: Optional[bool] = None,
    spacing: Optional[Sequence[float]] = None,
    mask: Any = None,
    spatial_dims: Optional[int] = None,
    memory_limit: Any = None,
    rng: Any = None,
    instances: bool = False,
    quantile: float = 0.3,
    min_bin_freq: int = 1,
    max_samples: int = DEFAULT_MAX_SAMPLES,
    max_iter: int = 300,
    progress: Optional[Callable[[float, str], None]] = None,
) -> Any:
    """Cluster the pixels of an image by mean shift (number of clusters found).

    Features are as for :func:`kmeans`: robustly normalised intensities of
    every channel (CIELAB for colour), so that 1 is about the intensity range
    of each channel, optionally joined by position.  Modes are found on up to
    ``max_samples`` pixels drawn by ``rng``, with a flat kernel and seeds on a
    grid as ``sklearn.cluster.MeanShift(bin_seeding=True)``; every pixel then
    gets its nearest mode, block by block.  Clusters are numbered by the
    first feature of their mode, ascending.

    Parameters
    ----------
    image : (..., M, N[, P][, C]) array-like
        As in :func:`kmeans`.
    bandwidth : float, optional
        Kernel radius in normalised intensity units (1 = the 1st-99th
        percentile range of a channel).  Default: estimated from the data as
        ``sklearn.cluster.estimate_bandwidth`` does, with ``quantile``.
    spatial_bandwidth : float, optional
        Kernel radius over position, in physical units (``spacing``).  When
        given, a pixel's window joins intensity and position (mean shift
        filtering in the sense of Comaniciu and Meer): similar regions far
        apart become separate clusters.  Default None: intensity only.
    channel_axis, rgb, spacing, mask, spatial_dims, memory_limit, rng, instances, max_samples
        As in :func:`kmeans` (with ``spatial_dims``, each frame finds its own
        modes).
    quantile : float
        Quantile of pairwise distances used to estimate ``bandwidth``.
    min_bin_freq : int
        Seeds are the grid cells holding at least this many fitted pixels.
    max_iter : int
        Most iterations per seed.
    progress : callable, optional
        ``progress(fraction, message)``, called between iterations and blocks;
        it may raise :class:`napari_segkit.Cancelled`.

    Returns
    -------
    labels : ndarray (or dask array) of int32
        Cluster ids ``1..k`` (or instance ids), 0 outside ``mask``.

    Raises
    ------
    InputError
        Bad image or option, NaN/inf inside the mask.
    Cancelled
        Raised by ``progress``.

    Warns
    -----
    UserWarning
        Boolean or constant image.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import mean_shift
    >>> image = np.zeros((20, 20)); image[5:15, 5:15] = 1
    >>> labels = mean_shift(image, bandwidth=0.5)
    >>> sorted(np.unique(labels).tolist())
    [1, 2]
    """
    arguments = locals()
    if bandwidth is not None:
        bandwidth = check_positive_number(bandwidth, name="bandwidth")
    if spatial_bandwidth is not None:
        spatial_bandwidth = check_positive_number(spatial_bandwidth, name="spatial_bandwidth")
    quantile = check_positive_number(quantile, name="quantile")
    if quantile > 1:
        from .._errors import InputError

        raise InputError(f"quantile must be in (0, 1], got {quantile!r}")
    min_bin_freq = check_int(min_bin_freq, name="min_bin_freq", low=1)
    max_samples = check_int(max_samples, name="max_samples", low=1)
    max_iter = check_int(max_iter, name="max_iter", low=1)
    parsed = parse(image, method="mean_shift", channel_axis=channel_axis, spacing=spacing,
                   spatial_dims=spatial_dims, mask=mask)
    if parsed.frame_shape:
        return run_frames(mean_shift, parsed, arguments)
    prep = prepare(parsed, rgb=rgb, method="mean_shift")
    n_samples = min(prep.n_pixels, max_samples)
    seconds = mean_shift_seconds(prep.n_pixels, n_samples, spatial_bandwidth is not None)
    announce_estimate(Reporter(progress), seconds, method="mean_shift",
                      what=f"modes of {n_samples:,} pixels, then {prep.n_pixels:,} pixels assigned",
                      advice="a smaller max_samples, or kmeans with a chosen number of clusters")
    sample, report, generator = sample_pixels(
        prep, method="mean_shift", rng=rng, max_samples=max_samples, progress=progress,
        memory_limit=memory_limit, instances=bool(instances),
    )
    spec = fit_spec(prep, sample.values)
    if spec.constant:
        warnings.warn(
            "image is constant inside the mask: returning one cluster"
            if spatial_bandwidth is None
            else "image is constant inside the mask: clusters follow position only",
            UserWarning,
            stacklevel=2,
        )
    if bandwidth is None:
        report(0.1, "estimating the bandwidth")
        intensity = spec.transform(sample.values)
        bandwidth = estimate_bandwidth(intensity, quantile=quantile, rng=generator)
        if not bandwidth > 0:
            bandwidth = 1.0
    spec.intensity_factor = 1.0 / bandwidth
    if spatial_bandwidth is not None:
        spec.spatial = np.asarray(prep.spacing) / spatial_bandwidth
    spec.extra["bandwidth"] = bandwidth
    features = spec.transform(sample.values, sample.coords.astype(np.float64))
    modes, _ = find_modes(
        features, min_bin_freq=min_bin_freq, max_iter=max_iter, report=report.sub(0.15, 0.3)
    )
    ids = cluster_ids(modes)
    modes = modes[np.argsort(ids)]
    report(0.3, f"assigning pixels to {len(modes)} modes")
    from scipy.spatial import cKDTree

    tree = cKDTree(modes)

    def label_block(block, mblock, origin):
        feats = spec.block_features(block, origin)
        if mblock is not None:  # values outside the mask may be NaN
            feats[~mblock.reshape(-1)] = 0
        _, index = tree.query(feats)
        labels = (np.asarray(index) + 1).astype(np.int32).reshape(block.shape[:-1])
        if mblock is not None:
            labels[~mblock] = 0
        return labels

    return label_pixels(prep, label_block, bool(instances), report)
