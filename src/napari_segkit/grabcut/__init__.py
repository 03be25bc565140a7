"""GrabCut for microscopy: boxes and scribbles, 2-D and 3-D, any channels, many objects.

See :func:`grabcut` and, for box files, :func:`read_boxes`.
"""

from .api import DEFAULT_SMOOTHNESS, GrabCutReport, ObjectReport, grabcut
from .box_files import read_boxes

__all__ = ["DEFAULT_SMOOTHNESS", "GrabCutReport", "ObjectReport", "grabcut", "read_boxes"]
