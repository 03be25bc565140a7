"""The one image front end (napari_segkit._image.parse_image): axes named, frames, one-image methods."""

from __future__ import annotations

import numpy as np
import pytest

from napari_segkit import InputError, crf_refine, normalized_cut
from napari_segkit._image import parse_image


def test_frames_are_the_leading_axes():
    parsed = parse_image(np.zeros((4, 5, 6, 7, 2)), method="m", channel_axis=-1, spatial_dims=2)
    assert (parsed.frame_shape, parsed.spatial_shape, parsed.n_channels) == ((4, 5), (6, 7), 2)
    assert parse_image(np.zeros((5, 6, 7, 8)), method="m").frame_shape == (5,)  # default: 3-D volumes


def test_one_image_methods_take_every_non_channel_axis_as_spatial():
    parsed = parse_image(np.zeros((3, 6, 7)), method="m", frames=False)
    assert (parsed.frame_shape, parsed.spatial_shape) == ((), (3, 6, 7))
    assert parse_image(np.zeros((6, 7, 3)), method="m", channel_axis=-1, frames=False).spatial_shape == (6, 7)
    with pytest.raises(InputError, match=r"m accepts 2-D or 3-D images .* shape \(2, 3, 6, 7\) \(4 non-channel "
                                         r"dimension\(s\); pass channel_axis if one axis holds channels\)"):
        parse_image(np.zeros((2, 3, 6, 7)), method="m", frames=False)
    with pytest.raises(InputError, match=r"shape \(9,\) \(1 non-channel dimension\(s\)"):
        parse_image(np.zeros(9), method="m", frames=False)


@pytest.mark.parametrize("call", [
    lambda image: normalized_cut(image, n_segments=2),
    lambda image: crf_refine(image, np.full(image.shape, 0.5)),
])
def test_refinement_and_graph_methods_refuse_a_series_through_the_front_end(call):
    with pytest.raises(InputError, match=r"accepts 2-D or 3-D images with an optional channel axis; image has "
                                         r"shape \(2, 2, 8, 8\) \(4 non-channel"):
        call(np.zeros((2, 2, 8, 8)))
