"""K-means clustering of pixels by intensity, colour and (optionally) position."""

from __future__ import annotations

import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .._image import run_frames
from .._validation import check_int, check_positive_number, validate_options
from ._order import cluster_ids
from .features import (
    DEFAULT_MAX_SAMPLES,
    fit_spec,
    label_pixels,
    parse,
    physical_extent,
    prepare,
    sample_pixels,
)

__all__ = ["kmeans"]


def nearest_centre(features: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre (squared Euclidean) for each feature row.

    Computed centre by centre, element-wise in float32, so the answer for a
    pixel does not depend on the block it was computed in.
    """
    best = np.full(len(features), np.inf, dtype=np.float32)
    index = np.zeros(len(features), dtype=np.int64)
    for j, centre in enumerate(centres.astype(np.float32)):
        d = np.square(features - centre).sum(axis=1)
        closer = d < best
        best[closer] = d[closer]
        index[closer] = j
    return index


@validate_options
def kmeans(
    image: Any,
    n_clusters: int,
    *,
    channel_axis: Optional[int] = None,
    rgb: Optional[bool] = None,
    spatial_weight: float = 0.0,
    spacing: Optional[Sequence[float]] = None,
    mask: Any = None,
    spatial_dims: Optional[int] = None,
    memory_limit: Any = None,
    rng: Any = None,
    instances: bool = False,
    max_samples: int = DEFAULT_MAX_SAMPLES,
    n_init: int = 1,
    max_iter: int = 300,
    progress: Optional[Callable[[float, str], None]] = None,
) -> Any:
    """Cluster the pixels of an image into ``n_clusters`` groups by K-means.

    Each pixel's features are its intensities in every channel (CIELAB for
    colour images), normalised per channel by robust percentiles so the
    result does not depend on dtype or magnitude, and optionally its position
    (see ``spatial_weight``).  The centres are fitted (scikit-learn's
    ``KMeans``, k-means++ initialisation) on up to ``max_samples`` pixels
    drawn by ``rng``; every pixel then gets the nearest centre, block by
    block, so memory stays bounded.  Clusters are numbered by their mean
    intensity in the first channel (lightness for colour), ascending: on a
    dark background the background is 1.

    Parameters
    ----------
    image : (..., M, N[, P][, C]) array-like
        2-D or 3-D image, with up to two leading axes processed frame by
        frame (``spatial_dims``); any real dtype, numpy or dask (also zarr
        through ``dask.array.from_zarr``).  A dask image without frame axes
        gives a lazy dask result.
    n_clusters : int
        Number of clusters; capped, with a warning, at the number of distinct
        feature values in the fitted pixels.
    channel_axis : int, optional
        Axis holding channels (colour or fluorescence).  None: grayscale.
    rgb : bool, optional
        Treat the channels as RGB(A) and cluster in CIELAB.  Default: True
        for uint8 images with 3 or 4 channels, False otherwise (a 3-channel
        uint16 fluorescence image is not colour).  Alpha is dropped.
    spatial_weight : float
        Weight of pixel position against intensity.  0 (default) ignores
        position; 1 gives the image's largest physical side the weight of the
        whole intensity range, so clusters become more compact blobs.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis (positions are in physical units).
    mask : (M, N[, P]) array of bool, optional
        Only pixels where ``mask`` is True are clustered; others get 0.
    spatial_dims : {2, 3}, optional
        Trailing spatial axes; the axes before them (time, position) are
        frames, clustered one by one (each with its own centres and up to
        ``n_clusters`` clusters), with ids unique over the result: frame
        ``t``'s ids follow the largest id of the frames before it.  Default:
        2 for a 2-D image, else 3 (a 3-D image is one volume; a 4-D image a
        series of volumes).
    memory_limit : int or str, optional
        Bytes the job may use (``"4G"`` too); default 80 % of the memory
        available now.  A job that would need more is refused before any
        work.
    rng : int or numpy.random.Generator, optional
        Seed for the sample and the initialisation: None = fresh entropy (as
        everywhere in the package), an integer = the same image and seed
        give the same labels, for numpy and dask input alike.
    instances : bool
        Return connected components of the clusters (face neighbours), each
        with its own id, instead of cluster ids.
    max_samples : int
        Pixels used to fit the normalisation and the centres (default
        100 000; all pixels for smaller images).
    n_init, max_iter : int
        As in ``sklearn.cluster.KMeans``.
    progress : callable, optional
        ``progress(fraction, message)``, called between stages and between
        blocks of a numpy image; it may raise :class:`napari_segkit.Cancelled`.

    Returns
    -------
    labels : ndarray (or dask array) of int32
        The image's shape without the channel axis; cluster ids ``1..k`` (or
        instance ids), 0 outside ``mask``.

    Raises
    ------
    InputError
        Bad image or option (empty, 1-D, complex, NaN/inf inside the mask,
        a wrong mask shape...); the message names the argument and value.
    Cancelled
        Raised by ``progress``.

    Warns
    -----
    UserWarning
        Boolean image, constant image (one cluster), or fewer distinct values
        than ``n_clusters``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import kmeans
    >>> image = np.zeros((20, 20)); image[5:15, 5:15] = 1
    >>> labels = kmeans(image, 2, rng=0)
    >>> int((labels == 2).sum())
    100
    """
    arguments = locals()
    n_clusters = check_int(n_clusters, name="n_clusters", low=1)
    spatial_weight = check_positive_number(spatial_weight, name="spatial_weight", allow_zero=True)
    max_samples = check_int(max_samples, name="max_samples", low=1)
    n_init = check_int(n_init, name="n_init", low=1)
    max_iter = check_int(max_iter, name="max_iter", low=1)
    parsed = parse(image, method="kmeans", channel_axis=channel_axis, spacing=spacing, spatial_dims=spatial_dims,
                   mask=mask)
    if parsed.frame_shape:
        return run_frames(kmeans, parsed, arguments, task=("n_clusters",))
    prep = prepare(parsed, rgb=rgb, method="kmeans")
    sample, report, generator = sample_pixels(
        prep, method="kmeans", rng=rng, max_samples=max_samples, progress=progress,
        memory_limit=memory_limit, instances=bool(instances),
    )

    spatial = None
    if spatial_weight > 0:
        extent = physical_extent(prep.spatial_shape, prep.spacing)
        spatial = spatial_weight * np.asarray(prep.spacing) / extent
    spec = fit_spec(prep, sample.values, spatial_factor=spatial)
    features = spec.transform(sample.values, sample.coords.astype(np.float64))
    report(0.1, "fitting cluster centres")

    if spec.constant:
        warnings.warn(
            "image is constant inside the mask: returning one cluster"
            if spatial is None
            else "image is constant inside the mask: clusters follow position only",
            UserWarning,
            stacklevel=2,
        )
    distinct = np.unique(features, axis=0)
    k = n_clusters
    if len(distinct) <= k:
        if len(distinct) < k and not (spec.constant and spatial is None):
            warnings.warn(
                f"only {len(distinct)} distinct feature values in the fitted pixels, fewer "
                f"than n_clusters={n_clusters}: using {len(distinct)} clusters",
                UserWarning,
                stacklevel=2,
            )
        centres = distinct.astype(np.float64)
    else:
        from sklearn.cluster import KMeans

        model = KMeans(
            n_clusters=k,
            n_init=n_init,
            max_iter=max_iter,
            random_state=int(generator.integers(2**31 - 1)),
        )
        model.fit(features)
        centres = model.cluster_centers_
    ids = cluster_ids(centres)
    centres = centres[np.argsort(ids)]
    report(0.3, f"assigning pixels to {len(centres)} clusters")

    def label_block(block, mblock, origin):
        feats = spec.block_features(block, origin)
        labels = (nearest_centre(feats, centres) + 1).astype(np.int32)
        labels = labels.reshape(block.shape[:-1])
        if mblock is not None:
            labels[~mblock] = 0
        return labels

    return label_pixels(prep, label_block, bool(instances), report)
