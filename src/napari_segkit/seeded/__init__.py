"""Seeded region growing: random walker and watershed.

Both take seeds as painted for :func:`napari_segkit.graph_cut` (0 =
unlabelled, each positive value one region) and give every pixel the value
of one seed region, with the background seed value mapped to 0.

- :mod:`.random_walker`: :func:`random_walker`, scikit-image's random walker
  (Grady 2006) with spacing, channels and frame-by-frame time series.
- :mod:`.watershed`: :func:`watershed`, a seeded watershed on the intensity
  or the gradient magnitude.
"""

from .random_walker import random_walker
from .watershed import watershed

__all__ = ["random_walker", "watershed"]
