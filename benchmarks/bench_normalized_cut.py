"""Normalized cut: ours against scikit-image's ``cut_normalized``, side by side.

Both get the same SLIC superpixels (``n_segments=400``; compactness 30 on
the noisy synthetic image, 10 on the photograph).  scikit-image builds
its RAG with ``rag_mean_color(mode="similarity")`` and cuts it with
``cut_normalized`` (defaults, ``rng=0``); ours is
``normalized_cut(image, superpixels=labels, ...)``, whose time includes its
features and region graph.  Quality: adjusted Rand index (ARI) and mean
best-match IoU against the known regions of a synthetic RGB image; speed:
median of repeats on the synthetic image and on ``skimage.data.astronaut()``.

Run: ``python benchmarks/bench_normalized_cut.py [--repeats 3]``
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc
import warnings

import numpy as np


def synthetic_rgb(shape=(512, 512), n_regions=6, seed=0):
    """Voronoi regions of distinct colours, blurred edges, Gaussian noise; returns image, truth."""
    from scipy import ndimage as ndi

    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 1, size=(n_regions, 2)) * np.array(shape)
    yy, xx = np.indices(shape)
    dist = (yy[..., None] - centres[:, 0]) ** 2 + (xx[..., None] - centres[:, 1]) ** 2
    truth = np.argmin(dist, axis=-1).astype(np.int32) + 1
    colours = rng.uniform(30, 225, size=(n_regions + 1, 3))
    image = colours[truth]
    image = ndi.gaussian_filter(image, (1.0, 1.0, 0))
    image += rng.normal(0, 20, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), truth


def best_match_iou(truth, labels):
    """Mean over true regions of the best IoU with any segment."""
    ious = []
    for t in np.unique(truth):
        mask = truth == t
        values, counts = np.unique(labels[mask], return_counts=True)
        best = 0.0
        for v, c in zip(values, counts):
            union = mask.sum() + (labels == v).sum() - c
            best = max(best, c / union)
        ious.append(best)
    return float(np.mean(ious))


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, float(np.median(times))


def peak_memory(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import scipy
    import skimage
    from skimage import data, graph, segmentation
    from sklearn.metrics import adjusted_rand_score

    from napari_segkit.spectral import normalized_cut

    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"scikit-image {skimage.__version__}; {platform.processor() or platform.machine()}")
    synth, truth = synthetic_rgb()
    # compactness 30 on the noisy synthetic image (10 fragments it into one superpixel)
    cases = {
        "synthetic 512x512 RGB (6 regions)": (synth, truth, 30),
        "astronaut 512x512 RGB": (data.astronaut(), None, 10),
    }
    for name, (image, gt, compactness) in cases.items():
        sp = segmentation.slic(image, n_segments=400, compactness=compactness, start_label=1)
        print(f"\n== {name}: {len(np.unique(sp))} SLIC superpixels")

        def skimage_cut():
            rag = graph.rag_mean_color(image, sp, mode="similarity")
            return graph.cut_normalized(sp, rag, rng=0)

        runs = {
            "skimage rag_mean_color + cut_normalized": skimage_cut,
            "ours normalized_cut (threshold default)": lambda: normalized_cut(
                image, channel_axis=-1, superpixels=sp),
        }
        if gt is not None:
            k = int(gt.max())
            runs[f"ours normalized_cut n_segments={k}"] = lambda: normalized_cut(
                image, channel_axis=-1, superpixels=sp, n_segments=k)
            runs[f"ours normalized_cut kway n_segments={k}"] = lambda: normalized_cut(
                image, channel_axis=-1, superpixels=sp, n_segments=k, method="kway")
        base = None
        for label, fn in runs.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out, t = timed(fn, 1 if label.startswith("skimage") else args.repeats)
                peak = peak_memory(fn)
            if base is None:
                base = t
            line = f"{label:45s} {t:8.3f} s  x{base / t:6.1f}  peak {peak / 1e6:7.1f} MB  segments {len(np.unique(out)):4d}"
            if gt is not None:
                line += f"  ARI {adjusted_rand_score(gt.ravel(), out.ravel()):.3f}  IoU {best_match_iou(gt, out):.3f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
