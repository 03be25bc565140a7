"""Normalized cut: ours against scikit-image's ``cut_normalized``, side by side.

Both get the same SLIC superpixels (``n_segments=400``; compactness 30 on
the noisy synthetic image, 10 on the photograph).  scikit-image builds
its RAG with ``rag_mean_color(mode="similarity")`` and cuts it with
``cut_normalized`` (defaults, ``rng=0``); ours is
``normalized_cut(image, superpixels=labels, ...)``, whose time includes its
features and region graph.  Quality: adjusted Rand index (ARI) and mean
best-match IoU against the known regions of a synthetic RGB image; speed:
median of repeats on the synthetic image and on ``skimage.data.astronaut()``.

The set run (first) repeats this over ``--seeds`` synthetic images (rng seeds
0, 1, ...) plus one where two regions share a mean colour and differ only
in grain, printing per image and median ARI / IoU, the oracle ARI (each
superpixel given its majority true region) and the time ratio.

Run: ``python benchmarks/bench_normalized_cut.py [--repeats 3] [--seeds 5] [--only-set]``
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc
import warnings

import numpy as np


def synthetic_rgb(seed=0):
    """Six Voronoi regions of random colours, blurred edges, noise of 20 grey levels: image, truth."""
    from napari_segkit.samples import voronoi_rgb

    sample = voronoi_rgb(rng=seed)
    return sample.image, sample.labels


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


def textured_rgb(seed=0):
    """As :func:`synthetic_rgb`, but region 2 has region 1's mean colour and grain of sigma 60 (not 20)."""
    from napari_segkit.samples import voronoi_rgb

    sample = voronoi_rgb(rng=seed, colour_range=(60.0, 195.0), grainy_region=2)
    return sample.image, sample.labels


def run_set(args, images):
    """skimage against ours on each synthetic image; per image and median ARI / IoU, time ratio."""
    from skimage import graph, segmentation
    from sklearn.metrics import adjusted_rand_score

    from napari_segkit.spectral import normalized_cut

    runs = {
        "skimage": None,
        "ours default": {},
        "ours n_segments": "n",
        "ours kway": "kway",
        "ours texture_weight=1": {"texture_weight": 1.0},
    }
    scores = {name: [] for name in runs}
    print(f"\n== {len(images)} synthetic images: ARI / IoU (segments), time; speed-up = skimage time / ours")
    for name, (image, truth) in images.items():
        sp = segmentation.slic(image, n_segments=400, compactness=30, start_label=1)
        k = int(truth.max())
        n_sp = len(np.unique(sp))
        oracle = _oracle(sp, truth)
        parts = [f"{name} ({n_sp} sp; oracle ARI {adjusted_rand_score(truth.ravel(), oracle.ravel()):.3f})"]
        base = None
        for run, option in runs.items():
            if option is None:
                def fn():
                    rag = graph.rag_mean_color(image, sp, mode="similarity")
                    return graph.cut_normalized(sp, rag, rng=0)
            else:
                kwargs = {"n_segments": k} if option == "n" else (
                    {"n_segments": k, "method": "kway"} if option == "kway" else option)

                def fn(kwargs=kwargs):
                    return normalized_cut(image, channel_axis=-1, superpixels=sp, **kwargs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out, t = timed(fn, 1 if option is None else args.repeats)
            base = t if base is None else base
            a = adjusted_rand_score(truth.ravel(), out.ravel())
            iou = best_match_iou(truth, out)
            scores[run].append((a, iou, base / t))
            parts.append(f"  {run:22s} ARI {a:.3f} IoU {iou:.3f} ({len(np.unique(out)):3d}) {t:6.2f} s x{base / t:5.1f}")
        print("\n".join(parts), flush=True)
    print("\nmedian over the images:")
    for run, values in scores.items():
        v = np.array(values)
        print(f"  {run:22s} ARI {np.median(v[:, 0]):.3f}  IoU {np.median(v[:, 1]):.3f}  speed-up x{np.median(v[:, 2]):.1f}"
              f"  (min ARI {v[:, 0].min():.3f})")


def _oracle(sp, truth):
    """Each superpixel given its majority true region: the best any superpixel partition can do."""
    n = int(sp.max()) + 1
    counts = np.zeros((n, int(truth.max()) + 1))
    np.add.at(counts, (sp.ravel(), truth.ravel()), 1)
    return np.argmax(counts, axis=1)[sp]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=5, help="synthetic images (rng seeds 0 .. seeds - 1)")
    parser.add_argument("--only-set", action="store_true", help="skip the single-image memory/astronaut runs")
    args = parser.parse_args()

    import scipy
    import skimage
    from skimage import data, graph, segmentation
    from sklearn.metrics import adjusted_rand_score

    from napari_segkit.spectral import normalized_cut

    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"scikit-image {skimage.__version__}; {platform.processor() or platform.machine()}")
    images = {f"seed {seed}": synthetic_rgb(seed=seed) for seed in range(args.seeds)}
    images["texture (seed 0)"] = textured_rgb(seed=0)
    run_set(args, images)
    if args.only_set:
        return
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
