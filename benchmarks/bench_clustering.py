"""K-means and mean shift against scikit-learn (and OpenCV), side by side.

    python benchmarks/bench_clustering.py [--repeats 3] [--ms-side 256]

K-means: 1024x1024 synthetic nuclei (uint16), 3 clusters.  Ours fits on a
100 000-pixel sample and assigns every pixel; the peer is
``sklearn.cluster.KMeans(n_init=1)`` on all pixels with the same normalised
features.  Agreement = fraction of pixels with the same cluster (ids matched).

Mean shift: the astronaut (RGB, CIELAB features) cropped to ``--ms-side``.
Both get the same features and bandwidth; the peer is
``sklearn.cluster.MeanShift(bin_seeding=True)``.  Modes are compared: the
largest distance from a mode to the nearest mode of the other method, in
bandwidths.  ``cv2.pyrMeanShiftFiltering`` (a filter, not a clustering) is
timed on the same pixels when OpenCV can be imported.

Times are medians of ``--repeats`` runs; peak memory is traced by
tracemalloc (numpy allocations) in a separate run.
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc

import numpy as np


def timed(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out


def peak_mb(fn):
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def agreement(a, b):
    """Fraction of pixels whose ids agree after matching each id of a to its most common id in b."""
    a, b = np.ravel(a), np.ravel(b)
    same = 0
    for i in np.unique(a):
        same += np.bincount(b[a == i]).max()
    return same / a.size


def bench_kmeans(repeats):
    from sklearn.cluster import KMeans

    from napari_segkit.clustering import kmeans
    from napari_segkit.clustering.features import fit_spec, parse, prepare
    from napari_segkit.samples import nuclei_2d

    image = nuclei_2d(shape=(1024, 1024), n_nuclei=300).image
    parsed = parse(image, method="kmeans", channel_axis=None, spacing=None, spatial_dims=None, mask=None)
    prep = prepare(parsed, rgb=None, method="kmeans")
    spec = fit_spec(prep, image.reshape(-1, 1))
    features = spec.transform(image.reshape(-1, 1))

    def ours():
        return kmeans(image, 3, rng=0)

    def peer():
        return KMeans(n_clusters=3, n_init=1, random_state=0).fit_predict(features).reshape(image.shape)

    t_ours, l_ours = timed(ours, repeats)
    t_peer, l_peer = timed(peer, repeats)
    print(f"kmeans 1024x1024 k=3: ours {t_ours:.2f} s, sklearn KMeans {t_peer:.2f} s, "
          f"speed-up {t_peer / t_ours:.2f}x, agreement {agreement(l_ours, l_peer):.4f}")
    print(f"  peak memory (tracemalloc): ours {peak_mb(ours):.0f} MB, sklearn {peak_mb(peer):.0f} MB")


def bench_mean_shift(repeats, side):
    from skimage import data
    from sklearn.cluster import MeanShift

    from napari_segkit.clustering import estimate_bandwidth, mean_shift
    from napari_segkit.clustering.features import fit_spec, parse, prepare
    from napari_segkit.clustering.mean_shift import find_modes

    image = data.astronaut()[:side, :side]
    n = image.shape[0] * image.shape[1]
    parsed = parse(image, method="mean_shift", channel_axis=-1, spacing=None, spatial_dims=None, mask=None)
    prep = prepare(parsed, rgb=None, method="mean_shift")
    values = image.reshape(-1, 3)
    spec = fit_spec(prep, values)
    features = spec.transform(values).astype(np.float64)
    bandwidth = estimate_bandwidth(features, quantile=0.1, rng=0)

    def ours():
        return mean_shift(image, channel_axis=-1, bandwidth=bandwidth, max_samples=n)

    def peer():
        return MeanShift(bandwidth=bandwidth, bin_seeding=True).fit(features)

    t_ours, l_ours = timed(ours, repeats)
    t_peer, model = timed(peer, 1)
    modes, _ = find_modes(features / bandwidth)
    modes *= bandwidth
    ref = model.cluster_centers_
    d = np.sqrt(((modes[:, None] - ref[None]) ** 2).sum(-1))
    gap = max(d.min(1).max(), d.min(0).max()) / bandwidth
    print(f"mean shift {side}x{side} RGB ({n} px, bandwidth {bandwidth:.3f}): ours {t_ours:.2f} s "
          f"(fit + assign all pixels), sklearn MeanShift(bin_seeding) {t_peer:.2f} s (1 run), "
          f"speed-up {t_peer / t_ours:.1f}x")
    print(f"  modes: ours {len(modes)}, sklearn {len(ref)}, largest mode distance "
          f"{gap:.4f} bandwidths; pixel agreement {agreement(l_ours, model.labels_):.4f}")
    print(f"  peak memory (tracemalloc): ours {peak_mb(ours):.0f} MB")
    try:
        import cv2
    except ImportError:
        print("  cv2.pyrMeanShiftFiltering: OpenCV not importable, not compared")
        return
    bgr = np.ascontiguousarray(image[..., ::-1])
    t_cv, _ = timed(lambda: cv2.pyrMeanShiftFiltering(bgr, 10, 20), repeats)
    print(f"  cv2.pyrMeanShiftFiltering(sp=10, sr=20) {cv2.__version__}: {t_cv:.2f} s "
          "(filtering only, no clusters)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ms-side", type=int, default=256)
    parser.add_argument("--skip-kmeans", action="store_true")
    args = parser.parse_args()
    import sklearn
    import skimage

    print(f"{platform.processor() or platform.machine()}, python {platform.python_version()}, "
          f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, scikit-image {skimage.__version__}")
    if not args.skip_kmeans:
        bench_kmeans(args.repeats)
    bench_mean_shift(args.repeats, args.ms_side)


if __name__ == "__main__":
    main()
