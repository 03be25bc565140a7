"""Dense CRF and graph-cut refinement: speed, memory and agreement, side by side.

Compares, on the same probability map and image, with the same parameters:

- ``crf_refine`` (permutohedral lattice + exact separable spatial Gaussian),
- the brute-force ``O(N^2)`` dense mean-field reference (small sizes only),
- pydensecrf (Krahenbuhl's C++ code; the ``pydensecrf2`` distribution, since
  ``pydensecrf`` 1.0rc3 from PyPI does not build with Cython 3) if importable,
  set up with the same kernels (symmetric normalisation, Potts weights),

then times ``crf_refine`` at 512x512 and 64x256x256 and ``graph_cut_refine``
at 512x512 (the live re-cut after a stroke).  Prints medians of repeats,
ratios and peak memory (VmHWM reset before each call, see ``peak_memory.py``).

Usage::

    python benchmarks/bench_crf.py [--repeats 3] [--skip-3d]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, os.path.dirname(__file__))

from peak_memory import measure  # noqa: E402

from napari_segkit.refine import crf_refine, graph_cut_refine  # noqa: E402
from napari_segkit.refine._inputs import normalise_intensities  # noqa: E402
from napari_segkit.refine.crf import (  # noqa: E402
    DEFAULT_THETA_ALPHA,
    DEFAULT_THETA_BETA,
    DEFAULT_THETA_GAMMA,
    DEFAULT_W_APPEARANCE,
    DEFAULT_W_SMOOTHNESS,
)
from napari_segkit.refine.reference import dense_crf_brute_force  # noqa: E402
from napari_segkit.samples import nuclei_2d, nuclei_3d  # noqa: E402

PARAMS = dict(
    theta_alpha=DEFAULT_THETA_ALPHA,
    theta_beta=DEFAULT_THETA_BETA,
    theta_gamma=DEFAULT_THETA_GAMMA,
    w_appearance=DEFAULT_W_APPEARANCE,
    w_smoothness=DEFAULT_W_SMOOTHNESS,
)
# weak weights for the agreement figures: Q stays away from 0 and 1
SOFT = dict(theta_alpha=5.0, theta_beta=0.2, theta_gamma=1.5, w_appearance=1.0, w_smoothness=0.5)


def iou(a, b):
    return float((a & b).sum() / (a | b).sum())


def blurred_map(labels, sigma):
    truth = labels > 0
    fg = np.clip(ndi.gaussian_filter(truth.astype(np.float32), sigma) * 0.8 + 0.1, 0.01, 0.99)
    return np.stack([1 - fg, fg]).astype(np.float32), truth


def pydensecrf_refine(probs, image, spacing, params, n_iter=5):
    """The same model in pydensecrf; returns (K, ...) float32 or None if absent."""
    try:
        import pydensecrf.densecrf as dcrf
        from pydensecrf.utils import create_pairwise_bilateral, create_pairwise_gaussian
    except ImportError:
        return None
    shape = probs.shape[1:]
    spacing = np.asarray(spacing, float) / min(spacing)
    crf = dcrf.DenseCRF(int(np.prod(shape)), probs.shape[0])
    unary = -np.log(np.clip(probs, 1e-5, 1.0)).reshape(probs.shape[0], -1)
    crf.setUnaryEnergy(np.ascontiguousarray(unary, dtype=np.float32))
    intensities, _ = normalise_intensities(image[..., np.newaxis])
    if params["w_appearance"] > 0:
        feats = create_pairwise_bilateral(
            sdims=tuple(params["theta_alpha"] / spacing),
            schan=(params["theta_beta"],),
            img=intensities,
            chdim=len(shape),
        )
        crf.addPairwiseEnergy(np.ascontiguousarray(feats, dtype=np.float32), compat=params["w_appearance"])
    if params["w_smoothness"] > 0:
        feats = create_pairwise_gaussian(sdims=tuple(params["theta_gamma"] / spacing), shape=shape)
        crf.addPairwiseEnergy(np.ascontiguousarray(feats, dtype=np.float32), compat=params["w_smoothness"])
    q = crf.inference(n_iter)
    return np.asarray(q, dtype=np.float32).reshape(probs.shape)


def timed(call, repeats):
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def header():
    import scipy
    import skimage

    try:
        import importlib.metadata as md

        pyd = md.version("pydensecrf2")
    except Exception:  # noqa: BLE001
        pyd = "not installed"
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"# {time.strftime('%Y-%m-%d')}  CPU: {cpu}, {os.cpu_count()} cores")
    print(
        f"# python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"scikit-image {skimage.__version__}, pydensecrf2 {pyd}"
    )


def ours_crf(image, probs, **kwargs):
    """crf_refine on the benchmark's classes-first map, returned classes first."""
    return np.moveaxis(crf_refine(image, np.moveaxis(probs, 0, -1), **kwargs), -1, 0)


def small_sizes(repeats):
    print("\n## CRF: lattice vs brute force vs pydensecrf (5 iterations, weak weights)")
    print("size     | ours s | brute s | pydensecrf s | brute/ours | max|ours-brute| | max|pyd-brute|")
    sample = nuclei_2d((128, 128), n_nuclei=16, rng=0)
    for side in (24, 48, 64):
        probs, _ = blurred_map(sample.labels[:side, :side], 2)
        image = sample.image[:side, :side]
        t_ours, ours = timed(lambda: ours_crf(image, probs, **SOFT), repeats)
        t_brute, brute = timed(lambda: dense_crf_brute_force(probs, image, **SOFT), 1)
        t_pyd, pyd = timed(lambda: pydensecrf_refine(probs, image, (1, 1), SOFT), repeats)
        pyd_err = "n/a" if pyd is None else f"{np.abs(pyd - brute).max():.4f}"
        pyd_t = "n/a" if pyd is None else f"{t_pyd:.4f}"
        print(
            f"{side}x{side:<5}| {t_ours:.4f} | {t_brute:.3f}   | {pyd_t}       | {t_brute / t_ours:8.1f}x | "
            f"{np.abs(ours - brute).max():.4f}          | {pyd_err}"
        )


def scaling(repeats, skip_3d):
    print("\n## CRF scaling (default parameters, 5 iterations)")
    print("case          | ours s | peak MB | pydensecrf s | peak MB | ours/pyd | IoU in -> ours / pyd")
    cases = [("512x512", nuclei_2d((512, 512), n_nuclei=80, rng=0), 3)]
    if not skip_3d:
        cases.append(("64x256x256", nuclei_3d((64, 256, 256), n_nuclei=40, rng=0), (0.75, 3, 3)))
    for name, sample, sigma in cases:
        probs, truth = blurred_map(sample.labels, sigma)
        image = sample.image
        t_ours, ours = timed(lambda: ours_crf(image, probs, spacing=sample.spacing, **PARAMS), repeats)
        mem_ours = measure(lambda: ours_crf(image, probs, spacing=sample.spacing, **PARAMS))
        t_pyd, pyd = timed(lambda: pydensecrf_refine(probs, image, sample.spacing, PARAMS), repeats)
        if pyd is not None:
            mem_pyd = measure(lambda: pydensecrf_refine(probs, image, sample.spacing, PARAMS))
            pyd_cols = f"{t_pyd:.2f}         | {mem_pyd['peak_bytes'] / 1e6:7.0f} | {t_ours / t_pyd:6.2f}x"
            pyd_iou = f"{iou(pyd[1] > 0.5, truth):.3f}"
        else:
            pyd_cols, pyd_iou = "n/a          | n/a     | n/a", "n/a"
        print(
            f"{name:<14}| {t_ours:.2f}   | {mem_ours['peak_bytes'] / 1e6:7.0f} | {pyd_cols} | "
            f"{iou(probs[1] > 0.5, truth):.3f} -> {iou(ours[1] > 0.5, truth):.3f} / {pyd_iou}"
        )


def graph_cut(repeats):
    print("\n## graph_cut_refine at 512x512 (live re-cut)")
    sample = nuclei_2d((512, 512), n_nuclei=80, rng=0)
    probs, truth = blurred_map(sample.labels, 3)
    ids, counts = np.unique(sample.labels[sample.labels > 0], return_counts=True)
    target = ids[np.argmax(counts)]
    missed = sample.labels == target
    wrong = probs.copy()
    wrong[1][missed] = 0.1
    wrong[0] = 1 - wrong[1]
    cy, cx = np.argwhere(missed).mean(axis=0).astype(int)
    seeds = np.zeros(truth.shape, dtype=np.int32)
    seeds[cy, cx - 4 : cx + 5] = 1  # object
    t_plain, plain = timed(lambda: graph_cut_refine(sample.image, np.moveaxis(wrong, 0, -1)), repeats)
    t_seed, fixed = timed(lambda: graph_cut_refine(sample.image, np.moveaxis(wrong, 0, -1), seeds=seeds), repeats)
    mem = measure(lambda: graph_cut_refine(sample.image, np.moveaxis(wrong, 0, -1), seeds=seeds))
    print(f"no scribbles: {t_plain:.3f} s; one stroke: {t_seed:.3f} s, peak {mem['peak_bytes'] / 1e6:.0f} MB")
    print(
        f"missed nucleus ({missed.sum()} px) recovered: {(plain[missed] == 1).mean():.2f} -> "
        f"{(fixed[missed] == 1).mean():.2f}; IoU all nuclei {iou(plain == 1, truth):.3f} -> "
        f"{iou(fixed == 1, truth):.3f} (map alone {iou(wrong[1] > 0.5, truth):.3f})"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-3d", action="store_true")
    args = parser.parse_args(argv)
    header()
    small_sizes(args.repeats)
    scaling(args.repeats, args.skip_3d)
    graph_cut(args.repeats)


if __name__ == "__main__":
    main()
