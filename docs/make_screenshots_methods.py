"""Take the Clustering and Normalized cut screenshots in docs/images/.

Run with a display, or under a virtual one::

    xvfb-run -a python docs/make_screenshots_methods.py

Each image shows the widget docked in napari after a real run: K-means on
the plugin's 2-D nuclei sample, and a normalized cut of scikit-image's
``coffee`` photograph (half size) on SLIC superpixels.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_screenshots import _save, _wait  # noqa: E402  (shared helpers)

IMAGES = Path(__file__).resolve().parent / "images"


def shot_clustering(out: Path) -> None:
    import napari

    from napari_segkit._napari._clustering_widget import ClusteringWidget

    viewer = napari.Viewer(title="napari-segkit: clustering")
    viewer.window.resize(1300, 820)
    image, truth, seeds = viewer.open_sample("napari-segkit", "nuclei_2d")
    viewer.layers.remove(truth)
    viewer.layers.remove(seeds)
    widget = ClusteringWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Clustering", area="right")
    widget.image_layer = image
    widget.method = "K-means"
    widget._n_clusters.value = 3
    widget.run()
    _wait(widget)
    result = viewer.layers["nuclei 2D k-means"]
    result.opacity = 0.45
    viewer.reset_view()
    _wait(widget)
    _save(viewer.screenshot(canvas_only=False, flash=False), out / "clustering.png")
    viewer.close()


def shot_normalized_cut(out: Path) -> None:
    import napari
    from skimage import data
    from skimage.transform import rescale

    from napari_segkit._napari._spectral_widget import NormalizedCutWidget

    photo = (rescale(data.coffee(), 0.5, channel_axis=-1) * 255).astype(np.uint8)
    viewer = napari.Viewer(title="napari-segkit: normalized cut")
    viewer.window.resize(1300, 820)
    image = viewer.add_image(photo, name="coffee", rgb=True)
    widget = NormalizedCutWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Normalized cut", area="right")
    widget.image_layer = image
    widget._n_segments.value = 8
    widget._nodes.value = "slic"
    widget.run()
    _wait(widget)
    result = viewer.layers["coffee normalized cut"]
    result.contour = 2  # outlines, so the photograph stays visible
    result.opacity = 1.0
    viewer.reset_view()
    _wait(widget)
    _save(viewer.screenshot(canvas_only=False, flash=False), out / "normalized-cut.png")
    viewer.close()


SHOTS = {"clustering": shot_clustering, "normalized-cut": shot_normalized_cut}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shots", nargs="*", help=f"any of {', '.join(SHOTS)} (default: all)")
    parser.add_argument("--out", type=Path, default=IMAGES)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.shots) - set(SHOTS))
    if unknown:
        parser.error(f"unknown shots {unknown}; choose from {sorted(SHOTS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.shots or SHOTS:
        SHOTS[name](args.out)


if __name__ == "__main__":
    main()
