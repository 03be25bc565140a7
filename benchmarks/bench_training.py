"""Training under a CPU-second budget, on real and synthetic cells: architectures, schedules, augmentation, patches.

Real data (``/work/shared/devdata``, ``../shared/devdata`` or ``$SEGKIT_DEVDATA``):
each dense whole-cell set (kc167, neuron, ...) is cut into a left and a right
half; a network is trained on the left half and scored on the right half.
Synthetic: ``rods_2d`` (touching rod-shaped bacteria) and ``nuclei_2d`` (40
nuclei in 256 x 256), trained on seed 0, scored on seed 1.

Every training gets the same budget in **CPU seconds of this process**
(``train_model(budget_clock="cpu")``), so the load of a shared machine does
not change what a budget buys; with one torch thread a CPU second is a core
second.  Scores: instance F1 at IoU 0.5 and 0.75, foreground Dice, boundary
F1 of the foreground within 2 px; for Farabet's network also with superpixel
voting (instances and the semantic foreground's boundary F1).

Variants (``--variants``): ``default``, ``constant-lr`` (no cosine decay),
``aug-none`` / ``aug-flips`` / ``aug-strong`` (augmentation levels),
``patch-96`` / ``patch-192``, ``full-budget`` (the stopping rule off: the
whole budget is trained); several join with ``+``.  ``--sweep`` adds the post-processing sweep
and ``--tta`` test-time augmentation for U-Nets.

Run (long; the machine is shared, so under nice; one training at a time)::

    nice -n 10 python benchmarks/bench_training.py --budget 120 --threads 1 \
        --sets kc167_cells_2d neuron_cells_2d rods_2d nuclei_2d --architectures unet farabet \
        --out /tmp/bench_training.jsonl

One JSON line per run is printed and appended to ``--out``, with the load
average (``os.getloadavg``) at its end.
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
SYNTHETIC_SETS = ("rods_2d", "nuclei_2d")
VARIANTS = {
    "default": {},
    "constant-lr": {"lr_schedule": "constant"},
    "aug-none": {"augment": "none"},
    "aug-flips": {"augment": "flips"},
    "aug-strong": {"augment": "strong"},
    "patch-96": {"patch_shape": 96},
    "patch-192": {"patch_shape": 192},
    "full-budget": {"epochs": 10**6},  # an epoch cap turns the stopping rule off: the whole budget is used
}


def devdata() -> Path:
    env = os.environ.get("SEGKIT_DEVDATA")
    if env:
        return Path(env)
    for root in (Path("/work/shared/devdata"), Path(__file__).resolve().parents[1] / ".." / "shared" / "devdata"):
        if root.is_dir():
            return root
    return Path("/work/shared/devdata")


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


def load_set(name: str):
    """``(train_image, train_labels, test_image, test_labels, channel_axis, kind)`` for a real or synthetic set."""
    if name in SYNTHETIC_SETS:
        from napari_segkit import samples

        make = samples.rods_2d if name == "rods_2d" else lambda rng: samples.nuclei_2d(n_nuclei=40, rng=rng)
        train_sample, test_sample = make(rng=0), make(rng=1)
        return (train_sample.image, train_sample.labels, test_sample.image, test_sample.labels, None,
                "SYNTHETIC")
    return (*load_halves(name), "REAL")


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

    wall, cpu = time.perf_counter(), time.process_time()
    model = train_model(images, labels, architecture=architecture, channel_axis=channel_axis,
                        time_budget=budget, budget_clock="cpu", rng=rng, **kwargs)
    t = model.config["training"]
    history = t["history"]
    return model, {"cpu_seconds": round(time.process_time() - cpu, 1),
                   "wall_seconds": round(time.perf_counter() - wall, 1), "epochs": len(history),
                   "best_epoch": t["best_epoch"], "stopped_by": t["stopped_by"],
                   "val_loss": [None if r["val_loss"] is None else round(r["val_loss"], 3) for r in history]}


def evaluate(model, test_image, test_labels, train_labels, channel_axis, *, superpixel_size=None, tta=False,
             sweep=False) -> dict:
    """Scores of ``predict_labels``' default instances; with ``superpixel_size`` also voted; TTA and sweep on request."""
    from napari_segkit.models import predict_probabilities
    from napari_segkit.models.postprocess import labels_from_probabilities

    cpu = time.process_time()
    prob = predict_probabilities(test_image, model, channel_axis=channel_axis)
    out = {"predict_cpu_seconds": round(time.process_time() - cpu, 2),
           "default": scores(labels_from_probabilities(prob, model), test_labels)}
    if superpixel_size:
        common = dict(superpixel_size=superpixel_size, image=test_image, channel_axis=channel_axis)
        out["voted"] = scores(labels_from_probabilities(prob, model, **common), test_labels)
        semantic = labels_from_probabilities(prob, model, output="semantic")
        voted = labels_from_probabilities(prob, model, output="semantic", **common)
        out["semantic_boundary_f1"] = round(boundary_f1(semantic > 0, test_labels > 0), 4)
        out["semantic_voted_boundary_f1"] = round(boundary_f1(voted > 0, test_labels > 0), 4)
    if tta:
        cpu = time.process_time()
        prob_tta = predict_probabilities(test_image, model, channel_axis=channel_axis, tta=True)
        out["tta_cpu_seconds"] = round(time.process_time() - cpu, 2)
        out["tta"] = scores(labels_from_probabilities(prob_tta, model), test_labels)
    if sweep:
        from napari_segkit.models.instances import instances_from_probabilities

        sizes = np.bincount(train_labels.ravel())[1:]
        median_area = float(np.median(sizes[sizes > 0]))
        out["sweep"] = [
            {"threshold": t, "foreground": fg, "min_size_fraction": frac,
             **scores(instances_from_probabilities(prob, threshold=t, foreground_threshold=fg,
                                                   min_size=int(frac * median_area)), test_labels)}
            for t in THRESHOLDS for fg in FOREGROUND for frac in MIN_SIZE_FRACTIONS]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=120.0, help="training CPU seconds per network")
    parser.add_argument("--sets", nargs="*", default=["kc167_cells_2d", "neuron_cells_2d", *SYNTHETIC_SETS])
    parser.add_argument("--architectures", nargs="*", default=["unet", "farabet"])
    parser.add_argument("--variants", nargs="*", default=["default"],
                        help=f"any of {list(VARIANTS)}, or several joined by '+' (e.g. full-budget+constant-lr)")
    parser.add_argument("--superpixel-size", type=int, default=30, help="Farabet's voting (0: off)")
    parser.add_argument("--tta", action="store_true", help="also test-time augmentation (U-Net)")
    parser.add_argument("--sweep", action="store_true", help="also the post-processing sweep (U-Net)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rng", type=int, default=0)
    parser.add_argument("--out", default=None, help="append one JSON line per run to this file")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    for variant in args.variants:
        unknown = [v for v in variant.split("+") if v not in VARIANTS]
        if unknown:
            parser.error(f"unknown variant(s) {unknown}; known: {list(VARIANTS)}")
    for variant in args.variants:
        for name in args.sets:
            if name not in SYNTHETIC_SETS and not (devdata() / f"{name}_image.tif").is_file():
                print(f"no dev data {name!r} at {devdata()}: skipped", file=sys.stderr)
                continue
            tr_img, tr_lab, te_img, te_lab, axis, kind = load_set(name)
            for architecture in args.architectures:
                model, info = train(tr_img, tr_lab, architecture=architecture, budget=args.budget,
                                    channel_axis=axis, rng=args.rng,
                                    **{k: v for part in variant.split("+") for k, v in VARIANTS[part].items()})
                is_unet = architecture == "unet"
                entry = {"data": name, "kind": kind, "architecture": architecture, "variant": variant,
                         "budget_cpu_s": args.budget, "threads": args.threads, "rng": args.rng, **info,
                         **evaluate(model, te_img, te_lab, tr_lab, axis,
                                    superpixel_size=None if is_unet else args.superpixel_size or None,
                                    tta=args.tta and is_unet, sweep=args.sweep and is_unet),
                         "load": [round(v, 2) for v in os.getloadavg()]}
                print(json.dumps({k: v for k, v in entry.items() if k != "sweep"}), flush=True)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(entry) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
