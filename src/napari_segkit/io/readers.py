"""``read_image``: one entry point for TIFF, zarr/OME-Zarr and ``.npy`` inputs."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Optional

from .._errors import InputError
from ._common import READ_FORMATS, ImageData, PathLike, detect_format

__all__ = ["read_image"]

logger = logging.getLogger(__name__)


def _input_path(path: PathLike, name: str) -> Path:
    try:
        text = os.fspath(path)
    except TypeError:
        raise InputError(f"{name} must be a path, got {path!r}") from None
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{name} must be a non-empty path, got {path!r}")
    if "://" in text or "::" in text:
        raise InputError(f"{name} '{text}' is a URL; only local paths are read")
    return Path(os.path.expanduser(text.rstrip("/\\") or text))


def read_image(
    path: PathLike,
    *,
    series: int = 0,
    level: int = 0,
    memory_limit: Optional[int] = None,
    name: str = "image",
    lazy: bool = False,
) -> ImageData:
    """Read an image (or seeds) from a TIFF, zarr/OME-Zarr or ``.npy`` file.

    Nothing is decoded before the metadata are checked: the declared size
    (shape x itemsize, and each tile or chunk) against the memory budget,
    zarr codecs against an allow-list, and data extents against the file
    size.

    Parameters
    ----------
    path : path-like
        ``.tif``/``.tiff`` (ImageJ, OME or plain TIFF), ``.zarr`` (a zarr
        array, or an OME-Zarr group with ``multiscales``) or ``.npy``.
    series : int
        TIFF series to read (OME-TIFF files may hold several); default 0.
    level : int
        Pyramid level (OME-TIFF sub-resolutions, OME-Zarr datasets); default
        0, the full resolution.  Spacing is that of the chosen level.
    memory_limit : int, optional
        Bytes the image may take in memory; default 80 % of the memory
        available now.
    name : str
        What the path is (``'image'``, ``'seeds'``), used in messages.
    lazy : bool
        For a zarr store or a TIFF file, return a dask array whose blocks
        read their own chunks (zarr) or strips and tiles (TIFF) when computed
        (on dask.distributed workers, each worker reads its blocks; no pixel
        is read now and the whole array need not fit in ``memory_limit``,
        only each block).  ``.npy`` files are read into memory.

    Returns
    -------
    ImageData
        ``array``, ``spacing`` (of the Z/Y/X axes, or None when the file
        does not say), ``axes``, ``source``, ``unit`` and ``metadata``.

    Raises
    ------
    InputError
        Missing path, a directory where a file is expected (or the reverse),
        unsupported extension, truncated or corrupt data, an OME-Zarr group
        without ``multiscales``, a zarr store marked ``"seg_complete":
        false``, or a series/level out of range.
    UnsafeFileError
        Object dtype, a ``pickle`` or unknown zarr codec, or a dataset path
        that leaves the store.
    ResourceLimitError
        The declared size exceeds ``memory_limit`` (checked before reading).
    OSError
        The file cannot be read (permissions, I/O errors).

    Examples
    --------
    >>> from napari_segkit.io import read_image, write_labels
    >>> import numpy as np, tempfile, os
    >>> out = os.path.join(tempfile.mkdtemp(), "labels.tif")
    >>> _ = write_labels(out, np.eye(4, dtype=np.int32), spacing=(0.5, 0.25))
    >>> image = read_image(out)
    >>> image.spacing, image.axes
    ((0.5, 0.25), 'YX')
    """
    source = _input_path(path, name)
    fmt = detect_format(source, name=name, table=READ_FORMATS)
    if not (source.exists() or source.is_symlink()):
        raise InputError(f"{name} '{source}' does not exist (format {fmt} from its extension)")
    if not source.exists():
        raise InputError(f"{name} '{source}' is a broken symbolic link")
    if fmt == "zarr":
        if not source.is_dir():
            raise InputError(f"{name} '{source}' is a file, but a .zarr store is a directory")
    elif source.is_dir():
        raise InputError(f"{name} '{source}' is a directory; expected a {fmt} file")
    if fmt != "tiff" and series != 0:
        raise InputError(f"series={series!r} applies to TIFF files only; {name} '{source}' is {fmt}")
    if fmt == "npy" and level != 0:
        raise InputError(f"level={level!r} applies to pyramids only; {name} '{source}' is npy")
    try:
        if fmt == "tiff":
            from ._tiff import read_tiff

            image = read_tiff(source, series=series, level=level, memory_limit=memory_limit, lazy=lazy)
        elif fmt == "zarr":
            from ._zarr import read_zarr

            image = read_zarr(source, level=level, memory_limit=memory_limit, lazy=lazy)
        else:
            from ._npy import read_npy

            image = read_npy(source, memory_limit=memory_limit)
    except PermissionError as exc:
        raise PermissionError(
            f"cannot read {name} '{source}' ({fmt}): permission denied ({exc.filename or exc})"
        ) from None
    logger.info(
        "read %s %s: shape %s, dtype %s, axes %s, spacing %s",
        name, image.source, tuple(image.array.shape), image.array.dtype, image.axes, image.spacing,
    )
    return image
