"""The registry of methods: the one list the public API, the CLI and the widgets come from.

A method is its core module, one :class:`Method` entry below, its tests and
its docs page.  From this list:

- ``napari_segkit.__all__`` and the package's lazy attributes
  (:func:`public_names`, :func:`load_public`);
- the command line's verbs (:func:`cli_modules`, used by
  :mod:`napari_segkit.cli`);
- the dock widgets (:func:`widgets`), which ``tests/test_registry.py``
  checks against the hand-written npe2 manifest ``napari.yaml`` (npe2
  reads the manifest statically, so it stays a file; the test keeps the two
  in step, with the exact lines to add in its message).

This module imports nothing heavy: entries are names, resolved on use.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

__all__ = [
    "EXPORTS",
    "METHODS",
    "Method",
    "Widget",
    "cli_modules",
    "load_public",
    "public_names",
    "shadowed_names",
    "widgets",
]


@dataclass(frozen=True)
class Widget:
    """A dock widget: its npe2 command id (after ``napari-segkit.``), title and class."""

    command: str
    title: str
    python_name: str  # "module:attribute", module under napari_segkit._napari

    @property
    def command_id(self) -> str:
        return f"napari-segkit.{self.command}"

    @property
    def full_python_name(self) -> str:
        return f"napari_segkit._napari.{self.python_name}"


@dataclass(frozen=True)
class Method:
    """One public function of the package and where it shows up.

    Attributes
    ----------
    name : str
        The public function (``napari_segkit.<name>``).
    module : str
        The module that defines it, relative to the package (``".seeded"``).
    cli : str or None
        The module under :mod:`napari_segkit.cli` that registers its verb(s).
    widget : Widget or None
        The dock widget that runs it (several methods may share one).
    docs : str or None
        Its page, relative to the repository (``"docs/watershed.md"``).
    family : {"image", "labels", "tool"}
        Which contract its signature follows (``tests/test_api_contract.py``):
        ``"image"``: a segmentation method, image first (docs/api.md);
        ``"labels"``: works on labels (export, measurement); ``"tool"``: a
        workflow object whose widget is not a single method (annotation).
    """

    name: str
    module: str
    cli: Optional[str] = None
    widget: Optional[Widget] = None
    docs: Optional[str] = None
    family: str = "image"


GRAPH_CUT = Widget("graph_cut_widget", "Graph cut", "_graph_cut_widget:GraphCutWidget")
RANDOM_WALKER = Widget("random_walker_widget", "Random walker", "_seeded_widget:RandomWalkerWidget")
WATERSHED = Widget("watershed_widget", "Watershed", "_seeded_widget:WatershedWidget")
CLUSTERING = Widget("clustering_widget", "Clustering", "_clustering_widget:ClusteringWidget")
NORMALIZED_CUT = Widget("normalized_cut_widget", "Normalized cut", "_spectral_widget:NormalizedCutWidget")
SPECTRAL = Widget("spectral_clustering_widget", "Spectral clustering", "_spectral_widget:SpectralClusteringWidget")
GRABCUT = Widget("grabcut_widget", "GrabCut", "_grabcut_widget:GrabCutWidget")
CLICKS = Widget("clicks_widget", "Clicks", "_clicks_widget:ClicksWidget")
REFINE = Widget("refine_widget", "Refine probabilities", "_refine_widget:RefineWidget")
TRAIN = Widget("train_widget", "Train network", "_train_widget:TrainWidget")
PREDICT = Widget("predict_widget", "Predict with network", "_predict_widget:PredictWidget")
ANNOTATE = Widget("annotation_widget", "Annotate", "_annotation_widget:AnnotationWidget")
EXPORT = Widget("export_widget", "Export labels and measure", "_export_widget:ExportWidget")

#: every segmentation method, in the order of the widgets in napari's menu
METHODS: Tuple[Method, ...] = (
    Method("graph_cut", ".graphcut", cli="graph_cut", widget=GRAPH_CUT, docs="docs/graph-cut.md"),
    Method("random_walker", ".seeded", cli="seeded", widget=RANDOM_WALKER, docs="docs/random-walker.md"),
    Method("watershed", ".seeded", cli="seeded", widget=WATERSHED, docs="docs/watershed.md"),
    Method("kmeans", ".clustering", cli="clustering", widget=CLUSTERING, docs="docs/clustering.md"),
    Method("mean_shift", ".clustering", cli="clustering", widget=CLUSTERING, docs="docs/clustering.md"),
    Method("slic", ".superpixels", cli="clustering", widget=CLUSTERING, docs="docs/clustering.md"),
    Method("normalized_cut", ".spectral", cli="spectral", widget=NORMALIZED_CUT, docs="docs/spectral.md"),
    Method("spectral_clustering", ".spectral", cli="spectral", widget=SPECTRAL, docs="docs/spectral.md"),
    Method("grabcut", ".grabcut", cli="grabcut", widget=GRABCUT, docs="docs/grabcut.md"),
    Method("segment_clicks", ".prompts", cli="clicks", widget=CLICKS, docs="docs/grabcut.md"),
    Method("crf_refine", ".refine", cli="refine", widget=REFINE, docs="docs/refine.md"),
    Method("graph_cut_refine", ".refine", cli="refine", widget=REFINE, docs="docs/refine.md"),
    Method("refine_instances", ".refine", cli="refine", widget=REFINE, docs="docs/refine.md"),
    Method("train_model", ".models", cli="models", widget=TRAIN, docs="docs/unet.md"),
    Method("predict_probabilities", ".models", cli="models", widget=PREDICT, docs="docs/unet.md"),
    Method("predict_labels", ".models", cli="models", widget=PREDICT, docs="docs/unet.md"),
    Method("AnnotationSet", ".annotation", widget=ANNOTATE, family="tool"),
    Method("export_labels", ".io.export", cli="export", widget=EXPORT, family="labels"),
    Method("measure_objects", ".measure", cli="export", widget=EXPORT, family="labels"),
)

#: other public names (classes, helpers, errors) and the module defining each
EXPORTS: Dict[str, str] = {
    "Cancelled": "._errors",
    "DeviceError": "._errors",
    "InputError": "._errors",
    "ResourceLimitError": "._errors",
    "UnsafeFileError": "._errors",
    "replay": ".annotation",
    "GrabCutReport": ".grabcut",
    "read_boxes": ".grabcut",
    "estimate_graph_cut_memory": ".graphcut",
    "Model": ".models",
    "load_model": ".models",
    "write_measurements": ".measure",
}

#: CLI verb modules that serve no single method
EXTRA_CLI = ("demo",)


def _table() -> Dict[str, str]:
    table = {method.name: method.module for method in METHODS}
    table.update(EXPORTS)
    return table


def public_names() -> List[str]:
    """``napari_segkit.__all__``: every method and export, sorted, plus ``__version__``."""
    return sorted(_table()) + ["__version__"]


def load_public(name: str) -> Any:
    """Import and return the public object ``name``.

    Raises
    ------
    AttributeError
        If ``name`` is not public (so ``from napari_segkit import <module>``
        falls back to importing the submodule).
    """
    module = _table().get(name)
    if module is None:
        raise AttributeError(f"module 'napari_segkit' has no attribute {name!r}")
    return getattr(importlib.import_module(module, "napari_segkit"), name)


def shadowed_names() -> List[str]:
    """Public names that are also the name of the subpackage defining them (``grabcut``).

    Importing such a subpackage binds the package attribute to the module,
    so the package binds these names at import time, after the subpackage.
    """
    return [name for name, module in _table().items() if module == f".{name}"]


def cli_modules() -> List[str]:
    """The CLI verb modules under :mod:`napari_segkit.cli`, in menu order, once each."""
    seen: List[str] = []
    for module in [m.cli for m in METHODS if m.cli] + list(EXTRA_CLI):
        if module not in seen:
            seen.append(module)
    return seen


def widgets() -> List[Widget]:
    """The dock widgets, in menu order, once each."""
    seen: List[Widget] = []
    for method in METHODS:
        if method.widget is not None and method.widget not in seen:
            seen.append(method.widget)
    return seen
