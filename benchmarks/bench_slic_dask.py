"""SLIC over dask chunks on 2 workers against scikit-image's slic on the whole volume.

    python benchmarks/bench_slic_dask.py [--repeats 3] [--workers 2]

Volume: 64x256x256 synthetic nuclei (uint16, spacing (2, 1, 1)), 2000
superpixels, compactness 10 (scikit-image's default).  Ours: the same volume
as a dask array in (64, 128, 128) chunks, segmented per chunk by the threaded
scheduler and by the multiprocessing scheduler with ``--workers`` workers.
Also prints the process CPU time over the wall time (about ``--workers`` when
scikit-image's SLIC runs in parallel threads) and the peak memory of each.
"""

from __future__ import annotations

import argparse
import platform
import resource
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--segments", type=int, default=2000)
    args = parser.parse_args()

    import dask
    import dask.array as da
    import skimage
    from skimage.segmentation import slic as sk_slic

    from napari_segkit.samples import nuclei_3d
    from napari_segkit.superpixels import slic

    print(f"{platform.machine()}, python {platform.python_version()}, numpy {np.__version__}, "
          f"scikit-image {skimage.__version__}, dask {dask.__version__}")
    volume = nuclei_3d(shape=(64, 256, 256), n_nuclei=40).image
    spacing = (2.0, 1.0, 1.0)

    def whole():
        return sk_slic(volume, n_segments=args.segments, compactness=10, spacing=spacing,
                       channel_axis=None, start_label=1)

    def chunked(scheduler):
        lazy = slic(da.from_array(volume, chunks=(64, 128, 128)), args.segments,
                    compactness=10, spacing=spacing)
        return lazy.compute(scheduler=scheduler, num_workers=args.workers)

    def run(fn):
        walls, cpus, out = [], [], None
        for _ in range(args.repeats):
            c, t = time.process_time(), time.perf_counter()
            out = fn()
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        return float(np.median(walls)), float(np.median(cpus)), out

    t_whole, c_whole, ref = run(whole)
    t_thr, c_thr, out_thr = run(lambda: chunked("threads"))
    t_proc, _, out_proc = run(lambda: chunked("processes"))
    print(f"skimage.slic whole volume: {t_whole:.2f} s (cpu/wall {c_whole / t_whole:.2f}), "
          f"{len(np.unique(ref))} superpixels")
    print(f"ours, dask threads x{args.workers}: {t_thr:.2f} s (cpu/wall {c_thr / t_thr:.2f}), "
          f"{len(np.unique(out_thr))} superpixels, speed-up {t_whole / t_thr:.2f}x")
    print(f"ours, dask processes x{args.workers}: {t_proc:.2f} s, "
          f"{len(np.unique(out_proc))} superpixels, speed-up {t_whole / t_proc:.2f}x")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
