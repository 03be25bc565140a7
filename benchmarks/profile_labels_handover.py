"""Where napari's GUI thread spends its time when it gets a labels array: timers around its internals.

Run under a real X server::

    xvfb-run -a -s "-screen 0 1400x1000x24" python benchmarks/profile_labels_handover.py \
        add:int32,add:uint16,deferred:uint16,set:int32,set:uint16,redraw:int32 4

Each operation runs in its own event-loop turn of a 1400 x 900 napari window that
already holds a 1024 x 1024 image and one small Labels layer (so the first-layer
costs are paid); a 10 ms timer measures the longest gap.  Operations: ``add``
(``viewer.add_labels``), ``deferred`` (the plugin's way:
:func:`napari_segkit._napari._handover.add_layer`, overlays built on first use),
``set`` (``layer.data = ...`` on an existing layer), ``redraw`` (a 1 % zoom:
napari's own cost of drawing the canvas).  Printed per operation: medians over
the repeats of the wall time of each napari step (ms), the call itself, and the
gap.  The data are synthetic (random ids 0-299 on 1024 x 1024).
"""

from __future__ import annotations

import collections
import functools
import os
import sys
import time
from typing import Dict

import numpy as np


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    kinds = argv[0].split(",") if argv else ["add:int32", "add:uint16", "deferred:uint16", "redraw:int32"]
    repeats = int(argv[1]) if len(argv) > 1 else 3

    import napari
    import napari._qt.layer_controls.qt_layer_controls_container as controls
    import napari._qt.qt_viewer as qt_viewer
    import napari._vispy.canvas as vispy_canvas
    import napari.components.viewer_model as viewer_model
    from napari.layers import Labels
    from qtpy.QtCore import QEventLoop, Qt, QTimer

    from napari_segkit._napari._handover import add_layer

    spent: Dict = collections.defaultdict(float)

    def timed(owner, name: str, key: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[key] += time.perf_counter() - start

        setattr(owner, name, wrapper)

    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    import vispy.app.backends._qt as vispy_qt  # importable once napari has chosen the backend

    timed(Labels, "__init__", "Labels()")
    timed(Labels, "_raw_to_displayed", "ids to texture")
    timed(qt_viewer.QtViewer, "_add_layer", "vispy layer + overlays")
    timed(vispy_canvas.VispyCanvas, "_update_layer_overlays", "overlays")
    timed(controls.QtLayerControlsContainer, "_add", "layer controls")
    timed(viewer_model.ViewerModel, "_on_add_layer", "viewer model")
    timed(vispy_qt.CanvasBackendDesktop, "paintGL", "paintGL")

    ticks = []
    ticker = QTimer()
    ticker.setTimerType(Qt.TimerType.PreciseTimer)
    ticker.setInterval(10)
    ticker.timeout.connect(lambda: ticks.append(time.perf_counter()))
    ticker.start()

    def spin(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    def gap(start: float, stop: float) -> float:
        stamps = [start] + [t for t in ticks if start < t <= stop] + [stop]
        return float(np.diff(stamps).max() * 1000 - 10)

    spin(1.5)
    rng = np.random.default_rng(0)
    viewer.add_image(rng.random((1024, 1024)).astype(np.float32), name="image")
    spin(1.0)
    viewer.add_labels(np.zeros((64, 64), np.int32), name="first")
    spin(1.0)
    ids = rng.integers(0, 300, (1024, 1024))
    rows = collections.defaultdict(list)
    targets: Dict = {}
    for repeat in range(repeats):
        for kind in kinds:
            operation, dtype = kind.split(":")
            data = ids.astype(dtype)
            spin(0.4)
            spent.clear()
            call = {}

            def run(operation=operation, data=data, kind=kind, dtype=dtype) -> None:
                start = time.perf_counter()
                if operation == "add":
                    viewer.add_labels(data.copy(), name=f"{kind} {repeat}")
                elif operation == "deferred":
                    add_layer(viewer, "labels", data.copy(), name=f"{kind} {repeat}")
                elif operation == "set":
                    if dtype in targets:
                        targets[dtype].data = np.roll(data, repeat + 1, -1)
                    else:
                        targets[dtype] = viewer.add_labels(data.copy(), name=f"target {dtype}")
                else:
                    viewer.camera.zoom = viewer.camera.zoom * (1.01 if repeat % 2 else 1 / 1.01)
                call["ms"] = (time.perf_counter() - start) * 1000

            begin = time.perf_counter()
            QTimer.singleShot(0, run)
            spin(1.0)
            row = {key: value * 1000 for key, value in spent.items()}
            row.update(call=call["ms"], gap=gap(begin, time.perf_counter()))
            if not (operation == "set" and repeat == 0):  # the first "set" adds the layer
                rows[kind].append(row)
    print(f"load average {os.getloadavg()[0]:.2f}; medians over {repeats} repeats, ms")
    for kind, measured in rows.items():
        keys = sorted({key for row in measured for key in row})
        print(f"{kind:18s}", ", ".join(f"{key} {np.median([row.get(key, 0.0) for row in measured]):.0f}"
                                        for key in keys))
    viewer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
