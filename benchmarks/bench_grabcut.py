"""GrabCut against OpenCV's ``cv2.grabCut``, side by side in one run.

Two cases:

1. ``rgb``: one synthetic 8-bit RGB image (a stained-tissue look: a purple,
   textured, irregular object on a pink, textured background with similar
   purple blobs elsewhere) and one rectangle around the object; 5 iterations
   each.  Time (median of repeats) and IoU against the known object.
2. ``nuclei``: ``napari_segkit.samples.nuclei_2d`` (12-bit fluorescence in
   uint16), one box per nucleus from the ground-truth bounding boxes.  OpenCV
   gets the image stretched to 8 bits (0.5-99.5 percentiles) and replicated
   to three channels, one call per box; ours gets the uint16 image and all
   boxes in one call.  Mean IoU per nucleus (a collapsed OpenCV result counts
   as IoU 0) and total time.

Run: ``python benchmarks/bench_grabcut.py [--repeats 5]`` (needs
``opencv-python-headless``, a benchmark-only dependency).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import time
import warnings

import numpy as np
from scipy import ndimage as ndi

from napari_segkit.grabcut import grabcut
from napari_segkit.samples import nuclei_2d

ITERATIONS = 5


def synthetic_rgb(shape=(480, 640), seed=0):
    """(image uint8 (Y, X, 3), truth bool (Y, X), box (2, 2))."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(np.float32)

    def blob(cy, cx, r, n):
        field = np.zeros(shape, np.float32)
        for _ in range(n):
            oy, ox = rng.normal(0, r / 2.5, 2)
            ry, rx = r * rng.uniform(0.5, 0.9, 2)
            field = np.maximum(field, 1 - ((yy - cy - oy) / ry) ** 2 - ((xx - cx - ox) / rx) ** 2)
        return ndi.gaussian_filter(field, 3) > 0.05

    truth = blob(shape[0] * 0.5, shape[1] * 0.45, min(shape) * 0.28, 6)
    distractors = np.zeros(shape, bool)
    for cy, cx in [(0.12, 0.1), (0.85, 0.9), (0.1, 0.92), (0.9, 0.08)]:
        distractors |= blob(shape[0] * cy, shape[1] * cx, min(shape) * 0.07, 3)
    distractors &= ~ndi.binary_dilation(truth, iterations=30)

    def texture(sigma):
        t = ndi.gaussian_filter(rng.normal(0, 1, shape).astype(np.float32), sigma)
        return t / t.std()

    pink = np.array([235, 170, 200], np.float32)
    white = np.array([245, 235, 240], np.float32)
    purple = np.array([120, 60, 150], np.float32)
    dark = np.array([70, 30, 110], np.float32)
    mix = (texture(6) > 0.3)[..., None]
    background = np.where(mix, white, pink) + 12 * texture(2)[..., None]
    nuclei_spots = (texture(2.5) > 1.2)[..., None]
    inside = np.where(nuclei_spots, dark, purple) + 12 * texture(2)[..., None]
    image = np.where((truth | distractors)[..., None], inside, background)
    image = ndi.gaussian_filter(image, (1.0, 1.0, 0))
    image += rng.normal(0, 6, image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    ys, xs = np.nonzero(truth)
    pad = 20
    box = np.array([[max(ys.min() - pad, 0), max(xs.min() - pad, 0)],
                    [min(ys.max() + 1 + pad, shape[0]), min(xs.max() + 1 + pad, shape[1])]])
    return image, truth, box


def iou(a, b):
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


def opencv_grabcut(rgb, box, iterations=ITERATIONS):
    import cv2

    mask = np.zeros(rgb.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    (y0, x0), (y1, x1) = box
    rect = (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
    try:
        cv2.grabCut(rgb, mask, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    except cv2.error:  # e.g. a model that cannot be learned; counts as a failure
        return np.zeros(rgb.shape[:2], bool)
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def interleaved(fns, repeats):
    """Run the callables in turn ``repeats`` times (so machine load hits all alike);
    return each one's median time, its last result, and the median of its
    per-round time ratio to the first callable."""
    times = [[] for _ in fns]
    outs = [None] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - start)
    ratios = [statistics.median(np.divide(t, times[0])) for t in times]
    return [statistics.median(t) for t in times], outs, ratios


def bench_rgb(repeats):
    image, truth, box = synthetic_rgb()
    fns = [lambda: opencv_grabcut(image, box)] + [
        (lambda conn=conn: grabcut(image, box[None], channel_axis=-1, max_iter=ITERATIONS, connectivity=conn, rng=0))
        for conn in (1, 2)
    ]
    medians, outs, ratios = interleaved(fns, repeats)
    names = ["OpenCV cv2.grabCut (8-conn)", "ours, 4-conn (default)", "ours, 8-conn"]
    masks = [outs[0], outs[1] == 1, outs[2] == 1]
    print(f"\n## Case rgb: {image.shape[1]}x{image.shape[0]} 8-bit RGB, rectangle "
          f"{box[1, 1] - box[0, 1]}x{box[1, 0] - box[0, 0]}, {ITERATIONS} iterations, {repeats} interleaved rounds")
    print("| method | median time (s) | median time / OpenCV (per round) | IoU vs truth |\n|---|---|---|---|")
    for name, t, ratio, mask in zip(names, medians, ratios, masks):
        print(f"| {name} | {t:.3f} | {ratio:.2f} | {iou(mask, truth):.4f} |")


def bench_nuclei(repeats):
    sample = nuclei_2d()
    truth = sample.labels
    boxes = np.array([[[s.start for s in o], [s.stop for s in o]] for o in ndi.find_objects(truth)])
    lo, hi = np.percentile(sample.image, (0.5, 99.5))
    u8 = np.clip((sample.image - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)
    rgb = np.ascontiguousarray(np.dstack([u8] * 3))

    def run_cv():
        return [opencv_grabcut(rgb, b) for b in boxes]

    t_cv, cv_masks = timed(run_cv, max(1, repeats // 2))
    t_ours, ours = timed(lambda: grabcut(sample.image, boxes, max_iter=ITERATIONS, rng=0), repeats)
    cv_iou = [iou(m, truth == i + 1) for i, m in enumerate(cv_masks)]
    our_iou = [iou(ours == i + 1, truth == i + 1) for i in range(len(boxes))]
    print(f"\n## Case nuclei: nuclei_2d {sample.image.shape} uint16, {len(boxes)} boxes from the truth, "
          f"{ITERATIONS} iterations")
    print("| method | time (s) | mean IoU | min IoU | objects with IoU < 0.5 |\n|---|---|---|---|---|")
    for name, t, scores in (("OpenCV (8-bit RGB copy, one call per box)", t_cv, cv_iou),
                            ("ours (uint16, one call)", t_ours, our_iou)):
        scores = np.asarray(scores)
        print(f"| {name} | {t:.3f} | {scores.mean():.3f} | {scores.min():.3f} | {int((scores < 0.5).sum())} |")


def bench_many_boxes(repeats):
    sample = nuclei_2d((1024, 1024), n_nuclei=200, rng=1)
    boxes = np.array([[[s.start for s in o], [s.stop for s in o]] for o in ndi.find_objects(sample.labels)])
    t, lab = timed(lambda: grabcut(sample.image, boxes, max_iter=ITERATIONS, rng=0), max(1, repeats // 2))
    scores = np.array([iou(lab == i + 1, sample.labels == i + 1) for i in range(len(boxes))])
    print(f"\n## Case many boxes: nuclei_2d (1024, 1024), {len(boxes)} boxes: {t:.2f} s "
          f"({1000 * t / len(boxes):.1f} ms per box), mean IoU {scores.mean():.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import cv2
    import maxflow

    print(f"date {datetime.date.today()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, python {platform.python_version()}, numpy {np.__version__}, "
          f"opencv {cv2.__version__} ({cv2.getNumThreads()} threads), PyMaxflow {maxflow.__version__}")
    try:
        with open("/proc/cpuinfo") as fh:
            model = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
        print(f"cpu {model}")
    except OSError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bench_rgb(args.repeats)
        bench_nuclei(args.repeats)
        bench_many_boxes(args.repeats)


if __name__ == "__main__":
    main()
