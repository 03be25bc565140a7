"""Training data from an annotation set: what was annotated, and nothing else.

The annotated region of an image is its accepted objects, its background
marks and its done regions (inside a done box, every pixel that is not an
object is background).  Every other pixel gets ``ignore_label``, which
:func:`napari_segkit.train_model` leaves out of the loss, so a network can
learn from twenty boxes on part of one image without taking the rest for
background.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Mapping, Optional, Tuple

import numpy as np

from .._errors import InputError
from .annotation_set import AnnotationSet

__all__ = ["TrainingInputs", "split_frames", "sparse_labels", "training_inputs"]

#: value of unannotated pixels in the labels given to train_model
IGNORE_LABEL = -1
#: pixels of context kept around the annotated part of a frame
MARGIN = 32


@dataclass
class TrainingInputs:
    """Arguments for :func:`napari_segkit.train_model`: ``train_model(t.images, t.labels,
    ignore_label=t.ignore_label, channel_axis=t.channel_axis, spatial_dims=t.spatial_dims)``."""

    images: List[np.ndarray]
    labels: List[np.ndarray]
    ignore_label: Optional[int]
    channel_axis: Optional[int]
    spatial_dims: int
    #: one line per sample: image name, frame, crop, objects
    samples: List[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)


def sparse_labels(annotations: AnnotationSet, image: str, *, ignore_label: int = IGNORE_LABEL) -> np.ndarray:
    """The image's labels for training: object ids, 0 for known background, ``ignore_label`` elsewhere."""
    labels = annotations.labels.get(image)
    if labels is None:
        annotations.annotated(image)  # raises the "not in the set" error
    if ignore_label in (0,) or (ignore_label > 0 and ignore_label < annotations.next_id):
        raise InputError(f"ignore_label {ignore_label} collides with background (0) or an object id; use -1")
    out = np.where(labels != 0, labels, 0).astype(np.int32 if ignore_label >= -(2**31) else np.int64)
    known = annotations.annotated(image)
    out[~known] = ignore_label
    return out


def _spatial_dims(annotations: AnnotationSet, image: str, spatial_dims: Optional[int]) -> Tuple[int, int]:
    """(number of leading frame axes, spatial dims) for one image."""
    shape = annotations.labels[image].shape
    axes = annotations.axes.get(image)
    if axes is not None:
        spatial = sum(a in "zyx" for a in axes)
        if "t" in axes and axes.index("t") != 0:
            raise InputError(f"image {image!r} has axes {axes!r}; the time axis must come first")
        if spatial_dims is not None and spatial_dims != spatial and not (spatial_dims == 2 and spatial == 3):
            raise InputError(f"spatial_dims={spatial_dims} does not fit image {image!r} with axes {axes!r}")
        d = spatial_dims or spatial
        return len(shape) - d, d
    if len(shape) == 2:
        return 0, 2
    if spatial_dims is None:
        raise InputError(
            f"image {image!r} has shape {shape} and no axes: say whether its first axis is time (frames, "
            "trained as 2-D) or depth (a volume): add_image(..., axes='tyx' or 'zyx'), or pass spatial_dims=2 or 3"
        )
    if spatial_dims not in (2, 3) or spatial_dims > len(shape):
        raise InputError(f"spatial_dims must be 2 or 3 (and fit shape {shape}), got {spatial_dims!r}")
    return len(shape) - spatial_dims, spatial_dims


def _crop(known: np.ndarray, margin: int) -> Tuple[slice, ...]:
    from ._codec import bbox

    box = bbox(known)
    return tuple(slice(max(0, s.start - margin), min(n, s.stop + margin)) for s, n in zip(box, known.shape))


def training_inputs(
    annotations: AnnotationSet,
    images: Any,
    *,
    channel_axis: Optional[int] = None,
    spatial_dims: Optional[int] = None,
    ignore_label: int = IGNORE_LABEL,
    margin: int = MARGIN,
) -> TrainingInputs:
    """Images and sparse labels of every annotated frame, ready for ``train_model``.

    Parameters
    ----------
    annotations : AnnotationSet
    images : array or mapping of str to array
        The raw images, keyed as in the set (a single array for a set of one image).
    channel_axis : int, optional
        The images' channel axis (the same for all).
    spatial_dims : {2, 3}, optional
        2 trains a 2-D network on the frames (time series, or the planes of a
        volume); 3 a 3-D one.  Default: from each image's axes (``'tyx'`` ->
        2-D frames, ``'zyx'`` -> 3-D); an image of three or more axes without
        axes is an error that says what to choose, never a guess.
    ignore_label : int
        Value of unannotated pixels (negative by default, so it never meets an id).
    margin : int
        Context kept around each frame's annotated part (frames are cropped to it).

    Returns
    -------
    TrainingInputs
        Frames without any annotation are left out.
    """
    if not isinstance(images, Mapping):
        if len(annotations.images) != 1:
            raise InputError(f"the set has {len(annotations.images)} images; pass images as a dict keyed by name")
        images = {annotations.images[0]: images}
    unknown = [k for k in images if k not in annotations.labels]
    if unknown:
        raise InputError(f"images {unknown} are not in the annotation set (its images: {annotations.images})")
    out_images, out_labels, samples = [], [], []
    dims = set()
    for key, image in images.items():
        array = np.asarray(image)
        if channel_axis is not None:
            axis = channel_axis if channel_axis >= 0 else array.ndim + channel_axis
            if not 0 <= axis < array.ndim:
                raise InputError(f"channel_axis {channel_axis} does not exist in image {key!r} of shape {array.shape}")
            array = np.moveaxis(array, axis, -1)
        shape = annotations.labels[key].shape
        if array.shape[: len(shape)] != shape or array.ndim - len(shape) > (1 if channel_axis is not None else 0):
            raise InputError(f"image {key!r} has shape {np.asarray(image).shape}; its labels have shape {shape}"
                             f"{' (plus the channel axis)' if channel_axis is not None else ''}")
        n_lead, d = _spatial_dims(annotations, key, spatial_dims)
        dims.add(d)
        labels = sparse_labels(annotations, key, ignore_label=ignore_label)
        for index in np.ndindex(*shape[:n_lead]):
            lab = labels[index]
            known = lab != ignore_label
            if not known.any():
                continue
            box = _crop(known, int(margin))
            lab = lab[box]
            out_labels.append(np.ascontiguousarray(lab))
            out_images.append(np.ascontiguousarray(array[index][box]))
            n_obj = len(np.unique(lab[lab > 0]))
            where = f" frame {index}" if index else ""
            samples.append(f"{key}{where} crop {[(s.start, s.stop) for s in box]}: {n_obj} objects, "
                           f"{known[box].mean():.0%} annotated")
    if len(dims) > 1:
        raise InputError(f"the images give {sorted(dims)}-D samples; train 2-D and 3-D images separately")
    if not out_images:
        raise InputError("nothing is annotated yet: accept some objects or mark background first")
    return TrainingInputs(out_images, out_labels, int(ignore_label),
                          -1 if channel_axis is not None else None, dims.pop(), samples)


def split_frames(
    images: List[Any],
    labels: List[Any],
    *,
    channel_axis: Optional[int] = None,
    spatial_dims: int = 2,
    ignore_label: Optional[int] = None,
) -> TrainingInputs:
    """Image/label pairs with leading (time) axes cut into ``spatial_dims``-D frames for ``train_model``.

    Pairs that already are ``spatial_dims``-D pass unchanged; of a series,
    only frames holding at least one object are kept (a frame nobody
    labelled is not "all background").  The channel axis, if any, moves last.
    """
    if spatial_dims not in (2, 3):
        raise InputError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
    out_images, out_labels, samples = [], [], []
    for i, (image, label) in enumerate(zip(images, labels)):
        image, label = np.asarray(image), np.asarray(label)
        if channel_axis is not None:
            axis = channel_axis if channel_axis >= 0 else image.ndim + channel_axis
            if not 0 <= axis < image.ndim:
                raise InputError(f"channel_axis {channel_axis} does not exist in image {i} of shape {image.shape}")
            image = np.moveaxis(image, axis, -1)
        if image.shape[: label.ndim] != label.shape:
            raise InputError(f"labels {i} have shape {label.shape}; image {i} has shape {image.shape}")
        n_lead = label.ndim - spatial_dims
        if n_lead < 0:
            raise InputError(f"labels {i} have {label.ndim} axes, fewer than spatial_dims={spatial_dims}")
        kept = 0
        for index in np.ndindex(*label.shape[:n_lead]):
            frame = label[index]
            objects = frame != 0 if ignore_label is None else (frame != 0) & (frame != ignore_label)
            if n_lead and not objects.any():
                continue
            out_images.append(image[index])
            out_labels.append(frame)
            kept += 1
        samples.append(f"pair {i}: {kept} frame(s) of {spatial_dims}-D")
    if not out_images:
        raise InputError("no frame of the labels holds an object; label a few cells first")
    return TrainingInputs(out_images, out_labels, ignore_label, -1 if channel_axis is not None else None,
                          spatial_dims, samples)
