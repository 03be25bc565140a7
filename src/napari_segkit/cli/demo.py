"""``napari-segkit demo``: the main job, in napari or headless."""

from __future__ import annotations

import argparse

from ._common import add_quiet_argument, add_verb


def register(verbs) -> None:
    parser = add_verb(verbs, "demo", "run the demo: segment sample images and save the results", run,
                      image=False)
    parser.add_argument("--output-dir", default="segkit-demo", metavar="DIR",
                        help="where to save the demo's results (default ./segkit-demo)")
    parser.add_argument("--headless", action="store_true", default=None,
                        help="do not open a napari window")
    add_quiet_argument(parser)


def run(args: argparse.Namespace) -> int:
    from ..demo import main as demo_main

    return int(demo_main(output_dir=args.output_dir, headless=args.headless) or 0)
