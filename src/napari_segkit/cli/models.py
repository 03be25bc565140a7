"""``napari-segkit train`` and ``napari-segkit predict``: the deep-learning verbs."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any, Dict

import numpy as np

from ._common import (
    EXIT_OK,
    Progress,
    add_image_arguments,
    add_quiet_argument,
    add_verb,
    byte_count,
    add_output_arguments,
    positive_float,
    run_image_to_labels,
)

logger = logging.getLogger("napari_segkit.cli")


def register(verbs) -> None:
    train = add_verb(verbs, "train", "train a network (U-Net by default) on image/label pairs and save the model",
                     _run_train, image=False)
    train.add_argument("--image", action="append", required=True, metavar="IMAGE",
                       help="training image (repeat for several)")
    source = train.add_mutually_exclusive_group(required=True)
    source.add_argument("--labels", action="append", metavar="LABELS",
                        help="labels for the --image at the same position (repeat)")
    source.add_argument("--annotations", metavar="FOLDER",
                        help="an annotation set (its record is replayed); its images in order match --image")
    train.add_argument("-o", "--output", required=True, metavar="MODEL",
                       help="model directory to write")
    train.add_argument("--architecture", default=None, metavar="NAME",
                       help="unet (default, or --init-model's), fcn, segnet, deeplabv3, pspnet or farabet")
    train.add_argument("--option", action="append", default=[], type=_option, metavar="KEY=VALUE",
                       help="architecture option, e.g. depth=2 or width=8 (repeat); values are JSON")
    train.add_argument("--init-model", default=None, metavar="MODEL",
                       help="fine-tune this model directory instead of starting from random weights")
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

    predict = add_verb(verbs, "predict", "segment IMAGE with a trained MODEL (tiled, any size)",
                       _run_predict, image=False)
    predict.add_argument("model", metavar="MODEL", help="model directory written by 'train'")
    add_image_arguments(predict)
    predict.add_argument("--semantic", action="store_true",
                         help="one label per class instead of one per object")
    predict.add_argument("--superpixels", type=int, default=None, metavar="PIXELS",
                         help="average the class probabilities over SLIC superpixels of about PIXELS "
                              "pixels each before labelling (Farabet et al. 2013)")
    predict.add_argument("--tile", type=int, nargs="+", default=None, metavar="N",
                         help="tile shape in pixels (default: whole image when it fits)")
    predict.add_argument("--device", default=None, metavar="DEV",
                         help="cpu, cuda, cuda:N or mps (default: best available)")
    cluster = predict.add_mutually_exclusive_group()
    cluster.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="run the blocks on this dask.distributed scheduler (e.g. tcp://host:8786)")
    cluster.add_argument("--workers", type=int, default=None, metavar="N",
                         help="run the blocks on a local dask.distributed cluster of N worker processes")
    predict.add_argument("--block", type=int, nargs="+", default=None, metavar="N",
                         help="block shape handed to each worker (default 512 per spatial axis)")
    add_output_arguments(predict)


def _option(text: str):
    from .. import _json as safe_json

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), safe_json.loads(value, where=f"option {key.strip()}")
    except ValueError:
        return key.strip(), value


def _run_train(args: argparse.Namespace) -> int:
    """Train from pairs of --image/--labels files (instance labels, 0 = background; with --ignore-label V, pixels
    labelled V are left out of the loss), or from --image files and the --annotations folder saved by the
    Annotate widget or AnnotationSet.save (only what was annotated counts).  With --spatial-dims 2, time series
    (T, Y, X) train a 2-D network on their labelled frames.  The model is a directory with the weights and a JSON
    config.
    """
    from .._errors import InputError
    from ..io import output_lock, read_image
    from ..io.preflight import preflight_model_dir
    from ..models import train_model

    label_files = args.labels or []
    if args.labels is not None and len(args.image) != len(args.labels):
        raise InputError(
            f"got {len(args.image)} --image and {len(args.labels)} --labels; give one "
            "--labels file for each --image"
        )
    out = preflight_model_dir(args.output, overwrite=args.overwrite,
                           inputs=[*args.image, *label_files])
    with output_lock(out):
        images = [read_image(p, memory_limit=args.memory_limit, name="IMAGE").array
                  for p in args.image]
        channel_axis, spatial_dims, ignore_label = args.channel_axis, args.spatial_dims, args.ignore_label
        summary = None
        if args.annotations is not None:
            images, labels, channel_axis, spatial_dims, ignore_label, summary = _annotated(args, images)
        else:
            labels = [read_image(p, memory_limit=args.memory_limit, name="LABELS").array
                      for p in label_files]
            if spatial_dims is not None and any(np.ndim(lab) > spatial_dims for lab in labels):
                from ..annotation import split_frames

                data = split_frames(images, labels, channel_axis=channel_axis, spatial_dims=spatial_dims,
                                    ignore_label=ignore_label)
                images, labels, channel_axis = data.images, data.labels, data.channel_axis
        model = train_model(
            images, labels, architecture=args.architecture, options=dict(args.option) or None,
            channel_axis=channel_axis,
            spatial_dims=spatial_dims, ignore_label=ignore_label, epochs=args.epochs,
            time_budget=args.time_budget, device=args.device, rng=args.seed, init_model=args.init_model,
            progress=None if args.quiet else Progress(),
        )
        if summary is not None:  # the model remembers what it was trained on
            model.config.setdefault("training", {})["annotations"] = dict(summary, folder=str(args.annotations))
        model.save(out, overwrite=args.overwrite)
    logger.info("model saved to %s", out)
    return EXIT_OK


def _annotated(args: argparse.Namespace, images):
    """Training data from ``--annotations``: images, labels, channel_axis, spatial_dims, ignore_label, summary."""
    from .._errors import InputError
    from ..annotation import replay, training_inputs

    annotations = replay(args.annotations)
    if len(annotations.images) != len(images):
        raise InputError(
            f"the annotation set holds {len(annotations.images)} image(s) ({', '.join(annotations.images)}); "
            f"got {len(images)} --image: give one --image per annotated image, in the same order"
        )
    data = training_inputs(annotations, dict(zip(annotations.images, images)),
                           channel_axis=args.channel_axis, spatial_dims=args.spatial_dims,
                           ignore_label=-1 if args.ignore_label is None else args.ignore_label)
    logger.info("training on %d annotated sample(s): %s", len(data), "; ".join(data.samples))
    return (data.images, data.labels, data.channel_axis, data.spatial_dims, data.ignore_label,
            annotations.summary())


def _run_predict(args: argparse.Namespace) -> int:
    from ..models import load_model, predict_labels

    model = load_model(args.model)
    options: Dict[str, Any] = {"output": "semantic" if args.semantic else "instances"}
    if args.tile is not None:
        options["tile_shape"] = tuple(args.tile)
    if args.device is not None:
        options["device"] = args.device
    if args.superpixels is not None:
        options["superpixel_size"] = args.superpixels

    def compute(job):
        from .._errors import InputError

        if job.spatial_dims != model.spatial_dims:
            d = model.spatial_dims
            raise InputError(
                f"MODEL '{args.model}' is {d}-D but --spatial-dims {job.spatial_dims} was given; "
                + ("a 2-D model segments a stack plane by plane: use --spatial-dims 2 (the default "
                   "for a 2-D model)" if d == 2 else "use --spatial-dims 3 for a 3-D model")
            )
        array = job.array
        if distributed:
            import dask.array as da

            block = args.block or [512]
            chunks = _chunks(array.shape, job, block)
            # a zarr IMAGE arrives lazy: workers read their own chunks, the graph holds no pixels
            array = array.rechunk(chunks) if hasattr(array, "rechunk") else da.from_array(array, chunks=chunks)
        else:
            array = _fit_in_memory(array, job, model, args)
        labels = predict_labels(array, model, channel_axis=job.channel_axis,
                                spacing=job.spacing, progress=job.progress, **options)
        if hasattr(labels, "dask") and Path(args.output).suffix.lower() == ".zarr":
            return labels  # lazy: the workers write their own output chunks (io.write_labels)
        return labels.compute() if hasattr(labels, "compute") else labels

    args.lazy_image = args.scheduler is not None or args.workers is not None
    # the client stays open until the labels are written: a zarr output is stored by the workers
    with _dask_cluster(args) as distributed:
        return run_image_to_labels(
            args, command="predict", compute=compute,
            parameters={"model": str(args.model), "scheduler": args.scheduler,
                        "workers": args.workers, **options},
            extra_inputs=[],
            default_spatial_dims=model.spatial_dims,  # a 2-D model on a stack: plane by plane
        )


def _fit_in_memory(array, job, model, args):
    """The image as it fits the memory budget: whole, or in dask blocks; else exit 3 with the amounts.

    The budget is ``--memory-limit`` or 80 % of the memory available now
    (address-space and cgroup limits included).  Blocks are tried when the
    whole-image prediction does not fit and the image needs no resampling
    to the model's voxel size (block-by-block prediction does not resample).
    """
    from .._errors import ResourceLimitError
    from .._image import _size, memory_budget
    from ..models.predict_inputs import SPACING_TOLERANCE
    from ..models.predict_memory import estimate_prediction_memory

    if hasattr(array, "dask"):
        return array
    shape = array.shape
    n_channels = shape[job.channel_axis] if job.channel_axis is not None else 1
    n_pixels = array.size // n_channels
    common = dict(n_channels=n_channels, n_classes=len(model.classes), instances=not args.semantic)
    budget = memory_budget(args.memory_limit)
    whole = estimate_prediction_memory(n_pixels, **common)
    if whole <= budget:
        return array
    block = args.block or [512]
    plain = [s for a, s in enumerate(shape) if job.channel_axis is None or a != job.channel_axis % len(shape)]
    spatial = plain[-job.spatial_dims:]
    block = block * len(spatial) if len(block) == 1 else block
    blocked = estimate_prediction_memory(
        n_pixels, **common, block_shape=[min(b, s) for b, s in zip(block, spatial)], halo=model.halo,
        labels_held=Path(args.output).suffix.lower() != ".zarr",
    )
    voxel = getattr(model, "voxel_size", None)
    resampled = bool(voxel) and job.spatial_dims == model.spatial_dims and any(
        abs(s / v - 1.0) > SPACING_TOLERANCE for s, v in zip(job.spacing[-job.spatial_dims:], voxel))
    chunks = _chunks(shape, job, block)
    if blocked <= budget and not resampled:
        import dask.array as da

        logger.info("predict: the whole image needs about %s but %s is available; running in blocks %s "
                    "(about %s)", _size(whole), _size(budget), chunks, _size(blocked))
        return da.from_array(array, chunks=chunks)
    raise ResourceLimitError(
        f"predict needs about {_size(whole)} for this image ({_size(blocked)} block by block), but "
        f"{_size(budget)} is available (--memory-limit, default 80 % of the memory available now); "
        "use a .zarr OUTPUT, smaller --block, crop or downsample the image"
    )


def _chunks(shape, job, block):
    """Whole leading and channel axes; ``block`` pixels along each spatial axis."""
    spatial = list(range(len(shape) - job.spatial_dims, len(shape)))
    if job.channel_axis is not None and job.channel_axis % len(shape) in spatial:
        spatial = [a - 1 for a in spatial]  # channels last: spatial axes sit before it
    sizes = block * len(spatial) if len(block) == 1 else list(block)
    chunks = list(shape)
    for axis, size in zip(spatial, sizes):
        chunks[axis] = int(size)
    return tuple(chunks)


class _dask_cluster:  # noqa: N801 (used as a context manager)
    """A dask.distributed client for ``--scheduler``/``--workers``, else nothing."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.stack = []

    def __enter__(self) -> bool:
        from .._errors import InputError

        if self.args.scheduler is None and self.args.workers is None:
            return False
        try:
            import distributed
        except ImportError:
            raise InputError(
                "--scheduler/--workers need dask.distributed: pip install 'dask[distributed]'"
            ) from None
        if self.args.workers is not None:
            if self.args.workers < 1:
                raise InputError(f"--workers must be at least 1, got {self.args.workers}")
            cluster = distributed.LocalCluster(n_workers=self.args.workers, threads_per_worker=1,
                                               dashboard_address=None)
            self.stack.append(cluster)
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(self.args.scheduler, timeout="30s")
        self.stack.append(client)
        logger.info("running blocks on %s", client)
        return True

    def __exit__(self, *exc) -> None:
        while self.stack:
            self.stack.pop().close()
