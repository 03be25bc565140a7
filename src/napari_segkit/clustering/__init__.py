"""Pixel clustering: K-means and mean shift over intensity, colour and position.

Heavy modules (scikit-learn, dask.array) load when a function needs them.
"""

from __future__ import annotations

from .instances import clusters_to_instances
from .kmeans import kmeans
from .mean_shift import estimate_bandwidth, mean_shift

__all__ = ["clusters_to_instances", "estimate_bandwidth", "kmeans", "mean_shift"]
