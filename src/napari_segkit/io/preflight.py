"""Checks on an output path made before any heavy compute starts."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, List

from .._errors import InputError, ResourceLimitError
from ._common import WRITE_FORMATS, OutputExistsError, PathLike, detect_format, format_bytes

__all__ = ["check_free_space", "output_path", "output_targets", "preflight_output"]

logger = logging.getLogger(__name__)

#: free disk needed, as a multiple of the estimated output size
DISK_MARGIN = 1.2


def output_path(path: PathLike) -> Path:
    """``path`` as an absolute :class:`~pathlib.Path` without a trailing separator."""
    text = os.fspath(path)
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"output path must be a non-empty path, got {path!r}")
    return Path(os.path.abspath(os.path.expanduser(text.rstrip("/\\") or text)))


def output_targets(out: Path) -> List[Path]:
    """Every path that writing ``out`` creates (``.npy`` adds its JSON sidecar)."""
    if detect_format(out, name="output", table=WRITE_FORMATS) == "npy":
        from ._npy import sidecar_path

        return [out, sidecar_path(out)]
    return [out]


def _is_zarr_store(path: Path) -> bool:
    return any((path / name).exists() for name in ("zarr.json", ".zarray", ".zgroup"))


def _check_existing(target: Path, *, overwrite: bool, directory: bool) -> None:
    if not (target.exists() or target.is_symlink()):
        return
    if not overwrite:
        raise OutputExistsError(
            f"output '{target}' already exists; pass overwrite=True (--overwrite) to replace it"
        )
    if directory and not target.is_dir():
        raise InputError(f"output '{target}' exists and is not a directory; refusing to replace it")
    if directory and not _is_zarr_store(target):
        raise InputError(
            f"output '{target}' is a directory but not a zarr store; refusing to replace it"
        )
    if not directory and target.is_dir():
        raise InputError(f"output '{target}' exists and is a directory; refusing to replace it")


def _check_not_input(out: Path, inputs: Iterable[PathLike]) -> None:
    out_real = out.resolve()
    if out_real != out:
        logger.info("output '%s' resolves through a symbolic link to '%s'", out, out_real)
    for item in inputs:
        if item is None:
            continue
        given = Path(os.fspath(item))
        real = given.resolve()
        same = real == out_real
        if not same and out.exists() and given.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(out, given)
        if same:
            raise InputError(f"output '{out}' is the input '{given}'; choose another output path")
        if real in out_real.parents:
            raise InputError(
                f"output '{out}' lies inside the input store '{given}'; choose a path outside it"
            )
        if out_real in real.parents:
            raise InputError(
                f"input '{given}' lies inside the output '{out}'; replacing the output "
                "would delete the input"
            )


def _check_writable(directory: Path) -> None:
    try:
        fd, name = tempfile.mkstemp(dir=directory, prefix=".napari-segkit-preflight-")
    except OSError as exc:
        raise type(exc)(
            f"output directory '{directory}' is not writable: {exc.strerror or exc}"
        ) from None
    os.close(fd)
    os.unlink(name)


def check_free_space(directory: PathLike, nbytes: int) -> None:
    """Raise unless ``directory``'s disk has ``DISK_MARGIN`` x ``nbytes`` free.

    Raises
    ------
    ResourceLimitError
        With the bytes needed and free.
    """
    needed = int(DISK_MARGIN * max(int(nbytes), 0))
    if not needed:
        return
    free = shutil.disk_usage(os.fspath(directory)).free
    if free < needed:
        raise ResourceLimitError(
            f"the output needs about {format_bytes(needed)} ({DISK_MARGIN}x the estimated "
            f"{format_bytes(nbytes)}) but only {format_bytes(free)} is free on the disk "
            f"holding '{directory}'; free space or write elsewhere"
        )


def preflight_output(
    path: PathLike,
    *,
    overwrite: bool,
    inputs: Iterable[PathLike] = (),
    estimated_bytes: int = 0,
) -> Path:
    """Check that ``path`` can be written, before computing what goes in it.

    Parameters
    ----------
    path : path-like
        The output (``.tif``, ``.tiff``, ``.zarr`` or ``.npy``).
    overwrite : bool
        Whether an existing output may be replaced.
    inputs : iterable of path-like
        Input files; the output may not be one of them, lie inside one, or
        contain one.
    estimated_bytes : int
        Expected output size; the disk must have 1.2 times that free.

    Returns
    -------
    Path
        The output as an absolute path.

    Raises
    ------
    InputError
        Unsupported extension, missing parent directory, output equal to or
        inside an input, or (as :class:`OutputExistsError`, also a
        :class:`FileExistsError`) an existing output without ``overwrite``.
    OSError
        The output directory is not writable (checked by creating and
        deleting a temporary file in it).
    ResourceLimitError
        Not enough free disk.
    """
    out = output_path(path)
    fmt = detect_format(out, name="output", table=WRITE_FORMATS)
    parent = out.parent
    if not parent.exists():
        raise InputError(f"output directory '{parent}' does not exist (output '{out}')")
    if not parent.is_dir():
        raise InputError(f"output directory '{parent}' is not a directory (output '{out}')")
    _check_not_input(out, inputs)
    for target in output_targets(out):
        _check_existing(target, overwrite=overwrite, directory=fmt == "zarr" and target == out)
    _check_writable(parent)
    check_free_space(parent, estimated_bytes)
    return out


def preflight_model_dir(path: PathLike, *, overwrite: bool, inputs: Iterable[PathLike] = ()) -> Path:
    """Like :func:`preflight_output`, for a model directory (``config.json`` + weights).

    An existing directory is replaced only with ``overwrite`` and only if it
    holds a ``config.json`` (a model), never another folder.
    """
    out = output_path(path)
    parent = out.parent
    if not parent.is_dir():
        raise InputError(f"output directory '{parent}' does not exist (model '{out}')")
    _check_not_input(out, inputs)
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise OutputExistsError(
                f"model '{out}' already exists; pass overwrite=True (--overwrite) to replace it"
            )
        if not (out.is_dir() and (out / "config.json").is_file()):
            raise InputError(f"'{out}' exists and is not a model directory; refusing to replace it")
    _check_writable(parent)
    return out
