"""Reproduce napari's crash in glDrawArrays after a Labels layer in paint mode was removed (no plugin involved).

Run under a real X server: ``xvfb-run -a python benchmarks/repro_paint_mode_crash.py``.
With napari 0.9.2, PyQt6 and Mesa (llvmpipe) this ends in a segmentation fault on
the second round: a Labels layer put in paint mode (even for an instant, then back
to pan/zoom) is removed, and later a second new Labels layer enters paint mode and a
5 x 1024 x 1024 image is added.  The visual drawn when it crashes is a vispy
``MeshVisual`` (the labels brush overlay's outline ellipse).  Without paint mode the
same rounds run to the end.  ``--once`` puts only the first Labels layer in paint
mode: no crash.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def spin(seconds: float) -> None:
    from qtpy.QtWidgets import QApplication

    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def main() -> None:
    import faulthandler

    import napari

    faulthandler.enable()
    once = "--once" in sys.argv
    viewer = napari.Viewer(show=True)
    spin(1.0)
    for round_ in range(3):
        viewer.add_image(np.random.default_rng(round_).random((512, 512), dtype=np.float32), name="small")
        labels = viewer.add_labels(np.zeros((512, 512), np.int32), name="seeds")
        if not (once and round_ > 0):
            labels.mode = "paint"
            labels.mode = "pan_zoom"  # back at once: it still crashes
        spin(0.5)
        viewer.layers.select_all()
        viewer.layers.remove_selected()
        spin(0.2)
        viewer.add_image(np.random.default_rng(round_).random((5, 1024, 1024), dtype=np.float32), name="big")
        spin(1.0)
        viewer.layers.clear()
        spin(0.2)
        print("round", round_, "survived", flush=True)
    viewer.close()


if __name__ == "__main__":
    main()
