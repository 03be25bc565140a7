"""Training throughput and tiled inference time per megapixel, against plain torch, on CUDA (or the CPU).

Side by side in one run, on the same network (U-Net by default, or
``--architecture``):

- training: patches per second of :func:`napari_segkit.train_model` (its
  patch sampling and augmentation included) against a bare torch loop
  (random tensors already on the device, same batch and patch size,
  same optimiser);
- inference: seconds per megapixel of :func:`predict_probabilities` on a
  large image, tiled (``--tile``) and whole, against one bare
  ``network(x)`` forward pass with softmax on the device.

On a machine without CUDA it runs on the CPU and says so (figures are then
CPU figures, with smaller sizes unless given).  Example::

    python benchmarks/bench_gpu.py                 # CUDA when present
    python benchmarks/bench_gpu.py --device cpu --side 1024 --seconds 20
    python benchmarks/bench_gpu.py --quick           # a few seconds: checks the script end to end
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np


def _sync(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def describe_device(torch, choice) -> dict:
    """What the figures were measured on: the device, and on CUDA the GPU's name and memory."""
    device = choice.device
    out = {"device": str(device), "device_note": choice.note, "torch": torch.__version__,
           "cpu_threads": torch.get_num_threads(), "on_gpu": device.type == "cuda"}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        out.update(gpu=torch.cuda.get_device_name(device), gpu_memory_gib=round(props.total_memory / 2**30, 1))
    return out


def plain_training(torch, network, device, batch, patch, steps):
    network = network.to(device).train()
    optimiser = torch.optim.Adam(network.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand((batch, 1, patch, patch), device=device)
    y = torch.randint(0, 3, (batch, patch, patch), device=device)
    for _ in range(2):  # warm-up (cuDNN autotune, allocator)
        optimiser.zero_grad()
        loss_fn(network(x), y).backward()
        optimiser.step()
    _sync(torch, device)
    start = time.perf_counter()
    for _ in range(steps):
        optimiser.zero_grad()
        loss_fn(network(x), y).backward()
        optimiser.step()
    _sync(torch, device)
    return steps * batch / (time.perf_counter() - start)


def plain_inference(torch, network, device, image):
    network = network.to(device).eval()
    x = torch.from_numpy(image[None, None].astype(np.float32)).to(device)
    with torch.inference_mode():
        torch.softmax(network(x[..., :256, :256]), 1)  # warm-up
        _sync(torch, device)
        start = time.perf_counter()
        out = torch.softmax(network(x), 1).cpu()
        _sync(torch, device)
    del out
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="cuda, cuda:N, cpu (default: CUDA when present)")
    parser.add_argument("--architecture", default="unet")
    parser.add_argument("--side", type=int, default=None, help="inference image side (default 4096 CUDA, 1024 CPU)")
    parser.add_argument("--tile", type=int, default=None, help="tile side for the tiled run (default 1024 / 384)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--patch", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=None, help="train_model budget (default 60 CUDA, 20 CPU)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (256 px image, 64 px patches, 1 s of training): an end-to-end check")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.side, args.tile, args.patch, args.batch = args.side or 320, args.tile or 160, 64, 2
        args.seconds = args.seconds or 1.0

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from napari_segkit.models import predict_probabilities, train_model
    from napari_segkit.models.devices import select_device
    from napari_segkit.models.registry import get_architecture
    from napari_segkit.samples import nuclei_2d

    choice = select_device(args.device)
    device = choice.device
    result = describe_device(torch, choice)
    on_gpu = result["on_gpu"]
    if not on_gpu:
        print(f"no CUDA device used ({choice.note}): these are CPU figures", file=sys.stderr)
    side = args.side or (4096 if on_gpu else 1024)
    tile = args.tile or (1024 if on_gpu else 384)
    budget = args.seconds or (60.0 if on_gpu else 20.0)
    spec = get_architecture(args.architecture)
    result.update(architecture=args.architecture, load=os.getloadavg())

    # ---- training throughput
    train_side = 128 if args.quick else 512
    sample = nuclei_2d((train_side, train_side), n_nuclei=train_side * train_side // 2200, rng=0)
    model = train_model(sample.image, sample.labels, architecture=args.architecture, time_budget=budget,
                        batch_size=args.batch, patch_shape=args.patch, validation_fraction=0.0,
                        device=str(device), rng=0)
    t = model.config["training"]
    steps = len(t["history"]) * t["steps_per_epoch"]
    result["train_model_patches_per_s"] = round(steps * args.batch / t["seconds"], 2)
    torch.manual_seed(0)
    network = spec.build(1, 3, 2, **spec.defaults)
    plain_steps = max(3, int(steps / max(1, len(t["history"]))))
    result["plain_torch_patches_per_s"] = round(
        plain_training(torch, network, device, args.batch, args.patch, plain_steps), 2)
    result["training_ratio"] = round(result["train_model_patches_per_s"] / result["plain_torch_patches_per_s"], 3)

    # ---- inference per megapixel
    halo, align = model.halo, model.align
    tile = max(tile, 2 * halo + 4 * align)  # a tile must keep a core once its halo is removed
    image = nuclei_2d((side, side), n_nuclei=side * side // 2500, rng=1).image
    mpix = side * side / 1e6
    timings = {}
    for name, kwargs in [("tiled", {"tile_shape": tile}), ("whole", {})]:
        predict_probabilities(image[:256, :256], model, device=str(device), **kwargs)  # warm-up
        _sync(torch, device)
        start = time.perf_counter()
        predict_probabilities(image, model, device=str(device), **kwargs)
        _sync(torch, device)
        timings[name] = (time.perf_counter() - start) / mpix
    try:
        timings["plain_torch"] = plain_inference(torch, model.network, device, image) / mpix
    except RuntimeError as exc:  # out of memory for one pass: say so
        timings["plain_torch"] = None
        result["plain_torch_error"] = str(exc).splitlines()[0]
    result.update({f"{k}_s_per_mpix": None if v is None else round(v, 4) for k, v in timings.items()})
    result.update({"image_side": side, "tile": tile})
    if timings["plain_torch"]:
        result["tiled_over_plain"] = round(timings["tiled"] / timings["plain_torch"], 3)
        result["whole_over_plain"] = round(timings["whole"] / timings["plain_torch"], 3)
    print(json.dumps(result, indent=1))
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
