"""Live mode shared by the dock widgets: re-run shortly after each paint stroke.

:class:`LiveRecut` owns a "Live" checkbox's behaviour: a single-shot debounce
timer, the connection to the watched Labels layer's ``paint`` (or ``data``)
event through a weak reference, the size guard with its notices, and the
disconnection on shutdown.  The widget supplies what differs through
callables: which layer to watch, whether the current image is small enough,
whether a re-run may happen now, and what to run.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Optional

from napari.utils.notifications import show_info

__all__ = ["LiveRecut", "LIVE_DELAY_MS", "LIVE_DATA_DELAY_MS"]

#: Live mode re-runs this long after a stroke ends (napari's ``paint`` event
#: fires once per finished stroke; the short wait only merges a burst of them)
LIVE_DELAY_MS = 20
#: wait after the last change when only ``data`` events exist (they fire while painting)
LIVE_DATA_DELAY_MS = 300


class LiveRecut:
    """Debounced re-run of a widget whenever a Labels layer is painted.

    Parameters
    ----------
    parent : QWidget
        Owner of the debounce timer.
    checkbox : magicgui.widgets.CheckBox
        The widget's "Live" checkbox; turned off here when the image is too large.
    layer : callable
        ``layer() -> Labels or None``: the layer whose strokes trigger a re-run.
    allowed : callable
        ``allowed() -> bool``: whether the current image is small enough for live mode.
    trigger : callable
        ``trigger()``: run the widget (called when strokes pause).
    is_enabled : callable
        ``is_enabled() -> bool``: whether a stroke may re-run now (live on, widget open).
    limit : callable
        ``limit() -> str``: the size limit in words, e.g. ``"4 Mpx per frame"``, for the notices.
    on_enabled : callable, optional
        Called after live mode is turned on and connected.
    delay_ms : int
        Debounce delay after the last stroke.
    """

    def __init__(
        self,
        parent: Any,
        checkbox: Any,
        *,
        layer: Callable[[], Any],
        allowed: Callable[[], bool],
        trigger: Callable[[], Any],
        is_enabled: Callable[[], bool],
        limit: Callable[[], str],
        on_enabled: Optional[Callable[[], Any]] = None,
        delay_ms: int = LIVE_DELAY_MS,
    ) -> None:
        from qtpy.QtCore import QTimer

        self._checkbox = checkbox
        self._layer_fn = layer
        self._allowed = allowed
        self._trigger = trigger
        self._is_enabled = is_enabled
        self._limit = limit
        self._on_enabled = on_enabled
        self._layer: Optional["weakref.ref"] = None
        self._delay_ms = int(delay_ms)
        self._event = None
        self.timer = QTimer(parent)
        self.timer.setSingleShot(True)
        self.timer.setInterval(delay_ms)
        self.timer.timeout.connect(self._on_timer)
        checkbox.changed.connect(self.toggled)

    # ----------------------------------------------------------------- hooks
    def toggled(self, value: bool) -> None:
        """The checkbox changed (or the watched layer must be re-chosen)."""
        if value and not self._allowed():
            self._checkbox.value = False  # re-enters with False and disconnects
            show_info(f"Live mode is for images up to {self._limit()}; use Run for this image")
            return
        self.connect(self._layer_fn() if value else None)
        if value and self._on_enabled is not None:
            self._on_enabled()

    def layer_changed(self, _value=None) -> None:
        """Follow a newly chosen layer while live mode is on."""
        if self._checkbox.value:
            self.connect(self._layer_fn())

    def check_size(self) -> None:
        """Turn live mode off (with a notice) when the current image is too large."""
        if self._checkbox.value and not self._allowed():
            self._checkbox.value = False
            show_info(f"Live mode turned off: this image has more than {self._limit()}")

    def shutdown(self) -> None:
        """Stop the timer and disconnect from the watched layer."""
        try:
            self.timer.stop()
        except RuntimeError:  # the Qt object is already deleted
            pass
        self.connect(None)

    # -------------------------------------------------------------- plumbing
    def connect(self, layer: Any) -> None:
        """Watch ``layer``'s strokes (``None``: watch nothing)."""
        previous = self._layer() if self._layer is not None else None
        if previous is not None and self._event is not None:
            self._event.disconnect(self._on_painted)
        self._layer, self._event = None, None
        if layer is None:
            return
        paint = getattr(layer.events, "paint", None)
        event = paint or layer.events.data
        self.timer.setInterval(self._delay_ms if paint is not None else max(self._delay_ms, LIVE_DATA_DELAY_MS))
        event.connect(self._on_painted)
        self._layer, self._event = weakref.ref(layer), event

    def forget(self, layer: Any) -> None:
        """Stop watching ``layer`` (it is being removed from the viewer)."""
        current = self._layer() if self._layer is not None else None
        if current is not None and current is layer:
            self.timer.stop()
            self.connect(None)

    def _on_painted(self, event=None) -> None:
        if self._is_enabled():
            self.timer.start()  # restarts: the re-run happens once strokes pause

    def _on_timer(self) -> None:
        if self._is_enabled():
            self._trigger()
