"""Label images to the formats the next tool reads: Fiji ROI sets, QuPath GeoJSON, COCO.

Every object of every 2-D plane becomes a polygon traced along pixel edges
(see :mod:`napari_segkit.io._outlines`), in pixel coordinates with the
origin at the top-left corner of the image: filling the polygon gives back
exactly the object's pixels.  Stacks (Z, time) are exported plane by plane,
each shape carrying its plane.  Files are written atomically (temporary
sibling, then rename) and never replace an existing file unless asked.
"""

from __future__ import annotations

import io
import json
import logging
import struct
import uuid
import zipfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError
from .._validation import as_image_array, check_choice
from ._common import PathLike
from ._outlines import object_outlines, ring_area

__all__ = [
    "EXPORT_FORMATS",
    "export_labels",
    "write_coco",
    "write_geojson",
    "write_imagej_rois",
]

logger = logging.getLogger(__name__)

#: export formats and the file name endings that select each
EXPORT_FORMATS = {"imagej": (".zip",), "geojson": (".geojson",), "coco": (".json",)}

_ROI_VERSION = 228
_ROI_TRACED = 8
_ROI_SUBPIXEL = 128
_SHORT_MAX = 32767


# --------------------------------------------------------------------- inputs


def _labels_planes(labels: Any, axes: Optional[str]) -> Tuple[np.ndarray, str]:
    """Labels as an integer array and one axis letter per dimension (last two ``YX``)."""
    array = as_image_array(labels, name="labels")
    if array.dtype.kind == "b":
        array = array.astype(np.uint8)
    if array.dtype.kind not in "iu":
        if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
            array = array.astype(np.int64)
        else:
            raise InputError(
                f"labels must hold integer ids (0 = background), got dtype {array.dtype} "
                "with non-integer values"
            )
    if array.ndim < 2 or array.ndim > 4:
        raise InputError(
            f"labels must be 2-D, or a stack of 2-D planes with at most 2 leading axes "
            f"(Z, T); got {array.ndim} dimensions, shape {array.shape}"
        )
    if array.size and array.min() < 0:
        raise InputError(f"labels must be >= 0 (0 = background), got minimum {array.min()}")
    if axes is None:
        axes = {2: "YX", 3: "ZYX", 4: "TZYX"}[array.ndim]
    if not isinstance(axes, str) or len(axes) != array.ndim or len(set(axes.upper())) != array.ndim \
            or not set(axes.upper()) <= set("TZYX") or not axes.upper().endswith("YX"):
        raise InputError(
            f"axes must be one letter of T, Z, Y, X per labels dimension, ending in 'YX' "
            f"(e.g. 'ZYX', 'TYX'), got {axes!r} for labels of shape {array.shape}"
        )
    return array, axes.upper()


def _planes(array: np.ndarray, axes: str) -> Iterator[Tuple[Dict[str, int], int, np.ndarray]]:
    """``(position {'z': .., 't': ..}, flat 0-based plane index, plane)`` for every 2-D plane."""
    leading = array.shape[:-2]
    for flat, index in enumerate(np.ndindex(*leading)):
        position = {letter.lower(): int(i) for letter, i in zip(axes[:-2], index)}
        yield position, flat, array[index]


def _output(path: PathLike, overwrite: bool) -> Path:
    from .preflight import _check_existing, _check_writable, output_path

    out = output_path(path)
    if not out.parent.is_dir():
        raise InputError(f"output directory '{out.parent}' does not exist (output '{out}')")
    _check_existing(out, overwrite=overwrite, directory=False)
    _check_writable(out.parent)
    return out


def _write_bytes(out: Path, data: bytes, *, overwrite: bool) -> Path:
    from ._lock import output_lock
    from .writers import write_file_atomically

    with output_lock(out):
        write_file_atomically(out, lambda fh: fh.write(data), overwrite=overwrite)
    return out


def _closed(ring: np.ndarray) -> List[List[float]]:
    points = [[_number(x), _number(y)] for x, y in ring.tolist()]
    return points + [points[0]]


def _number(value: float):
    return int(value) if float(value).is_integer() else float(value)


# --------------------------------------------------------------- ImageJ ROIs


def _roi_bytes(ring: np.ndarray, name: str, position: int, hyper: Tuple[int, int, int]) -> bytes:
    """One ImageJ ``.roi`` file: a traced polygon (``ring`` of integer x, y corners)."""
    xs = ring[:, 0].astype(np.int64)
    ys = ring[:, 1].astype(np.int64)
    n = len(xs)
    if n > 65535:
        raise InputError(f"ROI '{name}' has {n} vertices; ImageJ ROIs hold at most 65535")
    left, top, right, bottom = int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())
    if right - left > _SHORT_MAX or bottom - top > _SHORT_MAX:
        raise InputError(f"ROI '{name}' spans more than {_SHORT_MAX} pixels; ImageJ cannot store it")
    subpixel = max(right, bottom) > _SHORT_MAX
    options = _ROI_SUBPIXEL if subpixel else 0
    coords = struct.pack(f">{n}h", *(xs - left).tolist()) + struct.pack(f">{n}h", *(ys - top).tolist())
    if subpixel:  # absolute float coordinates for images wider or taller than 32767 pixels
        coords += struct.pack(f">{n}f", *xs.tolist()) + struct.pack(f">{n}f", *ys.tolist())
    header2_offset = 64 + len(coords)
    header = _pack_header(top, left, bottom, right, n, options, position, header2_offset)
    encoded = name.encode("utf-16-be")
    header2 = struct.pack(
        ">4x3i2i40x", hyper[0], hyper[1], hyper[2], header2_offset + 64, len(name),
    )
    return header + coords + header2 + encoded


def _pack_header(top, left, bottom, right, n, options, position, header2_offset) -> bytes:
    header = bytearray(64)
    header[0:4] = b"Iout"
    struct.pack_into(">h", header, 4, _ROI_VERSION)
    header[6] = _ROI_TRACED
    clip = lambda v: min(v, _SHORT_MAX)  # noqa: E731 (with float coordinates the shorts are informative)
    struct.pack_into(">4h", header, 8, clip(top), clip(left), clip(bottom), clip(right))
    struct.pack_into(">H", header, 16, n)
    struct.pack_into(">h", header, 50, options)
    struct.pack_into(">i", header, 56, position)
    struct.pack_into(">i", header, 60, header2_offset)
    return bytes(header)


def write_imagej_rois(
    path: PathLike,
    labels: Any,
    *,
    axes: Optional[str] = None,
    overwrite: bool = False,
) -> Path:
    """Write every object as an ImageJ/Fiji polygon ROI into a ROI-set ``.zip``.

    Open it in Fiji with *File > Open* or the ROI Manager's *More > Open*.
    Each object becomes one traced polygon ROI along its pixel edges, named
    by its label (``00005``; ``0003-00005`` on plane 3 of a stack, ``-2``,
    ``-3`` for further disconnected parts).  ImageJ polygons have no holes:
    a hole in an object is filled in the ROI.

    Parameters
    ----------
    path : path-like
        Output ``.zip``.
    labels : (…, Y, X) array of int
        Label image, 0 = background; 2-D, or a stack with up to two leading
        axes.  Planes of a stack get ImageJ positions (1-based stack slice;
        with both Z and T, the hyperstack's slice and frame as well).
    axes : str, optional
        One letter per labels axis from ``T``, ``Z``, ``Y``, ``X`` (default
        ``'YX'``, ``'ZYX'``, ``'TZYX'`` by dimension).
    overwrite : bool
        Replace an existing file (default False: refuse).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    InputError
        Labels that are not integer ids, bad ``axes``, an existing output
        without ``overwrite``, or an object too big for the format.
    """
    array, axes = _labels_planes(labels, axes)
    out = _output(path, overwrite)
    hyperstack = "Z" in axes[:-2] and "T" in axes[:-2]
    buffer = io.BytesIO()
    count = 0
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for position, flat, plane in _planes(array, axes):
            prefix = f"{flat + 1:04d}-" if array.ndim > 2 else ""
            for label, polygons in object_outlines(plane, connectivity=2):
                for part, (outer, _) in enumerate(polygons):
                    name = f"{prefix}{label:05d}" + (f"-{part + 1}" if part else "")
                    hyper = (0, position.get("z", -1) + 1, position.get("t", -1) + 1) if hyperstack \
                        else (0, 0, 0)
                    stack_position = flat + 1 if array.ndim > 2 else 0
                    archive.writestr(name + ".roi", _roi_bytes(outer, name, stack_position, hyper))
                    count += 1
    _write_bytes(out, buffer.getvalue(), overwrite=overwrite)
    logger.info("wrote %d ImageJ ROIs to %s", count, out)
    return out


# ------------------------------------------------------------ QuPath GeoJSON


def _geometry(polygons) -> Dict[str, Any]:
    rings = [[_closed(outer)] + [_closed(hole) for hole in holes] for outer, holes in polygons]
    if len(rings) == 1:
        return {"type": "Polygon", "coordinates": rings[0]}
    return {"type": "MultiPolygon", "coordinates": rings}


def _colour(text: Optional[Sequence[int]]) -> Optional[List[int]]:
    if text is None:
        return None
    values = list(text)
    if len(values) != 3 or not all(isinstance(v, (int, np.integer)) and 0 <= v <= 255 for v in values):
        raise InputError(f"colour must be three integers 0..255 (R, G, B), got {text!r}")
    return [int(v) for v in values]


def write_geojson(
    path: PathLike,
    labels: Any,
    *,
    classification: Optional[str] = "Cell",
    colour: Optional[Sequence[int]] = (255, 0, 0),
    object_type: str = "detection",
    axes: Optional[str] = None,
    overwrite: bool = False,
) -> Path:
    """Write every object as a GeoJSON Feature, the way QuPath imports them.

    Drag the file onto a QuPath viewer (or *File > Import objects from
    file*).  Each object is a ``Polygon`` (``MultiPolygon`` when it has
    several disconnected parts; holes kept), with properties ``objectType``,
    ``classification`` (name and colour), ``name`` (``label 5``) and
    ``measurements`` (``{"label": 5}``); on a stack the geometry carries
    QuPath's ``plane`` (``{"z": .., "t": ..}``).

    Parameters
    ----------
    path : path-like
        Output ``.geojson`` (or ``.json``).
    labels : (…, Y, X) array of int
        Label image, 0 = background.
    classification : str or None
        Class name given to every object (default ``'Cell'``); None for none.
    colour : (R, G, B), optional
        Colour of the class (default red).
    object_type : {'detection', 'annotation'}
        QuPath object type: detections (default) are light and fast for
        thousands of cells; annotations can be edited by hand.
    axes, overwrite
        As in :func:`write_imagej_rois`.

    Returns
    -------
    Path
        The GeoJSON file written.
    """
    check_choice(object_type, name="object_type", choices=("detection", "annotation"))
    if classification is not None and (not isinstance(classification, str) or not classification):
        raise InputError(f"classification must be a non-empty string or None, got {classification!r}")
    rgb = _colour(colour)
    array, axes = _labels_planes(labels, axes)
    out = _output(path, overwrite)
    features = []
    for position, flat, plane in _planes(array, axes):
        for label, polygons in object_outlines(plane, connectivity=1):
            geometry = _geometry(polygons)
            if position:
                geometry["plane"] = {"z": position.get("z", 0), "t": position.get("t", 0)}
            properties: Dict[str, Any] = {
                "objectType": object_type,
                "name": f"label {label}",
                "measurements": {"label": int(label)},
            }
            if classification is not None:
                properties["classification"] = {"name": classification}
                if rgb is not None:
                    properties["classification"]["color"] = rgb
            key = f"napari-segkit:{out.name}:{flat}:{label}"
            features.append({
                "type": "Feature",
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
                "geometry": geometry,
                "properties": properties,
            })
    document = {"type": "FeatureCollection", "features": features}
    _write_bytes(out, json.dumps(document, separators=(",", ":")).encode("utf-8"), overwrite=overwrite)
    logger.info("wrote %d GeoJSON features to %s", len(features), out)
    return out


# ----------------------------------------------------------------------- COCO


def _rle(mask: np.ndarray) -> Dict[str, Any]:
    """Uncompressed COCO run-length encoding (column-major, runs start with background)."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat[0]:
        counts = [0] + counts
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def write_coco(
    path: PathLike,
    labels: Any,
    *,
    file_name: Optional[str] = None,
    category: str = "cell",
    segmentation: str = "rle",
    axes: Optional[str] = None,
    overwrite: bool = False,
) -> Path:
    """Write every object as a COCO instance annotation (``instances.json`` style).

    One ``images`` record per 2-D plane (``file_name`` gets ``_z003``/``_t001``
    suffixes on stacks), one category, one ``annotations`` record per object
    with ``bbox`` (x, y, width, height), ``area`` (pixels) and
    ``segmentation``.

    Parameters
    ----------
    path : path-like
        Output ``.json``.
    labels : (…, Y, X) array of int
        Label image, 0 = background.
    file_name : str, optional
        Image file the annotations belong to (default: the output's name
        with ``.tif``).
    category : str
        Name of the single category (default ``'cell'``).
    segmentation : {'rle', 'polygon'}
        ``'rle'`` (default): exact uncompressed run-length masks, read by
        ``pycocotools``; ``'polygon'``: outlines along pixel edges (holes are
        lost, the form some training tools require).
    axes, overwrite
        As in :func:`write_imagej_rois`.

    Returns
    -------
    Path
        The COCO file written.
    """
    check_choice(segmentation, name="segmentation", choices=("rle", "polygon"))
    if not isinstance(category, str) or not category:
        raise InputError(f"category must be a non-empty string, got {category!r}")
    array, axes = _labels_planes(labels, axes)
    out = _output(path, overwrite)
    stem, suffix = (file_name.rsplit(".", 1) + [""])[:2] if file_name else (Path(out).stem, "tif")
    suffix = f".{suffix}" if suffix else ""
    images, annotations = [], []
    from scipy import ndimage

    for position, flat, plane in _planes(array, axes):
        tag = "".join(f"_{k}{v:03d}" for k, v in position.items())
        image_id = flat + 1
        record = {"id": image_id, "file_name": f"{stem}{tag}{suffix}",
                  "height": int(plane.shape[0]), "width": int(plane.shape[1])}
        if position:
            record["plane"] = position
        images.append(record)
        boxes = ndimage.find_objects(plane.astype(np.intp, copy=False))
        outlines = dict(object_outlines(plane, connectivity=1)) if segmentation == "polygon" else {}
        for index, box in enumerate(boxes):
            if box is None:
                continue
            label = index + 1
            mask = plane == label
            entry = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": 1,
                "iscrowd": 0,
                "area": int(np.count_nonzero(mask[box])),
                "bbox": [int(box[1].start), int(box[0].start),
                         int(box[1].stop - box[1].start), int(box[0].stop - box[0].start)],
                "label": int(label),
            }
            if segmentation == "rle":
                entry["segmentation"] = _rle(mask)
            else:
                entry["segmentation"] = [
                    [c for point in _closed(outer)[:-1] for c in point]
                    for outer, _ in outlines[label] if ring_area(outer) > 0
                ]
            annotations.append(entry)
    document = {
        "info": {"description": "instance labels exported by napari-segkit"},
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": category, "supercategory": category}],
    }
    _write_bytes(out, json.dumps(document, separators=(",", ":")).encode("utf-8"), overwrite=overwrite)
    logger.info("wrote %d COCO annotations on %d image(s) to %s", len(annotations), len(images), out)
    return out


# --------------------------------------------------------------------- choose


def export_labels(
    path: PathLike, labels: Any, *, format: Optional[str] = None, **options: Any
) -> Path:
    """Export labels to Fiji ROIs, QuPath GeoJSON or COCO, by ``format`` or file ending.

    ``.zip`` -> :func:`write_imagej_rois`, ``.geojson`` -> :func:`write_geojson`,
    ``.json`` -> :func:`write_coco`; ``format`` (``'imagej'``, ``'geojson'``,
    ``'coco'``) overrides the ending.  ``options`` go to that writer.
    """
    writers = {"imagej": write_imagej_rois, "geojson": write_geojson, "coco": write_coco}
    if format is None:
        suffix = Path(str(path)).suffix.lower()
        format = next((name for name, endings in EXPORT_FORMATS.items() if suffix in endings), None)
        if format is None:
            raise InputError(
                f"cannot tell the export format of '{path}' from its ending; use .zip (Fiji "
                "ROIs), .geojson (QuPath) or .json (COCO), or pass format="
            )
    if format not in writers:
        raise InputError(f"format must be one of {sorted(writers)}, got {format!r}")
    return writers[format](path, labels, **options)
