"""``napari-segkit normalized-cut|spectral IMAGE -o OUT``: graph-spectral methods."""

from __future__ import annotations

import argparse

from ._common import add_output_arguments, add_seed_argument, add_verb, run_image_to_labels


def _graph_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--superpixels", default=None, metavar="slic|pixels|FILE",
                        help="graph nodes: SLIC superpixels, single pixels, or a labels file "
                        "(default: pixels for small images, else SLIC)")
    parser.add_argument("--n-superpixels", type=int, default=None, metavar="N",
                        help="SLIC superpixels when they are used (default: about 4 per object, 200 to 1000)")
    add_seed_argument(parser)


def register(verbs) -> None:
    nc = add_verb(verbs, "normalized-cut", "split IMAGE by normalized cuts (Shi & Malik)", _run_normalized_cut)
    nc.add_argument("-n", "--segments", type=int, default=None, metavar="N",
                    help="number of segments (default: split until the cut cost passes --threshold)")
    nc.add_argument("--threshold", type=float, default=None, metavar="T",
                    help="stop splitting when the normalized cut exceeds T")
    nc.add_argument("--method", choices=("recursive", "kway"), default="recursive")
    _graph_options(nc)
    add_output_arguments(nc)

    sc = add_verb(verbs, "spectral", "spectral clustering of IMAGE into K clusters", _run_spectral)
    sc.add_argument("-k", "--clusters", type=int, required=True, metavar="K")
    _graph_options(sc)
    add_output_arguments(sc)


def _superpixels(args):
    if args.superpixels in (None, "slic", "pixels"):
        return args.superpixels, []
    return None, [("SUPERPIXELS", args.superpixels)]


def _run(args, command, function, parameters):
    choice, extra = _superpixels(args)

    def compute(job):
        superpixels = job.extras[0] if job.extras else choice
        return function(job.array, superpixels=superpixels, n_superpixels=args.n_superpixels,
                        channel_axis=job.channel_axis, spacing=job.spacing, spatial_dims=job.spatial_dims,
                        memory_limit=job.memory_limit, rng=args.seed, progress=job.progress)

    parameters = {**parameters, "superpixels": args.superpixels,
                  "n_superpixels": args.n_superpixels, "rng": args.seed}
    return run_image_to_labels(args, command=command, compute=compute, parameters=parameters,
                               extra_inputs=extra)


def _run_normalized_cut(args: argparse.Namespace) -> int:
    from ..spectral import normalized_cut

    def function(image, **kw):
        return normalized_cut(image, n_segments=args.segments, threshold=args.threshold,
                              method=args.method, **kw)

    return _run(args, "normalized-cut", function,
                {"n_segments": args.segments, "threshold": args.threshold, "method": args.method})


def _run_spectral(args: argparse.Namespace) -> int:
    from ..spectral import spectral_clustering

    def function(image, **kw):
        return spectral_clustering(image, args.clusters, **kw)

    return _run(args, "spectral", function, {"n_clusters": args.clusters})
