"""Deep models: architectures, training, model files and tiled prediction.

This is the only part of the package that uses torch, and it imports torch
inside functions only, so importing it (or ``napari_segkit``) stays light.
"""

from __future__ import annotations

# FCN, SegNet, DeepLabv3 and PSPNet register themselves in .registry (no torch
# is imported here); the registry itself does not import them (no cycle)
from . import architectures as _architectures  # noqa: F401
from .model import Model, load_model
from .predict import predict_labels, predict_probabilities
from .registry import ARCHITECTURES, Architecture, register_architecture
from .training import train_model

__all__ = [
    "ARCHITECTURES",
    "Architecture",
    "Model",
    "load_model",
    "predict_labels",
    "predict_probabilities",
    "register_architecture",
    "train_model",
]
