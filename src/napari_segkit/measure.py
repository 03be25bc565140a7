"""A per-object measurement table: size, position, extent and intensity of every label.

Built on :func:`skimage.measure.regionprops_table`; one row per object (per
object and frame for time series), written as CSV by
:func:`write_measurements`.
"""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ._errors import InputError
from ._validation import as_image_array, check_channel_axis, check_spacing, check_spatial_dims
from ._validation import validate_options

__all__ = ["measure_objects", "write_measurements"]

logger = logging.getLogger(__name__)

_SPATIAL = "zyx"


def _integer_labels(labels: Any) -> np.ndarray:
    array = as_image_array(labels, name="labels")
    if array.dtype.kind == "b":
        return array.astype(np.uint8)
    if array.dtype.kind == "f":
        if not (np.all(np.isfinite(array)) and np.all(array == np.round(array))):
            raise InputError(f"labels must hold integer ids, got dtype {array.dtype} with fractions")
        array = array.astype(np.int64)
    if array.size and array.min() < 0:
        raise InputError(f"labels must be >= 0 (0 = background), got minimum {array.min()}")
    return array


@validate_options
def measure_objects(
    labels: Any,
    image: Any = None,
    *,
    channel_axis: Optional[int] = None,
    spacing: Optional[Sequence[float]] = None,
    spatial_dims: Optional[int] = None,
) -> Dict[str, np.ndarray]:
    """Measure every object of a label image.

    Parameters
    ----------
    labels : (…, [Z,] Y, X) array of int
        Label image, 0 = background.  Leading axes beyond ``spatial_dims``
        (time, position) are measured frame by frame.
    image : array, optional
        Intensity image of the same shape as ``labels`` plus, optionally, a
        channel axis; gives ``mean_intensity`` (one column per channel,
        ``mean_intensity_c0``, ``_c1``, ... when there are channels; RGB too).
    channel_axis : int, optional
        Axis of ``image`` holding channels.
    spacing : sequence of float, optional
        Physical pixel size of the spatial axes; adds ``area_physical`` (or
        ``volume_physical`` in 3-D) and centroids in physical units
        (``centroid_y_physical``...).
    spatial_dims : {2, 3}, optional
        Trailing spatial axes of ``labels`` (default 2 for 2-D labels, else 3).

    Returns
    -------
    dict of str -> 1-D array
        Columns, one row per object: ``frame`` (only with leading axes,
        the flat frame index), ``label``, ``area`` (pixels or voxels),
        ``centroid_z``/``centroid_y``/``centroid_x`` (pixels),
        ``bbox_min_y``... ``bbox_max_x`` (max exclusive), ``mean_intensity*``.
        ``pandas.DataFrame(table)`` makes a data frame of it.

    Raises
    ------
    InputError
        Labels that are not integer ids, an image whose shape does not match
        the labels', bad ``channel_axis``, ``spacing`` or ``spatial_dims``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.measure import measure_objects
    >>> labels = np.zeros((6, 6), int); labels[1:3, 1:4] = 1
    >>> table = measure_objects(labels, np.ones((6, 6)))
    >>> table["area"].tolist(), table["mean_intensity"].tolist()
    ([6], [1.0])
    """
    from skimage.measure import regionprops_table

    lab = _integer_labels(labels)
    n_spatial = check_spatial_dims(spatial_dims, lab.ndim, method="measure_objects", name="labels")
    intensity = None
    if image is not None:
        intensity = as_image_array(image, name="image")
        axis = check_channel_axis(channel_axis, intensity.ndim, name="image")
        if axis is not None:
            intensity = np.moveaxis(intensity, axis, -1)
        elif intensity.shape != lab.shape and intensity.ndim == lab.ndim + 1 and \
                intensity.shape[:-1] == lab.shape and intensity.shape[-1] in (3, 4):
            axis = -1  # RGB(A): channels last
        core = intensity.shape[:-1] if axis is not None else intensity.shape
        if tuple(core) != lab.shape:
            raise InputError(
                f"image shape {intensity.shape} (channels last) does not match labels shape "
                f"{lab.shape}; pass channel_axis= for a channel axis"
            )
        if axis is None:
            intensity = intensity[..., None]
        intensity = intensity.astype(np.float64, copy=False)
    elif channel_axis is not None:
        raise InputError("channel_axis was given but no image; pass the intensity image")
    scale = check_spacing(spacing, n_spatial) if spacing is not None else None
    names = _SPATIAL[3 - n_spatial:]
    leading = lab.shape[: lab.ndim - n_spatial]
    properties = ["label", "area", "centroid", "bbox"] + (["intensity_mean"] if intensity is not None else [])
    rows: List[Dict[str, np.ndarray]] = []
    for frame, index in enumerate(np.ndindex(*leading)):
        part = regionprops_table(
            lab[index], intensity_image=None if intensity is None else intensity[index],
            properties=properties,
        )
        columns: Dict[str, np.ndarray] = {}
        count = len(part["label"])
        if leading:
            columns["frame"] = np.full(count, frame, dtype=np.int64)
        columns["label"] = np.asarray(part["label"], dtype=np.int64)
        columns["area"] = np.asarray(part["area"], dtype=np.int64)
        for i, name in enumerate(names):
            columns[f"centroid_{name}"] = np.asarray(part[f"centroid-{i}"], dtype=float)
        for i, name in enumerate(names):
            columns[f"bbox_min_{name}"] = np.asarray(part[f"bbox-{i}"], dtype=np.int64)
        for i, name in enumerate(names):
            columns[f"bbox_max_{name}"] = np.asarray(part[f"bbox-{i + n_spatial}"], dtype=np.int64)
        if scale is not None:
            size = "area_physical" if n_spatial == 2 else "volume_physical"
            columns[size] = columns["area"] * float(np.prod(scale))
            for i, name in enumerate(names):
                columns[f"centroid_{name}_physical"] = columns[f"centroid_{name}"] * scale[i]
        if intensity is not None:
            n_channels = intensity.shape[-1]
            for c in range(n_channels):
                key = "mean_intensity" if n_channels == 1 else f"mean_intensity_c{c}"
                columns[key] = np.asarray(part[f"intensity_mean-{c}"], dtype=float)
        rows.append(columns)
    if not rows:
        return {}
    return {key: np.concatenate([r[key] for r in rows]) for key in rows[0]}


def write_measurements(path: Any, table: Dict[str, Any], *, overwrite: bool = False) -> Path:
    """Write a table (dict of equal-length columns) as CSV, atomically.

    Parameters
    ----------
    path : path-like
        Output ``.csv``.
    table : dict of str -> sequence
        Columns, e.g. from :func:`measure_objects`.
    overwrite : bool
        Replace an existing ``path`` (default False: refuse, naming it).

    Returns
    -------
    Path
        The CSV written.
    """
    from .io.export import _output, _write_bytes

    if not isinstance(table, dict):
        raise InputError(f"table must be a dict of columns, got {type(table).__name__}")
    columns = {str(k): list(np.asarray(v).tolist()) for k, v in table.items()}
    lengths = {len(v) for v in columns.values()}
    if len(lengths) > 1:
        raise InputError(f"table columns must have equal lengths, got lengths {sorted(lengths)}")
    out = _output(path, overwrite)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(list(columns))
    writer.writerows(zip(*columns.values()))
    _write_bytes(out, buffer.getvalue().encode("utf-8"), overwrite=overwrite)
    logger.info("wrote %d rows to %s", lengths.pop() if lengths else 0, out)
    return out
