"""``napari-segkit graph-cut IMAGE SEEDS -o OUT``."""

from __future__ import annotations

import argparse

from ._common import add_output_arguments, add_verb, run_image_to_labels


def register(verbs) -> None:
    parser = add_verb(verbs, "graph-cut", "segment IMAGE into the regions marked by SEEDS (max-flow/min-cut)",
                      run)
    parser.add_argument(
        "seeds", metavar="SEEDS",
        help="seed labels, same shape as IMAGE without channels: 0 = unknown, 1, 2, ... = regions",
    )
    parser.add_argument("--smoothness", type=float, default=2.0, metavar="S",
                        help="weight of the boundary term (default 2.0; 0 = per-pixel)")
    parser.add_argument("--connectivity", type=int, default=1, metavar="N",
                        help="1 = face neighbours (default) up to ndim, or 4/8 (2-D), 6/18/26 (3-D)")
    parser.add_argument("--background", default="auto", metavar="V",
                        help="seed value painted on the background, written as 0 (default 'auto': 2 if "
                        "painted, else the largest region; 'none' keeps the seed values)")
    parser.add_argument("--instances", action="store_true",
                        help="one object per connected group of object seeds (touching objects split)")
    add_output_arguments(parser)


def run(args: argparse.Namespace) -> int:
    """Seeded graph cut: every pixel gets the value of one seed region.  Inputs and output: .tif/.tiff, .zarr or .npy.
    """
    from .. import graphcut

    from .._errors import InputError

    background = args.background.strip().lower()
    if background == "none":
        background = None
    elif background != "auto":
        try:
            background = int(background)
        except ValueError:
            raise InputError(f"--background must be a seed value, 'auto' or 'none', got {args.background!r}") from None

    def compute(job):
        return graphcut.graph_cut(
            job.array, job.extras[0], spacing=job.spacing, channel_axis=job.channel_axis,
            smoothness=args.smoothness, connectivity=args.connectivity,
            spatial_dims=job.spatial_dims, memory_limit=job.memory_limit, progress=job.progress,
            background=background, instances=args.instances,
        )

    return run_image_to_labels(
        args,
        command="graph-cut",
        compute=compute,
        parameters={"seeds": args.seeds, "smoothness": args.smoothness,
                    "connectivity": args.connectivity, "background": background, "instances": args.instances},
        extra_inputs=[("SEEDS", args.seeds)],
    )
