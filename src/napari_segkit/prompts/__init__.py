"""Prompts that become objects: clicks (positive and negative points) and boxes.

:func:`segment_clicks` turns points into instance labels; :class:`ClickSegmenter`
is the interactive session behind it (one click at a time, each answered in a
crop around the object it concerns).
"""

from __future__ import annotations

from .clicks import ClickSegmenter, segment_clicks
from .scale import estimate_radius

__all__ = ["ClickSegmenter", "estimate_radius", "segment_clicks"]
