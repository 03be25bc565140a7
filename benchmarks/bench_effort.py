"""User effort of the interactive cuts, measured by the standard click robot.

For each image (REAL annotated microscopy from ``../shared/devdata`` or
``$SEGKIT_DEVDATA``, and SYNTHETIC nuclei) and each sampled reference object,
the robot of :mod:`napari_segkit.evaluation` (RITM / f-BRS protocol):

- **box start**: the object's bounding box + 3 px, cut by ``grabcut`` (one box
  per call); corrections by clicks on that object (``ClickSegmenter``, the
  object adopted from the box result);
- **click start**: a positive click at the deepest interior point
  (``ClickSegmenter.add_click``), then corrections;
- each next click at the deepest point of the larger error (border counts as
  boundary), a 3x3 seed, cap 10 (the acceptance cap; ``--cap 20`` for the
  literature's); NoC@85, NoC@90 (failures count the cap), NoF (objects never
  reaching the threshold) and seconds per interaction;
- **jitter**: click start with every click moved by Gaussian noise of sigma
  2 px, over 5 seeds (mean and spread of NoC@85 across seeds);
- **all boxes at once**: every reference object's box in one ``grabcut``
  call, mean IoU of object k against reference k;
- **graph cut, one seed per object**: a 3x3 seed at each object's deepest
  point, 3x3 background dots on a grid of pixels at least 4 px from every
  object, ``graph_cut(..., instances=True)``: foreground Dice and instance F1
  at IoU 0.5.

Scoring of sparse sets follows the devdata README: huh7 only inside its mask
(objects mostly inside it; F1 and Dice restricted to the mask).  CREMI (EM
neurites) and the algorithmic 3-D nuclei are not scored.

Usage::

    nice -n 10 python benchmarks/bench_effort.py                  # about 5 minutes on a shared 2-core machine
    python benchmarks/bench_effort.py --images kc167 synthetic --objects 10
    python benchmarks/bench_effort.py --json results.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
from scipy import ndimage as ndi

from napari_segkit import grabcut, graph_cut
from napari_segkit.evaluation import (
    ClickRobot,
    foreground_dice,
    iou,
    match_instances,
    simulate_interactions,
    summarize_sessions,
)
from napari_segkit.evaluation._dim_nuclei import dim_nuclei
from napari_segkit.prompts import ClickSegmenter

REPO = Path(__file__).resolve().parent.parent
REAL = {
    # name: (file stem, channel axis)
    "kc167": ("kc167_cells_2d", 0),
    "macrophage": ("macrophage_cells_2d", 0),
    "neuron": ("neuron_cells_2d", 0),
    "membrane": ("membrane_tissue_2d", None),
    "huh7": ("huh7_cells_2d", None),
}
SYNTHETIC = ("synthetic", "synthetic_dim")


def devdata() -> Path:
    return Path(os.environ.get("SEGKIT_DEVDATA", REPO.parent / "shared" / "devdata"))


def load(name: str):
    """``(image, reference labels, channel_axis, scoring region or None, real)`` or None when absent."""
    if name in REAL:
        import tifffile

        stem, axis = REAL[name]
        folder = devdata()
        if not (folder / f"{stem}_image.tif").is_file():
            return None
        image = tifffile.imread(folder / f"{stem}_image.tif")
        labels = tifffile.imread(folder / f"{stem}_labels.tif").astype(np.int32)
        region = None
        if (folder / f"{stem}_mask.tif").is_file():
            region = tifffile.imread(folder / f"{stem}_mask.tif") != 0
        return image, labels, axis, region, True
    if name == "synthetic":
        from napari_segkit.samples import nuclei_2d

        sample = nuclei_2d((512, 512), n_nuclei=80, rng=7)
        return sample.image, sample.labels.astype(np.int32), None, None, False
    if name == "synthetic_dim":
        return (*dim_nuclei(), None, None, False)
    raise SystemExit(f"unknown image {name!r}")


def objects_of(labels, region, limit):
    """Sampled object ids (evenly over the ids), only objects mostly inside ``region``."""
    ids = np.unique(labels)
    ids = ids[ids > 0]
    if region is not None:
        inside = ndi.mean(region.astype(float), labels, ids)
        ids = ids[inside > 0.5]
    sizes = ndi.sum(np.ones_like(labels), labels, ids)
    ids = ids[sizes >= 9]
    if limit and len(ids) > limit:
        ids = ids[np.linspace(0, len(ids) - 1, limit).round().astype(int)]
    return ids


class Session:
    """A segmenter for the robot: box start (GrabCut) or click start, corrections by clicks."""

    def __init__(self, image, channel_axis):
        self.image, self.channel_axis = image, channel_axis
        self.session: Optional[ClickSegmenter] = None
        self.label = 0

    def __call__(self, prompts):
        if self.session is None:
            if prompts.box is not None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    first = grabcut(self.image, prompts.box[None], channel_axis=self.channel_axis, rng=0)
                self.session = ClickSegmenter(self.image, channel_axis=self.channel_axis, labels=first, rng=0)
                self.label = 1
                if not first.any():
                    return first != 0
            else:
                self.session = ClickSegmenter(self.image, channel_axis=self.channel_axis, rng=0)
                self.label = self.session.add_click(prompts.positive[0], True)
                return self.session.labels == self.label
        else:
            coords, positive = prompts.last_click
            if not np.any(self.session.labels == self.label) and positive:
                self.label = self.session.add_click(coords, True)
            else:
                self.session.add_click(coords, positive, object_id=self.label)
        return self.session.labels == self.label


def run_robot(image, labels, channel_axis, ids, *, start, cap, jitter=0.0, seed=None):
    records = []
    for i in ids:
        robot = ClickRobot(labels == i, jitter=jitter, rng=seed)
        records.append(
            simulate_interactions(robot, Session(image, channel_axis), start=start, max_interactions=cap, stop_at=0.9)
        )
    return records


def all_boxes(image, labels, channel_axis, region):
    ids = objects_of(labels, region, 0)
    boxes = np.stack([ClickRobot(labels == i).first_box() for i in ids])
    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = grabcut(image, boxes, channel_axis=channel_axis, rng=0)
    seconds = time.perf_counter() - began
    scores = np.array([iou(out == k + 1, labels == i) for k, i in enumerate(ids)])
    return {"n_boxes": len(ids), "mean_iou": float(scores.mean()), "median_iou": float(np.median(scores)),
            "below_0.5": int((scores < 0.5).sum()), "empty": int(sum(not (out == k + 1).any() for k in range(len(ids)))),
            "seconds": seconds}


def one_seed_graph_cut(image, labels, channel_axis, region):
    ids = objects_of(labels, region, 0)
    seeds = np.zeros(labels.shape, np.int32)
    for i in ids:
        y, x = ClickRobot(labels == i).first_click()
        seeds[y - 1 : y + 2, x - 1 : x + 2] = 1
    far = ndi.distance_transform_edt(labels == 0) >= 4
    if region is not None:
        far &= region
    grid = np.zeros(labels.shape, bool)
    grid[8::24, 8::24] = True
    for y, x in np.argwhere(grid & far):
        seeds[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2] = 2
    began = time.perf_counter()
    out = graph_cut(image, seeds, channel_axis=channel_axis, instances=True)
    seconds = time.perf_counter() - began
    reference = labels if region is None else np.where(np.isin(labels, ids), labels, 0)
    match = match_instances(out, reference, 0.5, region=region)
    return {"dice": foreground_dice(out, reference, region=region), "f1_50": match.f1,
            "f1_75": match_instances(out, reference, 0.75, region=region).f1, "seconds": seconds}


def main(argv=None) -> Dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", nargs="+", default=list(REAL) + list(SYNTHETIC))
    parser.add_argument("--objects", type=int, default=20, help="objects per image for the robot (default 20)")
    parser.add_argument("--jitter-objects", type=int, default=10, help="objects per image with jitter (default 10)")
    parser.add_argument("--cap", type=int, default=10)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    results: Dict[str, Any] = {
        "date": datetime.datetime.now().isoformat(timespec="minutes"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_before": os.getloadavg()[0],
        "images": {},
    }
    for name in args.images:
        case = load(name)
        if case is None:
            print(f"{name}: not found in {devdata()}, skipped")
            continue
        image, labels, axis, region, real = case
        ids = objects_of(labels, region, args.objects)
        row: Dict[str, Any] = {"real": real, "n_objects": int(len(ids))}
        for start in ("box", "click"):
            row[start] = summarize_sessions(run_robot(image, labels, axis, ids, start=start, cap=args.cap))
        jitter_ids = ids[:: max(1, len(ids) // args.jitter_objects)][: args.jitter_objects]
        per_seed = [
            summarize_sessions(run_robot(image, labels, axis, jitter_ids, start="click", cap=args.cap, jitter=2.0, seed=s))
            for s in range(5)
        ]
        row["click_jitter2"] = {
            key: [float(np.mean([p[key] for p in per_seed])), float(np.std([p[key] for p in per_seed]))]
            for key in ("first_iou", "noc85", "noc90", "nof85")
        }
        row["all_boxes"] = all_boxes(image, labels, axis, region)
        row["graph_cut_one_seed"] = one_seed_graph_cut(image, labels, axis, region)
        results["images"][name] = row
        print(f"{name} ({'REAL' if real else 'SYNTHETIC'}, {len(ids)} objects): "
              f"box first IoU {row['box']['first_iou']:.3f} NoC85 {row['box']['noc85']:.2f} "
              f"NoC90 {row['box']['noc90']:.2f} NoF85 {row['box']['nof85']} | "
              f"click first IoU {row['click']['first_iou']:.3f} NoC85 {row['click']['noc85']:.2f} "
              f"NoC90 {row['click']['noc90']:.2f} NoF85 {row['click']['nof85']} "
              f"s/int {row['click']['seconds_per_interaction']:.3f} | "
              f"jitter2 NoC85 {row['click_jitter2']['noc85'][0]:.2f}+-{row['click_jitter2']['noc85'][1]:.2f} | "
              f"all boxes mean IoU {row['all_boxes']['mean_iou']:.3f} (empty {row['all_boxes']['empty']}) | "
              f"graph cut Dice {row['graph_cut_one_seed']['dice']:.3f} F1@0.5 {row['graph_cut_one_seed']['f1_50']:.3f}",
              flush=True)
    results["load_after"] = os.getloadavg()[0]
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main()
