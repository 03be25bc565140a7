"""From a model's class probabilities to labels: the one path shared by the API and the widget.

:func:`labels_from_probabilities` is what :func:`~napari_segkit.predict_labels`
does after :func:`~napari_segkit.predict_probabilities`: optional superpixel
voting, then instances (seeded watershed, minimum size) or the most probable
class, frame by frame.  The Predict widget calls it on the probabilities it
has already shown (or on Monte Carlo dropout's mean), so both give the same
labels with the same defaults.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .._errors import InputError
from .._validation import check_spacing

__all__ = ["default_min_size", "labels_from_probabilities", "vote_frames"]

#: Default minimum object size, as a fraction of the training objects' median size.
MIN_SIZE_FRACTION = 0.25
INSTANCE_CLASSES = ["background", "interior", "boundary"]


def _is_lazy(array: Any) -> bool:
    return hasattr(array, "compute") and hasattr(array, "chunks")


def default_min_size(model, spacing: Any = None) -> int:
    """A quarter of the median training object, in the voxels of an image with ``spacing`` (0 if unknown)."""
    median = (model.config.get("training") or {}).get("median_object_size")
    if not median:
        return 0
    ratio = 1.0 if spacing is None else float(
        np.prod(model.voxel_size) / np.prod(check_spacing(spacing, model.spatial_dims)))
    return int(MIN_SIZE_FRACTION * median * ratio)


def check_postprocess_options(output: str, threshold: float, foreground_threshold: Optional[float],
                              min_size: Optional[int]) -> None:
    """Refuse an unknown output or an out-of-range threshold / minimum size, naming it."""
    if output not in ("instances", "semantic"):
        raise InputError(f"output must be 'instances' or 'semantic', got {output!r}")
    if not isinstance(threshold, (int, float)) or not 0.0 < float(threshold) < 1.0:
        raise InputError(f"threshold must be between 0 and 1, got {threshold!r}")
    if foreground_threshold is not None and (
            not isinstance(foreground_threshold, (int, float)) or not 0.0 < float(foreground_threshold) < 1.0):
        raise InputError(f"foreground_threshold must be between 0 and 1, got {foreground_threshold!r}")
    if min_size is not None and (
            isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 0):
        raise InputError(f"min_size must be a non-negative integer, got {min_size!r}")


def labels_from_probabilities(
    probabilities: Any,
    model,
    *,
    output: str = "instances",
    threshold: float = 0.5,
    foreground_threshold: Optional[float] = None,
    min_size: Optional[int] = None,
    superpixel_size: Optional[int] = None,
    image: Any = None,
    channel_axis: Optional[int] = None,
    spacing: Any = None,
) -> Any:
    """Labels from ``model``'s probabilities ``(..., *spatial, K)`` (class axis last), as ``predict_labels``.

    Parameters
    ----------
    probabilities : ndarray or dask array
        The output of :func:`~napari_segkit.predict_probabilities` (or of
        Monte Carlo dropout) for ``image``.
    model : Model
    output, threshold, foreground_threshold, min_size, superpixel_size
        As for :func:`~napari_segkit.predict_labels`; ``min_size=None`` is a
        quarter of the median training object (:func:`default_min_size`),
        0 for dask input.
    image : array, optional
        The image the probabilities came from; needed for superpixel voting.
    channel_axis, spacing
        Of ``image``, as given to the prediction.

    Returns
    -------
    ndarray or dask array of int32 (int64 when the ids need it)
        Instance ids per frame, or the most probable class.
    """
    check_postprocess_options(output, threshold, foreground_threshold, min_size)
    lazy = _is_lazy(probabilities)
    if min_size is None:
        min_size = 0 if lazy else default_min_size(model, spacing)
    if superpixel_size is not None:
        if image is None:
            raise InputError("superpixel_size (superpixel voting) needs the image the probabilities came from")
        probabilities = vote_frames(probabilities, image, model, superpixel_size, channel_axis=channel_axis,
                                    spacing=spacing)
    if output == "semantic":
        return probabilities.argmax(axis=-1).astype(np.int32)
    if list(model.classes[:3]) != INSTANCE_CLASSES:
        raise InputError(f"instances need a background/interior/boundary model; this one has {model.classes}")

    from .instances import instances_from_probabilities

    post = {"threshold": float(threshold), "min_size": int(min_size),
            "foreground_threshold": None if foreground_threshold is None else float(foreground_threshold)}
    lead_ndim = probabilities.ndim - 1 - model.spatial_dims
    if lead_ndim == 0:
        return instances_from_probabilities(probabilities, **post)
    lead = probabilities.shape[:lead_ndim]
    frames = [instances_from_probabilities(probabilities[index], **post) for index in np.ndindex(*lead)]
    dtype = np.result_type(*[f.dtype for f in frames])
    if lazy:
        import dask.array as da

        stacked = da.stack([f.astype(dtype) for f in frames])
        return stacked.reshape(tuple(lead) + stacked.shape[1:])
    return np.stack([f.astype(dtype) for f in frames]).reshape(probabilities.shape[:-1])


def vote_frames(prob, image, model, superpixel_size, *, channel_axis=None, spacing=None) -> np.ndarray:
    """``prob`` (from ``model`` on ``image``) averaged over SLIC superpixels of ``image``, frame by frame."""
    from .predict_inputs import _prepare_image
    from .superpixel_vote import superpixel_count, vote_over_superpixels

    if _is_lazy(prob):
        raise InputError("superpixel_size (superpixel voting) needs a numpy image, not a dask array")
    d = model.spatial_dims
    superpixel_count(prob.shape[-1 - d:-1], superpixel_size)  # checks the value first
    array, lead, _ = _prepare_image(image, model, channel_axis)
    out = np.empty_like(prob)
    for index in np.ndindex(*lead) if lead else [()]:
        frame = np.moveaxis(np.asarray(array[index]), 0, -1)  # (*spatial, C)
        frame_axis = -1 if frame.shape[-1] > 1 else None
        if frame_axis is None:
            frame = frame[..., 0]
        out[index] = vote_over_superpixels(
            prob[index], frame, superpixel_size=superpixel_size, channel_axis=frame_axis, spacing=spacing,
        )
    return out
