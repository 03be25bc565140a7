"""Zarr arrays and OME-Zarr images: read (after vetting, see ``_zarr_meta``) and written."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .._errors import InputError
from ._common import ImageData, check_declared_bytes, valid_spacing
from ._zarr_meta import COMPLETE_KEY, check_complete, node_metadata, store_subpath, vet_array_metadata

__all__ = ["read_zarr", "write_zarr"]

logger = logging.getLogger(__name__)


def _child_arrays(path: Path) -> list:
    try:
        names = sorted(p.name for p in path.iterdir() if p.is_dir())
    except OSError:
        return []
    return [n for n in names if (path / n / "zarr.json").is_file() or (path / n / ".zarray").is_file()]


def _multiscales(path: Path, attrs: Dict[str, Any]) -> list:
    ome = attrs.get("ome")
    value = ome.get("multiscales") if isinstance(ome, dict) else None
    value = attrs.get("multiscales", value)
    if not value:
        arrays = _child_arrays(path)
        hint = (
            f"; read one of its arrays instead: {', '.join(str(path / a) for a in arrays)}"
            if arrays else ""
        )
        raise InputError(
            f"zarr group '{path}' has no 'multiscales' attribute, so it is not an "
            f"OME-Zarr image{hint}"
        )
    if not isinstance(value, list) or not isinstance(value[0], dict):
        raise InputError(f"OME-Zarr '{path}': 'multiscales' must be a list of objects")
    return value


def _scale(transforms: Any) -> Optional[list]:
    for item in transforms or ():
        if isinstance(item, dict) and item.get("type") == "scale":
            return item.get("scale")
    return None


def _ome_axes(axes_meta: Any, ndim: int):
    """Return (axes letters or None, indices of spatial axes, unit or None)."""
    if not axes_meta:
        if ndim == 5:  # OME-Zarr 0.1-0.3 are always TCZYX
            return "TCZYX", [2, 3, 4], None
        return None, list(range(max(0, ndim - 3) if ndim >= 3 else 0, ndim)), None
    names, spatial, units = [], [], set()
    for i, ax in enumerate(axes_meta):
        name = ax.get("name") if isinstance(ax, dict) else ax
        kind = ax.get("type") if isinstance(ax, dict) else None
        names.append(str(name))
        if kind == "space" or (kind is None and str(name).lower() in ("z", "y", "x")):
            spatial.append(i)
            if isinstance(ax, dict) and ax.get("unit"):
                units.add(ax["unit"])
    letters = "".join(n.upper() for n in names) if all(len(n) == 1 for n in names) else None
    return letters, spatial, units.pop() if len(units) == 1 else None


def read_zarr(path: Path, *, level: int, memory_limit: Optional[int], lazy: bool = False) -> ImageData:
    """Read a zarr array or one level of an OME-Zarr image; see :func:`read_image`."""
    node_type, attrs, meta = node_metadata(path)
    check_complete(path, attrs)
    spacing = unit = axes = None
    metadata: Dict[str, Any] = {}
    if node_type == "group":
        multiscales = _multiscales(path, attrs)
        image = multiscales[0]
        datasets = image.get("datasets")
        if not datasets or not isinstance(datasets, list):
            raise InputError(f"OME-Zarr '{path}': 'multiscales' has no 'datasets' key")
        if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 0 <= level < len(datasets):
            raise InputError(
                f"level={level!r} is out of range: OME-Zarr '{path}' has {len(datasets)} "
                f"level(s) (0 to {len(datasets) - 1})"
            )
        dataset = datasets[level]
        if not isinstance(dataset, dict) or "path" not in dataset:
            raise InputError(f"OME-Zarr '{path}': dataset {level} has no 'path' key")
        array_path = store_subpath(path, dataset["path"])
        if len(multiscales) > 1 or len(datasets) > 1:
            logger.info(
                "'%s' has %d multiscale image(s) with %d level(s); reading image 0 level %d "
                "('%s'); choose another with level=",
                path, len(multiscales), len(datasets), level, dataset["path"],
            )
        array_type, array_attrs, meta = node_metadata(array_path)
        if array_type != "array":
            raise InputError(f"OME-Zarr '{path}': dataset path '{dataset['path']}' is not an array")
        check_complete(array_path, array_attrs)
        shape, dtype, chunks = vet_array_metadata(array_path, meta)
        axes, spatial, unit = _ome_axes(image.get("axes"), len(shape))
        scale = _scale(dataset.get("coordinateTransformations"))
        outer = _scale(image.get("coordinateTransformations"))
        if scale is not None and len(scale) == len(shape):
            values = [float(s) for s in scale]
            if outer is not None and len(outer) == len(shape):
                values = [v * float(o) for v, o in zip(values, outer)]
            spacing = valid_spacing([values[i] for i in spatial], source=str(path))
        source = f"{path} (OME-Zarr level {level}, '{dataset['path']}')"
    else:
        array_path, array_attrs = path, attrs
        shape, dtype, chunks = vet_array_metadata(path, meta)
        spacing = valid_spacing(attrs.get("spacing"), source=str(path))
        axes = attrs.get("axes") if isinstance(attrs.get("axes"), str) else None
        names = meta.get("dimension_names")
        if axes is None and names and all(isinstance(n, str) and len(n) == 1 for n in names):
            axes = "".join(names).upper()
        unit = attrs.get("unit") if isinstance(attrs.get("unit"), str) else None
        source = f"{path} (zarr array)"
    if isinstance(array_attrs.get("napari_segkit"), dict):
        metadata = dict(array_attrs["napari_segkit"])
    if axes is not None and len(axes) != len(shape):
        axes = None
    if not lazy:
        check_declared_bytes(path, shape, dtype, memory_limit=memory_limit)
    check_declared_bytes(path, chunks, dtype, memory_limit=memory_limit, what="chunk")
    array = _read_array(array_path, shape, ours=array_attrs.get(COMPLETE_KEY) is True, lazy=lazy)
    return ImageData(array, spacing, axes, source, unit, metadata)


def _plain(value: Any) -> Any:
    try:
        return np.asarray(value).item()
    except (TypeError, ValueError):
        return value


def _read_array(path: Path, shape: Sequence[int], *, ours: bool, lazy: bool = False) -> Any:
    import zarr

    try:
        array = zarr.open_array(store=str(path), mode="r")
    except (OSError, MemoryError):
        raise
    except Exception as exc:
        raise InputError(f"could not open zarr array '{path}': {exc}") from None
    try:
        stored, total = int(array.nchunks_initialized), int(array.nchunks)
    except Exception:  # noqa: BLE001 (a store that cannot list keys; report nothing)
        stored = total = 0
    if stored < total:
        message = (
            f"{total - stored} of {total} chunks of zarr array '{path}' are not stored "
            f"and read as the fill value {_plain(array.fill_value)!r}"
        )
        if ours:
            raise InputError(f"{message}; napari-segkit writes every chunk, so the store is damaged")
        logger.warning("%s (zarr omits chunks that hold only the fill value)", message)
    if lazy:  # each block reads its own chunks where it is computed (a worker, with distributed)
        import dask.array as da

        return da.from_zarr(array)
    try:
        data = array[...]
    except (OSError, MemoryError):
        raise
    except Exception as exc:  # decompression errors have no common base class
        raise InputError(f"could not decode zarr array '{path}': a chunk is corrupt ({exc})") from None
    data = np.asarray(data)
    if tuple(data.shape) != tuple(shape):
        raise InputError(f"zarr array '{path}' declares shape {tuple(shape)} but read {data.shape}")
    return data


#: Bytes of labels computed and written at once (whole zarr chunks).
SLAB_BYTES = 16 * 2**20


def _slab_shape(shape: Sequence[int], chunks: Sequence[int], itemsize: int) -> Tuple[int, ...]:
    """Whole chunks, grown from the last axis to the first while under :data:`SLAB_BYTES`."""
    block = [max(1, min(int(c), int(s))) for c, s in zip(chunks, shape)]
    for axis in reversed(range(len(shape))):
        others = math.prod(block) // block[axis] * itemsize
        fit = max(1, SLAB_BYTES // max(1, others * block[axis]))
        block[axis] = min(int(shape[axis]), block[axis] * fit)
        if block[axis] < shape[axis]:
            break
    return tuple(block)


def _write_in_slabs(array: Any, labels: Any) -> None:
    """Copy ``labels`` (numpy or dask) into ``array`` one slab of whole chunks at a time.

    A dask array is computed slab by slab, so the memory held is one slab
    (plus the blocks it needs), never the volume.  Between slabs no write is
    in flight: a pending Ctrl-C or SIGTERM stops there (:func:`check_stop`).
    """
    import itertools

    from ._signals import check_stop

    if labels.ndim == 0:
        array[...] = np.asarray(labels)
        return
    if _on_cluster(labels):
        _store_on_cluster(array, labels)
        return
    block = _slab_shape(labels.shape, array.chunks or labels.shape, labels.dtype.itemsize)
    starts = [range(0, int(s), b) for s, b in zip(labels.shape, block)]
    for corner in itertools.product(*starts):
        check_stop()
        region = tuple(slice(c, min(c + b, int(s))) for c, b, s in zip(corner, block, labels.shape))
        array[region] = np.asarray(labels[region])
    check_stop()


def _on_cluster(labels: Any) -> bool:
    """Whether ``labels`` is a dask array and a dask.distributed client is the default scheduler."""
    import sys

    if "distributed" not in sys.modules or not hasattr(labels, "dask"):
        return False
    from distributed import default_client

    try:
        default_client()
    except ValueError:  # no client
        return False
    return True


def _store_on_cluster(array: Any, labels: Any) -> None:
    """The workers compute and write their own chunks of ``array``; the client holds no pixels.

    ``labels`` is rechunked to the zarr chunks (no two tasks write one
    chunk), and the store must be a path every worker can reach.
    """
    import dask.array as da

    from ._signals import check_stop

    check_stop()
    aligned = labels.rechunk(array.chunks) if labels.chunksize != tuple(array.chunks) else labels
    da.store(aligned, array, lock=False, compute=True)
    check_stop()


def write_zarr(directory: Path, labels: Any, *, attributes: Dict[str, Any], axes: str) -> None:
    """Write ``labels`` as a zarr array in the new directory ``directory``.

    Every chunk is written, even all-zero ones, so a missing chunk means
    damage.  ``seg_complete`` is false while the data are written and set
    true last.
    """
    import zarr

    attrs = dict(attributes, **{COMPLETE_KEY: False})
    major = int(zarr.__version__.split(".")[0])
    if major >= 3:
        array = zarr.create_array(
            store=str(directory),
            shape=labels.shape,
            dtype=labels.dtype,
            chunks="auto",
            attributes=attrs,
            dimension_names=[a.lower() for a in axes] if len(axes) == labels.ndim else None,
            config={"write_empty_chunks": True},
        )
    else:  # zarr-python 2
        array = zarr.open_array(
            store=str(directory), mode="w-", shape=labels.shape, dtype=labels.dtype,
            write_empty_chunks=True,
        )
        array.attrs.update(attrs)
    _write_in_slabs(array, labels)
    array.attrs[COMPLETE_KEY] = True
    if math.prod(labels.shape) and int(array.nchunks_initialized) != int(array.nchunks):
        raise OSError(f"zarr did not store every chunk of '{directory}'")  # pragma: no cover
