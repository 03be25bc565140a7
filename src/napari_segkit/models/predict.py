"""Applying a model: tiled probabilities and instance labels, numpy or dask."""

from __future__ import annotations

import copy
import logging
import threading
import warnings
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .._errors import InputError, ResourceLimitError
from .._progress import Reporter
from .normalise import normalise
from .._validation import validate_options
from .checkpoint import check_finite_weights
from .postprocess import _is_lazy, check_postprocess_options, labels_from_probabilities
from .predict_inputs import _as_model, _auto_tile, _check_tile_arg, _prediction_inputs

__all__ = ["predict_labels", "predict_probabilities"]

logger = logging.getLogger(__name__)

DEFAULT_BLOCK = {2: 512, 3: 128}


def _make_predictor(network, device, report=None) -> "_Predictor":
    """A predictor running a float32 eval copy of ``network`` (left untouched) on ``device``."""
    return _Predictor(network, device, report)


class _Predictor:
    """Softmax of the network over a float32 batch, on a device, with device faults handled.

    When the device lacks an operation the network uses the network
    moves to the CPU for this and every later batch, with a note; a device
    error that poisons the CUDA context raises
    :class:`~napari_segkit.DeviceError`.  Picklable (for dask.distributed).
    """

    def __init__(self, network, device, report: Optional[Callable[[float, str], None]] = None) -> None:
        self.source = network  # the model's own network (on the CPU), for a move to the CPU
        self.network = copy.deepcopy(network).float().eval().to(device)
        self.device = device
        self.report = report
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_lock"]
        state["report"] = None  # progress goes to the submitting process only
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _forward(self, batch: np.ndarray, network, device) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(device)
            y = torch.softmax(network(x), dim=1)
            return y.float().cpu().numpy()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        from .devices import cpu_fallback_note

        network, device = self.network, self.device
        try:
            return self._forward(batch, network, device)
        except Exception as exc:  # noqa: BLE001 - classified, re-raised unless a device fault
            note = cpu_fallback_note(exc, device)
            if note is None:
                raise
        import torch

        with self._lock:
            if self.device.type != "cpu":
                self.network = copy.deepcopy(self.source).float().eval().to("cpu")
                self.device = torch.device("cpu")
                if self.report is not None:
                    self.report(0.0, note)
            network, device = self.network, self.device
        return self._forward(batch, network, device)


@validate_options
def predict_probabilities(
    image: Any,
    model: Any,
    *,
    channel_axis: Optional[int] = None,
    spacing: Optional[Sequence[float]] = None,
    tile_shape: Optional[Sequence[int] | int] = None,
    overlap: float = 0.0,
    halo: Optional[int] = None,
    batch_size: int = 1,
    block_shape: Optional[Sequence[int] | int] = None,
    device: Any = None,
    tta: bool = False,
    progress: Optional[Callable[[float, str], None]] = None,
) -> Any:
    """Class probabilities of a model over an image of any size, tile by tile.

    Parameters
    ----------
    image : (M, N[, P][, C]) array-like or dask array
        2-D or 3-D as the model, with up to two leading axes (time, ...)
        processed frame by frame, and an optional channel axis.  Any real
        dtype; each frame is normalised by its own percentiles, as in training.
    model : Model or path
    channel_axis : int, optional
        The image's channel axis (required when the model has several inputs).
    spacing : sequence of float, optional
        The image's voxel size.  When it differs from the model's training
        voxel size by more than 1 %, a numpy image is rescaled to it and the
        probabilities are rescaled back; a dask image is processed as it is,
        with a warning.
    tile_shape : int or sequence of int, optional
        Network input per tile, halo included.  Default: the whole image when
        its activations fit the device's budget (a quarter of the available
        memory, between 1 and 8 GiB, on the CPU; half the free memory on a
        GPU), else the largest tile that does.  Tiles are halved and retried
        on a device out-of-memory error.
    overlap : float
        Fraction of a tile's core shared with its neighbours, blended with
        Gaussian weights (only useful with a halo below the default).
    halo : int, optional
        Context per side of each tile.  Default: the network's receptive
        radius (rounded up to its down-sampling factor), which makes tiled
        and whole-image probabilities equal to rounding.
    batch_size : int
        Tiles per forward pass.
    block_shape : int or sequence of int, optional
        Dask input only: the blocks processed independently (default: the
        input's chunks, at least 512 x 512 in 2-D or 128^3 in 3-D).
    device : str, optional
        ``"cuda"``, ``"cuda:1"``, ``"mps"``, ``"cpu"``; default: the first that
        works among CUDA, MPS and CPU.  The choice is logged and reported
        through ``progress``.
    tta : bool
        Test-time augmentation: average the predictions of the 8 flipped (2-D:
        and transposed) versions of the image; 8 times the time (see
        docs/unet.md for the measured gain).  numpy images only.
    progress : callable, optional
        ``progress(fraction, message)``; raise :class:`~napari_segkit.Cancelled`
        in it to stop (checked after each tile, or each block for dask input).

    Returns
    -------
    (..., K) ndarray or dask array of float32
        The image's shape without channels, plus one axis of K class
        probabilities (``model.classes``) last.  Lazy for dask input.

    Raises
    ------
    InputError
        If the image does not fit the model (dimensions, channels), holds
        NaN or infinite values, or an option is invalid; if ``device`` is not
        present.
    ResourceLimitError
        If even the smallest tile does not fit the device and the CPU fails too.
    DeviceError
        If the GPU fails with an error that leaves it unusable (a device-side
        assert, an illegal memory access); later jobs run on the CPU.  A
        device that lacks an operation is not an error: the work moves to
        the CPU with a warning.
    """
    model = _as_model(model)
    check_finite_weights(model.network.state_dict(), where="model")
    array, lead, lazy, d, spatial, factors, tile_arg, halo_value = _prediction_inputs(
        image, model, channel_axis, spacing, tile_shape, halo
    )
    report = Reporter(progress)

    from .devices import activation_budget, free_device_memory, select_device

    choice = select_device(device)
    if progress is not None:  # one line, on one channel
        report(0.0, choice.note)
    else:
        logger.info("predict_probabilities: %s", choice.note)
    n_classes = len(model.classes)

    if lazy and tta:
        raise InputError("tta (test-time augmentation) needs a numpy image, not a dask array")
    if lazy:
        if factors is not None:
            warnings.warn(
                f"image spacing differs from the model's training voxel size {model.voxel_size} "
                f"(factors {tuple(round(f, 3) for f in factors)}); dask input is not rescaled",
                UserWarning,
                stacklevel=2,
            )
        predictor = _make_predictor(model.network, choice.device, report)
        return _predict_dask(
            array, lead, model, predictor, n_classes, tile_arg, halo_value, overlap, batch_size,
            block_shape, lambda: free_device_memory(choice.device), report,
        )

    def run(device) -> np.ndarray:
        predictor = _make_predictor(model.network, device, report)
        try:
            return _predict_numpy(
                array, lead, model, predictor, n_classes, tile_arg, halo_value, overlap, batch_size,
                factors, lambda: free_device_memory(device), report, activation_budget(device), bool(tta),
            )
        finally:
            del predictor
            free_device_memory(device)

    try:
        return run(choice.device)
    except ResourceLimitError:
        if choice.device.type == "cpu":
            raise
        import torch

        note = f"out of memory on {choice.device} even with small tiles; running on the CPU"
        warnings.warn(note, RuntimeWarning, stacklevel=2)
        report(0.0, note)
        return run(torch.device("cpu"))


def _predict_numpy(array, lead, model, predictor, n_classes, tile_arg, halo, overlap, batch_size,
                   factors, on_oom, report, budget, tta=False) -> np.ndarray:
    from scipy import ndimage as ndi

    from ..tiling.inference import sliding_window_inference
    from .tta import transforms

    d = model.spatial_dims
    spatial = array.shape[-d:]
    out = np.empty(tuple(lead) + tuple(spatial) + (n_classes,), dtype=np.float32)
    frames = list(np.ndindex(*lead)) if lead else [()]
    for k, index in enumerate(frames):
        frame = normalise(array[index], model.config["normalisation"], name="image")
        if factors is not None:
            frame = np.stack([ndi.zoom(c, factors, order=1, mode="nearest") for c in frame])
        tile = tile_arg or _auto_tile(model, frame.shape[1:], budget, halo)
        sub = report.sub(k / len(frames), (k + 1) / len(frames))
        views = transforms(d) if tta else [(None, None, False)]
        prob = None
        for v, (forward, inverse, swap) in enumerate(views):
            part = sliding_window_inference(
                forward(frame) if forward else frame, predictor, n_outputs=n_classes,
                tile_shape=tile[:-2] + tile[-2:][::-1] if swap else tile, halo=halo, overlap=overlap,
                align=model.align, batch_size=batch_size, on_out_of_memory=on_oom,
                progress=sub.sub(v / len(views), (v + 1) / len(views)),
            )
            part = inverse(part) if inverse else part
            prob = part if prob is None else prob + part
        if len(views) > 1:
            prob /= len(views)
        if factors is not None:
            back = [s / f for s, f in zip(spatial, prob.shape[1:])]
            prob = np.stack([ndi.zoom(p, back, order=1, mode="nearest") for p in prob])
            prob = _fit_shape(prob, spatial)
        out[index] = np.moveaxis(prob, 0, -1)
    report(1.0, "probabilities done")
    return out


def _fit_shape(prob: np.ndarray, spatial) -> np.ndarray:
    """Crop or edge-pad a zoomed (K, ...) array to exactly ``spatial``."""
    prob = prob[(slice(None),) + tuple(slice(0, s) for s in spatial)]
    pads = [(0, 0)] + [(0, s - p) for s, p in zip(spatial, prob.shape[1:])]
    if any(p[1] for p in pads):
        prob = np.pad(prob, pads, mode="edge")
    return prob


def _predict_dask(array, lead, model, predictor, n_classes, tile_arg, halo, overlap, batch_size,
                  block_shape, on_oom, report):
    import dask.array as da

    from ..tiling.inference import tiled_inference_dask

    d = model.spatial_dims
    spatial = array.shape[-d:]
    if block_shape is None:
        block = tuple(
            min(s, max(max(c), DEFAULT_BLOCK[d])) for s, c in zip(spatial, array.chunks[-d:])
        )
    else:
        block = _check_tile_arg(block_shape, d)
    tile = tile_arg or tuple(
        min(b, -(-s // model.align) * model.align) + 2 * halo for b, s in zip(block, spatial)
    )
    outputs = []
    frames = list(np.ndindex(*lead)) if lead else [()]
    for index in frames:
        frame = normalise(array[index], model.config["normalisation"], name="image")
        prob = tiled_inference_dask(
            frame, predictor, n_outputs=n_classes, tile_shape=tile, halo=halo, overlap=overlap,
            align=model.align, batch_size=batch_size, block_shape=block,
            on_out_of_memory=on_oom, progress=report if len(frames) == 1 else None,
        )
        outputs.append(da.moveaxis(prob, 0, -1))
    if not lead:
        return outputs[0]
    stacked = da.stack(outputs)
    return stacked.reshape(tuple(lead) + stacked.shape[1:])


@validate_options
def predict_labels(
    image: Any,
    model: Any,
    *,
    output: str = "instances",
    threshold: float = 0.5,
    foreground_threshold: Optional[float] = None,
    min_size: Optional[int] = None,
    superpixel_size: Optional[int] = None,
    **kwargs: Any,
) -> Any:
    """Labels from a model: instances (touching cells separated) or classes.

    Parameters
    ----------
    image, model
        As :func:`predict_probabilities`, whose keyword options are accepted.
    output : {"instances", "semantic"}
        ``"instances"``: one id per object, from a seeded watershed on the
        interior probability (ids unique over the whole array, also for dask
        input).  ``"semantic"``: the most probable class index per pixel
        (0 = background).
    threshold : float
        Probability above which a pixel is interior (seeds) / not background.
    foreground_threshold : float, optional
        A pixel belongs to an object when its background probability is
        below ``1 - foreground_threshold``; default ``threshold``.
    min_size : int, optional
        Objects with fewer pixels (voxels) are dropped (numpy images only).
        Default: a quarter of the median size of the objects the model was
        trained on (``config["training"]["median_object_size"]``; nothing is
        dropped for older models and for dask images), the rule that raised
        instance F1@0.5 on both real whole-cell test halves measured.
    superpixel_size : int, optional
        Average the class probabilities over SLIC superpixels of about this
        many pixels (voxels) before labelling, as Farabet et al. (2013) do:
        labels then follow the image's edges rather than the network's blur
        (see docs/unet.md for its measured effect).  numpy images only.

    Returns
    -------
    ndarray or dask array of int32 (int64 when the ids need it)
        The image's shape without channels; lazy for dask input.  For a time
        series, ids are per frame.
    """
    check_postprocess_options(output, threshold, foreground_threshold, min_size)
    model = _as_model(model)
    prob = predict_probabilities(image, model, **kwargs)
    return labels_from_probabilities(
        prob, model, output=output, threshold=threshold, foreground_threshold=foreground_threshold,
        min_size=min_size, superpixel_size=superpixel_size, image=image,
        channel_axis=kwargs.get("channel_axis"), spacing=kwargs.get("spacing"),
    )
