"""A two-minute tour: graph cut on the synthetic 2-D nuclei sample.

With a display, :func:`main` opens napari with the sample image, its seeds
and (hidden) ground truth, docks the Graph cut widget and runs it once, so
the result is on screen; paint more seeds and press Run to refine it.

Without a display (or with ``headless=True``) it runs the same cut in
process and writes

``<output_dir>/labels.tif``
    the cut as :func:`napari_segkit.graph_cut` returns it
    (1 = nuclei, 2 = background);
``<output_dir>/overlay.png``
    the image with the boundaries between the regions drawn in colour,

then logs the overlap (IoU) of the nuclei with the ground truth.

The command-line verb ``napari-segkit demo [--output-dir DIR] [--headless]``
calls :func:`main`.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Optional, Union

import numpy as np

__all__ = ["has_display", "main"]

logger = logging.getLogger(__name__)

#: colour of the drawn boundaries (RGB in [0, 1])
BOUNDARY_COLOUR = (1.0, 0.85, 0.0)


def has_display() -> bool:
    """Whether a window can be opened: macOS, Windows, or X11/Wayland set up."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(*, output_dir: Union[str, os.PathLike] = "segkit-demo", headless: Optional[bool] = None) -> int:
    """Run the demo; return an exit code (0 = success).

    Parameters
    ----------
    output_dir : path-like
        Where the headless run writes ``labels.tif`` and ``overlay.png``.
    headless : bool, optional
        True: never open a window.  False: open napari (fails without a
        display).  None (default): open napari when a display is available.
    """
    if headless is None:
        headless = not has_display()
    if headless:
        return _run_headless(Path(output_dir))
    return _run_gui()


def _foreground_iou(labels: np.ndarray, truth: np.ndarray, value: int = 1) -> float:
    predicted = labels == value
    actual = truth > 0
    union = int((predicted | actual).sum())
    return float((predicted & actual).sum()) / union if union else 1.0


def _overlay(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The image (contrast-stretched, grey) with region boundaries in colour, as uint8 RGB."""
    from skimage.segmentation import mark_boundaries

    values = image.astype(np.float64)
    low, high = np.percentile(values, (0.5, 99.5))
    grey = np.clip((values - low) / max(high - low, 1e-12), 0.0, 1.0)
    marked = mark_boundaries(grey, labels, color=BOUNDARY_COLOUR, mode="inner")
    return np.round(np.clip(marked, 0.0, 1.0) * 255).astype(np.uint8)


def _run_headless(output_dir: Path) -> int:
    import imageio.v3 as iio

    from . import graph_cut
    from ._progress import log_progress
    from .io import write_labels
    from .samples import nuclei_2d

    sample = nuclei_2d()
    logger.info("graph cut of the %s sample %s", sample.name, sample.image.shape)
    labels = graph_cut(sample.image, sample.seeds, spacing=sample.spacing, progress=log_progress)
    output_dir.mkdir(parents=True, exist_ok=True)
    labels_path = write_labels(
        output_dir / "labels.tif",
        labels,
        spacing=sample.spacing,
        overwrite=True,
        metadata={"source": "napari-segkit demo", "values": "1 = nuclei, 2 = background"},
    )
    overlay_path = output_dir / "overlay.png"
    iio.imwrite(overlay_path, _overlay(sample.image, labels))
    iou = _foreground_iou(labels, sample.labels)
    logger.info("wrote %s and %s", labels_path, overlay_path)
    logger.info("nuclei IoU against the ground truth: %.3f", iou)
    return 0


def _run_gui() -> int:
    import napari

    from ._napari._graph_cut_widget import GraphCutWidget
    from .samples import nuclei_2d

    sample = nuclei_2d()
    viewer = napari.Viewer(title="napari-segkit demo")
    image = viewer.add_image(sample.image, name=sample.name, scale=sample.spacing, colormap="gray")
    viewer.add_labels(
        sample.labels, name=f"{sample.name} ground truth", scale=sample.spacing, visible=False
    )
    seeds = viewer.add_labels(sample.seeds, name=f"{sample.name} seeds", scale=sample.spacing)
    widget = GraphCutWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Graph cut", area="right")
    widget.image_layer = image
    widget.seeds_layer = seeds
    widget.run()
    napari.run()
    return 0
