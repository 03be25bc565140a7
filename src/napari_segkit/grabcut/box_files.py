"""Box files for GrabCut: CSV, NumPy ``.npy`` and GeoJSON, read without running code.

- ``.csv``: a header row, then one box per row.  Columns ``min_<axis>`` and
  ``max_<axis>`` (or ``<axis>_min`` / ``<axis>_max``) for the axes present,
  ``<axis>`` one of ``t``, ``z``, ``y``, ``x`` (ordered so) or ``0``, ``1``,
  ... (ordered by number); other columns (ids, names) are ignored.  napari's
  own Shapes CSV export (``index, shape-type, vertex-index, axis-0, ...``) is
  also read: each shape becomes its bounding box.
- ``.npy``: a numeric (N, 2, d) or (2, d) array, loaded with
  ``allow_pickle=False``.
- ``.geojson`` / ``.json``: a FeatureCollection, Feature, or bare geometry
  (QuPath and others export these).  Coordinates are ``[x, y]`` or
  ``[x, y, z]`` in pixels and become ``(y, x)`` / ``(z, y, x)`` boxes;
  each Polygon / MultiPolygon becomes its bounding box (non-rectangles with a
  warning); points and lines are refused.

Corners are returned as float; :func:`napari_segkit.grabcut` widens them to
whole pixels (minimum down, maximum up).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import warnings
from pathlib import Path
from typing import Any, Dict, List, Union

import numpy as np

from .. import _json as safe_json
from .._errors import InputError, UnsafeFileError

__all__ = ["read_boxes", "BOX_FILE_FORMATS", "MAX_BOX_FILE_BYTES"]

#: file endings read_boxes understands
BOX_FILE_FORMATS = {".csv": "csv", ".npy": "npy", ".geojson": "geojson", ".json": "geojson"}
#: a box file larger than this is refused (no annotation file is that large)
MAX_BOX_FILE_BYTES = 64 * 2**20

_AXIS_ORDER = {"t": 0, "z": 1, "y": 2, "x": 3}


def read_boxes(path: Union[str, "os.PathLike[str]"]) -> np.ndarray:
    """Read boxes for :func:`~napari_segkit.grabcut` from a file.

    Parameters
    ----------
    path : str or path-like
        ``.csv``, ``.npy``, ``.geojson`` or ``.json``; see the module notes.

    Returns
    -------
    boxes : (N, 2, d) ndarray of float64
        ``[min corner, max corner]`` per box, axes in image order.

    Raises
    ------
    InputError
        Missing or unreadable file, unknown ending, missing columns, a
        non-numeric or wrongly shaped array, a geometry that is not a
        polygon, or no box at all.  The message names the file.
    UnsafeFileError
        An object (pickled) ``.npy`` array, or a file over 64 MiB.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"box file '{path}' does not exist")
    if path.is_dir():
        raise InputError(f"box file '{path}' is a directory; expected a .csv, .npy or .geojson file")
    fmt = BOX_FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"box file '{path}' has ending '{path.suffix}'; expected one of {sorted(BOX_FILE_FORMATS)}"
        )
    size = path.stat().st_size
    if size > MAX_BOX_FILE_BYTES:
        raise UnsafeFileError(
            f"box file '{path}' is {size:,} bytes, over the {MAX_BOX_FILE_BYTES:,}-byte limit for box files"
        )
    reader = {"csv": _read_csv, "npy": _read_npy, "geojson": _read_geojson}[fmt]
    boxes = reader(path)
    if boxes.shape[0] == 0:
        raise InputError(f"box file '{path}' holds no boxes")
    if not np.isfinite(boxes).all():
        raise InputError(f"box file '{path}' holds NaN or infinite coordinates")
    return boxes


# -- CSV ---------------------------------------------------------------------------------
def _axis_key(name: str):
    return (0, _AXIS_ORDER[name]) if name in _AXIS_ORDER else (1, int(name))


def _read_csv(path: Path) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"could not read box file '{path}': {exc}") from None
    rows = list(csv.reader(io.StringIO(text)))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise InputError(f"box file '{path}' is empty")
    header = [h.strip().lower() for h in rows[0]]
    body = rows[1:]
    if "axis-0" in header and "index" in header:
        return _read_napari_csv(path, header, body)
    lows: Dict[str, int] = {}
    highs: Dict[str, int] = {}
    for col, name in enumerate(header):
        match = re.fullmatch(r"(min|max)_?([tzyx]|\d+)|([tzyx]|\d+)_?(min|max)", name)
        if not match:
            continue
        kind = match.group(1) or match.group(4)
        axis = match.group(2) or match.group(3)
        (lows if kind == "min" else highs)[axis] = col
    axes = sorted(set(lows) | set(highs), key=_axis_key)
    missing = [f"min_{a}" for a in axes if a not in lows] + [f"max_{a}" for a in axes if a not in highs]
    if not axes or missing:
        raise InputError(
            f"box file '{path}' needs a header with min_<axis> and max_<axis> columns (axis t, z, y, x "
            f"or 0, 1, ...); found columns {rows[0]}" + (f", missing {missing}" if missing else "")
        )
    boxes = np.empty((len(body), 2, len(axes)))
    for i, row in enumerate(body):
        try:
            boxes[i, 0] = [float(row[lows[a]]) for a in axes]
            boxes[i, 1] = [float(row[highs[a]]) for a in axes]
        except (ValueError, IndexError):
            raise InputError(f"box file '{path}' row {i + 2} is not numeric or too short: {row}") from None
    return boxes


def _read_napari_csv(path: Path, header: List[str], body: List[List[str]]) -> np.ndarray:
    axis_cols = sorted(
        (int(h.split("-")[1]), c) for c, h in enumerate(header) if re.fullmatch(r"axis-\d+", h)
    )
    index_col = header.index("index")
    type_col = header.index("shape-type") if "shape-type" in header else None
    shapes: Dict[int, List[List[float]]] = {}
    types: Dict[int, str] = {}
    for i, row in enumerate(body):
        try:
            key = int(float(row[index_col]))
            shapes.setdefault(key, []).append([float(row[c]) for _, c in axis_cols])
        except (ValueError, IndexError):
            raise InputError(f"box file '{path}' row {i + 2} is not numeric or too short: {row}") from None
        if type_col is not None and type_col < len(row):
            types[key] = row[type_col].strip().lower()
    refused = sorted({t for t in types.values() if t in ("line", "path")})
    if refused:
        raise InputError(
            f"box file '{path}' holds {', '.join(refused)} shapes; GrabCut needs rectangles (or polygons / "
            "ellipses, used by their bounding boxes)"
        )
    other = sorted({t for t in types.values() if t != "rectangle"})
    if other:
        warnings.warn(
            f"box file '{path}': {', '.join(other)} shapes are replaced by their bounding boxes",
            UserWarning,
            stacklevel=3,
        )
    return np.stack([_bbox(np.asarray(shapes[k])) for k in sorted(shapes)])


def _bbox(vertices: np.ndarray) -> np.ndarray:
    return np.stack([vertices.min(axis=0), vertices.max(axis=0)])


# -- NPY ---------------------------------------------------------------------------------
def _read_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise UnsafeFileError(
                f"box file '{path}' holds an object array; loading it would unpickle Python objects, "
                "so it is refused"
            ) from None
        raise InputError(f"could not read box file '{path}': {exc}") from None
    except (OSError, EOFError) as exc:
        raise InputError(f"could not read box file '{path}': {exc}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "iuf":
        raise InputError(f"box file '{path}' holds dtype {getattr(array, 'dtype', type(array))}; expected numbers")
    if array.ndim == 2 and array.shape[0] == 2:
        array = array[np.newaxis]
    if array.ndim != 3 or array.shape[1] != 2:
        raise InputError(f"box file '{path}' holds an array of shape {array.shape}; expected (N, 2, d)")
    return array.astype(np.float64)


# -- GeoJSON -----------------------------------------------------------------------------
def _read_geojson(path: Path) -> np.ndarray:
    try:
        document = safe_json.loads(path.read_bytes(), where=f"box file '{path}'")
    except InputError as exc:
        raise InputError(f"could not read box file '{path}' as GeoJSON: {exc}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"could not read box file '{path}' as GeoJSON: {exc}") from None
    geometries = list(_geometries(document, path))
    boxes, irregular = [], 0
    for geometry in geometries:
        kind = geometry.get("type")
        coords = geometry.get("coordinates")
        if kind == "Polygon":
            rings = [coords[0]] if coords else []
        elif kind == "MultiPolygon":
            rings = [poly[0] for poly in coords or [] if poly]
        else:
            raise InputError(
                f"box file '{path}' holds a {kind} geometry; GrabCut needs polygons (rectangles), "
                "not points or lines"
            )
        try:
            vertices = np.array([p for ring in rings for p in ring], dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"box file '{path}' holds a polygon with non-numeric or ragged coordinates") from None
        if vertices.ndim != 2 or vertices.shape[0] < 3 or vertices.shape[1] not in (2, 3):
            raise InputError(f"box file '{path}' holds a polygon with coordinates of shape {vertices.shape}")
        vertices = vertices[:, ::-1]  # [x, y(, z)] -> (z,) y, x
        if kind == "MultiPolygon" or not _is_rectangle(vertices):
            irregular += 1
        boxes.append(_bbox(vertices))
    if irregular:
        warnings.warn(
            f"box file '{path}': {irregular} non-rectangular shape(s) replaced by their bounding boxes",
            UserWarning,
            stacklevel=3,
        )
    if not boxes:
        return np.zeros((0, 2, 2))
    dims = {b.shape[1] for b in boxes}
    if len(dims) > 1:
        raise InputError(f"box file '{path}' mixes 2-D and 3-D coordinates")
    return np.stack(boxes)


def _geometries(document: Any, path: Path):
    if not isinstance(document, dict):
        raise InputError(f"box file '{path}' is not a GeoJSON object")
    kind = document.get("type")
    if kind == "FeatureCollection":
        for feature in document.get("features") or []:
            yield from _geometries(feature, path)
    elif kind == "Feature":
        geometry = document.get("geometry")
        if geometry is not None:
            yield from _geometries(geometry, path)
    elif kind == "GeometryCollection":
        for geometry in document.get("geometries") or []:
            yield from _geometries(geometry, path)
    elif kind in ("Polygon", "MultiPolygon", "Point", "MultiPoint", "LineString", "MultiLineString"):
        yield document
    else:
        raise InputError(f"box file '{path}' has GeoJSON type {kind!r}; expected a FeatureCollection")


def _is_rectangle(vertices: np.ndarray) -> bool:
    """Axis-aligned rectangle: every vertex on a corner of the bounding box."""
    lo, hi = vertices.min(axis=0), vertices.max(axis=0)
    on_corner = np.all(np.isclose(vertices, lo) | np.isclose(vertices, hi), axis=1)
    return bool(on_corner.all())
