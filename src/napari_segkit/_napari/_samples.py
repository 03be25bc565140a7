"""npe2 sample-data contributions: synthetic nuclei with seeds and ground truth.

Each function returns napari ``LayerData`` tuples ``(data, kwargs, layer_type)``:
the image, the ground-truth labels (hidden) and the example seeds
(1 = nuclei, 2 = background), all on the same grid.
"""

from __future__ import annotations

from typing import List, Tuple

from .. import samples

__all__ = ["nuclei_2d", "nuclei_3d", "nuclei_time_series"]

LayerData = Tuple[object, dict, str]


def _layers(sample: samples.Sample, scale) -> List[LayerData]:
    name = sample.name
    return [
        (sample.image, {"name": name, "scale": scale, "colormap": "gray"}, "image"),
        (sample.labels, {"name": f"{name} ground truth", "scale": scale, "visible": False}, "labels"),
        (sample.seeds, {"name": f"{name} seeds", "scale": scale}, "labels"),
    ]


def nuclei_2d() -> List[LayerData]:
    """A 256 x 256 nuclear stain with ground truth and seeds."""
    sample = samples.nuclei_2d()
    return _layers(sample, sample.spacing)


def nuclei_3d() -> List[LayerData]:
    """A 24 x 128 x 128 volume with voxels four times deeper than wide (scale 4, 1, 1)."""
    sample = samples.nuclei_3d()
    return _layers(sample, sample.spacing)


def nuclei_time_series() -> List[LayerData]:
    """Eight 160 x 160 frames of drifting nuclei; seeds on the first frame only."""
    sample = samples.nuclei_time_series()
    return _layers(sample, sample.spacing)
