"""The ``napari-segkit`` command line.

Exit codes: 0 done, 2 bad input or usage, 3 refused for resources (memory,
disk), 4 I/O error, 5 unsafe file refused, 130 cancelled (Ctrl-C, SIGTERM),
1 internal error (a bug).  Errors are printed to stderr as one line,
``napari-segkit: error: <message>``; progress goes to stderr unless
``--quiet``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import signal
import sys
import threading
import traceback
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from . import __version__
from ._errors import Cancelled, InputError, ResourceLimitError, UnsafeFileError

__all__ = ["build_parser", "main"]

PROG = "napari-segkit"
EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_RESOURCE, EXIT_IO, EXIT_UNSAFE = 0, 1, 2, 3, 4, 5
EXIT_CANCELLED = 130

_EPILOG = (
    "exit codes: 0 done, 2 bad input, 3 refused for resources, 4 I/O error, "
    "5 unsafe file refused, 130 cancelled, 1 internal error"
)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def _byte_count(text: str) -> int:
    """``'512M'``, ``'4G'``, ``'1000000'`` -> bytes (suffixes are powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text, flags=re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive size such as 4G, 512M or 1000000, got {text!r}"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every verb."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Segment microscopy images (TIFF, zarr/OME-Zarr, .npy) from the shell.",
        epilog=_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="print the traceback of internal errors"
    )
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    cut = verbs.add_parser(
        "graph-cut",
        help="segment IMAGE into the regions marked by SEEDS (max-flow/min-cut)",
        description=(
            "Seeded graph cut: every pixel gets the value of one seed region.  "
            "Inputs and output: .tif/.tiff, .zarr or .npy."
        ),
        epilog=_EPILOG,
    )
    cut.add_argument("image", metavar="IMAGE", help="image file (.tif, .tiff, .zarr, .npy)")
    cut.add_argument(
        "seeds", metavar="SEEDS",
        help="seed labels, same shape as IMAGE without channels: 0 = unknown, 1, 2, ... = regions",
    )
    cut.add_argument("-o", "--output", required=True, metavar="OUT", help="output labels file")
    cut.add_argument(
        "--spacing", nargs="+", type=_positive_float, metavar="D",
        help="pixel size of the spatial axes, Z Y X or Y X (default: from IMAGE's metadata, else 1)",
    )
    cut.add_argument("--smoothness", type=float, default=2.0, metavar="S",
                     help="weight of the boundary term (default 2.0; 0 = per-pixel)")
    cut.add_argument("--connectivity", type=int, default=1, metavar="N",
                     help="1 = face neighbours (default) up to ndim, or 4/8 (2-D), 6/18/26 (3-D)")
    cut.add_argument("--channel-axis", type=int, default=None, metavar="N",
                     help="axis of IMAGE holding channels (default: from the file's axes, else none)")
    cut.add_argument("--spatial-dims", type=int, choices=(2, 3), default=None,
                     help="trailing spatial axes; 2 cuts a stack slice by slice")
    cut.add_argument("--series", type=int, default=0, metavar="N", help="TIFF series of IMAGE (default 0)")
    cut.add_argument("--level", type=int, default=0, metavar="N",
                     help="pyramid level of IMAGE (default 0, full resolution)")
    cut.add_argument("--memory-limit", type=_byte_count, default=None, metavar="BYTES",
                     help="memory the job may use, e.g. 8G (default 80%% of available memory)")
    cut.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    cut.add_argument("-q", "--quiet", action="store_true", help="no progress, only warnings and errors")
    cut.set_defaults(func=_run_graph_cut)

    demo = verbs.add_parser(
        "demo",
        help="run the demo: segment sample images and save the results",
        epilog=_EPILOG,
    )
    demo.add_argument("--output-dir", default="segkit-demo", metavar="DIR",
                      help="where to save the demo's results (default ./segkit-demo)")
    demo.add_argument("--headless", action="store_true", default=None,
                      help="do not open a napari window")
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress, only warnings and errors")
    demo.set_defaults(func=_run_demo)
    return parser


def _stderr(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _error(message: str) -> None:
    _stderr("error: " + " ".join(str(message).split()))


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = f"{PROG}: " + ("warning: " if record.levelno == logging.WARNING else "")
        if record.levelno >= logging.ERROR:
            prefix = f"{PROG}: error: "
        return prefix + record.getMessage()


class _Progress:
    """Progress lines on stderr, one per whole percent or new message."""

    def __init__(self) -> None:
        self._last: Tuple[int, str] = (-1, "")

    def __call__(self, fraction: float, message: str) -> None:
        state = (int(100 * fraction), message)
        if state != self._last:
            self._last = state
            _stderr(f"{state[0]:3d}% {message}")


@contextlib.contextmanager
def _cli_environment(quiet: bool) -> Iterator[List[str]]:
    """Package logging to stderr, warnings as one line each, SIGTERM as Ctrl-C.

    Yields the list that collects warning messages (recorded in the output).
    """
    package = logging.getLogger("napari_segkit")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    old_level = package.level
    package.addHandler(handler)
    package.setLevel(logging.WARNING if quiet else logging.INFO)
    collected: List[str] = []

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
        collected.append(str(message))
        _stderr(f"warning: {message}")

    old_term = None
    if threading.current_thread() is threading.main_thread():
        def interrupt(signum, frame):  # noqa: ANN001
            raise KeyboardInterrupt

        old_term = signal.signal(signal.SIGTERM, interrupt)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = show
            yield collected
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
        package.removeHandler(handler)
        package.setLevel(old_level)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    try:
        with _cli_environment(getattr(args, "quiet", False)) as collected:
            args.warnings = collected
            return int(args.func(args))
    except (Cancelled, KeyboardInterrupt):
        _error("cancelled; no output was written")
        return EXIT_CANCELLED
    except InputError as exc:
        _error(str(exc))
        return EXIT_INPUT
    except ResourceLimitError as exc:
        _error(str(exc))
        return EXIT_RESOURCE
    except UnsafeFileError as exc:
        _error(str(exc))
        return EXIT_UNSAFE
    except OSError as exc:
        _error(str(exc))
        return EXIT_IO
    except Exception as exc:  # noqa: BLE001 (a bug: say so, and how to see more)
        _error(f"internal error: {type(exc).__name__}: {exc}")
        if args.debug:
            traceback.print_exc(file=sys.stderr)
        else:
            _stderr(f"this is a bug; rerun with '{PROG} --debug ...' to see the traceback and report it")
        return EXIT_INTERNAL


def _channel_axis(args: argparse.Namespace, axes: Optional[str], ndim: int) -> Optional[int]:
    if args.channel_axis is not None:
        return args.channel_axis
    if axes and len(axes) == ndim:
        found = [i for i, a in enumerate(axes) if a in "CS"]
        if len(found) == 1:
            logging.getLogger(__name__).info(
                "using channel axis %d from the image's axes '%s' (override with --channel-axis)",
                found[0], axes,
            )
            return found[0]
    return None


def _spacing(args, image, n_spatial: int, collected: List[str]) -> Tuple[Tuple[float, ...], str]:
    if args.spacing is not None:
        if len(args.spacing) != n_spatial:
            raise InputError(
                f"--spacing got {len(args.spacing)} value(s) {tuple(args.spacing)}, but IMAGE "
                f"'{args.image}' has {n_spatial} spatial axes; give {'Z Y X' if n_spatial == 3 else 'Y X'}"
            )
        return tuple(args.spacing), "command line"
    if image.spacing is not None and len(image.spacing) >= n_spatial:
        return tuple(image.spacing[-n_spatial:]), "file"
    message = (
        f"IMAGE '{args.image}' has no physical pixel size in its metadata; using spacing 1.0 "
        "for every axis (pass --spacing to set it)"
    )
    collected.append(message)
    logging.getLogger(__name__).warning(message)
    return (1.0,) * n_spatial, "default"


def _run_graph_cut(args: argparse.Namespace) -> int:
    from ._validation import check_channel_axis, check_spatial_dims
    from .graphcut import graph_cut
    from .io import check_free_space, output_lock, preflight_output, read_image, write_labels
    from .io.writers import default_axes

    out = preflight_output(args.output, overwrite=args.overwrite, inputs=[args.image, args.seeds])
    with output_lock(out):
        image = read_image(args.image, series=args.series, level=args.level,
                           memory_limit=args.memory_limit, name="IMAGE")
        seeds = read_image(args.seeds, memory_limit=args.memory_limit, name="SEEDS")
        ndim = image.array.ndim
        channel_axis = check_channel_axis(_channel_axis(args, image.axes, ndim), ndim, name="IMAGE")
        n_spatial = check_spatial_dims(
            args.spatial_dims, ndim - (channel_axis is not None), method="graph-cut", name="IMAGE"
        )
        spacing, spacing_source = _spacing(args, image, n_spatial, args.warnings)
        labels_ndim = ndim - (channel_axis is not None)
        axes = image.axes
        if axes and channel_axis is not None and len(axes) == ndim:
            axes = axes[:channel_axis] + axes[channel_axis + 1:]
        if not axes or len(axes) != labels_ndim or sum(a in "ZYX" for a in axes) != n_spatial:
            axes = default_axes(labels_ndim, n_spatial)
        n_pixels = image.array.size // (image.array.shape[channel_axis] if channel_axis is not None else 1)
        check_free_space(out.parent, 4 * n_pixels)

        labels = graph_cut(
            image.array, seeds.array, spacing=spacing, channel_axis=channel_axis,
            smoothness=args.smoothness, connectivity=args.connectivity, spatial_dims=n_spatial,
            memory_limit=args.memory_limit, progress=None if args.quiet else _Progress(),
        )
        metadata: Dict[str, Any] = {
            "command": "graph-cut",
            "version": __version__,
            "parameters": {
                "image": str(Path(args.image).resolve()),
                "seeds": str(Path(args.seeds).resolve()),
                "series": args.series,
                "level": args.level,
                "smoothness": args.smoothness,
                "connectivity": args.connectivity,
                "channel_axis": channel_axis,
                "spatial_dims": n_spatial,
                "spacing": list(spacing),
            },
            "spacing": list(spacing),
            "spacing_source": spacing_source,
            "warnings": list(args.warnings),
        }
        write_labels(
            out, labels, spacing=spacing, overwrite=args.overwrite, metadata=metadata, axes=axes,
            unit=image.unit if spacing_source == "file" else None,
        )
    return EXIT_OK


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import main as demo_main

    return int(demo_main(output_dir=args.output_dir, headless=args.headless) or 0)
