"""``napari-segkit grabcut IMAGE --boxes BOXES -o OUT [--seeds SEEDS]``."""

from __future__ import annotations

import argparse

from ._common import add_colour_model_options, add_output_arguments, add_verb, colour_model_options, run_image_to_labels


def register(verbs) -> None:
    parser = add_verb(verbs, "grabcut", "segment the object in each box (GrabCut: colour models + iterated graph cut)",
                      run)
    parser.add_argument("--boxes", metavar="BOXES", default=None,
                        help="box file: .csv, .npy or .geojson, corners in pixel coordinates")
    parser.add_argument("--seeds", metavar="SEEDS", default=None,
                        help="scribbles, same shape as IMAGE without channels")
    add_colour_model_options(parser, components=5, iterations=10, per="object (GMM/graph-cut rounds)")
    parser.add_argument("--connectivity", type=int, default=None, metavar="N",
                        help="1 = face neighbours up to ndim, or 4/8 (2-D), 6/18/26 (3-D)")
    add_output_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """GrabCut from boxes and/or scribbles: object i of BOXES is labelled i + 1.  BOXES: .csv (min/max columns, or
    napari's Shapes export), .npy (N, 2, ndim) or .geojson.  SEEDS: 1 = object, 2 = background, 0 = unknown.
    """
    from .._errors import InputError
    from ..grabcut import grabcut, read_boxes

    if args.boxes is None and args.seeds is None:
        raise InputError("grabcut needs --boxes, --seeds or both; got neither")
    boxes = read_boxes(args.boxes) if args.boxes is not None else None
    options = colour_model_options(args)
    if args.connectivity is not None:
        options["connectivity"] = args.connectivity

    def compute(job):
        seeds = job.extras[0] if job.extras else None
        return grabcut(
            job.array, boxes, seeds=seeds, spacing=job.spacing, channel_axis=job.channel_axis,
            spatial_dims=job.spatial_dims, memory_limit=job.memory_limit,
            progress=job.progress, **options,
        )

    return run_image_to_labels(
        args,
        command="grabcut",
        compute=compute,
        parameters={"boxes": args.boxes, "seeds": args.seeds,
                    "n_boxes": 0 if boxes is None else int(len(boxes)), **options},
        extra_inputs=[("SEEDS", args.seeds)] if args.seeds is not None else [],
    )
