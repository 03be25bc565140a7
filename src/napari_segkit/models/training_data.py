"""Training data: images and instance labels checked, normalised, turned into targets and split for validation."""

from __future__ import annotations

import numbers
import warnings
from typing import Any, List

import numpy as np

from .._errors import InputError
from .._validation import as_image_array, check_channel_axis, check_finite
from .label_checks import as_instance_labels, check_trainable
from .normalise import DEFAULT_NORMALISATION, normalise
from .targets import distance_targets, instance_targets

__all__ = ["check_count", "prepare_training_data", "split_validation", "validation_crop"]

MAX_VALIDATION_SIDE = {2: 512, 3: 128}


def _as_list(value: Any, name: str) -> List[Any]:
    if value is None:
        raise InputError(f"{name} is None; expected an array or a sequence of arrays")
    if hasattr(value, "ndim") and hasattr(value, "shape"):
        return [value]
    try:
        items = list(value)
    except TypeError:
        raise InputError(f"{name} must be an array or a sequence of arrays, got {type(value).__name__}") from None
    if not items:
        raise InputError(f"{name} is empty; give at least one image and its labels")
    return items


def check_count(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def prepare_training_data(images, labels, channel_axis, spatial_dims, ignore_label, target="boundary"):
    """``(data, spatial_dims, channels, object sizes)``: ``data`` holds (normalised CHW image, target) pairs."""
    images = _as_list(images, "images")
    labels = _as_list(labels, "labels")
    if len(images) != len(labels):
        raise InputError(f"got {len(images)} images but {len(labels)} label arrays; give one label array per image")
    data = []
    int_labels = []
    n_channels = None
    given_dims = spatial_dims
    for i, (image, label) in enumerate(zip(images, labels)):
        image = as_image_array(image, name=f"images[{i}]")
        axis = check_channel_axis(channel_axis, image.ndim, name=f"images[{i}]")
        plain = image.ndim - (axis is not None)
        d = spatial_dims if spatial_dims is not None else plain
        if d not in (2, 3) or plain != d:
            if given_dims is not None:
                expected = f"spatial_dims={given_dims} expects a {given_dims}-D"
            elif spatial_dims is not None:
                expected = f"images[0] is {spatial_dims}-D; expected a {spatial_dims}-D"
            else:
                expected = "expected a 2-D or 3-D"
            raise InputError(
                f"images[{i}] has shape {image.shape}: {expected} "
                "image (plus an optional channel axis); split time series into frames"
            )
        if spatial_dims is None:
            spatial_dims = d
        chw = image[None] if axis is None else np.moveaxis(image, axis, 0)
        if n_channels is None:
            n_channels = chw.shape[0]
        elif chw.shape[0] != n_channels:
            raise InputError(f"images[{i}] has {chw.shape[0]} channel(s), images[0] has {n_channels}")
        check_finite(chw, name=f"images[{i}]")
        label = as_instance_labels(as_image_array(label, name=f"labels[{i}]"), name=f"labels[{i}]")
        if label.shape != chw.shape[1:]:
            raise InputError(
                f"labels[{i}] has shape {label.shape}, images[{i}] has spatial shape {chw.shape[1:]}; they must match"
            )
        int_labels.append(label)
        make_target = distance_targets if target == "distance" else instance_targets
        data.append((normalise(chw, DEFAULT_NORMALISATION, name=f"images[{i}]"),
                     make_target(label, ignore_label=ignore_label)))
    if not any((t >= 0).any() for _, t in data):
        raise InputError("labels mark every pixel as ignored; nothing to learn from")
    if not any((t > 0).any() for _, t in data):
        raise InputError("labels contain no objects (all background); label at least a few cells")
    check_trainable(int_labels, ignore_label)
    sizes = []
    for label in int_labels:  # object sizes, for the default minimum size at prediction
        keep = (label > 0) if ignore_label is None else (label > 0) & (label != ignore_label)
        counts = np.unique(label[keep], return_counts=True)[1]
        sizes.extend(counts.tolist())
    return data, spatial_dims, n_channels, sizes


def split_validation(data, fraction, rng, spatial_dims):
    """``(train, validation)``: whole images held out, or with one image the far end of its longest axis."""
    if fraction == 0:
        return data, []
    if len(data) >= 2:
        n_val = min(len(data) - 1, max(1, int(round(len(data) * fraction))))
        order = rng.permutation(len(data))
        val = [data[i] for i in sorted(order[:n_val])]
        train = [data[i] for i in sorted(order[n_val:])]
        return train, val
    image, target = data[0]
    axis = int(np.argmax(target.shape))
    size = target.shape[axis]
    n_val = int(round(size * fraction))
    if n_val < 16 or size - n_val < 16:
        warnings.warn(
            f"one image of shape {target.shape} is too small to hold out {fraction:.0%} for validation; "
            "training without validation (the last epoch is kept)",
            UserWarning,
            stacklevel=3,
        )
        return data, []
    cut = [slice(None)] * target.ndim
    keep = list(cut)
    cut[axis] = slice(size - n_val, size)
    keep[axis] = slice(0, size - n_val)
    return (
        [(image[(slice(None),) + tuple(keep)], target[tuple(keep)])],
        [(image[(slice(None),) + tuple(cut)], target[tuple(cut)])],
    )


def validation_crop(image, target, spatial_dims):
    """The centre of a validation pair, at most ``MAX_VALIDATION_SIDE`` per axis."""
    side = MAX_VALIDATION_SIDE[spatial_dims]
    window = tuple(slice(max(0, (s - side) // 2), max(0, (s - side) // 2) + min(s, side)) for s in target.shape)
    return image[(slice(None),) + window], target[window]
