"""Training under a CPU time budget, on real and synthetic cells: accuracy, post-processing, TTA, Farabet.

Real data (``../shared/devdata``, or ``$SEGKIT_DEVDATA``): each dense whole-cell
set (kc167, macrophage, neuron, membrane) is cut into a left and a right half;
a network is trained on the left half for ``--budget`` seconds and scored on
the right half (instance F1 at IoU 0.5 and 0.75, foreground Dice, boundary F1
of the foreground within 2 px).  Synthetic: ``samples.rods_2d`` (touching
rod-shaped bacteria), trained on one image, scored on another.

For each trained U-Net the script also reports

- the post-processing sweep (seed threshold, foreground threshold, minimum
  size as a fraction of the training objects' median area) on the test half;
- test-time augmentation (8 views): gain and cost;

and, at the same training time, Farabet's multi-scale network with and
without superpixel voting; ``--schedules`` adds the learning-rate schedule and
patch size comparison on kc167.

Run (long; the machine is shared, so under nice)::

    nice -n 10 python benchmarks/bench_training.py --budget 90 --out /tmp/bench_training.json

Results are printed as a table and written as JSON; the machine's load
(``os.getloadavg``) is recorded with them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REAL_SETS = ("kc167_cells_2d", "macrophage_cells_2d", "neuron_cells_2d", "membrane_tissue_2d")
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
FOREGROUND = (0.3, 0.4, 0.5, 0.6)
MIN_SIZE_FRACTIONS = (0.0, 0.1, 0.25)


def devdata() -> Path:
    env = os.environ.get("SEGKIT_DEVDATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "devdata"


def load_halves(name: str):
    """``(train_image, train_labels, test_image, test_labels, channel_axis)``, halves along x."""
    import tifffile
    from skimage.segmentation import relabel_sequential

    root = devdata()
    image = tifffile.imread(root / f"{name}_image.tif")
    labels = tifffile.imread(root / f"{name}_labels.tif").astype(np.int32)
    channel_axis = None
    if image.ndim == 3:  # CYX
        image = np.moveaxis(image, 0, -1)
        channel_axis = -1
    half = labels.shape[1] // 2
    left = relabel_sequential(labels[:, :half])[0]
    right = relabel_sequential(labels[:, half:])[0]
    return image[:, :half], left, image[:, half:], right, channel_axis


def boundary_f1(pred_fg: np.ndarray, ref_fg: np.ndarray, tolerance: int = 2) -> float:
    """F1 of foreground contour pixels matched within ``tolerance`` pixels."""
    from scipy import ndimage as ndi

    def contour(mask):
        return mask & ~ndi.binary_erosion(mask)

    p, r = contour(pred_fg), contour(ref_fg)
    if not p.any() and not r.any():
        return 1.0
    dist_r = ndi.distance_transform_edt(~r)
    dist_p = ndi.distance_transform_edt(~p)
    precision = (dist_r[p] <= tolerance).mean() if p.any() else 0.0
    recall = (dist_p[r] <= tolerance).mean() if r.any() else 0.0
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def scores(labels: np.ndarray, truth: np.ndarray) -> dict:
    from napari_segkit.evaluation import dice, instance_f1

    return {
        "f1_50": round(instance_f1(labels, truth, 0.5), 4),
        "f1_75": round(instance_f1(labels, truth, 0.75), 4),
        "dice": round(dice(labels > 0, truth > 0), 4),
        "boundary_f1": round(boundary_f1(labels > 0, truth > 0), 4),
    }


def train(images, labels, *, architecture, budget, channel_axis, rng=0, **kwargs):
    from napari_segkit.models import train_model

    start = time.perf_counter()
    model = train_model(images, labels, architecture=architecture, channel_axis=channel_axis,
                        time_budget=budget, rng=rng, **kwargs)
    t = model.config["training"]
    return model, {"seconds": round(time.perf_counter() - start, 1), "epochs": len(t["history"]),
                   "best_epoch": t["best_epoch"], "stopped_by": t["stopped_by"]}


def evaluate_unet(model, test_image, test_labels, train_labels, channel_axis) -> dict:
    from napari_segkit.models import predict_probabilities
    from napari_segkit.models.instances import instances_from_probabilities

    start = time.perf_counter()
    prob = predict_probabilities(test_image, model, channel_axis=channel_axis)
    plain_seconds = time.perf_counter() - start
    start = time.perf_counter()
    prob_tta = predict_probabilities(test_image, model, channel_axis=channel_axis, tta=True)
    tta_seconds = time.perf_counter() - start
    sizes = np.bincount(train_labels.ravel())[1:]
    median_area = float(np.median(sizes[sizes > 0]))
    out = {"default": scores(instances_from_probabilities(prob), test_labels),
           "tta": scores(instances_from_probabilities(prob_tta), test_labels),
           "predict_seconds": round(plain_seconds, 2), "tta_seconds": round(tta_seconds, 2),
           "median_train_area": median_area, "sweep": []}
    for t in THRESHOLDS:
        for fg in FOREGROUND:
            for frac in MIN_SIZE_FRACTIONS:
                labels = instances_from_probabilities(prob, threshold=t, foreground_threshold=fg,
                                                      min_size=int(frac * median_area))
                out["sweep"].append({"threshold": t, "foreground": fg, "min_size_fraction": frac,
                                     **scores(labels, test_labels)})
    return out


def evaluate_farabet(model, test_image, test_labels, channel_axis, superpixel_size) -> dict:
    from napari_segkit.models import predict_labels

    start = time.perf_counter()
    plain = predict_labels(test_image, model, channel_axis=channel_axis)
    seconds = time.perf_counter() - start
    voted = predict_labels(test_image, model, channel_axis=channel_axis, superpixel_size=superpixel_size)
    semantic = predict_labels(test_image, model, channel_axis=channel_axis, output="semantic")
    semantic_voted = predict_labels(test_image, model, channel_axis=channel_axis, output="semantic",
                                    superpixel_size=superpixel_size)
    return {"default": scores(plain, test_labels), "voted": scores(voted, test_labels),
            "semantic_boundary_f1": round(boundary_f1(semantic > 0, test_labels > 0), 4),
            "semantic_voted_boundary_f1": round(boundary_f1(semantic_voted > 0, test_labels > 0), 4),
            "predict_seconds": round(seconds, 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=90.0, help="training seconds per network")
    parser.add_argument("--sets", nargs="*", default=list(REAL_SETS))
    parser.add_argument("--no-farabet", action="store_true")
    parser.add_argument("--no-rods", action="store_true")
    parser.add_argument("--schedules", action="store_true", help="also compare LR schedules and patch sizes")
    parser.add_argument("--superpixel-size", type=int, default=30)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    results = {"budget": args.budget, "threads": args.threads, "load_start": os.getloadavg(), "runs": []}

    def record(entry):
        entry["load"] = [round(v, 2) for v in os.getloadavg()]
        results["runs"].append(entry)
        print(json.dumps({k: v for k, v in entry.items() if k != "sweep"}), flush=True)
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=1))

    if devdata().is_dir():
        for name in args.sets:
            tr_img, tr_lab, te_img, te_lab, axis = load_halves(name)
            model, info = train(tr_img, tr_lab, architecture="unet", budget=args.budget, channel_axis=axis)
            entry = {"data": name, "kind": "real", "architecture": "unet", **info,
                     **evaluate_unet(model, te_img, te_lab, tr_lab, axis)}
            record(entry)
            if not args.no_farabet:
                model, info = train(tr_img, tr_lab, architecture="farabet", budget=args.budget, channel_axis=axis)
                record({"data": name, "kind": "real", "architecture": "farabet", **info,
                        **evaluate_farabet(model, te_img, te_lab, axis, args.superpixel_size)})
        if args.schedules:
            tr_img, tr_lab, te_img, te_lab, axis = load_halves("kc167_cells_2d")
            for label, kwargs in [("constant lr", {"lr_schedule": "constant"}),
                                  ("patch 96", {"patch_shape": 96}), ("patch 192", {"patch_shape": 192})]:
                model, info = train(tr_img, tr_lab, architecture="unet", budget=args.budget, channel_axis=axis,
                                    **kwargs)
                entry = {"data": "kc167_cells_2d", "kind": "real", "architecture": "unet", "variant": label,
                         **info, **evaluate_unet(model, te_img, te_lab, tr_lab, axis)}
                entry.pop("sweep")
                record(entry)
    else:
        print(f"no dev data at {devdata()}: real-data figures skipped", file=sys.stderr)

    if not args.no_rods:
        from napari_segkit.samples import rods_2d

        train_sample, test_sample = rods_2d(rng=0), rods_2d(rng=1)
        model, info = train(train_sample.image, train_sample.labels, architecture="unet", budget=args.budget,
                            channel_axis=None)
        record({"data": "rods_2d", "kind": "synthetic", "architecture": "unet", **info,
                **evaluate_unet(model, test_sample.image, test_sample.labels, train_sample.labels, None)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
