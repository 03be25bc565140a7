"""napari-segkit: segment microscopy images by graph cut and more.

The headless API imports neither napari, Qt, torch nor PyMaxflow at import
time; heavy modules load when a function needs them.
"""

from __future__ import annotations

from ._errors import Cancelled, DeviceError, InputError, ResourceLimitError, UnsafeFileError
from .annotation import AnnotationSet, replay
from .clustering import kmeans, mean_shift
from .grabcut import GrabCutReport, grabcut, read_boxes
from .graphcut import estimate_graph_cut_memory, graph_cut
from .io.export import export_labels
from .measure import measure_objects, write_measurements
from .models import Model, load_model, predict_labels, predict_probabilities, train_model
from .refine import crf_refine, graph_cut_refine, refine_instances
from .spectral import normalized_cut, spectral_clustering
from .superpixels import slic

__version__ = "0.1.0"

__all__ = [
    "AnnotationSet",
    "Cancelled",
    "DeviceError",
    "InputError",
    "ResourceLimitError",
    "UnsafeFileError",
    "__version__",
    "GrabCutReport",
    "Model",
    "crf_refine",
    "estimate_graph_cut_memory",
    "export_labels",
    "grabcut",
    "graph_cut",
    "graph_cut_refine",
    "kmeans",
    "load_model",
    "measure_objects",
    "mean_shift",
    "normalized_cut",
    "predict_labels",
    "predict_probabilities",
    "read_boxes",
    "refine_instances",
    "replay",
    "slic",
    "spectral_clustering",
    "train_model",
    "write_measurements",
]
