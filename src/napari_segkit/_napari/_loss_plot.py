"""A small live plot of training and validation loss per epoch (QPainter; no plotting library).

``LossPlot.add(epoch, loss, val_loss)`` appends a point and repaints; the
training curve is drawn in light blue, validation in orange, the best
validation epoch marked with a dot.  Axis ends are labelled with the
epoch count and the loss range.  Qt is imported when the widget is made.
"""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

__all__ = ["LossPlot"]


def LossPlot(parent=None):  # noqa: N802 (a factory standing in for a class)
    """A QWidget that plots losses; see the module docstring."""
    from qtpy.QtCore import QPointF, QRectF, Qt
    from qtpy.QtGui import QColor, QPainter, QPainterPath, QPen
    from qtpy.QtWidgets import QSizePolicy, QWidget

    class _LossPlot(QWidget):
        def __init__(self, parent=None) -> None:
            super().__init__(parent)
            self.points: List[Tuple[int, Optional[float], Optional[float]]] = []
            self.setMinimumHeight(120)
            self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            self.setToolTip("Training (blue) and validation (orange) loss per epoch; dot: best epoch")

        def clear(self) -> None:
            self.points = []
            self.update()

        def add(self, epoch: int, loss: Optional[float], val_loss: Optional[float]) -> None:
            self.points.append((int(epoch), loss, val_loss))
            self.update()

        def series(self, index: int) -> List[Tuple[int, float]]:
            return [(p[0], float(p[index])) for p in self.points
                    if p[index] is not None and math.isfinite(float(p[index]))]

        def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
            painter = QPainter(self)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            rect = QRectF(self.rect()).adjusted(36, 8, -8, -18)
            painter.setPen(QPen(QColor(140, 140, 140), 1))
            painter.drawRect(rect)
            train, val = self.series(1), self.series(2)
            values = [v for _, v in train + val]
            if not values:
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "loss per epoch appears here")
                return
            lo, hi = min(values), max(values)
            if hi - lo < 1e-9:
                hi = lo + 1e-3
            last = max(max(e for e, _ in train + val), 2)

            def point(epoch: int, value: float) -> QPointF:
                x = rect.left() + (epoch - 1) / (last - 1) * rect.width()
                y = rect.bottom() - (value - lo) / (hi - lo) * rect.height()
                return QPointF(x, y)

            for data, colour in ((train, QColor(80, 170, 255)), (val, QColor(255, 150, 40))):
                if not data:
                    continue
                path = QPainterPath(point(*data[0]))
                for e, v in data[1:]:
                    path.lineTo(point(e, v))
                painter.setPen(QPen(colour, 2))
                painter.drawPath(path)
            if val:
                best = min(val, key=lambda p: p[1])
                painter.setBrush(QColor(255, 150, 40))
                painter.drawEllipse(point(*best), 3.5, 3.5)
            painter.setPen(QPen(QColor(200, 200, 200), 1))
            painter.drawText(QPointF(2, rect.top() + 10), f"{hi:.3g}")
            painter.drawText(QPointF(2, rect.bottom()), f"{lo:.3g}")
            painter.drawText(QPointF(rect.right() - 60, self.height() - 4), f"epoch {last}")

    return _LossPlot(parent)
