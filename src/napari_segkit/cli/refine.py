"""``napari-segkit refine IMAGE PROBABILITIES -o OUT``: dense CRF or graph cut of a probability map."""

from __future__ import annotations

import argparse

from ._common import add_output_arguments, add_verb, run_image_to_labels


def register(verbs) -> None:
    parser = add_verb(verbs, "refine", "refine a probability map (class axis last) along IMAGE's edges: "
                      "dense CRF or graph cut", run)
    parser.add_argument(
        "probabilities", metavar="PROBABILITIES",
        help="class probabilities with IMAGE's spatial shape and the classes on the LAST axis "
        "(as 'predict --probabilities' writes them), or one object-probability map",
    )
    parser.add_argument("--method", choices=("crf", "graph-cut"), default="crf",
                        help="dense CRF (default) or graph cut")
    parser.add_argument("--seeds", default=None, metavar="FILE",
                        help="graph cut: scribbles, 0 = unknown, v = class v, K = background")
    parser.add_argument("--instances", default=None, metavar="FILE",
                        help="object ids to keep: refine their foreground and keep each id")
    parser.add_argument("--smoothness", type=float, default=None, metavar="S",
                        help="graph cut: weight of the boundary term (default 3)")
    parser.add_argument("--max-iter", type=int, default=5, metavar="N",
                        help="CRF: mean-field iterations (default 5)")
    add_output_arguments(parser, spatial_dims=False)


def run(args: argparse.Namespace) -> int:
    """Labels from a probability map refined by the image: 0 = background (class 0), class k = k; a single object map
    gives 1 = object.  With --instances, object ids of that labels file are kept on the refined foreground.
    Inputs and output: .tif/.tiff, .zarr or .npy.
    """
    import numpy as np

    from .._errors import InputError
    from ..refine import crf_refine, graph_cut_refine, refine_instances

    if args.seeds is not None and args.method != "graph-cut":
        raise InputError("--seeds needs --method graph-cut (the dense CRF takes no scribbles)")
    extra = [("PROBABILITIES", args.probabilities)]
    if args.seeds is not None:
        extra.append(("SEEDS", args.seeds))
    if args.instances is not None:
        extra.append(("INSTANCES", args.instances))

    def compute(job):
        probabilities = job.extras[0]
        named = dict(zip([name for name, _ in extra[1:]], job.extras[1:]))
        common = dict(spacing=job.spacing, channel_axis=job.channel_axis,
                      memory_limit=job.memory_limit, progress=job.progress)
        options = {}
        if args.method == "crf":
            options["max_iter"] = args.max_iter
        elif args.smoothness is not None:
            options["smoothness"] = args.smoothness
        if "SEEDS" in named:
            options["seeds"] = named["SEEDS"]
        if "INSTANCES" in named:
            return refine_instances(
                job.array, named["INSTANCES"], probabilities=probabilities,
                method="crf" if args.method == "crf" else "graph_cut", **common, **options,
            )
        if args.method == "graph-cut":
            return graph_cut_refine(job.array, probabilities, **common, **options)
        refined = crf_refine(job.array, probabilities, **common, **options)
        if refined.ndim == job.spatial_dims:  # one object map
            labels = refined > 0.5
        elif refined.shape[-1] == 1:
            labels = refined[..., 0] > 0.5
        else:
            labels = refined.argmax(axis=-1)
        return labels.astype(np.int32)

    return run_image_to_labels(
        args, command="refine", compute=compute,
        parameters={"probabilities": args.probabilities, "method": args.method,
                    "seeds": args.seeds, "instances": args.instances,
                    "smoothness": args.smoothness, "max_iter": args.max_iter},
        extra_inputs=extra, default_spatial_dims=None,
    )
