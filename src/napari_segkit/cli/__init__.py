"""The ``napari-segkit`` command line.

Exit codes: 0 done, 2 bad input or usage, 3 refused for resources (memory,
disk), 4 I/O error, 5 unsafe file refused, 130 cancelled (Ctrl-C, SIGTERM),
1 internal error (a bug).  Errors are printed to stderr as one line,
``napari-segkit: error: <message>``; progress goes to stderr unless
``--quiet``.  Each verb lives in its own module of this package.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from typing import Optional, Sequence

from .. import __version__
from .._errors import Cancelled, DeviceError, InputError, ResourceLimitError, UnsafeFileError
from .._registry import cli_modules
from ._common import (
    EPILOG,
    EXIT_CANCELLED,
    EXIT_DEVICE,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_IO,
    EXIT_RESOURCE,
    EXIT_UNSAFE,
    PROG,
    cli_environment,
    error,
    stderr,
)

__all__ = ["VERBS", "build_parser", "main"]

#: the verb modules, from the registry of methods (napari_segkit._registry)
VERBS = [importlib.import_module(f".{name}", __name__) for name in cli_modules()]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every verb."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Segment microscopy images (TIFF, zarr/OME-Zarr, .npy) from the shell.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of internal errors"
    )
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for verb in VERBS:
        verb.register(verbs)
    return parser


#: expected failures and their exit codes, most specific first (the first match wins)
_EXIT_CODES = {
    InputError: EXIT_INPUT,
    ResourceLimitError: EXIT_RESOURCE,
    UnsafeFileError: EXIT_UNSAFE,
    DeviceError: EXIT_DEVICE,
    OSError: EXIT_IO,
}


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    try:
        with cli_environment(getattr(args, "quiet", False)) as collected:
            args.warnings = collected
            return int(args.func(args))
    except (Cancelled, KeyboardInterrupt):
        error("cancelled; no output was written")
        return EXIT_CANCELLED
    except MemoryError as exc:  # the job did not fit after all: a resource refusal, not a bug
        needed = f" ({exc})" if str(exc) else ""
        error(f"not enough memory for this job{needed}; pass a smaller --memory-limit so the work is "
              "tiled, crop or downsample the image, or free memory")
        return EXIT_RESOURCE
    except tuple(_EXIT_CODES) as exc:  # expected failures: the message says it all
        error(str(exc))
        return next(code for kind, code in _EXIT_CODES.items() if isinstance(exc, kind))
    except Exception as exc:  # noqa: BLE001 (a bug: say so, and how to see more)
        error(f"internal error: {type(exc).__name__}: {exc}")
        if args.debug:
            traceback.print_exc(file=sys.stderr)
        else:
            stderr(f"this is a bug; rerun with '{PROG} --debug ...' to see the traceback and report it")
        return EXIT_INTERNAL
