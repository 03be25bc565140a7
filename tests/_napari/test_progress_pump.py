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
    qtbot.waitUntil(lambda: flood._pump.activity_bar is not None, timeout=10000)
    bar = flood._pump.activity_bar
    assert bar in napari_progress._all_instances  # shown in the Activity dock
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
    qtbot.waitUntil(lambda: flood._pump.activity_bar is not None, timeout=10000)
    start = time.perf_counter()
    flood._pump.activity_bar.cancel()  # the Activity dock's cancel button
    qtbot.waitUntil(lambda: not flood.busy, timeout=5000)
    assert time.perf_counter() - start < 0.5
    assert flood.status == "cancelled; no layer was added"
    assert "img flood" not in viewer.layers and flood.reports == 0  # compute never returned
    assert flood._run_button.text == "Run"


def test_a_short_job_never_enters_the_activity_dock_and_a_long_one_updates_it_sparingly(
        viewer, flood, qtbot, wait_idle, monkeypatch):
    # napari's Activity bar repaints the whole window (processEvents) when made and on each change
    from napari.utils import cancelable_progress

    made, changes = [], []
    for name, into in (("__init__", made), ("update", changes), ("set_description", changes)):
        original = getattr(cancelable_progress, name)

        def record(self, *args, _original=original, _into=into, **kwargs):
            _into.append(time.perf_counter())
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cancelable_progress, name, record)
    flood.release.set()  # ends at its first report: a short job
    flood.run()
    wait_idle(flood)
    assert flood.status.startswith("done") and made == []
    flood.release.clear()
    start = time.perf_counter()
    flood.run()
    qtbot.waitUntil(lambda: flood._pump.updates >= 12, timeout=10000)
    assert flood._pump.activity_bar is not None and len(made) == 1
    assert made[0] - start >= 0.45  # only after the job has run half a second
    flood.release.set()
    wait_idle(flood)
    elapsed = time.perf_counter() - made[0]
    assert len(changes) <= 2 * (2 * elapsed + 1)  # value and text at most twice a second
    assert flood._pump.updates > len(changes) / 2  # while the widget's own bar moved ten times a second


def test_a_job_ending_while_napari_makes_its_activity_bar_leaves_no_bar_open(qtbot, monkeypatch):
    # napari runs the event loop inside the bar's constructor: the job's end can be handled there
    from qtpy.QtWidgets import QWidget

    from napari_segkit._napari import _progress_pump

    parent = QWidget()
    qtbot.addWidget(parent)
    pump = _progress_pump.ProgressPump(parent, lambda fraction, message: None, activity_delay_ms=0)
    made = []

    def bar_while_the_job_ends(description, on_cancel):
        bar = napari_progress(total=10, desc=description)
        made.append(bar)
        pump.stop(flush=False)  # what a nested event loop may run
        return bar

    monkeypatch.setattr(_progress_pump, "_activity_bar", bar_while_the_job_ends)
    pump.start("job")
    assert pump.activity_bar is None and made and made[0] not in napari_progress._all_instances
    monkeypatch.undo()
    pump.start("next job")  # the next job gets its bar as usual
    assert pump.activity_bar in napari_progress._all_instances
    pump.stop()
    assert pump.activity_bar is None


def test_the_widget_bar_moves_without_a_synchronous_repaint(qtbot):
    # QProgressBar.setValue repaints at once; in napari's window that composes the whole window
    from qtpy.QtCore import QEvent, QObject
    from qtpy.QtWidgets import QProgressBar

    from napari_segkit._napari._progress_pump import set_bar_value

    class Paints(QObject):
        count = 0

        def eventFilter(self, obj, event):  # noqa: N802 (Qt's name)
            if event.type() == QEvent.Type.Paint:
                Paints.count += 1
            return False

    bar = QProgressBar()
    bar.setRange(0, 1000)
    qtbot.addWidget(bar)
    bar.show()
    qtbot.waitExposed(bar)
    qtbot.wait(200)  # the first paint done
    paints = Paints()
    bar.installEventFilter(paints)
    changed = []
    bar.valueChanged.connect(changed.append)
    bar.setValue(500)
    assert Paints.count == 1  # plain setValue: painted inside the call
    set_bar_value(bar, 900)
    assert bar.value() == 900 and changed == [500, 900] and Paints.count == 1  # nothing painted yet
    qtbot.waitUntil(lambda: Paints.count == 2, timeout=2000)  # painted by the event loop
    set_bar_value(bar, 900)
    assert changed == [500, 900]
