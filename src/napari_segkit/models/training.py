"""Training a segmentation network from instance labels."""

from __future__ import annotations

import copy
import logging
import math
import numbers
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from .._errors import Cancelled, InputError
from .._progress import Reporter
from .._validation import check_spacing, validate_options
from .checkpoint import check_network_size
from .fine_tune import check_init_fits, check_init_model, earlier_rounds, round_summary
from .normalise import DEFAULT_NORMALISATION
from .patches import augmentation, choose_patch_shape, sample_patch
from .registry import get_architecture
from .running_stats import UnbiasedRunningStats
from .schedule import BUDGET_CLOCKS, LR_SCHEDULES, TrainingClock, plateau, set_rate
from .targets import IGNORE, TARGET_CLASSES, target_kind
from .training_data import check_count, prepare_training_data, split_validation, validation_crop

__all__ = ["train_model"]

logger = logging.getLogger(__name__)

DEFAULT_TIME_BUDGET = 600.0
CLASS_WEIGHTS = (1.0, 1.0, 2.0)  # boundaries are thin; weight them up


@validate_options
def train_model(
    images: Any,
    labels: Any,
    *,
    architecture: Optional[str] = None,
    options: Optional[Dict[str, Any]] = None,
    init_model: Any = None,
    channel_axis: Optional[int] = None,
    spatial_dims: Optional[int] = None,
    spacing: Optional[Sequence[float]] = None,
    ignore_label: Optional[int] = None,
    epochs: Optional[int] = None,
    time_budget: Optional[float] = None,
    budget_clock: str = "wall",
    steps_per_epoch: Optional[int] = None,
    batch_size: int = 4,
    patch_shape: Optional[Sequence[int] | int] = None,
    learning_rate: float = 1e-3,
    lr_schedule: str = "cosine",
    augment: Any = True,
    validation_fraction: float = 0.2,
    device: Any = None,
    rng: Any = None,
    progress: Optional[Callable[[float, str], None]] = None,
    on_epoch: Optional[Callable[[Dict[str, Any]], None]] = None,
    target: Optional[str] = None,
):
    """Train a network that separates touching objects, from instance labels.

    Each object becomes *interior* surrounded by a one-pixel *boundary*, the
    rest *background*; the network learns the three classes, and
    :func:`predict_labels` turns its output back into instances.  Patches are
    drawn at random with flips, 90-degree rotations, intensity scaling and a
    light elastic deformation; every image is normalised by its own
    percentiles.  After each epoch the loss on held-out data is measured and
    the best weights are kept.

    Parameters
    ----------
    images : array or sequence of arrays, (M, N[, P][, C])
        2-D or 3-D images (all with the same number of channels).
    labels : array or sequence of int arrays, (M, N[, P])
        Instance labels, one array per image, 0 = background.
    architecture : str, optional
        A name registered in ``napari_segkit.models.registry.ARCHITECTURES``;
        default ``"unet"``, or ``init_model``'s architecture.
    options : dict, optional
        Architecture options, e.g. ``{"depth": 3, "width": 16}`` for the U-Net.
    init_model : Model or path, optional
        Fine-tune this model instead of starting from random weights (e.g.
        after correcting its predictions).  The images must have its number
        of channels and dimensions; ``architecture`` and ``options``, when
        given, must match its own.  The new model's
        ``config["training"]["resumed_from"]`` describes it, and
        ``config["training"]["earlier_rounds"]`` lists every earlier round.
    channel_axis : int, optional
        The images' channel axis.
    spatial_dims : {2, 3}, optional
        Default: the images' number of non-channel axes.
    spacing : sequence of float, optional
        Voxel size of the training images, recorded in the model so that
        prediction can rescale images with another spacing.  Default 1.
    ignore_label : int, optional
        Label value marking pixels that were not annotated (sparse labels):
        they, and object pixels next to them, do not count in the loss.
    epochs : int, optional
        Number of epochs.  With ``time_budget`` too, whichever ends first.
    time_budget : float, optional
        Seconds of training.  Default when neither is given: 600 s.  With a
        budget and no ``epochs``, training runs until the budget is spent or
        until validation has stopped improving: no new best validation loss
        (by at least 1 %, relative) for the last max(12, 30 % of the epochs
        so far) epochs (``stopped_by == "converged"``).
    budget_clock : {"wall", "cpu"}
        What ``time_budget`` counts: wall-clock seconds, or CPU seconds of
        this process (all its threads), which other jobs on a busy machine
        do not eat into (for benchmarks).
    steps_per_epoch : int, optional
        Batches per epoch; default: enough patches to cover the training
        pixels once (at least 8).
    batch_size : int
    patch_shape : int or sequence of int, optional
        Default 128 x 128 (2-D) or 64^3 (3-D), capped by the images.
    learning_rate : float
        The initial learning rate (Adam).
    lr_schedule : {"cosine", "constant"}
        ``"cosine"``: the rate decays along a half cosine to 5 % of
        ``learning_rate`` over the run, measured in time when a budget is
        given, else in epochs.
    augment : bool or {"none", "flips", "default", "strong"}
        ``True`` is ``"default"``: flips, 90-degree rotations, intensity
        x U(0.8, 1.2) + U(-0.1, 0.1) per channel and, for 30 % of the
        patches, an elastic warp of at most 2 pixels; ``"flips"`` only flips
        and rotates; ``"strong"`` doubles the intensity ranges and the warp
        and warps 60 % of the patches (see ``models/patches.py``).
    validation_fraction : float
        Fraction of the images (or, with a single image, of its longest
        axis) held out to pick the best epoch; 0 keeps the last epoch.
    device : str, optional
        As for :func:`predict_probabilities`; default CUDA, then MPS, then CPU.
    rng : int or numpy.random.Generator, optional
        Seed for weights, patches and augmentation.
    progress : callable, optional
        ``progress(fraction, message)`` with the device, every step and after
        each epoch (the epoch message carries the losses).  Raise
        :class:`~napari_segkit.Cancelled` in it to stop: once an epoch has
        finished, the best model so far is returned (see Returns).  Without
        ``progress``, the device and epoch lines go to this module's logger
        (level INFO) instead, so that each is shown once.
    on_epoch : callable, optional
        ``on_epoch(record)`` after each epoch with ``{"epoch", "loss",
        "val_loss", "seconds"}`` (for a live loss plot; ``val_loss`` is None
        without validation).
    target : {"boundary", "distance"}, optional
        What the network learns to separate touching objects: background,
        interior and a boundary band (``"boundary"``, the default), or a
        distance map quantised into depth classes relative to each object's
        deepest pixel (``"distance"``, :func:`.targets.distance_targets`).
        With ``init_model``: its own target (and it must match when given).

    Returns
    -------
    Model
        The best epoch's weights, on the CPU, with its training history in
        ``model.config["training"]``; ``config["training"]["stopped_by"]`` is
        ``"epochs"``, ``"time budget"``, or ``"cancelled"`` when a cancel or
        Ctrl-C (KeyboardInterrupt) came after at least one finished epoch.

    Raises
    ------
    InputError
        If images and labels do not match (count, shape), labels hold
        non-integer values or no objects, an image holds NaN/inf, an option is
        invalid, ``init_model`` does not fit the images or options, or the
        labels would train a useless network: no background (0) among the
        annotated pixels, or one id covering most of an image and touching
        all its edges (a foreground/background mask such as graph-cut output
        with values 1 and 2: map its background to 0).  Integer-valued float
        labels are accepted.
    DeviceError
        If the GPU fails with an error that leaves it unusable.  A device
        that lacks an operation makes the training start again on the
        CPU, with a warning and a note in the training record.
    Cancelled, KeyboardInterrupt
        If raised before the first epoch finished.
    """
    import torch

    from .devices import free_device_memory, run_on_device, select_device
    from .model import Model

    if target is not None and target not in TARGET_CLASSES:
        raise InputError(f"target must be one of {sorted(TARGET_CLASSES)}, got {target!r}")
    if init_model is not None:
        init_model, architecture, arch_options = check_init_model(init_model, architecture, options, target)
        architecture_spec = get_architecture(architecture)
        target = target_kind(init_model.classes)
    else:
        target = "boundary" if target is None else target
        architecture = "unet" if architecture is None else architecture
        architecture_spec = get_architecture(architecture)
        arch_options = dict(architecture_spec.defaults)
        if options:
            unknown = set(options) - set(arch_options)
            if unknown:
                raise InputError(
                    f"options {sorted(unknown)} are not known for architecture {architecture!r} "
                    f"(known: {sorted(arch_options)})"
                )
            arch_options.update(options)
    if epochs is not None:
        epochs = check_count(epochs, "epochs")
    if time_budget is not None:
        if isinstance(time_budget, bool) or not isinstance(time_budget, numbers.Real) or not time_budget > 0:
            raise InputError(f"time_budget must be a positive number of seconds, got {time_budget!r}")
        time_budget = float(time_budget)
    if epochs is None and time_budget is None:
        time_budget = DEFAULT_TIME_BUDGET
    max_epochs = epochs if epochs is not None else 10**9  # the budget or the stopping rule ends it
    if budget_clock not in BUDGET_CLOCKS:
        raise InputError(f"budget_clock must be one of {list(BUDGET_CLOCKS)}, got {budget_clock!r}")
    augmentation_level = augmentation(augment)
    if lr_schedule not in LR_SCHEDULES:
        raise InputError(f"lr_schedule must be one of {list(LR_SCHEDULES)}, got {lr_schedule!r}")
    batch_size = check_count(batch_size, "batch_size")
    if steps_per_epoch is not None:
        steps_per_epoch = check_count(steps_per_epoch, "steps_per_epoch")
    if not isinstance(validation_fraction, numbers.Real) or not 0.0 <= validation_fraction < 1.0:
        raise InputError(f"validation_fraction must be in [0, 1), got {validation_fraction!r}")
    if not isinstance(learning_rate, numbers.Real) or not learning_rate > 0:
        raise InputError(f"learning_rate must be positive, got {learning_rate!r}")
    if spatial_dims is not None and spatial_dims not in (2, 3):
        raise InputError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")

    data, spatial_dims, n_channels, int_sizes = prepare_training_data(
        images, labels, channel_axis, spatial_dims, ignore_label, target)
    if init_model is not None:
        check_init_fits(init_model, spatial_dims, n_channels)
        if spacing is None:
            spacing = init_model.voxel_size
    voxel_size = list(check_spacing(spacing, spatial_dims))
    generator = np.random.default_rng(rng)
    align = int(architecture_spec.align(**arch_options))
    train, val = split_validation(data, float(validation_fraction), generator, spatial_dims)
    patch = choose_patch_shape(train, spatial_dims, align, patch_shape)
    sizes = np.array([t.size for _, t in train], dtype=float)
    weights = sizes / sizes.sum()
    if steps_per_epoch is None:
        steps_per_epoch = max(8, int(math.ceil(sizes.sum() / (math.prod(patch) * batch_size))))

    n_classes = len(TARGET_CLASSES[target])
    check_network_size(architecture, arch_options, n_channels, n_classes, spatial_dims, where="options")
    choice = select_device(device)
    report = Reporter(progress)

    def announce(fraction: float, message: str) -> None:
        # one channel per line: the caller's progress when given, else the log
        if progress is not None:
            report(fraction, message)
        else:
            logger.info("train_model: %s", message)

    announce(0.0, choice.note)
    network_seed = int(generator.integers(0, 2**31 - 1))
    val_data = [validation_crop(i, t, spatial_dims) for i, t in val]
    start = time.perf_counter()
    clock = TrainingClock(epochs, time_budget, budget_clock)

    def fit(dev):
        if init_model is not None:
            network = copy.deepcopy(init_model.network).float()
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(network_seed)
                network = architecture_spec.build(n_channels, n_classes, spatial_dims, **arch_options)
        network = network.to(dev)
        running_stats = UnbiasedRunningStats(network)
        optimiser = torch.optim.Adam(network.parameters(), lr=float(learning_rate))
        loss_fn = torch.nn.CrossEntropyLoss(
            weight=torch.tensor(CLASS_WEIGHTS + (1.0,) * (n_classes - len(CLASS_WEIGHTS)), dtype=torch.float32,
                                device=dev), ignore_index=IGNORE
        )
        history: List[Dict[str, Any]] = []
        best_state, best_score, best_epoch = None, math.inf, 0
        stopped = "epochs"
        try:
            for epoch in range(1, max_epochs + 1):
                network.train()
                losses = []
                out_of_time = False
                for step in range(steps_per_epoch):
                    batch = [sample_patch(train, patch, generator, augmentation_level, weights)
                             for _ in range(batch_size)]
                    x = torch.from_numpy(np.stack([b[0] for b in batch])).to(dev)
                    y = torch.from_numpy(np.stack([b[1] for b in batch])).to(dev)
                    if (y == IGNORE).all():
                        continue
                    set_rate(optimiser, learning_rate, lr_schedule,
                              clock.fraction(epoch - 1 + step / steps_per_epoch, max_epochs))
                    optimiser.zero_grad(set_to_none=True)
                    running_stats.before_step()
                    loss = _training_loss(network, network(x), y, loss_fn)
                    loss.backward()
                    optimiser.step()
                    losses.append(float(loss.detach()))
                    if not math.isfinite(losses[-1]):
                        raise InputError(
                            f"the training loss became {losses[-1]} at epoch {epoch}, step {step + 1} "
                            f"(learning_rate={learning_rate!r}); lower learning_rate or check the images"
                        )
                    report(
                        clock.fraction(epoch - 1 + (step + 1) / steps_per_epoch, max_epochs),
                        f"epoch {epoch}, step {step + 1}/{steps_per_epoch}: loss {losses[-1]:.4f}",
                    )
                    if clock.out_of_time():
                        out_of_time = True
                        break
                train_loss = float(np.mean(losses)) if losses else math.nan
                val_loss = _validation_loss(network, val_data, loss_fn, dev) if val_data else math.nan
                elapsed = clock.elapsed()
                record = {
                    "epoch": epoch,
                    "loss": None if math.isnan(train_loss) else train_loss,
                    "val_loss": None if math.isnan(val_loss) else val_loss,
                    "seconds": round(elapsed, 3),
                }
                history.append(record)
                score = val_loss if val_data and not math.isnan(val_loss) else -epoch  # else keep the last
                if score < best_score or best_state is None:
                    best_score, best_epoch = score, epoch
                    best_state = {k: v.detach().to("cpu", copy=True) for k, v in network.state_dict().items()}
                message = f"{clock.epoch_label(epoch)}: loss {train_loss:.4f}"
                if val_data:
                    message += f", validation loss {val_loss:.4f}"
                announce(clock.fraction(epoch, max_epochs), message)
                if on_epoch is not None:
                    on_epoch(dict(record))
                if out_of_time or clock.out_of_time():
                    stopped = "time budget"
                    break
                if epochs is None and val_data and plateau(history):
                    stopped = "converged"
                    break
        except (Cancelled, KeyboardInterrupt):
            if best_state is None:
                raise
            stopped = "cancelled"
            logger.info("train_model: stopped by the user; keeping the best of %d epoch(s)", len(history))
        finally:
            running_stats.restore()
            network.to("cpu")
            free_device_memory(dev)
        return network, history, best_state, best_epoch, stopped

    # an operation the device lacks reruns the training on the CPU; a
    # context-poisoning device error ends it with DeviceError
    (network, history, best_state, best_epoch, stopped), dev, device_note = run_on_device(
        fit, choice, report=report
    )
    network.load_state_dict(best_state)
    network.eval()
    training: Dict[str, Any] = {
        "history": history,
        "best_epoch": best_epoch,
        "stopped_by": stopped,
        "seconds": round(time.perf_counter() - start, 3),
        "time_budget": time_budget,
        "budget_clock": budget_clock,
        "budget_seconds": round(clock.elapsed(), 3),
        "augment": augment if isinstance(augment, str) else ("default" if augment else "none"),
        "device": str(dev),
        "device_note": device_note,
        "patch_shape": list(patch),
        "batch_size": batch_size,
        "steps_per_epoch": steps_per_epoch,
        "learning_rate": float(learning_rate),
        "lr_schedule": lr_schedule,
        "n_images": len(data),
        "median_object_size": _median_object_size(int_sizes),
        "ignore_label": ignore_label,
        "torch_version": torch.__version__,
    }
    if init_model is not None:
        training["resumed_from"] = round_summary(init_model)
        training["earlier_rounds"] = earlier_rounds(init_model)
    config = {
        "architecture": str(architecture).lower(),
        "options": arch_options,
        "spatial_dims": int(spatial_dims),
        "in_channels": int(n_channels),
        "classes": list(TARGET_CLASSES[target]),
        "normalisation": dict(DEFAULT_NORMALISATION),
        "voxel_size": voxel_size,
        "training": training,
    }
    if stopped == "cancelled":  # the caller's progress would raise again
        return Model(network, config)
    announce(1.0, f"training done: best epoch {best_epoch} of {len(history)} ({stopped})")
    return Model(network, config)


def _training_loss(network, output, target, loss_fn):
    """The loss of one batch; networks with auxiliary heads (PSPNet) return ``(main, *aux)``
    in training mode, and their auxiliary losses count ``network.aux_loss_weight`` times."""
    if isinstance(output, (tuple, list)):
        main, *auxiliary = output
        weight = float(getattr(network, "aux_loss_weight", 0.4))
        loss = loss_fn(main, target)
        for aux in auxiliary:
            loss = loss + weight * loss_fn(aux, target)
        return loss
    return loss_fn(output, target)


def _median_object_size(sizes: List[int]) -> Optional[float]:
    return float(np.median(sizes)) if sizes else None


def _validation_loss(network, val_data, loss_fn, dev) -> float:
    import torch

    network.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for image, target in val_data:
            known = int((target != IGNORE).sum())
            if known == 0:
                continue
            x = torch.from_numpy(np.ascontiguousarray(image[None], dtype=np.float32)).to(dev)
            y = torch.from_numpy(np.ascontiguousarray(target[None])).to(dev)
            total += float(loss_fn(network(x), y)) * known
            count += known
    network.train()
    return total / count if count else math.nan
