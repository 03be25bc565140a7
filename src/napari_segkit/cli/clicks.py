"""``napari-segkit clicks IMAGE --points POINTS.csv -o OUT``."""

from __future__ import annotations

import argparse

from ._common import add_colour_model_options, add_output_arguments, add_verb, colour_model_options, run_image_to_labels


def register(verbs) -> None:
    parser = add_verb(verbs, "clicks", "objects from positive/negative clicks (a points CSV), no boxes needed",
                      run)
    parser.add_argument("--points", metavar="POINTS", required=True, help="CSV of clicks (see above)")
    add_colour_model_options(parser, components=3, iterations=5, per="click")
    add_output_arguments(parser, spatial_dims=False)


def run(args: argparse.Namespace) -> int:
    """Each positive click away from every object makes a new object (its extent found from the image around the click);
    a click on or near an object corrects that object.  POINTS: a CSV with columns 'y, x' / 'z, y, x' (or
    napari's 'axis-0, ...') in pixels, in the order clicked, and an optional 'positive' column (1 = object, 0 =
    background).
    """
    from ..prompts import segment_clicks
    from ..prompts.points_file import read_points

    points, positive = read_points(args.points)
    options = colour_model_options(args)

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
