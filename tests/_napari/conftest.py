"""Fixtures for the napari tests: a viewer with the Graph cut widget docked."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("napari")
pytest.importorskip("qtpy")


def _foreground_iou(result: np.ndarray, truth: np.ndarray, value: int = 1) -> float:
    predicted = np.asarray(result) == value
    actual = np.asarray(truth) > 0
    return float((predicted & actual).sum() / max((predicted | actual).sum(), 1))


@pytest.fixture
def iou():
    """IoU of ``result == value`` against ``truth > 0``."""
    return _foreground_iou


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


@pytest.fixture
def dock(viewer):
    """The Graph cut widget, docked through the plugin manifest."""
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Graph cut")
    return widget


@pytest.fixture
def error_messages(monkeypatch):
    """Messages passed to napari's show_error by the widget."""
    from napari_segkit._napari import _method_widget

    messages = []
    original = _method_widget.show_error

    def record(message):
        messages.append(str(message))
        original(message)

    monkeypatch.setattr(_method_widget, "show_error", record)
    return messages


@pytest.fixture
def wait_idle(qtbot):
    """Wait until a widget has no run going (nor queued)."""

    def wait(widget, timeout=15000):
        qtbot.waitUntil(lambda: not widget.busy and not widget._pending, timeout=timeout)

    return wait
