"""Seeded graph cut: Boykov-Jolly interactive segmentation with PyMaxflow."""

from __future__ import annotations

import logging
import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np
from scipy import ndimage as ndi

from ._errors import InputError
from ._labels import label_dtype
from ._progress import Reporter
from ._seeds import check_seeds
from ._validation import (
    as_image_array,
    check_channel_axis,
    check_finite,
    check_positive_number,
    check_spacing,
    check_spatial_dims,
    move_channels_last,
)
from .graph.memory import GraphBudget, check_graph_budget, graph_bytes
from .graph.neighbourhood import neighbour_offsets, resolve_connectivity
from ._validation import check_int_tuple, validate_options

__all__ = ["graph_cut", "estimate_graph_cut_memory"]

logger = logging.getLogger(__name__)

DEFAULT_SMOOTHNESS = 2.0


def _working_bytes(n_total: int, n_frame: int, n_channels: int, n_labels: int, n_offsets: int) -> int:
    """Arrays alongside the graph when memory peaks, in bytes (see ``graph_cut``'s steps).

    Fitted to peaks measured with ``benchmarks/peak_memory.py`` (peak RSS of
    the call minus the RSS before it) and rounded up; the graph itself is
    ``graph.memory.graph_bytes``.
    """
    # whole image: float32 features and the int32 result
    whole = n_total * (4 * n_channels + 4)
    if n_labels == 2:
        # the graph is built from a few-MB block buffer; U1 - U0 of the frame
        # exists only with a locality term, before the n-links, but the
        # allocator may keep its pages; plus slack
        frame = 24
    else:
        # (L, ...) costs, float64 weights per offset, the expansion move's arrays
        # (labels, candidate, both terminal costs, pairwise weights, temporaries)
        # and the label maps of the check that keeps regions connected to their
        # seeds (on by default with more than two labels)
        frame = 8 * n_labels + 8 * n_offsets + 72 + 56
    return whole + n_frame * frame


@validate_options
def estimate_graph_cut_memory(
    shape: Sequence[int],
    *,
    n_labels: int = 2,
    n_channels: int = 1,
    spatial_dims: Optional[int] = None,
    connectivity: int = 1,
) -> GraphBudget:
    """Memory ``graph_cut`` needs for an image of ``shape`` (without channel axis).

    Parameters
    ----------
    shape : sequence of int
        The image's shape without its channel axis.
    n_labels : int
        Number of distinct seed values.
    n_channels : int
        Number of channels.
    spatial_dims : int, optional
        As in :func:`graph_cut`.
    connectivity : int
        As in :func:`graph_cut`.

    Returns
    -------
    GraphBudget
        Nodes and edges of the largest graph and the bytes it and the working
        arrays need.
    """
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__"):
        raise InputError(f"shape must be a sequence of axis lengths, got {shape!r:.80}")
    shape = check_int_tuple(shape, name="shape", ndim=len(shape), low=1)
    spatial_dims = check_spatial_dims(spatial_dims, len(shape), method="graph_cut")
    conn = resolve_connectivity(connectivity, spatial_dims)
    n_offsets = len(neighbour_offsets(spatial_dims, conn))
    n_frame = int(np.prod(shape[-spatial_dims:], dtype=np.int64))
    n_total = int(np.prod(shape, dtype=np.int64))
    n_edges = n_frame * n_offsets
    return GraphBudget(
        n_nodes=n_frame,
        n_edges=n_edges,
        graph_bytes=graph_bytes(n_frame, n_edges),
        array_bytes=_working_bytes(n_total, n_frame, n_channels, n_labels, n_offsets),
    )


@validate_options
def graph_cut(
    image: Any,
    seeds: Any,
    *,
    spacing: Optional[Sequence[float]] = None,
    channel_axis: Optional[int] = None,
    smoothness: float = DEFAULT_SMOOTHNESS,
    locality: float = 0.0,
    connected: Optional[bool] = None,
    connectivity: int = 1,
    spatial_dims: Optional[int] = None,
    max_iter: int = 5,
    memory_limit: Optional[int] = None,
    progress: Optional[Callable[[float, str], None]] = None,
    background: Any = "auto",
    instances: bool = False,
) -> np.ndarray:
    """Segment an image into the regions marked by seeds, by max-flow/min-cut.

    The data term is learned from the seeds: one intensity (or colour)
    histogram per seed value, over all channels.  The smoothness term is
    contrast-sensitive (Boykov and Jolly 2001): cutting between neighbours
    ``p, q`` costs ``smoothness * exp(-beta ||I_p - I_q||^2) / dist(p, q)``,
    with ``beta`` estimated from the image and ``dist`` the physical distance
    given by ``spacing``.  Two seed values are solved exactly by one
    Boykov-Kolmogorov max-flow; more by alpha-expansion.  Seeds are hard
    constraints: every seeded pixel keeps its value.

    Parameters
    ----------
    image : (M, N[, P][, C]) array-like
        2-D or 3-D image, with up to two leading axes (time, position, ...)
        that are processed frame by frame, and an optional channel axis.  Any
        real dtype; bool, integer and float images give the same result for
        the same values up to scaling.  numpy or dask.
    seeds : array-like of int
        0 = unknown; each positive value marks one region, at least two
        values.  Shape: the image's shape without the channel axis, or the
        spatial shape alone (then the same seeds apply to every frame).
    spacing : sequence of float, optional
        Physical pixel size per spatial axis, e.g. ``(4, 1, 1)`` for voxels
        four times deeper than wide.  Only the ratios matter.  Default 1.
    channel_axis : int, optional
        Axis of ``image`` that holds channels (RGB or fluorescence).  None
        means grayscale.
    smoothness : float
        Weight of the boundary term against the data term (0 = pixel-wise
        classification).  Default 2.0.
    locality : float, optional
        Cost per pixel of distance (at the finest spacing) from the nearest
        seed of a label, added to that label's data term, so that regions that
        look alike (several cells, one seed value each) keep to their own
        seeds.  Default 0.  Frames without seeds of a label (a series seeded
        on one frame) charge that label the frame's largest distance.
    connected : bool, optional
        Keep each region connected to its seeds: pieces of a label that touch
        none of its seeds are given to another label and the cut is redone
        (up to five times).  Default: True with more than two seed values
        (one value per cell: cells that look alike cannot take each other's
        pixels), False with two (object/background: unseeded objects that
        look like the seeded ones are found too).  Labels without seeds in a
        frame are not constrained there.
    connectivity : int
        1 to ndim (scikit-image's convention: 1 = face neighbours), or the
        neighbour count: 4 or 8 in 2-D, 6, 18 or 26 in 3-D.
    spatial_dims : {2, 3}, optional
        Number of trailing spatial axes.  Default: 2 for a 2-D image, else 3;
        pass 2 to cut a (T, Y, X) series frame by frame.
    max_iter : int
        Most alpha-expansion passes over all labels (more than two seed
        values).
    memory_limit : int, optional
        Bytes the job may use; default 80 % of the memory available now.
    progress : callable, optional
        ``progress(fraction, message)``, called between frames and moves.  It
        may raise :class:`napari_segkit.Cancelled` to stop the job.
    background : int, "auto" or None
        The seed value painted on the background; its region becomes 0 in
        the output (napari's and every method's convention), the other
        regions keep their seed values.  ``"auto"`` (default): 2 when the
        seeds hold a 2 (the convention of the widgets: 1 = object,
        2 = background), otherwise the value whose region is largest.
        None keeps every seed value (the output then has no 0).
    instances : bool
        Instance output: each connected group of seeds of an object value
        becomes its own object, ids 1..K in scan order of the groups; where
        objects seeded separately touch, they are split along strong edges
        between their seeds (compact marker-controlled watershed on the
        gradient magnitude inside the cut's object region, where reaching
        one typical object radius farther from a seed costs as much as the
        strongest edges: the split stays near the middle between seeds).  Object pieces
        that hold no seed become objects of their own (after the seeded
        ones) when they are at least half the median size of the seeded
        objects; smaller ones (noise) become background.  Background is 0.

    Returns
    -------
    labels : ndarray of int32 (int64 if a seed value needs it)
        The image's shape without the channel axis: the seed values, with the
        background value as 0; with ``instances=True`` one id per object.

    Raises
    ------
    InputError
        Bad image, seeds or options; the message names the argument and value.
    ResourceLimitError
        The graph would not fit in memory or in PyMaxflow's 32-bit limits.
    Cancelled
        Raised by ``progress``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import graph_cut
    >>> image = np.zeros((20, 20)); image[5:15, 5:15] = 1
    >>> seeds = np.zeros((20, 20), int); seeds[10, 10] = 1; seeds[0, 0] = 2
    >>> labels = graph_cut(image, seeds)
    >>> int((labels == 1).sum())
    100
    """
    array = as_image_array(image, name="image", lazy=True)
    axis = check_channel_axis(channel_axis, array.ndim)
    channels_last = move_channels_last(array, axis)
    full_shape = channels_last.shape[:-1]
    n_channels = channels_last.shape[-1]
    ndim_spatial = check_spatial_dims(spatial_dims, len(full_shape), method="graph_cut")
    spatial_shape = full_shape[-ndim_spatial:]
    leading_shape = full_shape[:-ndim_spatial]
    spacing = check_spacing(spacing, ndim_spatial)
    smoothness = check_positive_number(smoothness, name="smoothness", allow_zero=True)
    conn = resolve_connectivity(connectivity, ndim_spatial)
    locality = check_positive_number(locality, name="locality", allow_zero=True)
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise_input = f"max_iter must be a positive integer, got {max_iter!r}"

        raise InputError(raise_input)
    max_cycles = int(max_iter)
    seed_array, values = check_seeds(seeds, full_shape=full_shape, spatial_shape=spatial_shape)
    if connected is None:
        connected = len(values) > 2

    budget = estimate_graph_cut_memory(
        full_shape,
        n_labels=len(values),
        n_channels=n_channels,
        spatial_dims=ndim_spatial,
        connectivity=conn,
    )
    check_graph_budget(budget, memory_limit=memory_limit)
    if not isinstance(array, np.ndarray):  # dask: read only once the job fits
        array = as_image_array(array, name="image")
        channels_last = move_channels_last(array, axis)
    check_finite(array, name="image")

    from .graph.unary import HistogramModel, scaled_features

    report = Reporter(progress)
    report(0.0, "learning intensity models from the seeds")
    features, varies = scaled_features(channels_last)
    if not varies:
        warnings.warn(
            "image is constant: the cut follows the seeds and the smoothness term only",
            UserWarning,
            stacklevel=2,
        )
    broadcast_seeds = seed_array.shape != full_shape
    # flat positions of the seeded pixels (a few percent), found once
    seeded = np.flatnonzero(seed_array)
    model = HistogramModel(n_channels).fit(features, seed_array, values, seeded=seeded)
    frame_size = int(np.prod(spatial_shape, dtype=np.int64))

    offsets = neighbour_offsets(ndim_spatial, conn)
    out = np.empty(full_shape, dtype=label_dtype(int(values[-1])))
    frames = list(np.ndindex(*leading_shape))
    warned_full = False
    for i, frame in enumerate(frames):
        frame_report = report.sub(i / len(frames), (i + 1) / len(frames))
        frame_seeds = seed_array if broadcast_seeds else seed_array[frame]
        if np.count_nonzero(frame_seeds) == frame_seeds.size:
            if not warned_full:
                warnings.warn(
                    "seeds cover every pixel; returning them unchanged", UserWarning, stacklevel=2
                )
                warned_full = True
            out[frame] = frame_seeds
            continue
        if broadcast_seeds:
            frame_seeded = seeded
        else:
            first = int(np.ravel_multi_index(frame, leading_shape)) * frame_size if frame else 0
            bounds = np.searchsorted(seeded, [first, first + frame_size])
            frame_seeded = seeded[bounds[0] : bounds[1]] - first
        _cut_frame(
            features[frame], frame_seeds, frame_seeded, values, model, offsets, spacing,
            smoothness, locality, bool(connected), conn, max_cycles, frame_report, out[frame],
        )
        frame_report(1.0, f"frame {i + 1}/{len(frames)} done")
    background_value = _background_value(background, values, out)
    if instances:
        if background_value is None:
            raise InputError("instances=True needs a background value: pass background=<seed value>")
        return _instances(features, seed_array, out, values, background_value, ndim_spatial, spacing)
    if background_value is not None:
        out[out == background_value] = 0
    return out


def _background_value(background: Any, values: np.ndarray, out: np.ndarray) -> Optional[int]:
    """The seed value that means background (see ``graph_cut``'s ``background``)."""
    if background is None:
        return None
    if isinstance(background, str):
        if background != "auto":
            raise InputError(f"background must be a seed value, 'auto' or None, got {background!r}")
        if 2 in values:
            return 2
        counts = [np.count_nonzero(out == v) for v in values]
        return int(values[int(np.argmax(counts))])
    if isinstance(background, (bool, np.bool_)) or not isinstance(background, (int, np.integer)):
        raise InputError(f"background must be a seed value, 'auto' or None, got {background!r}")
    if int(background) not in values:
        raise InputError(f"background={background} is not a seed value; the seeds hold {values.tolist()}")
    return int(background)


def _instances(features, seeds, regions, values, background, n_spatial, spacing) -> np.ndarray:
    """One object per connected seed group, touching objects split between their seeds."""

    full_shape = regions.shape
    leading = full_shape[: len(full_shape) - n_spatial]
    out = np.zeros(full_shape, dtype=np.int32)
    structure = ndi.generate_binary_structure(n_spatial, n_spatial)
    broadcast = seeds.shape != full_shape
    sigma = tuple(min(spacing) / s for s in spacing)
    for frame in np.ndindex(*leading):
        frame_seeds = seeds if broadcast else seeds[frame]
        frame_regions = regions[frame]
        gradient = np.zeros(frame_regions.shape, dtype=np.float64)
        for c in range(features.shape[-1]):
            gradient += ndi.gaussian_gradient_magnitude(np.asarray(features[frame][..., c], np.float64), sigma) ** 2
        next_id = 1
        target = out[frame] if frame else out
        unseeded = []
        for value in values:
            if value == background:
                continue
            region = frame_regions == value
            if not region.any():
                continue
            groups, n_groups = ndi.label((frame_seeds == value) & region, structure=structure)
            if n_groups:
                split = _split_touching(gradient, groups, n_groups, region)
                placed = split > 0
                target[placed] = split[placed] + (next_id - 1)
                next_id += n_groups
            rest = region & (target == 0)
            if rest.any():
                unseeded.append(rest)
        seeded_sizes = np.bincount(target.ravel())[1:]
        seeded_sizes = seeded_sizes[seeded_sizes > 0]
        min_size = 0.5 * float(np.median(seeded_sizes)) if seeded_sizes.size else 1.0
        for rest in unseeded:
            pieces, n_pieces = ndi.label(rest, structure=ndi.generate_binary_structure(n_spatial, 1))
            if not n_pieces:
                continue
            sizes = np.bincount(pieces.ravel())
            keep = np.flatnonzero(sizes >= min_size)
            keep = keep[keep > 0]
            lookup = np.zeros(n_pieces + 1, dtype=np.int64)
            lookup[keep] = np.arange(next_id, next_id + len(keep))
            placed = lookup[pieces]
            target[placed > 0] = placed[placed > 0]
            next_id += len(keep)
    return out


def _split_touching(gradient: np.ndarray, groups: np.ndarray, n_groups: int, region: np.ndarray) -> np.ndarray:
    """Compact marker-controlled watershed of ``region`` from the seed ``groups``.

    The relief is the gradient magnitude scaled so its 99th percentile in
    the region is 1; the compactness is one over the typical object radius
    (that of a ball holding the region's volume shared by the groups), so
    reaching one radius farther from a seed costs as much as crossing the
    region's strongest edges.  Touching objects are then split along edges
    near the middle between their seeds, not along whichever edge a
    neighbour's flood reaches first (inside a whole cell the nucleus rim is
    the strongest edge, and plain flooding leaks through the cytoplasm).
    """
    from skimage.segmentation import watershed

    relief = np.sqrt(gradient)
    relief = relief / (float(np.percentile(relief[region], 99)) + 1e-12)
    ndim = region.ndim
    ball = np.pi if ndim == 2 else 4.0 * np.pi / 3.0
    radius = max((float(np.count_nonzero(region)) / n_groups / ball) ** (1.0 / ndim), 1.0)
    return watershed(relief, markers=groups, mask=region, compactness=1.0 / radius)


def _add_locality(unary, seeds, values, spacing, locality):
    """Add ``locality * distance to the nearest seed of each label`` to ``unary``."""
    from scipy import ndimage as ndi

    unit = min(spacing)
    sampling = [s / unit for s in spacing]
    missing = []
    largest = 0.0
    for k, value in enumerate(values):
        marked = seeds == value
        if not marked.any():
            missing.append(k)
            continue
        distance = ndi.distance_transform_edt(~marked, sampling=sampling)
        largest = max(largest, float(distance.max()))
        distance *= locality
        unary[k] += distance
    for k in missing:
        unary[k] += locality * largest


def _unseeded_pieces(index, seeded_index, k, structure):
    """Mask of the parts of label ``k`` that contain none of its seeds."""
    from scipy import ndimage as ndi

    pieces, n = ndi.label(index == k, structure=structure)
    if n <= 1:
        return np.zeros(index.shape, bool) if n == 0 or (seeded_index == k).any() else pieces > 0
    keep = np.zeros(n + 1, bool)
    keep[np.unique(pieces[seeded_index == k])] = True
    keep[0] = True
    return ~keep[pieces]


def _enforce_connection(index, unary, edges, seeds, seed_index, hard, conn, max_cycles, report):
    """Redo the cut until every label's region is connected to its seeds."""
    from scipy import ndimage as ndi

    from .graph.solvers import alpha_expansion

    structure = ndi.generate_binary_structure(index.ndim, conn)
    seeded_index = np.where(seeds != 0, seed_index, -1)
    present = np.unique(seed_index[seeds != 0])
    for round_ in range(5):
        changed = False
        for k in present:
            stray = _unseeded_pieces(index, seeded_index, k, structure)
            if stray.any():
                unary[k][stray] = hard
                changed = True
        if not changed:
            return index
        current = np.take_along_axis(unary, index[np.newaxis], axis=0)[0]
        init = np.where(current >= hard, np.argmin(unary, axis=0), index)
        index = alpha_expansion(unary, edges, init=init, max_cycles=max_cycles)
        report(min(0.95, 0.6 + 0.07 * round_), "keeping regions connected to their seeds")
    return index


def _cut_frame(
    features, seeds, seeded, values, model, offsets, spacing, smoothness, locality, connected,
    conn, max_cycles, report, out,
):
    """Cut one spatial frame into ``out`` (a view of the result).

    ``seeded`` holds the flat positions of the frame's seeded pixels.
    """
    report(0.0, "computing data and smoothness terms")
    if len(values) == 2:
        _cut_two_labels(
            features, seeds, seeded, values, model, offsets, spacing, smoothness, locality,
            report, out,
        )
        return
    index = _cut_many_labels(
        features, seeds, values, model, offsets, spacing, smoothness, locality, connected,
        conn, max_cycles, report,
    )
    # the construction guarantees it; make any violation impossible to miss
    np.put(index, seeded, np.searchsorted(values, seeds.reshape(-1).take(seeded)))
    np.take(values.astype(out.dtype), index, out=out, mode="clip")


def _cut_two_labels(
    features, seeds, seeded, values, model, offsets, spacing, smoothness, locality, report, out
):
    """One max-flow, built and read in blocks of rows; writes seed values into ``out``.

    The graph is exactly that of ``binary_cut(U, smoothness * weights)`` (see
    ``BinaryGrid``), but only ``U[1] - U[0]`` of a block of rows and the
    weights of one offset in one block exist at a time: no (L, ...) costs or
    full-size weight arrays, and nothing but PyMaxflow's graph grows with the
    image.
    """
    from .graph.neighbourhood import row_ranges
    from .graph.pairwise import ContrastWeights
    from .graph.solvers import GRAPH_BLOCK_ELEMENTS, BinaryGrid

    rows = row_ranges(seeds.shape, GRAPH_BLOCK_ELEMENTS)
    row_shape = seeds.shape[1:]
    row = int(np.prod(row_shape, dtype=np.int64))
    step = max(stop - start for start, stop in rows)
    # hard constraints: a seeded pixel pays more to change label than any gain
    # from its neighbours (at most 2 * len(offsets) * smoothness) and its data term
    margin = 2.0 * len(offsets) * smoothness + 1.0
    full_difference = None
    if locality > 0:
        unary = model.unary(features)
        _add_locality(unary, seeds, values, spacing, locality)
        hard = float(unary.max()) + margin
        full_difference = unary[1] - unary[0]
        del unary
    else:
        # any bound on the data term makes the same cut: a seeded pixel's
        # terminal link then never limits an augmenting path
        hard = model.max_cost() + margin
    seed_values = seeds.reshape(-1).take(seeded)
    seed_hard = np.where(seed_values == values[0], hard, -hard)
    grid = BinaryGrid(seeds.shape, len(offsets))
    # one block's buffer, reused: U[1] - U[0], then each offset's weights
    buffer = np.zeros((step + 1) * row)
    for start, stop in rows:
        difference = buffer[: (stop - start) * row].reshape((stop - start,) + row_shape)
        if full_difference is None:
            for first, last in row_ranges(seeds.shape, start=start, stop=stop):
                model.difference_into(features[first:last], difference[first - start : last - start])
        else:
            difference[...] = full_difference[start:stop]
        inside = slice(*np.searchsorted(seeded, [start * row, stop * row]))
        np.put(difference, seeded[inside] - start * row, seed_hard[inside])
        grid.add_terminal_difference(start, stop, difference)
    del full_difference
    if smoothness > 0:
        contrast = ContrastWeights(features, offsets, spacing)
        for offset in offsets:
            for start, stop in rows:
                first, last = grid.edge_rows(offset, start, stop)
                weights = buffer[: (last - first) * row].reshape((last - first,) + row_shape)
                contrast.fill_rows(offset, start, stop, weights)
                grid.add_edges(offset, start, stop, weights, smoothness)
        del contrast
    del buffer
    report(0.1, "max-flow")
    grid.maxflow()
    for start, stop in rows:
        block = out[start:stop]
        block[...] = values[0]
        np.copyto(block, values[1], where=grid.segments(start, stop))
    del grid
    # the construction guarantees it; make any violation impossible to miss
    np.put(out, seeded, seed_values)


def _cut_many_labels(
    features, seeds, values, model, offsets, spacing, smoothness, locality, connected, conn,
    max_cycles, report,
):
    """Alpha-expansion; returns label indices into ``values``."""
    from .graph.pairwise import ContrastWeights
    from .graph.solvers import alpha_expansion

    unary = model.unary(features)
    if locality > 0:
        _add_locality(unary, seeds, values, spacing, locality)
    contrast = ContrastWeights(features, offsets, spacing)
    edges = []
    for offset in offsets:
        weights = contrast.fill(offset, np.zeros(seeds.shape, dtype=np.float64))
        weights *= smoothness
        edges.append((offset, weights))
    del contrast
    # hard constraints: a seeded pixel pays more to change label than any gain
    # from its neighbours (at most 2 * len(offsets) * smoothness) and its data term
    hard = float(unary.max()) + 2.0 * len(offsets) * smoothness + 1.0
    seed_index = np.searchsorted(values, seeds)
    seeded = seeds != 0
    for k in range(len(values)):
        unary[k][seeded] = hard
        unary[k][seeded & (seed_index == k)] = 0.0
    del seeded
    report(0.1, "max-flow")
    index = alpha_expansion(unary, edges, max_cycles=max_cycles, progress=report.sub(0.1, 0.6))
    if connected:
        index = _enforce_connection(
            index, unary, edges, seeds, seed_index, hard, conn, max_cycles, report
        )
    return index
