"""What every verb of the command line shares: exit codes, option types,
logging and progress on stderr, and the read -> compute -> write pipeline.

A verb module exposes ``register(verbs)``, which adds its sub-parser and sets
``func``; :data:`napari_segkit.cli.VERBS` lists the modules.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import logging
import re
import signal
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from .. import __version__
from .._errors import InputError

PROG = "napari-segkit"
EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_RESOURCE, EXIT_IO, EXIT_UNSAFE, EXIT_DEVICE = 0, 1, 2, 3, 4, 5, 6
EXIT_CANCELLED = 130

EPILOG = (
    "exit codes: 0 done, 2 bad input, 3 refused for resources, 4 I/O error, "
    "5 unsafe file refused, 6 GPU failed during the job, 130 cancelled, 1 internal error"
)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}

logger = logging.getLogger("napari_segkit.cli")


def byte_count(text: str) -> int:
    """``'512M'``, ``'4G'``, ``'1000000'`` -> bytes (suffixes are powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text, flags=re.IGNORECASE)
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(
            f"expected a positive size such as 4G, 512M or 1000000, got {text!r}"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def stderr(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def error(message: str) -> None:
    stderr("error: " + " ".join(str(message).split()))


def add_verb(verbs, name: str, summary: str, run: Callable[[argparse.Namespace], int], *,
             image: bool = True) -> argparse.ArgumentParser:
    """A verb's sub-parser, running ``run``; ``run``'s docstring is its description, the exit codes its epilog.

    The IMAGE argument comes first unless ``image=False``.
    """
    parser = verbs.add_parser(name, help=summary, description=inspect.getdoc(run), epilog=EPILOG)
    parser.set_defaults(func=run)
    if image:
        add_image_arguments(parser)
    return parser


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    """The IMAGE positional argument."""
    parser.add_argument("image", metavar="IMAGE", help="image file (.tif, .tiff, .zarr, .npy)")


def add_colour_model_options(parser: argparse.ArgumentParser, *, components: int, iterations: int,
                             per: str) -> None:
    """The options of the GrabCut-style methods: mixture size, cuts per ``per``, boundary weight, seed."""
    parser.add_argument("--components", type=int, default=components, metavar="K",
                        help=f"Gaussians per colour model (default {components})")
    parser.add_argument("--iterations", type=int, default=iterations, metavar="N",
                        help=f"most graph cuts per {per} (default {iterations})")
    parser.add_argument("--smoothness", type=float, default=None, metavar="S",
                        help="weight of the boundary term (default: scaled to each object's size)")
    add_seed_argument(parser)


def colour_model_options(args: argparse.Namespace) -> Dict[str, Any]:
    """The keyword arguments :func:`add_colour_model_options`' options stand for."""
    return {"n_components": args.components, "max_iter": args.iterations, "rng": args.seed,
            "smoothness": "auto" if args.smoothness is None else args.smoothness}


def add_output_arguments(parser: argparse.ArgumentParser, *, spatial_dims: bool = True) -> None:
    """-o OUT, spacing/channel/pyramid options, memory limit, --overwrite, --quiet."""
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output labels file (.tif, .tiff, .zarr, .npy)")
    parser.add_argument(
        "--spacing", nargs="+", type=positive_float, metavar="D",
        help="pixel size of the spatial axes, Z Y X or Y X (default: from IMAGE's metadata, else 1)",
    )
    parser.add_argument("--channel-axis", type=int, default=None, metavar="N",
                        help="axis of IMAGE holding channels (default: from the file's axes, else none)")
    if spatial_dims:
        parser.add_argument("--spatial-dims", type=int, choices=(2, 3), default=None,
                            help="trailing spatial axes; 2 processes a stack slice by slice")
    parser.add_argument("--series", type=int, default=0, metavar="N",
                        help="TIFF series of IMAGE (default 0)")
    parser.add_argument("--level", type=int, default=0, metavar="N",
                        help="pyramid level of IMAGE (default 0, full resolution)")
    parser.add_argument("--memory-limit", type=byte_count, default=None, metavar="BYTES",
                        help="memory the job may use, e.g. 8G (default 80%% of available memory)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_quiet_argument(parser)


def add_quiet_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress, only warnings and errors")


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prefix = f"{PROG}: " + ("warning: " if record.levelno == logging.WARNING else "")
        if record.levelno >= logging.ERROR:
            prefix = f"{PROG}: error: "
        return prefix + record.getMessage()


class Progress:
    """Progress lines on stderr, one per whole percent or new message."""

    def __init__(self) -> None:
        self._last: Tuple[int, str] = (-1, "")

    def __call__(self, fraction: float, message: str) -> None:
        state = (int(100 * fraction), message)
        if state != self._last:
            self._last = state
            stderr(f"{state[0]:3d}% {message}")


@contextlib.contextmanager
def cli_environment(quiet: bool) -> Iterator[List[str]]:
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
        stderr(f"warning: {message}")

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


def channel_axis_from(args: argparse.Namespace, axes: Optional[str], ndim: int) -> Optional[int]:
    """``--channel-axis``, else the file's single C/S axis, else None."""
    if args.channel_axis is not None:
        return args.channel_axis
    if axes and len(axes) == ndim:
        found = [i for i, a in enumerate(axes) if a in "CS"]
        if len(found) == 1:
            logger.info(
                "using channel axis %d from the image's axes '%s' (override with --channel-axis)",
                found[0], axes,
            )
            return found[0]
    return None


def spacing_from(args, image, n_spatial: int, collected: List[str]) -> Tuple[Tuple[float, ...], str]:
    """``--spacing``, else the file's, else 1.0 with a recorded warning; and its source."""
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
    logger.warning(message)
    return (1.0,) * n_spatial, "default"


@dataclass
class ImageJob:
    """What a verb's compute function receives: the image and how to read it."""

    array: Any
    extras: List[Any]
    spacing: Tuple[float, ...]
    channel_axis: Optional[int]
    spatial_dims: int
    progress: Optional[Callable[[float, str], None]]
    memory_limit: Optional[int]


def run_image_to_labels(
    args: argparse.Namespace,
    *,
    command: str,
    compute: Callable[[ImageJob], Any],
    parameters: Dict[str, Any],
    extra_inputs: Sequence[Tuple[str, str]] = (),
    default_spatial_dims: Optional[int] = None,
) -> int:
    """Read IMAGE (and extra inputs), run ``compute``, write labels atomically.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options of a verb built with :func:`add_output_arguments`.
    command : str
        The verb's name, recorded in the output metadata.
    compute : callable
        ``compute(job) -> labels``.
    parameters : dict
        The verb's own parameters, recorded in the output metadata.
    extra_inputs : sequence of (NAME, path)
        Further files read whole (e.g. SEEDS), given to ``compute`` in order.
    default_spatial_dims : int, optional
        Used when the verb has no ``--spatial-dims`` option.
    """
    from .._validation import check_channel_axis, check_spatial_dims
    from ..io import check_free_space, output_lock, preflight_output, read_image, write_labels
    from ..io.writers import default_axes

    paths = [args.image] + [path for _, path in extra_inputs]
    out = preflight_output(args.output, overwrite=args.overwrite, inputs=paths)
    with output_lock(out):
        image = read_image(args.image, series=args.series, level=args.level,
                           memory_limit=args.memory_limit, name="IMAGE",
                           lazy=getattr(args, "lazy_image", False))
        extras = [read_image(path, memory_limit=args.memory_limit, name=name).array
                  for name, path in extra_inputs]
        ndim = image.array.ndim
        channel_axis = check_channel_axis(channel_axis_from(args, image.axes, ndim), ndim, name="IMAGE")
        labels_ndim = ndim - (channel_axis is not None)
        requested = getattr(args, "spatial_dims", None) or default_spatial_dims
        n_spatial = check_spatial_dims(requested, labels_ndim, method=command, name="IMAGE")
        spacing, spacing_source = spacing_from(args, image, n_spatial, args.warnings)
        axes = image.axes
        if axes and channel_axis is not None and len(axes) == ndim:
            axes = axes[:channel_axis] + axes[channel_axis + 1:]
        if not axes or len(axes) != labels_ndim or sum(a in "ZYX" for a in axes) != n_spatial:
            axes = default_axes(labels_ndim, n_spatial)
        n_pixels = image.array.size // (image.array.shape[channel_axis] if channel_axis is not None else 1)
        check_free_space(out.parent, 4 * n_pixels)

        job = ImageJob(image.array, extras, spacing, channel_axis, n_spatial,
                       None if args.quiet else Progress(), args.memory_limit)
        labels = compute(job)
        inputs = {"image": str(Path(args.image).resolve())}
        inputs.update({name.lower(): str(Path(path).resolve()) for name, path in extra_inputs})
        metadata: Dict[str, Any] = {
            "command": command,
            "version": __version__,
            "parameters": {
                **inputs,
                "series": args.series,
                "level": args.level,
                **parameters,
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


def add_seed_argument(parser: argparse.ArgumentParser) -> None:
    """``--seed N``, the methods' ``rng`` (default 0, so the CLI gives the same labels every run)."""
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="random seed (default 0): same seed, same labels")
