"""U-Net, FCN, SegNet, DeepLabv3 and PSPNet on the same data with the same training time.

Run:  python benchmarks/bench_architectures.py [--budget 120] [--threads 2] [--quick]

Every architecture, with its default options, is trained by ``train_model``
on the same synthetic nuclei (four 256 x 256 images of touching nuclei; one
held out for validation, as ``train_model`` does by default) for the same
wall-clock budget, with the same seed.  It is then scored on three unseen
images: foreground IoU (pixels predicted not background vs. object pixels),
instance F1 at IoU 0.5 (the instance pipeline of ``predict_labels``), and
inference time of ``predict_probabilities`` on a 512 x 512 image (median of
repeats after a warm-up; the whole image fits one tile).  Inference speed is
also measured with every architecture timed in turn, interleaved, (medians of
at least 5 rounds), which is fairer on a shared machine.  Printed as JSON and
as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

NAMES = ["unet", "fcn", "segnet", "deeplabv3", "pspnet"]


def instance_f1(truth: np.ndarray, pred: np.ndarray, threshold: float = 0.5) -> float:
    """F1 of instances matched one-to-one at IoU > threshold."""
    truth = np.asarray(truth).ravel()
    pred = np.asarray(pred).ravel()
    n_truth = len(np.unique(truth[truth > 0]))
    n_pred = len(np.unique(pred[pred > 0]))
    both = (truth > 0) & (pred > 0)
    pairs, overlap = np.unique(np.stack([truth[both], pred[both]]), axis=1, return_counts=True)
    t_size = dict(zip(*[a.tolist() for a in np.unique(truth, return_counts=True)]))
    p_size = dict(zip(*[a.tolist() for a in np.unique(pred, return_counts=True)]))
    tp = sum(
        1 for (t, p), inter in zip(pairs.T.tolist(), overlap.tolist())
        if inter / (t_size[t] + p_size[p] - inter) > threshold
    )
    return 2.0 * tp / (n_truth + n_pred) if n_truth + n_pred else 1.0


def data(quick: bool):
    from napari_segkit.samples import nuclei_2d

    side = 128 if quick else 256
    n = 10 if quick else 40
    train = [nuclei_2d((side, side), n_nuclei=n, rng=seed) for seed in range(4)]
    test = [nuclei_2d((side, side), n_nuclei=n, rng=100 + seed) for seed in range(3)]
    big = nuclei_2d((512, 512), n_nuclei=160, rng=200).image
    return train, test, big


def run(name: str, train, test, big, budget: float, repeats: int) -> dict:
    from napari_segkit.models import predict_labels, predict_probabilities, train_model

    model = train_model([s.image for s in train], [s.labels for s in train], architecture=name,
                        time_budget=budget, rng=0, device="cpu")
    ious, f1s = [], []
    for sample in test:
        semantic = predict_labels(sample.image, model, output="semantic", device="cpu") > 0
        truth = sample.labels > 0
        ious.append(float((semantic & truth).sum() / (semantic | truth).sum()))
        f1s.append(instance_f1(sample.labels, predict_labels(sample.image, model, device="cpu")))
    predict_probabilities(big, model, device="cpu")  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict_probabilities(big, model, device="cpu")
        times.append(time.perf_counter() - start)
    training = model.config["training"]
    return {
        "architecture": name,
        "options": model.config["options"],
        "parameters": int(sum(p.numel() for p in model.network.parameters())),
        "epochs": len(training["history"]),
        "best_epoch": training["best_epoch"],
        "train_seconds": training["seconds"],
        "foreground_iou": float(np.mean(ious)),
        "instance_f1": float(np.mean(f1s)),
        "f1_per_image": [round(f, 3) for f in f1s],
        "inference_s_512": float(np.median(times)),
        "inference_repeats": [round(t, 3) for t in times],
        "halo": model.halo,
        "align": model.align,
    }


def speed(big, repeats: int) -> dict:
    """Inference time of every default architecture, interleaved (weights do not change the time)."""
    import torch

    from napari_segkit.models import Model, predict_probabilities
    from napari_segkit.models.registry import get_architecture
    from napari_segkit.models.targets import CLASSES

    models = {}
    for name in NAMES:
        torch.manual_seed(0)
        spec = get_architecture(name)
        config = {"architecture": name, "options": {}, "spatial_dims": 2, "in_channels": 1,
                  "classes": list(CLASSES), "voxel_size": [1.0, 1.0],
                  "normalisation": {"method": "percentile", "low": 1.0, "high": 99.8}}
        models[name] = Model(spec.build(1, 3, 2, **spec.defaults).eval(), config)
        predict_probabilities(big, models[name], device="cpu")  # warm-up
    times = {name: [] for name in NAMES}
    for _ in range(repeats):
        for name, model in models.items():
            start = time.perf_counter()
            predict_probabilities(big, model, device="cpu")
            times[name].append(time.perf_counter() - start)
    medians = {name: float(np.median(t)) for name, t in times.items()}
    return {name: {"median_s": medians[name], "vs_unet": medians[name] / medians["unet"],
                   "repeats": [round(t, 3) for t in times[name]]} for name in NAMES}


def machine() -> dict:
    import torch

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "load_average": load, "date": time.strftime("%Y-%m-%d")}


def table(rows) -> str:
    unet = next((r for r in rows if r["architecture"] == "unet"), None)
    lines = [
        "| architecture | parameters | epochs in budget | foreground IoU | instance F1@0.5 | "
        "inference 512x512 (s) | vs U-Net | halo (px) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["inference_s_512"] / unet["inference_s_512"] if unet else float("nan")
        lines.append(
            f"| {r['architecture']} | {r['parameters'] / 1e6:.2f} M | {r['epochs']} | {r['foreground_iou']:.3f} | "
            f"{r['instance_f1']:.3f} | {r['inference_s_512']:.2f} | {ratio:.2f}x | {r['halo']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=float, default=120.0, help="training seconds per architecture")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=NAMES)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--speed-only", action="store_true", help="only the interleaved inference timing")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    budget = 15.0 if args.quick else args.budget
    train, test, big = data(args.quick)
    report = {"machine": machine(), "budget_s": budget, "results": []}
    report["speed"] = speed(big, max(args.repeats, 5))
    print(json.dumps(report["speed"]), flush=True)
    if args.speed_only:
        return
    for name in args.only or NAMES:
        result = run(name, train, test, big, budget, args.repeats)
        report["results"].append(result)
        print(json.dumps(result), flush=True)
    report["machine"]["load_average_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(json.dumps(report, indent=2))
    print(table(report["results"]))


if __name__ == "__main__":
    main()
