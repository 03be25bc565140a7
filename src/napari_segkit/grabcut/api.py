"""``grabcut``: boxes and scribbles to instance labels, 2-D and 3-D, any channels."""

from __future__ import annotations

import logging
import numbers
import warnings
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np

from .._errors import InputError
from .._labels import label_dtype
from .._progress import Reporter
from .._validation import (
    as_image_array,
    check_channel_axis,
    check_finite,
    check_positive_number,
    check_spacing,
    check_spatial_dims,
    move_channels_last,
)
from ..graph.memory import GraphBudget, check_graph_budget, graph_bytes
from ..graph.neighbourhood import neighbour_offsets, resolve_connectivity
from .boxes import check_boxes
from .core import SMOOTHNESS_PER_PIXEL, CutParams
from .frames import (
    GrabCutReport,
    ObjectReport,
    boxes_frame,
    is_constant,
    seeds_frame,
    shrink_whole_frame_boxes,
    warn_degenerate,
)
from .seeds import BACKGROUND, OBJECT, check_grabcut_seeds
from .._validation import validate_options

__all__ = ["grabcut", "GrabCutReport", "ObjectReport", "DEFAULT_SMOOTHNESS", "SMOOTHNESS_PER_PIXEL"]

logger = logging.getLogger(__name__)

#: default weight of the boundary term: "auto", scaled to each object's size (see docs/grabcut.md)
DEFAULT_SMOOTHNESS = "auto"



def _check_int(value: Any, name: str, low: int, high: Optional[int] = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < low or (
        high is not None and value > high
    ):
        bounds = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"
        raise InputError(f"{name} must be {bounds}, got {value!r}")
    return int(value)


@validate_options
def grabcut(
    image: Any,
    boxes: Any = None,
    *,
    seeds: Any = None,
    spacing: Optional[Sequence[float]] = None,
    channel_axis: Optional[int] = None,
    spatial_dims: Optional[int] = None,
    n_components: int = 5,
    max_iter: int = 10,
    smoothness: Any = DEFAULT_SMOOTHNESS,
    connectivity: int = 1,
    margin: Optional[float] = None,
    tol: float = 1e-3,
    single_component: bool = True,
    reuse_models: bool = False,
    memory_limit: Optional[int] = None,
    rng: Any = None,
    progress: Optional[Callable[[float, str], None]] = None,
    report: Optional[GrabCutReport] = None,
) -> np.ndarray:
    """Segment the object in each box by GrabCut, with optional scribbles.

    GrabCut (Rother, Kolmogorov and Blake 2004) models the object and its
    background with two Gaussian mixtures over the pixels' channel values and
    alternates a graph cut (contrast-sensitive boundary term, global optimum)
    with re-learning the mixtures from the cut, until the energy stops
    decreasing.  Each box is one object, computed in a crop around the box:
    pixels outside the box are background; the mixtures of background also
    learn from a margin around the box (leaving out other boxes).

    Parameters
    ----------
    image : (M, N[, P][, C]) array-like
        2-D or 3-D image, with up to two leading (time) axes processed frame
        by frame and an optional channel axis.  Any real dtype (uint8, uint16,
        float, ...) and any number of channels (RGB or fluorescence); each
        channel is scaled by its own 0.5th-99.5th percentiles in each crop.
        numpy or dask (a dask array is read crop by crop).
    boxes : (K, 2, d) array-like, optional
        ``[min corner, max corner]`` of each box in pixel coordinates
        (min inclusive, max exclusive), one object per box; object ``k`` is
        labelled ``k + 1``.  ``d`` is the number of spatial axes (the box
        applies to every frame) or of all non-channel axes (the leading
        entries choose the frames).  Corners may come in either order;
        fractional corners are widened to whole pixels.  A box partly outside
        the image is clipped with a warning.  A box covering a whole frame is
        shrunk by one pixel on each side, with a warning (its background
        model needs samples).  Where boxes overlap and several objects claim
        a pixel, it goes to the box it lies deepest in (smallest
        ``max |x - centre| / half-size`` over the axes; ties to the lower
        index).
    seeds : array-like of int, optional
        Scribbles: 0 = none, 1 = definitely object, 2 = definitely background;
        the image's shape without channel axis, or the spatial shape (used
        for every frame).  With boxes, a 1-scribble inside a box forces those
        pixels into that box's object, and a stroke that starts in a box and
        leaves it grows the box to hold it; 1-scribbles touching no box are
        ignored with a warning.  A 2-scribble keeps pixels out of every
        object.  Without boxes, both values are needed and the whole frame is
        cut: each connected piece of the result that holds a 1-scribble is one
        object, numbered in scan order.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis (e.g. ``(4, 1, 1)``); only the
        ratios matter.  Scales the boundary term and the margin.
    channel_axis : int, optional
        Axis of ``image`` holding channels; None means one channel.
    spatial_dims : {2, 3}, optional
        Number of trailing spatial axes; default 2 for a 2-D image, else 3.
        Pass 2 for a (T, Y, X) series.
    n_components : int
        Gaussians per mixture (1 to 20).  Default 5.
    max_iter : int
        Most graph cuts per object.  Default 10.
    smoothness : float or "auto"
        Weight of the boundary term (GrabCut's gamma).  Default ``"auto"``:
        ``SMOOTHNESS_PER_PIXEL`` (0.35) times the object's scale, the
        geometric mean of its box's sides in pixels along the finest axis
        (``sqrt(h * w)`` in 2-D), so the balance of the data term (which
        grows with the object's area) and the boundary term (which grows
        with its perimeter) is the same for a 15-pixel nucleus and a
        200-pixel organoid.  Without boxes, the scale is that of the object
        scribbles' bounding box.  A number fixes it for every object
        (OpenCV uses 50, made for large objects in 8-bit photographs).
    connectivity : int
        1 to ndim (1 = face neighbours), or 4/8 in 2-D, 6/18/26 in 3-D.
    margin : float, optional
        Background margin around each box, in pixels along the finest axis
        (fewer along coarser axes).  Default: half the box's largest extent,
        at least 8 pixels.
    tol : float
        Stop when a cut lowers the energy by less than this fraction.
    single_component : bool
        Keep only the largest connected piece of each object (and pieces
        holding its 1-scribbles).  Default True.
    reuse_models : bool
        In a series, start each frame's object from its mixtures of the
        previous frame (same box index) instead of learning them afresh.
    memory_limit : int, optional
        Bytes one object's graph may use; default 80 % of available memory.
    rng : int or numpy.random.Generator, optional
        Seed of the k-means++ initialisation of the mixtures.
    progress : callable, optional
        ``progress(fraction, message)``, called after every cut; it may raise
        :class:`napari_segkit.Cancelled` to stop the job.
    report : GrabCutReport, optional
        An empty :class:`GrabCutReport` to fill with each object's outcome
        (status, iterations, energies); whatever it held before is replaced.
        The return value stays the labels.

    Returns
    -------
    labels : ndarray of int32
        The image's shape without channel axis; 0 = background.

    Raises
    ------
    InputError
        Bad image, boxes, seeds or options, a box of zero size, wholly outside
        the image or with fewer than 9 pixels, too few background samples,
        NaN/inf pixels; the message names the argument and the value.
    ResourceLimitError
        One object's graph would not fit in memory or PyMaxflow's limits.
    Cancelled
        Raised by ``progress``.

    Warns
    -----
    UserWarning
        Clipped or shrunk boxes; objects for which no sensible cut was found
        (empty, or the whole box) after retrying with a central
        initialisation, a weaker boundary term and fewer components: they are
        left out of the labels and listed.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import GrabCutReport, grabcut
    >>> rng = np.random.default_rng(0)
    >>> image = rng.normal(0.2, 0.05, (60, 60)); image[20:40, 15:45] += 0.6
    >>> labels = grabcut(image, [[[10, 5], [50, 55]]], rng=0)
    >>> int((labels == 1).sum())
    600
    >>> report = GrabCutReport()
    >>> labels = grabcut(image, [[[10, 5], [50, 55]]], rng=0, report=report)
    >>> [(o.index, o.status) for o in report.objects]
    [(0, 'ok')]
    """
    if report is not None and not isinstance(report, GrabCutReport):
        raise InputError(f"report must be a GrabCutReport or None, got {type(report).__name__}: {report!r:.80}")
    summary = GrabCutReport() if report is None else report
    summary.objects.clear()
    array = as_image_array(image, name="image", lazy=True)
    axis = check_channel_axis(channel_axis, array.ndim)
    if axis is None and array.ndim == 3 and array.shape[-1] in (3, 4) and spatial_dims is None:
        warnings.warn(
            f"image has shape {tuple(array.shape)} and no channel_axis: it is treated as a 3-D volume "
            f"of {array.shape[-1]} planes along the last axis; pass channel_axis=-1 for RGB(A) data",
            UserWarning,
            stacklevel=2,
        )
    channels_last = move_channels_last(array, axis)
    full_shape = tuple(int(s) for s in channels_last.shape[:-1])
    n_channels = int(channels_last.shape[-1])
    nsp = check_spatial_dims(spatial_dims, len(full_shape), method="grabcut")
    spatial_shape = full_shape[-nsp:]
    leading_shape = full_shape[:-nsp]
    spacing = check_spacing(spacing, nsp)
    n_components = _check_int(n_components, "n_components", 1, 20)
    max_iter = _check_int(max_iter, "max_iter", 1)
    if isinstance(smoothness, str):
        if smoothness != "auto":
            raise InputError(f"smoothness must be a number >= 0 or 'auto', got {smoothness!r}")
        smoothness = None
    else:
        smoothness = check_positive_number(smoothness, name="smoothness", allow_zero=True)
    tol = check_positive_number(tol, name="tol", allow_zero=True)
    if margin is not None:
        margin = check_positive_number(margin, name="margin")
    conn = resolve_connectivity(connectivity, nsp)
    offsets = tuple(neighbour_offsets(nsp, conn))
    seed_array = check_grabcut_seeds(seeds, full_shape=full_shape, spatial_shape=spatial_shape)
    box_array = check_boxes(
        np.zeros((0, 2, nsp)) if boxes is None else boxes, full_shape, nsp, stacklevel=3
    )
    n_boxes = len(box_array)
    if n_boxes == 0:
        if seed_array is None:
            raise InputError(
                "no boxes and no seeds: give boxes (one per object) or scribbles "
                f"({OBJECT} = object, {BACKGROUND} = background)"
            )
        values = set(np.unique(seed_array).tolist())
        missing = [name for v, name in ((OBJECT, "object (1)"), (BACKGROUND, "background (2)")) if v not in values]
        if missing:
            raise InputError(
                f"seeds hold no {' and no '.join(missing)} scribbles; without boxes GrabCut needs both "
                f"{OBJECT} = definitely object and {BACKGROUND} = definitely background"
            )
    box_array = shrink_whole_frame_boxes(box_array, spatial_shape, nsp)

    # the largest graph built at once, checked before any pixel is read
    if n_boxes:
        region_sizes = np.prod(
            np.minimum(box_array[:, 1, -nsp:] + 1, spatial_shape) - np.maximum(box_array[:, 0, -nsp:] - 1, 0), axis=1
        )
        n_nodes = int(region_sizes.max())
    else:
        n_nodes = int(np.prod(spatial_shape, dtype=np.int64))
    n_edges = n_nodes * len(offsets)
    check_graph_budget(
        GraphBudget(n_nodes, n_edges, graph_bytes(n_nodes, n_edges), n_nodes * (n_channels * 40 + 8 * 8 + 8 * len(offsets))),
        memory_limit=memory_limit,
    )
    if isinstance(array, np.ndarray):
        check_finite(array, name="image")
        if is_constant(channels_last):
            warnings.warn(
                "image is constant: GrabCut has nothing to separate; returning all background",
                UserWarning,
                stacklevel=2,
            )
            return np.zeros(full_shape, dtype=np.int32)

    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    params = CutParams(n_components, max_iter, smoothness, tol, spacing, offsets)
    out = np.zeros(full_shape, dtype=label_dtype(max(n_boxes, 1)))
    reporter = Reporter(progress)
    frames = list(np.ndindex(*leading_shape)) if leading_shape else [()]
    previous: Dict[int, Any] = {}
    for f, frame in enumerate(frames):
        frame_report = reporter.sub(f / len(frames), (f + 1) / len(frames))
        frame_image = channels_last[frame] if frame else channels_last
        frame_seeds = None
        if seed_array is not None:
            frame_seeds = seed_array[frame] if (frame and seed_array.shape == full_shape) else seed_array
        if n_boxes:
            boxes_frame(
                frame_image, frame, box_array, frame_seeds, params, margin, conn, single_component,
                reuse_models, previous, rng, frame_report, out[frame] if frame else out, summary,
            )
        else:
            seeds_frame(
                frame_image, frame, frame_seeds, params, conn, out, summary, rng, frame_report,
            )
    warn_degenerate(summary)
    return out
