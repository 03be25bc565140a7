"""Exception types shared by the API, the CLI and the napari widgets.

Every error the package raises on purpose derives from one of these, so the CLI
can map it to an exit code and the widgets can show its message unchanged.
"""

from __future__ import annotations

__all__ = ["Cancelled", "DeviceError", "InputError", "ResourceLimitError", "UnsafeFileError"]


class InputError(ValueError):
    """The input (an array, a file, an argument) is not acceptable.

    The message names the argument and the value received.
    """


class ResourceLimitError(ValueError):
    """The job was refused before starting because it would not fit.

    Raised when a memory estimate exceeds the available memory, or a graph
    exceeds PyMaxflow's 32-bit node or arc limits.  The message gives the
    estimate and suggests a crop, tiles or downsampling.
    """


class UnsafeFileError(ValueError):
    """A file was refused because reading it could run code or exhaust memory."""


class DeviceError(RuntimeError):
    """The accelerator failed during the job in a way that ends the job.

    Raised after a device-side error that leaves the GPU's context unusable
    for the rest of the process (a device-side assert, an illegal memory
    access).  Later jobs in the same process run on the CPU; restarting the
    process makes the GPU usable again.
    """


class Cancelled(Exception):  # noqa: N818 (reads as a state, like asyncio's)
    """The user cancelled the job; raised from a progress callback."""
