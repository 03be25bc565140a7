"""``napari-segkit clicks IMAGE --points POINTS.csv -o OUT``."""

from __future__ import annotations

import argparse

from ._common import EPILOG, add_image_arguments, add_output_arguments, run_image_to_labels


def register(verbs) -> None:
    parser = verbs.add_parser(
        "clicks",
        help="objects from positive/negative clicks (a points CSV), no boxes needed",
        description=(
            "Each positive click away from every object makes a new object (its extent found from the "
            "image around the click); a click on or near an object corrects that object.  POINTS: a CSV "
            "with columns 'y, x' / 'z, y, x' (or napari's 'axis-0, ...') in pixels, in the order clicked, "
            "and an optional 'positive' column (1 = object, 0 = background)."
        ),
        epilog=EPILOG,
    )
    add_image_arguments(parser)
    parser.add_argument("--points", metavar="POINTS", required=True, help="CSV of clicks (see above)")
    parser.add_argument("--components", type=int, default=3, metavar="K",
                        help="Gaussians per colour model (default 3)")
    parser.add_argument("--iterations", type=int, default=5, metavar="N",
                        help="most graph cuts per click (default 5)")
    parser.add_argument("--smoothness", type=float, default=None, metavar="S",
                        help="weight of the boundary term (default: scaled to each object's size)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="random seed for the colour-model initialisation (default 0)")
    add_output_arguments(parser, spatial_dims=False)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..prompts import segment_clicks
    from ..prompts.points_file import read_points

    points, positive = read_points(args.points)
    options = {"n_components": args.components, "max_iter": args.iterations, "rng": args.seed,
               "smoothness": "auto" if args.smoothness is None else args.smoothness}

    def compute(job):
        return segment_clicks(job.array, points, positive=positive, spacing=job.spacing,
                              channel_axis=job.channel_axis, **options)

    return run_image_to_labels(
        args,
        command="clicks",
        compute=compute,
        parameters={"points": args.points, "n_points": int(len(points)),
                    "n_positive": int(positive.sum()), **options},
    )
