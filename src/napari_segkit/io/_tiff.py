"""TIFF (ImageJ, OME, plain) read and written with tifffile."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from pathlib import Path
from typing import Any, BinaryIO, Iterator, List, Optional, Tuple

import numpy as np

from .. import _json as safe_json
from .._errors import InputError
from ._common import ImageData, check_declared_bytes, spatial_spacing, valid_spacing

__all__ = ["read_tiff", "write_tiff"]

logger = logging.getLogger(__name__)

# OME length units, in micrometres
_UNIT_TO_UM = {
    "pm": 1e-6, "Å": 1e-4, "nm": 1e-3, "µm": 1.0, "um": 1.0, "micron": 1.0,
    "mm": 1e3, "cm": 1e4, "m": 1e6,
}
_IMAGEJ_AXES = "TZCYXS"


class _Collect(logging.Handler):
    """Keeps tifffile's error records so a damaged file is refused, not half-read.

    Its warnings are passed on through this package's logger.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.messages.append(record.getMessage())
        else:
            logger.warning("tifffile: %s", record.getMessage())


@contextlib.contextmanager
def _tifffile_errors() -> Iterator[_Collect]:
    tif_logger = logging.getLogger("tifffile")
    handler = _Collect()
    tif_logger.addHandler(handler)
    propagate, tif_logger.propagate = tif_logger.propagate, False
    try:
        yield handler
    finally:
        tif_logger.propagate = propagate
        tif_logger.removeHandler(handler)


def _raise_if_damaged(path: Path, handler: _Collect) -> None:
    if handler.messages:
        detail = "; ".join(dict.fromkeys(m.split(">", 1)[-1].strip() for m in handler.messages))
        raise InputError(f"TIFF file '{path}' is truncated or corrupt: {detail}")


@contextlib.contextmanager
def _decode_errors(path: Path) -> Iterator[None]:
    """Turn tifffile and codec failures while decoding into an InputError naming the file."""
    import tifffile

    try:
        yield
    except (ValueError, RuntimeError, IndexError, tifffile.TiffFileError) as exc:
        raise InputError(f"could not decode TIFF file '{path}': {exc}") from None
    except Exception as exc:  # codec errors (zlib.error, imagecodecs) have no common base
        if isinstance(exc, (OSError, MemoryError, InputError)):
            raise
        raise InputError(f"could not decode TIFF file '{path}': {exc}") from None


def _read_tiff_block(path: str, series: int, level: int, block_info=None) -> np.ndarray:
    """One block of a lazily read TIFF: only the strips or tiles it covers are decoded."""
    import tifffile
    import zarr

    where = tuple(slice(start, stop) for start, stop in block_info[None]["array-location"])
    with _tifffile_errors() as handler, tifffile.TiffFile(path) as tif:
        store = tif.series[series].levels[level].aszarr()
        try:
            with _decode_errors(Path(path)):
                block = np.asarray(zarr.open(store, mode="r")[where])
        finally:
            store.close()
        _raise_if_damaged(Path(path), handler)
    return block


def _lazy_tiff(path: Path, series: int, level: int, page_level, memory_limit: Optional[int]) -> Any:
    """A dask array whose blocks each open the file and read their own strips or tiles.

    The graph holds the path and block positions, never pixels, so on a
    dask.distributed cluster the workers read the file themselves.
    """
    import dask.array as da
    import zarr

    shape, dtype = tuple(page_level.shape), np.dtype(page_level.dtype)
    store = page_level.aszarr()
    try:
        stored = tuple(int(c) for c in zarr.open(store, mode="r").chunks)
    finally:
        store.close()
    limit = None if memory_limit is None else max(int(memory_limit) // 4, 1)
    chunks = da.core.normalize_chunks("auto", shape, dtype=dtype, previous_chunks=stored, limit=limit)
    largest = tuple(max(c) for c in chunks)
    check_declared_bytes(path, largest, dtype, memory_limit=memory_limit, what="block")
    return da.map_blocks(
        _read_tiff_block, str(path), series, level, chunks=chunks, dtype=dtype,
        meta=np.empty((0,) * len(shape), dtype), name=f"read-tiff-{_file_token(path, series, level)}",
    )


def _file_token(path: Path, series: int, level: int) -> str:
    """A name that changes when the file does (path, size and modification time)."""
    from dask.base import tokenize

    stat = os.stat(path)
    return tokenize(str(path), stat.st_size, stat.st_mtime_ns, series, level)


def read_tiff(
    path: Path, *, series: int, level: int, memory_limit: Optional[int], lazy: bool = False
) -> ImageData:
    """Read one series and pyramid level of a TIFF file; see :func:`read_image`.

    With ``lazy``, a dask array whose blocks read their own part of the file
    when computed; the whole image need not fit in ``memory_limit``.
    """
    import tifffile

    with _tifffile_errors() as handler:
        try:
            tif = tifffile.TiffFile(path)
        except tifffile.TiffFileError as exc:
            raise InputError(f"'{path}' is not a readable TIFF file: {exc}") from None
        with tif:
            all_series = tif.series
            _raise_if_damaged(path, handler)
            if not all_series:
                raise InputError(f"TIFF file '{path}' contains no images")
            chosen = _pick(path, all_series, series, "series", "series")
            levels = chosen.levels
            page_level = _pick(path, levels, level, "level", f"pyramid level of series {series}")
            if len(all_series) > 1 or len(levels) > 1:
                logger.info(
                    "'%s' has %d series and series %d has %d pyramid level(s); reading series %d "
                    "level %d, shape %s, axes %s (choose others with series=/level=)",
                    path, len(all_series), series, len(levels), series, level,
                    page_level.shape, page_level.axes,
                )
            shape, dtype, axes = tuple(page_level.shape), np.dtype(page_level.dtype), page_level.axes
            if not lazy:
                check_declared_bytes(path, shape, dtype, memory_limit=memory_limit)
            _check_segments(path, tif, page_level, memory_limit)
            spacing, unit, metadata = _spacing_and_metadata(tif, series, chosen, page_level, axes)
            if lazy:
                array = _lazy_tiff(path, series, level, page_level, memory_limit)
            else:
                with _decode_errors(path):
                    array = page_level.asarray()
            _raise_if_damaged(path, handler)
    if tuple(array.shape) != shape:
        raise InputError(
            f"TIFF file '{path}' declares shape {shape} but holds {tuple(array.shape)}; "
            "it is truncated or corrupt"
        )
    source = f"{path} (TIFF series {series} level {level})"
    return ImageData(array, spacing, axes, source, unit, metadata)


def _pick(path: Path, items, index: Any, name: str, what: str):
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise InputError(f"{name} must be an integer, got {index!r}")
    if not 0 <= index < len(items):
        shapes = ", ".join(f"{i}: {tuple(s.shape)}" for i, s in enumerate(items))
        raise InputError(
            f"{name}={index} is out of range: '{path}' has {len(items)} {what} ({shapes})"
        )
    return items[index]


def _check_segments(path: Path, tif, page_level, memory_limit: Optional[int]) -> None:
    """Refuse data that lies past the end of the file, or tiles too big to decode."""
    size = os.path.getsize(path)
    dataoffset = getattr(page_level, "dataoffset", None)
    if dataoffset is not None:  # contiguous series (ImageJ hyperstacks, shaped files)
        end = int(dataoffset) + int(page_level.nbytes)
        if end > size:
            raise InputError(
                f"TIFF file '{path}' is truncated: its image data ends at byte {end:,} "
                f"but the file has {size:,} bytes"
            )
        return
    for page in page_level.pages:
        if page is None:
            continue
        chunks = getattr(page, "chunks", None)
        if chunks:
            check_declared_bytes(
                path, tuple(chunks), page_level.dtype, memory_limit=memory_limit, what="tile"
            )
        for offset, count in zip(page.dataoffsets, page.databytecounts):
            if count and offset + count > size:
                raise InputError(
                    f"TIFF file '{path}' is truncated: a data segment ends at byte "
                    f"{offset + count:,} but the file has {size:,} bytes"
                )


def _spacing_and_metadata(tif, series: int, chosen, page_level, axes: str):
    recorded, metadata = _recorded(tif, series)
    spacing: Optional[Tuple[float, ...]] = None
    unit: Optional[str] = None
    if tif.is_ome and tif.ome_metadata:
        spacing, unit = _ome_spacing(tif.ome_metadata, series, axes)
        if spacing is not None and page_level is not chosen.levels[0]:
            spacing = _scale_for_level(spacing, axes, chosen.levels[0].shape, page_level.shape)
    elif tif.is_imagej:
        spacing, unit = _imagej_spacing(tif, axes)
    if recorded is not None and len(recorded) == len(spacing or recorded):
        if spacing is None or np.allclose(recorded, spacing, rtol=1e-4):
            spacing = recorded  # our exact floats, not the TIFF rationals
        else:
            logger.info(
                "spacing recorded by napari-segkit %s differs from the file's calibration %s; "
                "using the calibration", recorded, spacing,
            )
    return spacing, unit, metadata


def _recorded(tif, series: int):
    """Spacing and metadata that ``write_tiff`` stored (ImageJ Info, or JSON description)."""
    document: Any = None
    if tif.is_imagej:
        info = (tif.imagej_metadata or {}).get("Info")
        if isinstance(info, str) and info.lstrip().startswith("{"):
            try:
                document = safe_json.loads(info, where="TIFF ImageJ Info")
            except ValueError:
                document = None
    elif tif.is_shaped:
        shaped = tif.shaped_metadata or ()
        document = shaped[series] if series < len(shaped) else None
    if not isinstance(document, dict):
        return None, {}
    metadata = document.get("napari_segkit")
    spacing = valid_spacing(document.get("spacing"), source=str(tif.filename))
    return spacing, dict(metadata) if isinstance(metadata, dict) else {}


def _ratio(page, name: str) -> Optional[float]:
    tag = page.tags.get(name)
    if tag is None:
        return None
    value = tag.value
    try:
        result = value[0] / value[1] if isinstance(value, tuple) else float(value)
    except (TypeError, ZeroDivisionError, IndexError):
        return None
    return result if math.isfinite(result) and result > 0 else None


def _imagej_spacing(tif, axes: str):
    meta = tif.imagej_metadata or {}
    page = tif.pages.first if hasattr(tif.pages, "first") else tif.pages[0]
    xres, yres = _ratio(page, "XResolution"), _ratio(page, "YResolution")
    unit = meta.get("unit")
    z = meta.get("spacing")
    calibrated = unit is not None or z is not None or (xres or 1.0, yres or 1.0) != (1.0, 1.0)
    if not calibrated:
        return None, None
    values = {
        "X": 1.0 / xres if xres else None,
        "Y": 1.0 / yres if yres else None,
        "Z": z if z is not None else 1.0,  # ImageJ's default voxel depth
    }
    return spatial_spacing(axes, values), str(unit) if unit is not None else None


def _ome_spacing(xml: str, series: int, axes: str):
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        logger.warning("ignoring unreadable OME-XML metadata")
        return None, None
    images = root.findall("{*}Image")
    if series >= len(images):
        return None, None
    pixels = images[series].find("{*}Pixels")
    if pixels is None:
        return None, None
    values, units = {}, {}
    for letter in "ZYX":
        values[letter] = pixels.get(f"PhysicalSize{letter}")
        units[letter] = pixels.get(f"PhysicalSize{letter}Unit", "µm")
    spacing = spatial_spacing(axes, values)
    if spacing is None:
        return None, None
    letters = [a for a in axes.upper() if a in "ZYX"]
    used = {units[a] for a in letters}
    if len(used) == 1:
        return spacing, used.pop()
    if all(units[a] in _UNIT_TO_UM for a in letters):
        return tuple(v * _UNIT_TO_UM[units[a]] for v, a in zip(spacing, letters)), "µm"
    logger.warning("OME physical sizes use mixed units %s; using the numbers as they are", used)
    return spacing, None


def _scale_for_level(spacing, axes: str, base_shape, level_shape) -> Tuple[float, ...]:
    factors = [b / s for b, s, a in zip(base_shape, level_shape, axes.upper()) if a in "ZYX"]
    return tuple(v * f for v, f in zip(spacing, factors))


def imagej_compatible(labels: np.ndarray, axes: str) -> Optional[np.dtype]:
    """The dtype to store ``labels`` in an ImageJ TIFF, or None if ImageJ cannot hold them."""
    positions = [_IMAGEJ_AXES.find(a) for a in axes]
    if -1 in positions or positions != sorted(positions):
        return None
    if labels.dtype in (np.uint8, np.uint16):
        return labels.dtype
    if labels.dtype.kind in "iub" and labels.size:
        low, high = labels.min(), labels.max()
        if 0 <= low and high <= np.iinfo(np.uint16).max:
            return np.dtype(np.uint16)
    return None


def write_tiff(
    fh: BinaryIO,
    labels: np.ndarray,
    *,
    spacing: Optional[Tuple[float, ...]],
    axes: str,
    unit: Optional[str],
    document: dict,
) -> None:
    """Write ``labels`` to the open binary file ``fh``.

    ImageJ-compatible (uint8/uint16, calibration in ImageJ's tags, ``document``
    as JSON in the ``Info`` property) when the ids fit in uint16 and the axes
    are ImageJ's; otherwise a zlib-compressed TIFF of the labels' own dtype
    with ``document`` in the JSON image description.
    """
    import tifffile

    values = {a: v for a, v in zip([a for a in axes if a in "ZYX"], spacing or ())}
    ij_dtype = imagej_compatible(labels, axes)
    if ij_dtype is not None:
        metadata: dict = {"axes": axes, "Info": json.dumps(document)}
        kwargs: dict = {}
        if spacing is not None:
            kwargs["resolution"] = (1.0 / values["X"], 1.0 / values["Y"])
            if "Z" in values:
                metadata["spacing"] = values["Z"]
        if unit:
            metadata["unit"] = unit
        tifffile.imwrite(
            fh, labels.astype(ij_dtype, copy=False), imagej=True, metadata=metadata, **kwargs
        )
        return
    logger.info(
        "labels (dtype %s, axes %s) do not fit an ImageJ TIFF; writing a plain TIFF",
        labels.dtype, axes,
    )
    tifffile.imwrite(
        fh,
        labels,
        photometric="minisblack",
        compression="zlib",
        metadata=dict(document, axes=axes),
    )
