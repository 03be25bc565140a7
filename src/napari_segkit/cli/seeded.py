"""``napari-segkit random-walker|watershed IMAGE SEEDS -o OUT``: seeded region growing."""

from __future__ import annotations

import argparse

from ._common import add_output_arguments, add_verb, run_image_to_labels

SEEDS_HELP = (
    "seed labels, IMAGE's shape without channels (or one frame's): 0 = unlabelled, 1, 2, ... = "
    "regions; the largest value is the background (0 in OUT) unless --background-seed says otherwise"
)


def _seeded_verb(verbs, name: str, summary: str, run) -> argparse.ArgumentParser:
    parser = add_verb(verbs, name, summary, run)
    parser.add_argument("seeds", metavar="SEEDS", help=SEEDS_HELP)
    parser.add_argument("--background-seed", type=int, default=None, metavar="V",
                        help="seed value of the background (default: the largest; 0 = none)")
    parser.add_argument("--mask", default=None, metavar="FILE",
                        help="pixels to segment (non-zero), IMAGE's shape without channels")
    return parser


def register(verbs) -> None:
    rw = _seeded_verb(verbs, "random-walker", "give each pixel the seed region a random walker reaches first",
                      _run_random_walker)
    rw.add_argument("--beta", type=float, default=130.0, metavar="B",
                    help="edge sensitivity (default 130)")
    add_output_arguments(rw)

    ws = _seeded_verb(verbs, "watershed", "grow the seed regions over the gradient or the intensity until they meet",
                      _run_watershed)
    ws.add_argument("--feature", choices=("gradient", "intensity"), default="gradient",
                    help="flood the gradient magnitude (default) or the inverted intensity")
    ws.add_argument("--sigma", type=float, default=1.0, metavar="S",
                    help="smoothing of the gradient in pixels (default 1)")
    ws.add_argument("--compactness", type=float, default=0.0, metavar="C",
                    help="more regular regions for larger values (default 0)")
    add_output_arguments(ws)


def _run(args, command, function, parameters):
    extra = [("SEEDS", args.seeds)] + ([("MASK", args.mask)] if args.mask else [])

    def compute(job):
        mask = job.extras[1] != 0 if args.mask else None
        return function(
            job.array, job.extras[0], spacing=job.spacing, channel_axis=job.channel_axis,
            spatial_dims=job.spatial_dims, mask=mask, background_seed=args.background_seed,
            memory_limit=job.memory_limit, progress=job.progress,
        )

    parameters = {**parameters, "seeds": args.seeds, "mask": args.mask,
                  "background_seed": args.background_seed}
    return run_image_to_labels(args, command=command, compute=compute, parameters=parameters,
                               extra_inputs=extra)


def _run_random_walker(args: argparse.Namespace) -> int:
    from ..seeded import random_walker

    def function(image, seeds, **kw):
        return random_walker(image, seeds, beta=args.beta, **kw)

    return _run(args, "random-walker", function, {"beta": args.beta})


def _run_watershed(args: argparse.Namespace) -> int:
    from ..seeded import watershed

    def function(image, seeds, **kw):
        return watershed(image, seeds, feature=args.feature, sigma=args.sigma,
                         compactness=args.compactness, **kw)

    return _run(args, "watershed", function,
                {"feature": args.feature, "sigma": args.sigma, "compactness": args.compactness})
