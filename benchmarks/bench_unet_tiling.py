"""U-Net benchmarks: tiling overhead, peak memory over zarr volumes, training time.

Run:  python benchmarks/bench_unet_tiling.py [--quick]

1. Tiling overhead: ``predict_probabilities`` (normalisation, tiling, blending
   included) against one plain ``torch`` forward pass + softmax of the same
   network on the same, already normalised, image; medians of interleaved
   repeats, in one process.  Goal: <= 10 % over the plain forward pass with the
   default tiling, on an image that fits one tile (512 x 512) and on one that
   the default memory budget splits into tiles (4096 x 4096: the budget is at
   most 8 GiB, and the plain pass needs about 10 GB).  Also shown:
   forced small tiles (the halo makes them recompute a border, which is the
   price of tiled == untiled).
2. Peak memory: a zarr image 10x larger than another, both predicted from
   zarr to zarr block by block, each in a fresh process (peak RSS).  Goal:
   <= 1.2x.
3. Training time per epoch for the default network and the small test one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np


def _model(depth=3, width=16):
    from napari_segkit.models import Model
    from napari_segkit.models.registry import get_architecture
    from napari_segkit.models.targets import CLASSES

    import torch

    torch.manual_seed(0)
    network = get_architecture("unet").build(1, 3, 2, depth=depth, width=width)
    config = {
        "architecture": "unet", "options": {"depth": depth, "width": width}, "spatial_dims": 2,
        "in_channels": 1, "classes": list(CLASSES), "voxel_size": [1.0, 1.0],
        "normalisation": {"method": "percentile", "low": 1.0, "high": 99.8},
    }
    return Model(network.eval(), config)


def overhead(size: int, repeats: int, forced: bool = True) -> dict:
    import torch

    from napari_segkit.models import predict_probabilities
    from napari_segkit.models.normalise import normalise
    from napari_segkit.samples import nuclei_2d

    model = _model()
    side = min(size, 1024)  # larger images repeat a 1024 x 1024 sample (generating one is slow)
    image = nuclei_2d((side, side), n_nuclei=side * side // 2500, rng=0).image
    image = np.tile(image, (size // side, size // side))
    x = torch.from_numpy(normalise(image[None].astype(np.float32))[None])

    def plain():
        with torch.inference_mode():
            return torch.softmax(model.network(x), dim=1).numpy()

    from napari_segkit.models.devices import activation_budget
    from napari_segkit.models.predict_inputs import _auto_tile
    from napari_segkit.tiling.inference import plan_tiles

    budget = activation_budget("cpu")
    default_tile = _auto_tile(model, image.shape, budget, model.halo)
    n_tiles = len(plan_tiles(image.shape, tile_shape=default_tile, halo=(model.halo,) * 2, align=model.align))
    runs = {
        "plain torch forward": plain,
        f"predict_probabilities (default: {n_tiles} tile(s) of at most {default_tile[0]}, "
        f"budget {budget / 2**30:.1f} GiB)":
            lambda: predict_probabilities(image, model, device="cpu"),
    }
    if forced:
        core = size // 2
        tile = core + 2 * model.halo
        runs[f"predict_probabilities tile {tile} ({core} core + halo {model.halo})"] = (
            lambda: predict_probabilities(image, model, device="cpu", tile_shape=tile))
    times = {name: [] for name in runs}
    plain()  # warm up
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    medians = {name: float(np.median(t)) for name, t in times.items()}
    minima = {name: float(np.min(t)) for name, t in times.items()}
    base, base_min = medians["plain torch forward"], minima["plain torch forward"]
    return {name: {"median_s": round(medians[name], 3), "ratio": round(medians[name] / base, 3),
                   "min_s": round(minima[name], 3), "ratio_of_minima": round(minima[name] / base_min, 3)}
            for name in runs}


def _child_zarr(shape, block, trim=True):
    """Write a zarr image, predict it to zarr block by block; print peak RSS."""
    if not trim:  # for comparison: keep freed activations in the allocator
        import napari_segkit.tiling.inference as inference

        inference.trim_freed_memory = lambda: False
    import dask
    import dask.array as da
    import zarr

    from napari_segkit.models import predict_probabilities

    model = _model(depth=3, width=8)
    tmp = tempfile.mkdtemp()
    src = zarr.open_array(os.path.join(tmp, "in.zarr"), mode="w", shape=shape, chunks=(block, block),
                          dtype="u2")
    rng = np.random.default_rng(0)
    for y in range(0, shape[0], block):  # write in strips: never the whole image in memory
        src[y:y + block] = rng.integers(100, 4000, size=(min(block, shape[0] - y), shape[1]), dtype=np.uint16)
    import threading

    import psutil

    process = psutil.Process()
    before = process.memory_info().rss
    peak = [before]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            stop.wait(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    prob = predict_probabilities(da.from_zarr(os.path.join(tmp, "in.zarr")), model, device="cpu",
                                 block_shape=block)
    with dask.config.set(scheduler="threads", num_workers=2):
        prob.to_zarr(os.path.join(tmp, "out.zarr"))
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    mb = 1024 * 1024
    print(json.dumps({"shape": list(shape), "peak_rss_mb": round(peak[0] / mb, 1),
                      "rss_before_mb": round(before / mb, 1),
                      "peak_increase_mb": round((peak[0] - before) / mb, 1),
                      "max_rss_process_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "seconds": round(seconds, 1)}))


def memory(small, factor, block, repeats=3) -> dict:
    """Peak RSS of both sizes, with and without trimming after each block, interleaved."""
    shapes = (small, (small[0] * factor, small[1]))
    runs = {(trim, k): [] for trim in (True, False) for k in range(2)}
    for _ in range(repeats):
        for trim in (True, False):
            for k, shape in enumerate(shapes):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", json.dumps([list(shape), block, trim])],
                    capture_output=True, text=True, check=True)
                runs[trim, k].append(json.loads(out.stdout.strip().splitlines()[-1]))
    results = {"pixels_ratio": factor, "repeats": repeats}
    for trim in (True, False):
        name = "trim after each block (default)" if trim else "no trim"
        small_runs, large_runs = runs[trim, 0], runs[trim, 1]
        ratios = [b["peak_rss_mb"] / a["peak_rss_mb"] for a, b in zip(small_runs, large_runs)]
        increases = [b["peak_increase_mb"] / max(a["peak_increase_mb"], 1e-9)
                     for a, b in zip(small_runs, large_runs)]
        results[name] = {
            f"{shapes[0][0]}x{shapes[0][1]} peak MB": float(np.median([r["peak_rss_mb"] for r in small_runs])),
            f"{shapes[1][0]}x{shapes[1][1]} peak MB": float(np.median([r["peak_rss_mb"] for r in large_runs])),
            "peak_ratio_median": round(float(np.median(ratios)), 3),
            "peak_ratio_max": round(float(np.max(ratios)), 3),
            "increase_ratio_median": round(float(np.median(increases)), 3),
            "seconds_large_median": float(np.median([r["seconds"] for r in large_runs])),
        }
    return results


def training(repeats: int) -> dict:
    from napari_segkit.models import train_model
    from napari_segkit.samples import nuclei_2d

    samples = [nuclei_2d((256, 256), rng=s) for s in range(2)]
    out = {}
    for name, options, patch in (("default (depth 3, width 16)", {"depth": 3, "width": 16}, 128),
                                 ("test network (depth 2, width 8)", {"depth": 2, "width": 8}, 96)):
        model = train_model([s.image for s in samples], [s.labels for s in samples], options=options,
                            epochs=repeats, steps_per_epoch=8, batch_size=4, patch_shape=patch,
                            validation_fraction=0.5, rng=0, device="cpu")
        seconds = np.diff([0.0] + [r["seconds"] for r in model.history])
        out[name] = {"epoch_median_s": round(float(np.median(seconds)), 2),
                     "steps_per_epoch": 8, "batch": f"4 x {patch}x{patch}", "validation": "1 image 256x256"}
    return out


def machine() -> dict:
    import dask
    import torch

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "dask": dask.__version__, "date": time.strftime("%Y-%m-%d")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--only", choices=["overhead", "memory", "training"])
    args = parser.parse_args()
    if args.child:
        shape, block, trim = json.loads(args.child)
        _child_zarr(tuple(shape), block, trim)
        return
    quick = args.quick
    report = {"machine": machine()}
    if args.only in (None, "overhead"):
        report["overhead"] = {f"{n}x{n}": overhead(n, 7 if n <= 512 else 4, forced=n <= 512)
                              for n in ((256,) if quick else (512, 4096))}
        print(json.dumps(report["overhead"], indent=2), flush=True)
    if args.only in (None, "memory"):
        report["memory"] = memory((256, 512) if quick else (512, 1024), 10, 256)
        print(json.dumps(report["memory"], indent=2), flush=True)
    if args.only in (None, "training"):
        report["training"] = training(3)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
