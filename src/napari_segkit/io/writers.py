"""Writing label images atomically: a temporary sibling, fsync, then a rename."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping, Optional, Sequence

import numpy as np

from .._errors import InputError
from .._validation import as_image_array, check_spacing
from ._common import WRITE_FORMATS, OutputExistsError, PathLike, detect_format, partial_path, spacing_list
from ._lock import output_lock
from ._signals import check_stop, deferred_stop
from .preflight import output_path, preflight_output

__all__ = ["default_axes", "write_labels"]

logger = logging.getLogger(__name__)


def default_axes(ndim: int, n_spatial: int) -> str:
    """Axis letters for labels: ``'YX'``/``'ZYX'`` after ``'T'`` and ``'Q'`` leading axes."""
    spatial = "ZYX"[3 - n_spatial:]
    leading = ndim - n_spatial
    if leading < 0:
        raise InputError(f"labels have {ndim} dimensions, fewer than {n_spatial} spatial ones")
    return ("Q" * max(leading - 1, 0) + ("T" if leading else "")) + spatial


def _resolve_axes(ndim: int, spacing, axes: Optional[str]) -> str:
    if axes is not None:
        if not isinstance(axes, str) or len(axes) != ndim or len(set(axes.upper())) != ndim:
            raise InputError(
                f"axes must be {ndim} distinct letters, one per labels dimension, got {axes!r}"
            )
        return axes.upper()
    if spacing is not None and np.ndim(spacing) == 1 and len(spacing) in (2, 3):
        n_spatial = len(spacing)
    else:
        n_spatial = 2 if ndim == 2 else 3
    if ndim < 2:
        raise InputError(f"labels must have at least 2 dimensions, got shape with {ndim}")
    return default_axes(ndim, min(n_spatial, ndim))


def _json_metadata(metadata: Optional[Mapping[str, Any]]) -> dict:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InputError(f"metadata must be a mapping, got {type(metadata).__name__}")
    try:
        return json.loads(json.dumps(dict(metadata), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InputError(f"metadata must be JSON-serialisable: {exc}") from None


def _fsync_dir(directory: Path) -> None:
    if os.name == "nt":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(folder, name), "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(folder))


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def _publish_file(tmp: Path, out: Path, *, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, out)
        return
    try:  # a hard link never replaces an existing file, so a late arrival is not clobbered
        os.link(tmp, out)
    except FileExistsError:
        raise OutputExistsError(
            f"output '{out}' appeared while writing; not replacing it (use overwrite=True)"
        ) from None
    except OSError:  # file system without hard links
        if out.exists():
            raise OutputExistsError(f"output '{out}' already exists; not replacing it") from None
        os.replace(tmp, out)
        return
    os.unlink(tmp)


def write_file_atomically(out: Path, write: Callable[[BinaryIO], None], *, overwrite: bool) -> None:
    """Write ``out`` through ``write(fh)`` into ``<out>.partial-<pid>``, fsync, rename.

    The temporary file is removed on any error, KeyboardInterrupt included;
    an existing ``out`` is untouched unless the rename succeeds.
    """
    tmp = partial_path(out)
    _remove(tmp)  # left by a killed run that had this pid
    try:
        with open(tmp, "xb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        check_stop()
        _publish_file(tmp, out, overwrite=overwrite)
        _fsync_dir(out.parent)
    except BaseException:
        _remove(tmp)
        raise


def write_dir_atomically(out: Path, write: Callable[[Path], None], *, overwrite: bool) -> None:
    """Write the directory ``out`` through ``write(tmp_dir)``, then swap it in.

    With ``overwrite`` an existing ``out`` is moved aside and deleted only
    after the new one is in place; if the swap fails it is moved back.
    """
    tmp = partial_path(out)
    aside: Optional[Path] = None
    _remove(tmp)
    try:
        write(tmp)
        _fsync_tree(tmp)
        check_stop()
        if out.exists() or out.is_symlink():
            if not overwrite:
                raise OutputExistsError(
                    f"output '{out}' appeared while writing; not replacing it (use overwrite=True)"
                )
            aside = partial_path(out, "old")
            _remove(aside)
            os.replace(out, aside)
        try:
            os.rename(tmp, out)
        except BaseException:
            if aside is not None:
                os.replace(aside, out)
                aside = None
            raise
        _fsync_dir(out.parent)
    except BaseException:
        _remove(tmp)
        raise
    if aside is not None:
        try:
            _remove(aside)
        except OSError as exc:
            logger.warning("could not delete the replaced output '%s': %s", aside, exc)


def _write_npy_pair(out: Path, array: np.ndarray, document: dict, *, overwrite: bool) -> None:
    """``out`` and its JSON sidecar; on failure neither is left half-replaced."""
    from ._npy import sidecar_bytes, sidecar_path, write_npy

    side = sidecar_path(out)
    aside: Optional[Path] = None
    published = False
    try:
        if overwrite and side.exists():
            aside = partial_path(side, "old")
            os.replace(side, aside)
        # sidecar first: a final-name .npy always has its metadata beside it
        write_file_atomically(side, lambda fh: fh.write(sidecar_bytes(document)), overwrite=overwrite)
        published = True
        write_file_atomically(out, lambda fh: write_npy(fh, array), overwrite=overwrite)
    except BaseException:
        if published:
            _remove(side)
        if aside is not None:
            os.replace(aside, side)
        raise
    if aside is not None:
        _remove(aside)


def write_labels(
    path: PathLike,
    labels: Any,
    *,
    spacing: Optional[Sequence[float]] = None,
    overwrite: bool = False,
    metadata: Optional[Mapping[str, Any]] = None,
    axes: Optional[str] = None,
    unit: Optional[str] = None,
) -> Path:
    """Write a label image to ``.tif``/``.tiff``, ``.zarr`` or ``.npy``, atomically.

    The data go to ``<path>.partial-<pid>`` in the same directory, are
    fsynced and then renamed to ``path``, so ``path`` either holds the whole
    result or is untouched.  A zarr store gets the attribute
    ``"seg_complete": true`` last, and :func:`read_image` refuses stores where
    it is false.  A lock file ``<path>.lock`` keeps two writers apart.

    Parameters
    ----------
    path : path-like
        Output file.  ``.tif``/``.tiff``: an ImageJ TIFF (uint8/uint16) when
        the ids fit in 0..65535, else a plain zlib-compressed TIFF of the
        labels' dtype.  ``.zarr``: a zarr array (zarr v3 with zarr-python 3).
        ``.npy``: a NumPy file plus ``<path>.json`` holding spacing and
        metadata.
    labels : (M, N[, P]) array-like of int or bool
        Label image, 0 = background.
    spacing : sequence of float, optional
        Physical pixel size of the trailing spatial axes (2 or 3 values).
    overwrite : bool
        Replace an existing output.  Default False: an existing output is an
        error and is left untouched.
    metadata : mapping, optional
        JSON-serialisable record (command, parameters, version), stored under
        the key ``"napari_segkit"`` and returned by :func:`read_image` as
        ``ImageData.metadata``.
    axes : str, optional
        One letter per axis (e.g. ``'ZYX'``); default from the number of
        dimensions and of spacing values.
    unit : str, optional
        Unit of ``spacing`` (e.g. ``'micron'``).

    Returns
    -------
    Path
        The absolute output path.

    Raises
    ------
    InputError
        Bad labels, spacing, metadata or extension; output equal to an
        existing path without ``overwrite`` (:class:`OutputExistsError`).
    OSError
        The directory is not writable, the disk filled up, or another writer
        holds the lock; no partial output remains.
    ResourceLimitError
        Not enough free disk (checked before writing).
    """
    out = output_path(path)
    fmt = detect_format(out, name="output", table=WRITE_FORMATS)
    array = as_image_array(labels, name="labels", lazy=fmt == "zarr")  # zarr: written block by block
    if array.dtype.kind not in "biu":
        raise InputError(f"labels must have an integer or bool dtype, got {array.dtype}")
    if array.dtype.kind == "b":
        array = array.astype(np.uint8)
    axes = _resolve_axes(array.ndim, spacing, axes)
    n_spatial = sum(a in "ZYX" for a in axes)
    checked = None if spacing is None else check_spacing(spacing, n_spatial)
    document = {
        "napari_segkit": _json_metadata(metadata),
        "spacing": spacing_list(checked),
        "axes": axes,
        "unit": unit,
    }
    with output_lock(out), deferred_stop():
        preflight_output(out, overwrite=overwrite, estimated_bytes=array.nbytes)
        if fmt == "zarr":
            from ._zarr import write_zarr

            write_dir_atomically(
                out,
                lambda tmp: write_zarr(tmp, array, attributes=document, axes=axes),
                overwrite=overwrite,
            )
        elif fmt == "tiff":
            from ._tiff import write_tiff

            write_file_atomically(
                out,
                lambda fh: write_tiff(
                    fh, array, spacing=checked, axes=axes, unit=unit, document=document
                ),
                overwrite=overwrite,
            )
        else:
            _write_npy_pair(out, array, document, overwrite=overwrite)
    logger.info("wrote %s (shape %s, dtype %s)", out, array.shape, array.dtype)
    return out
