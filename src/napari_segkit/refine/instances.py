"""Refinement that keeps instances: a refined foreground, the input's object ids.

:func:`crf_refine` and :func:`graph_cut_refine` refine classes; an instance
prediction (one id per cell, from ``predict_labels`` or any other tool) would
lose its ids on the way.  :func:`refine_instances` refines the foreground
with either method and gives every refined foreground pixel the id of the
nearest input object within its connected foreground region, so the ids
survive; refined foreground that touches no input object gets fresh ids.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np

from .._errors import InputError
from .._labels import label_dtype
from .._validation import as_image_array, check_spacing
from ._inputs import prepare_image, prepare_probabilities
from .._validation import validate_options

__all__ = ["refine_instances", "instances_in_foreground"]

METHODS = ("graph_cut", "crf")
DEFAULT_CONFIDENCE = 0.6


def instances_in_foreground(
    instances: np.ndarray, foreground: np.ndarray, *, spacing: Optional[Sequence[float]] = None
) -> np.ndarray:
    """Give each foreground pixel the id of the nearest object of ``instances``.

    Nearest by physical distance (``spacing``), flooding only through
    ``foreground``: an object keeps the pixels of its own foreground region
    and loses those outside the foreground.  Foreground regions that hold
    no object get new ids above the largest input id.

    Returns
    -------
    ndarray of int32 (int64 when the ids need it), the shape of ``instances``
    """
    from scipy import ndimage as ndi
    from skimage.segmentation import watershed

    foreground = np.asarray(foreground, dtype=bool)
    instances = np.asarray(instances)
    spacing = check_spacing(spacing, instances.ndim)
    markers = np.where(foreground, instances, 0)
    if markers.any():
        distance = ndi.distance_transform_edt(markers == 0, sampling=spacing)
        out = watershed(distance, markers=markers, mask=foreground)
    else:
        out = np.zeros(instances.shape, dtype=np.int64)
    orphans = foreground & (out == 0)
    if orphans.any():
        extra, n_extra = ndi.label(orphans)
        start = int(instances.max()) if instances.size else 0
        out = out.astype(np.int64)
        out[orphans] = extra[orphans] + start
    return out.astype(label_dtype(int(out.max()) if out.size else 0))


@validate_options
def refine_instances(
    image: Any,
    instances: Any,
    *,
    probabilities: Any = None,
    method: str = "graph_cut",
    spacing: Optional[Sequence[float]] = None,
    channel_axis: Optional[int] = None,
    confidence: float = DEFAULT_CONFIDENCE,
    memory_limit: Optional[int] = None,
    progress: Optional[Callable[[float, str], None]] = None,
    **options: Any,
) -> np.ndarray:
    """Refine an instance segmentation along the image's edges, keeping its ids.

    The foreground is refined by :func:`graph_cut_refine` or
    :func:`crf_refine`; then every refined foreground pixel takes the id of
    the nearest input object in its foreground region (objects that touch
    keep their shared border where the refinement does not move it), and
    foreground regions without an input object get new ids.

    Parameters
    ----------
    image : (M, N[, P][, C]) array-like
        The image, 2-D or 3-D, any real dtype, optional ``channel_axis``.
    instances : (M, N[, P]) array-like of int
        Object ids, 0 = background, for example
        ``predict_labels(image, model)`` or a Cellpose mask.
    probabilities : (M, N[, P], K) array-like of float, optional
        The class probabilities behind ``instances`` (class axis last,
        class 0 = background), e.g. ``predict_probabilities(image, model)``;
        the foreground probability is ``1 - p[..., 0]``.  Default: built from
        ``instances`` with ``confidence`` inside objects and
        ``1 - confidence`` outside, so the image's edges decide near borders.
    method : {"graph_cut", "crf"}
        The refinement.  Default ``"graph_cut"``.
    spacing : sequence of float, optional
        Physical pixel size per spatial axis.
    channel_axis : int, optional
        Axis of ``image`` holding channels.
    confidence : float
        Probability of the object inside an input object when
        ``probabilities`` is not given, in (0.5, 1): how much the outline is
        trusted against the image's edges.  Default 0.6.
    memory_limit : int, optional
        Bytes the job may use; default 80 % of the memory available now.
    progress : callable, optional
        ``progress(fraction, message)``; may raise
        :class:`napari_segkit.Cancelled`.
    **options
        Further keyword options of the chosen method (``smoothness``,
        ``seed_reach``, ``seeds``, ``max_iter``, ``theta_alpha``, ...).

    Returns
    -------
    ndarray of int32 (int64 when the ids need it)
        Object ids on the image's spatial shape, 0 = background; input ids
        are kept.

    Raises
    ------
    InputError
        Bad image, instances, probabilities or options, naming the argument.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import refine_instances
    >>> image = np.zeros((30, 30)); image[5:15, 5:15] = 1; image[18:26, 10:25] = 1
    >>> rough = np.zeros((30, 30), int); rough[4:17, 4:13] = 7; rough[17:27, 12:27] = 9
    >>> out = refine_instances(image, rough)
    >>> sorted(np.unique(out).tolist()), int((out == 7).sum()), int((out == 9).sum())
    ([0, 7, 9], 100, 120)
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {METHODS}, got {method!r}")
    if isinstance(confidence, (bool, np.bool_)) or not isinstance(confidence, (int, float, np.floating)) or not (
        0.5 < float(confidence) < 1.0
    ):
        raise InputError(f"confidence must be a number between 0.5 and 1, got {confidence!r}")
    _, spatial = prepare_image(image, channel_axis, method="refine_instances")
    ids = as_image_array(instances, name="instances")
    if ids.dtype.kind not in "biu":
        raise InputError(
            f"instances has dtype {ids.dtype}: expected integer object ids (0 = background), "
            "as in a napari Labels layer"
        )
    if ids.shape != tuple(spatial):
        raise InputError(f"instances has shape {ids.shape} but the image's spatial shape is {tuple(spatial)}")
    if ids.dtype.kind == "b":
        ids = ids.view(np.uint8)
    if ids.min() < 0:
        raise InputError(f"instances holds negative ids (smallest {int(ids.min())}); 0 = background")
    if probabilities is None:
        fg = np.where(ids > 0, float(confidence), 1.0 - float(confidence)).astype(np.float32)
    else:
        probs, _ = prepare_probabilities(
            probabilities, spatial, from_logits=bool(options.pop("from_logits", False))
        )
        fg = 1.0 - probs[0]
        del probs
    common = dict(spacing=spacing, channel_axis=channel_axis, memory_limit=memory_limit, progress=progress)
    if method == "crf":
        from .crf import crf_refine

        foreground = crf_refine(image, fg, **common, **options) > 0.5
    else:
        from .graph_cut_refine import graph_cut_refine

        foreground = graph_cut_refine(image, fg, **common, **options) == 1
    return instances_in_foreground(ids, foreground, spacing=spacing)
