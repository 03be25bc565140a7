"""Steps shared by normalized cut and spectral clustering: graph choice, rng, output labels."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, fields
from typing import Any, Callable, Dict, Optional

import numpy as np

from .._errors import InputError, ResourceLimitError
from .._labels import label_dtype
from .._progress import Reporter
from .._validation import check_int, check_positive_number, check_rng
from ..graph.memory import MEMORY_FRACTION, available_memory
from ._input import PreparedImage, prepare_image
from .affinity import AffinityGraph, lu_fill, pixel_graph, pixel_graph_bytes, region_graph, slic_superpixels

__all__ = [
    "AUTO_LU_FILL",
    "GraphJob",
    "GraphOptions",
    "build_graph",
    "make_rng",
    "order_labels",
    "start_graph_job",
]

logger = logging.getLogger(__name__)

# superpixels=None runs on pixels while the eigensolver's LU factor stays this small
# (about 16,000 pixels in 2-D, 4,000 voxels in 3-D; about a second per eigensolve)
AUTO_LU_FILL = 1.5e6
DEFAULT_N_SUPERPIXELS = 400
#: seconds per non-zero of the LU factor (:func:`lu_fill`) for one shift-invert eigensolve of a pixel
#: graph, measured with normalized_cut(superpixels="pixels", n_segments=2) from 64 x 64 to 256 x 256 on
#: 2 shared cores (256 x 256: 1.2e7 non-zeros, 1.5 s)
EIGENSOLVE_SECONDS_PER_FILL = 1.3e-7
# the object-scale default (about 4 superpixels per object) is kept within these bounds
AUTO_SUPERPIXELS = (200, 1000)


@dataclass
class GraphOptions:
    """The affinity options both methods take (see their docstrings)."""

    superpixels: Any = None
    n_superpixels: Optional[int] = None
    compactness: Optional[float] = None
    smoothing: float = 0.0
    texture_sigma: float = 2.0
    texture_weight: float = 0.0
    contrast: float = 1.0
    memory_limit: Optional[int] = None


@dataclass
class GraphJob:
    """What both methods start from: the prepared image, checked options, the random state, progress."""

    prepared: PreparedImage
    options: GraphOptions
    rng: np.random.Generator
    report: Reporter


def start_graph_job(arguments: Dict[str, Any], *, method: str) -> GraphJob:
    """Parse the image and check the options both methods share, before any work.

    Parameters
    ----------
    arguments : dict
        The method's arguments by name (``locals()`` as its first statement):
        ``image``, ``channel_axis``, ``spacing``, the fields of
        :class:`GraphOptions`, ``solver``, ``rng`` and ``progress``.
    method : str
        The method's name, for messages.
    """
    prepared = prepare_image(arguments["image"], channel_axis=arguments["channel_axis"],
                             spacing=arguments["spacing"], method=method)
    options = checked_options(solver=arguments["solver"],
                              **{field.name: arguments[field.name] for field in fields(GraphOptions)})
    return GraphJob(prepared, options, make_rng(arguments["rng"]), Reporter(arguments["progress"]))


def make_rng(rng: Any) -> np.random.Generator:
    """The package's one meaning of ``rng`` (:func:`napari_segkit._validation.check_rng`):
    None = fresh entropy, an integer = a reproducible seed, a Generator as it is."""
    return check_rng(rng)


def checked_options(*, solver: str, **values: Any) -> GraphOptions:
    """:class:`GraphOptions` from both methods' keywords, validated, and the solver checked."""
    from .laplacian import _resolve_solver

    options = GraphOptions(**values)
    check_options(options)
    _resolve_solver(solver, 0)
    return options


def check_options(options: GraphOptions) -> None:
    """Validate the numeric options before any work."""
    if options.n_superpixels is not None:
        options.n_superpixels = check_int(options.n_superpixels, name="n_superpixels", low=2)
    if options.compactness is not None:
        options.compactness = check_positive_number(options.compactness, name="compactness")
    options.smoothing = check_positive_number(options.smoothing, name="smoothing", allow_zero=True)
    options.texture_sigma = check_positive_number(options.texture_sigma, name="texture_sigma")
    options.texture_weight = check_positive_number(options.texture_weight, name="texture_weight", allow_zero=True)
    options.contrast = check_positive_number(options.contrast, name="contrast", allow_zero=True)
    if options.memory_limit is not None:
        options.memory_limit = check_int(options.memory_limit, name="memory_limit", low=1)
    sp = options.superpixels
    if isinstance(sp, str) and sp not in ("slic", "pixels"):
        raise InputError(f"superpixels must be None, 'slic', 'pixels' or a label array; got {sp!r}")


def _check_superpixel_array(superpixels: Any, prepared: PreparedImage) -> np.ndarray:
    array = np.asarray(superpixels)
    if array.dtype.kind not in "iub":
        raise InputError(
            f"superpixels must be an integer label array, got dtype {array.dtype}"
        )
    if array.shape != prepared.spatial_shape:
        raise InputError(
            f"superpixels has shape {array.shape} but the image's shape without channels is "
            f"{prepared.spatial_shape}"
        )
    if array.size and array.min() < 0:
        raise InputError(f"superpixels has negative labels (minimum {int(array.min())}); use 0 for pixels to leave out")
    array = array.reshape(prepared.data.shape[:-1]).astype(np.int64, copy=False)
    if not np.any(array > 0):
        raise InputError("superpixels has no label above 0: every pixel is left out")
    return array


def build_graph(prepared: PreparedImage, options: GraphOptions, *, method: str, report=None,
                solves: Callable[[int], float] = lambda n_nodes: 1.0) -> AffinityGraph:
    """Features, then the pixel graph or the region graph over superpixels.

    Before the work, the time it should take is announced on ``report``
    (:func:`napari_segkit._progress.announce_estimate`): SLIC on the image
    for superpixels, or ``solves(n_nodes)`` eigensolves of the pixel graph (about
    the LU fill times :data:`EIGENSOLVE_SECONDS_PER_FILL` each).

    Raises
    ------
    ResourceLimitError
        ``superpixels="pixels"`` and the pixel graph would not fit in memory.
    """
    from .affinity import image_features

    shape = prepared.data.shape[:-1]
    ndim = len(shape)
    n_pixels = int(np.prod(shape))
    choice = options.superpixels
    n_features = prepared.data.shape[-1] * (2 if options.texture_weight > 0 else 1)
    if isinstance(choice, str) and choice == "pixels":
        need = pixel_graph_bytes(n_pixels, ndim, n_features)
        limit = (
            int(MEMORY_FRACTION * available_memory()) if options.memory_limit is None else options.memory_limit
        )
        if need > limit:
            raise ResourceLimitError(
                f"{method} on the pixel graph of {n_pixels:,} pixels needs about {need / 1e9:.2f} GB "
                f"but {limit / 1e9:.2f} GB is allowed; use superpixels (superpixels=None or 'slic', "
                "or your own label array), crop or downsample the image"
            )
    elif choice is None:
        if lu_fill(n_pixels, ndim) <= AUTO_LU_FILL:
            choice = "pixels"
        else:
            choice = "slic"
            _default_superpixels(options, prepared, method)
            warnings.warn(
                f"image has {n_pixels:,} pixels: {method} runs on about {options.n_superpixels} SLIC "
                "superpixels; pass superpixels='slic' to silence this or superpixels='pixels' "
                "to force the (slow, memory-hungry) pixel graph",
                UserWarning,
                stacklevel=3,
            )
    if report is not None:
        _announce(report, prepared, choice, method, solves)
    features = image_features(
        prepared.data,
        prepared.spacing,
        smoothing=options.smoothing,
        texture_sigma=options.texture_sigma,
        texture_weight=options.texture_weight,
    )
    if isinstance(choice, str) and choice == "pixels":
        return pixel_graph(features, prepared.spacing, contrast=options.contrast)
    if isinstance(choice, str):  # "slic"
        _default_superpixels(options, prepared, method)
        compactness = options.compactness
        if compactness is None:
            compactness = 10.0 if prepared.data.shape[-1] == 3 else 0.1
        labels = slic_superpixels(
            prepared.data, prepared.spacing, n_superpixels=options.n_superpixels, compactness=compactness
        )
    else:
        labels = _check_superpixel_array(choice, prepared)
    return region_graph(features, labels, prepared.spacing, contrast=options.contrast)


def graph_seconds(spatial_shape, n_channels: int, choice: Any, solves: float) -> float:
    """An estimate of the seconds a method spends on its graph: SLIC, or ``solves`` pixel-graph eigensolves."""
    if isinstance(choice, str) and choice == "slic":
        from ..superpixels import slic_seconds

        return slic_seconds(spatial_shape, n_channels)
    if isinstance(choice, str):  # "pixels"
        n_pixels = int(np.prod(spatial_shape))
        return EIGENSOLVE_SECONDS_PER_FILL * lu_fill(n_pixels, len(spatial_shape)) * solves
    return 0.0  # the caller's superpixels: a small region graph


def _announce(report, prepared: PreparedImage, choice: Any, method: str, solves: Callable[[int], float]) -> None:
    from .._progress import announce_estimate

    if not isinstance(choice, str):  # the caller's superpixels: a small region graph
        return
    shape = prepared.data.shape[:-1]
    n_pixels = int(np.prod(shape))
    n_solves = solves(n_pixels)
    seconds = graph_seconds(shape, prepared.data.shape[-1], choice, n_solves)
    what = (f"SLIC superpixels of {n_pixels:,} pixels" if choice == "slic"
            else f"{n_solves:.0f} eigensolve(s) of the pixel graph of {n_pixels:,} nodes")
    advice = ("crop or downsample the image" if choice == "slic"
              else "superpixels=None or 'slic' works on a few hundred nodes instead (seconds); or crop")
    announce_estimate(report, seconds, method=method, what=what, advice=advice)


def _default_superpixels(options: GraphOptions, prepared, method: str) -> None:
    """``n_superpixels=None``: about four per object of the image's object scale, 200 to 1000."""
    if options.n_superpixels is not None:
        return
    from .._scale import object_radius, superpixels_for

    radius = object_radius(prepared.data, prepared.spacing)
    low, high = AUTO_SUPERPIXELS
    options.n_superpixels = int(np.clip(superpixels_for(prepared.data.shape[:-1], radius), low, high))
    logger.info("%s: objects of radius about %.1f pixels, so n_superpixels=%d", method, radius,
                options.n_superpixels)


def order_labels(node_labels: np.ndarray, graph: AffinityGraph, prepared: PreparedImage) -> np.ndarray:
    """Pixel labels from node labels, numbered 1, 2, ... in order of each segment's first pixel.

    The first pixel is taken in C (raster) order of the output array, so the
    numbering does not depend on how the eigensolver or k-means numbered them.
    Pixels outside every node (superpixel label 0) get 0.
    """
    node_of_pixel = graph.node_of_pixel.ravel()
    inside = node_of_pixel >= 0
    raw = np.full(node_of_pixel.shape, -1, dtype=np.int64)
    raw[inside] = np.asarray(node_labels, dtype=np.int64)[node_of_pixel[inside]]
    values, first = np.unique(raw, return_index=True)
    keep = values >= 0
    values, first = values[keep], first[keep]
    order = values[np.argsort(first, kind="stable")]
    lookup = np.zeros(int(order.max()) + 2 if order.size else 1, dtype=np.int64)
    lookup[order] = np.arange(1, order.size + 1)
    out = np.where(raw >= 0, lookup[np.maximum(raw, 0)], 0)
    return out.astype(label_dtype(order.size), copy=False).reshape(prepared.spatial_shape)

