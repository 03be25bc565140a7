"""Progress reaches the GUI at a bounded rate and shows in napari's Activity dock; Cancel stops jobs fast."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

pytest.importorskip("napari")

from napari.utils import progress as napari_progress

from napari_segkit._napari._method_widget import MethodWidget


class FloodWidget(MethodWidget):
    """A job that reports progress as fast as it can until released (or cancelled)."""

    method_name = "flood"

    def create_parameters(self):
        self.release = threading.Event()
        self.reports = 0
        return []

    def prepare(self, image, layers):
        release, shape = self.release, image.shape

        def compute(progress):
            i = 0
            while not release.is_set():
                i += 1
                progress(min(i / 1e6, 1.0), f"block {i}")
            self.reports = i
            return np.ones(shape, dtype=np.int32)

        return compute


@pytest.fixture
def flood(viewer):
    viewer.add_image(np.zeros((16, 16)), name="img")
    widget = FloodWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Flood")
    return widget


def test_a_flood_of_reports_reaches_the_gui_at_most_ten_times_a_second(viewer, flood, qtbot, wait_idle):
    gui_updates = []
    flood._progress.native.valueChanged.connect(lambda value: gui_updates.append(value))
    start = time.perf_counter()
    flood.run()
    bar = flood._pump.activity_bar
    assert bar is not None and bar in napari_progress._all_instances  # shown in the Activity dock
    qtbot.waitUntil(lambda: flood._pump.updates >= 5, timeout=10000)
    qtbot.waitUntil(lambda: bar.n > 0 and bar.desc.startswith("block "), timeout=5000)
    flood.release.set()
    wait_idle(flood)
    elapsed = time.perf_counter() - start
    assert flood.reports > 20 * flood._pump.updates  # many more reports than updates...
    assert flood._pump.updates <= 10 * elapsed + 2  # ...and never more than ~10 updates a second
    assert len(gui_updates) <= 10 * elapsed + 3
    assert bar not in napari_progress._all_instances  # closed when the job ended
    assert flood.status.startswith("done") and np.all(viewer.layers["img flood"].data == 1)


def test_cancel_from_the_activity_dock_stops_the_job_within_half_a_second(viewer, flood, qtbot, wait_idle):
    flood.run()
    qtbot.waitUntil(lambda: flood._pump.updates >= 2, timeout=10000)
    start = time.perf_counter()
    flood._pump.activity_bar.cancel()  # the Activity dock's cancel button
    qtbot.waitUntil(lambda: not flood.busy, timeout=5000)
    assert time.perf_counter() - start < 0.5
    assert flood.status == "cancelled; no layer was added"
    assert "img flood" not in viewer.layers and flood.reports == 0  # compute never returned
    assert flood._run_button.text == "Run"
