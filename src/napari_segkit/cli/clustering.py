"""``napari-segkit kmeans|mean-shift|slic IMAGE -o OUT``: unsupervised methods."""

from __future__ import annotations

import argparse

from ._common import add_output_arguments, add_seed_argument, add_verb, run_image_to_labels


def _rgb(text: str):
    return {"auto": None, "yes": True, "no": False}[text]


def _common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rgb", type=_rgb, default=None, choices=(None, True, False),
                        metavar="{auto,yes,no}",
                        help="treat 3/4 channels as RGB(A) colour (CIELAB); auto: uint8 only")
    add_seed_argument(parser)


def _finish(parser: argparse.ArgumentParser, *, instances: bool = True, spatial_dims: bool = True) -> None:
    """The options every clustering verb ends with (``--instances``, ``--spatial-dims`` where
    the method has them)."""
    if instances:
        parser.add_argument("--instances", action="store_true",
                            help="split clusters into connected components with their own ids")
    _common_options(parser)
    add_output_arguments(parser, spatial_dims=spatial_dims)


def register(verbs) -> None:
    km = add_verb(verbs, "kmeans", "cluster pixels by intensity/colour (K-means)", _run_kmeans)
    km.add_argument("-k", "--clusters", type=int, required=True, metavar="K",
                    help="number of clusters")
    km.add_argument("--spatial-weight", type=float, default=0.0, metavar="W",
                    help="weight of pixel position in physical units (default 0)")
    _finish(km)

    ms = add_verb(verbs, "mean-shift", "cluster pixels at the modes of their density", _run_mean_shift)
    ms.add_argument("--bandwidth", type=float, default=None, metavar="B",
                    help="kernel width in feature units (default: estimated from the data)")
    ms.add_argument("--spatial-bandwidth", type=float, default=None, metavar="B",
                    help="also cluster on position, with this width in physical units")
    _finish(ms)

    sp = add_verb(verbs, "slic", "SLIC superpixels (2-D or 3-D, anisotropic spacing)", _run_slic)
    sp.add_argument("-n", "--segments", type=int, default=None, metavar="N",
                    help="approximate number of superpixels (default: about 4 per object, "
                    "from the image's object scale)")
    sp.add_argument("--compactness", type=float, default=None, metavar="C",
                    help="balance of colour and space (default 10 for RGB, 0.1 otherwise)")
    _finish(sp, instances=False, spatial_dims=False)


def _run(args, command, function, parameters, *, frames=False, **options):
    """Run ``function`` on IMAGE; ``frames``: it takes spatial_dims (stacks frame by frame) and memory_limit."""
    def compute(job):
        if frames:
            options.update(spatial_dims=job.spatial_dims, memory_limit=job.memory_limit)
        labels = function(job.array, channel_axis=job.channel_axis, spacing=job.spacing,
                          progress=job.progress, **options)
        return labels.compute() if hasattr(labels, "compute") else labels

    return run_image_to_labels(args, command=command, compute=compute,
                               parameters=parameters, default_spatial_dims=None)


def _run_kmeans(args: argparse.Namespace) -> int:
    from ..clustering import kmeans

    options = {"spatial_weight": args.spatial_weight, "instances": args.instances,
               "rgb": args.rgb, "rng": args.seed}

    def function(image, **kw):
        return kmeans(image, args.clusters, **kw)

    return _run(args, "kmeans", function, {"n_clusters": args.clusters, **options}, frames=True, **options)


def _run_mean_shift(args: argparse.Namespace) -> int:
    from ..clustering import mean_shift

    options = {"bandwidth": args.bandwidth, "spatial_bandwidth": args.spatial_bandwidth,
               "instances": args.instances, "rgb": args.rgb, "rng": args.seed}
    return _run(args, "mean-shift", mean_shift, dict(options), frames=True, **options)


def _run_slic(args: argparse.Namespace) -> int:
    from ..superpixels import slic

    options = {"compactness": args.compactness, "rgb": args.rgb}

    def function(image, **kw):
        return slic(image, args.segments, **kw)

    return _run(args, "slic", function, {"n_segments": args.segments, **options}, **options)
