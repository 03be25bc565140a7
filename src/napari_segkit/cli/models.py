"""``napari-segkit train`` and ``napari-segkit predict``: the deep-learning verbs."""

from __future__ import annotations

import argparse
import logging
from typing import Any, Dict

from ._common import (
    EPILOG,
    EXIT_OK,
    Progress,
    add_image_arguments,
    add_output_arguments,
    add_quiet_argument,
    byte_count,
    positive_float,
    run_image_to_labels,
)

logger = logging.getLogger("napari_segkit.cli")


def register(verbs) -> None:
    train = verbs.add_parser(
        "train",
        help="train a network (U-Net by default) on image/label pairs and save the model",
        description=(
            "Train from pairs of --image/--labels files (instance labels, 0 = background; "
            "with --ignore-label V, pixels labelled V are left out of the loss).  The model "
            "is a directory with the weights and a JSON config."
        ),
        epilog=EPILOG,
    )
    train.add_argument("--image", action="append", required=True, metavar="IMAGE",
                       help="training image (repeat for several)")
    train.add_argument("--labels", action="append", required=True, metavar="LABELS",
                       help="labels for the --image at the same position (repeat)")
    train.add_argument("-o", "--output", required=True, metavar="MODEL",
                       help="model directory to write")
    train.add_argument("--architecture", default="unet", metavar="NAME",
                       help="unet (default), fcn, segnet, deeplabv3 or pspnet")
    train.add_argument("--option", action="append", default=[], type=_option, metavar="KEY=VALUE",
                       help="architecture option, e.g. depth=2 or width=8 (repeat); values are JSON")
    train.add_argument("--epochs", type=int, default=None, metavar="N")
    train.add_argument("--time-budget", type=positive_float, default=None, metavar="S",
                       help="stop after S seconds (default 600 s when --epochs is not given)")
    train.add_argument("--channel-axis", type=int, default=None, metavar="N")
    train.add_argument("--spatial-dims", type=int, choices=(2, 3), default=None)
    train.add_argument("--ignore-label", type=int, default=None, metavar="V")
    train.add_argument("--device", default=None, metavar="DEV",
                       help="cpu, cuda, cuda:N or mps (default: best available)")
    train.add_argument("--seed", type=int, default=0, metavar="N")
    train.add_argument("--overwrite", action="store_true", help="replace MODEL if it exists")
    train.add_argument("--memory-limit", type=byte_count, default=None, metavar="BYTES")
    add_quiet_argument(train)
    train.set_defaults(func=_run_train)

    predict = verbs.add_parser(
        "predict",
        help="segment IMAGE with a trained MODEL (tiled, any size)",
        epilog=EPILOG,
    )
    predict.add_argument("model", metavar="MODEL", help="model directory written by 'train'")
    add_image_arguments(predict)
    predict.add_argument("--semantic", action="store_true",
                         help="one label per class instead of one per object")
    predict.add_argument("--tile", type=int, nargs="+", default=None, metavar="N",
                         help="tile shape in pixels (default: whole image when it fits)")
    predict.add_argument("--device", default=None, metavar="DEV",
                         help="cpu, cuda, cuda:N or mps (default: best available)")
    add_output_arguments(predict)
    predict.set_defaults(func=_run_predict)


def _option(text: str):
    import json

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def _run_train(args: argparse.Namespace) -> int:
    from .._errors import InputError
    from ..io import output_lock, read_image
    from ..io.preflight import preflight_model_dir
    from ..models import train_model

    if len(args.image) != len(args.labels):
        raise InputError(
            f"got {len(args.image)} --image and {len(args.labels)} --labels; give one "
            "--labels file for each --image"
        )
    out = preflight_model_dir(args.output, overwrite=args.overwrite,
                           inputs=[*args.image, *args.labels])
    with output_lock(out):
        images = [read_image(p, memory_limit=args.memory_limit, name="IMAGE").array
                  for p in args.image]
        labels = [read_image(p, memory_limit=args.memory_limit, name="LABELS").array
                  for p in args.labels]
        model = train_model(
            images, labels, architecture=args.architecture, options=dict(args.option) or None,
            channel_axis=args.channel_axis,
            spatial_dims=args.spatial_dims, ignore_label=args.ignore_label, epochs=args.epochs,
            time_budget=args.time_budget, device=args.device, rng=args.seed,
            progress=None if args.quiet else Progress(),
        )
        model.save(out, overwrite=args.overwrite)
    logger.info("model saved to %s", out)
    return EXIT_OK


def _run_predict(args: argparse.Namespace) -> int:
    from ..models import load_model, predict_labels

    model = load_model(args.model)
    options: Dict[str, Any] = {"output": "semantic" if args.semantic else "instances"}
    if args.tile is not None:
        options["tile_shape"] = tuple(args.tile)
    if args.device is not None:
        options["device"] = args.device

    def compute(job):
        labels = predict_labels(job.array, model, channel_axis=job.channel_axis,
                                spacing=job.spacing, progress=job.progress, **options)
        return labels.compute() if hasattr(labels, "compute") else labels

    return run_image_to_labels(
        args, command="predict", compute=compute,
        parameters={"model": str(args.model), **options},
        extra_inputs=[],
    )
