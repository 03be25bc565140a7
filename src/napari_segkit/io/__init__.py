"""Reading images and writing label images: TIFF, zarr/OME-Zarr and ``.npy``.

Readers check declared sizes, codecs and data extents before decoding
anything; writers write to a temporary sibling and rename, so an output is
either complete or absent.  tifffile and zarr are imported only when a file
is read or written.
"""

from __future__ import annotations

from ._common import READ_FORMATS, WRITE_FORMATS, ImageData, OutputExistsError
from ._lock import OutputLockedError, output_lock
from .preflight import check_free_space, preflight_output
from .readers import read_image
from .writers import write_labels

__all__ = [
    "READ_FORMATS",
    "WRITE_FORMATS",
    "ImageData",
    "OutputExistsError",
    "OutputLockedError",
    "check_free_space",
    "output_lock",
    "preflight_output",
    "read_image",
    "write_labels",
]
