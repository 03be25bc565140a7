"""Fine-tuning: checks that a model can be trained further on new data, and the record of rounds.

No torch at import time.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .._errors import InputError
from .targets import TARGET_CLASSES

__all__ = ["check_init_model", "check_init_fits", "round_summary"]


def check_init_model(
    init_model: Any, architecture: Optional[str], options: Optional[Dict[str, Any]], target: Optional[str] = None
) -> Tuple[Any, str, Dict[str, Any]]:
    """The model to start from, its architecture name and its full options.

    Raises
    ------
    InputError
        If ``init_model`` is not a model (or model directory), has classes
        of no instance target (or of another ``target`` than the one given),
        or ``architecture`` / ``options`` differ from its own.
    """
    from .model import Model, load_model

    if not isinstance(init_model, Model):
        if isinstance(init_model, (str,)) or hasattr(init_model, "__fspath__"):
            init_model = load_model(init_model)
        else:
            raise InputError(
                f"init_model must be a Model (or a model directory), got {type(init_model).__name__}"
            )
    own = str(init_model.config["architecture"]).lower()
    if architecture is not None and str(architecture).lower() != own:
        raise InputError(
            f"architecture {architecture!r} differs from init_model's {own!r}; fine-tuning keeps the "
            "architecture (leave architecture unset, or train a new model without init_model)"
        )
    own_options = init_model._options()
    if options:
        different = {k: v for k, v in options.items() if own_options.get(k, object()) != v}
        if different:
            described = ", ".join(f"{k}={v!r} (init_model: {own_options.get(k, 'not an option')!r})"
                                  for k, v in sorted(different.items()))
            raise InputError(
                f"options differ from init_model's: {described}; fine-tuning keeps the network's shape "
                "(leave options unset)"
            )
    kinds = [k for k, names in TARGET_CLASSES.items() if list(init_model.classes) == list(names)]
    wanted = [target] if target is not None else list(TARGET_CLASSES)
    if not kinds or kinds[0] not in wanted:
        needed = " or ".join(str(list(TARGET_CLASSES[k])) for k in wanted)
        raise InputError(f"init_model predicts {init_model.classes}; training needs a model with classes {needed}"
                         + (f" (target={target!r})" if target is not None else ""))
    return init_model, own, own_options


def check_init_fits(init_model: Any, spatial_dims: int, n_channels: int) -> None:
    """Refuse images that do not have the model's dimensions and channels."""
    if init_model.spatial_dims != spatial_dims:
        raise InputError(
            f"init_model is {init_model.spatial_dims}-D but the training images are {spatial_dims}-D"
        )
    if init_model.in_channels != n_channels:
        raise InputError(
            f"init_model expects {init_model.in_channels} channel(s) but the training images have "
            f"{n_channels}; pass channel_axis to say which axis holds the channels"
        )


def round_summary(model: Any) -> Dict[str, Any]:
    """A short, flat record of one training round of ``model`` (for the next round's history)."""
    training = model.config.get("training", {}) or {}
    summary: Dict[str, Any] = {
        "architecture": model.config.get("architecture"),
        "source": getattr(model, "source", None),
        "weights_sha256": model.config.get("weights_sha256"),
        "epochs": len(training.get("history", []) or []),
        "best_epoch": training.get("best_epoch"),
        "stopped_by": training.get("stopped_by"),
        "seconds": training.get("seconds"),
        "n_images": training.get("n_images"),
    }
    return summary


def earlier_rounds(model: Any) -> List[Dict[str, Any]]:
    """Every round before and including ``model``'s own, oldest first (flat, never nested)."""
    training = model.config.get("training", {}) or {}
    rounds = [dict(r) for r in training.get("earlier_rounds", []) or [] if isinstance(r, dict)]
    return rounds + [round_summary(model)]
