"""The one image front end (napari_segkit._image.parse_image): axes named, frames, one-image methods."""

from __future__ import annotations

import numpy as np
import pytest

from napari_segkit import InputError, crf_refine, graph_cut_refine, normalized_cut, spectral_clustering
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
    lambda image: crf_refine(image, np.full(image.shape, 0.5)),
    lambda image: graph_cut_refine(image, np.full(image.shape, 0.5)),
])
def test_refinement_refuses_a_series_through_the_front_end(call):
    with pytest.raises(InputError, match=r"accepts 2-D or 3-D images with an optional channel axis; image has "
                                         r"shape \(2, 2, 8, 8\) \(4 non-channel"):
        call(np.zeros((2, 2, 8, 8)))


def test_normalized_cut_and_spectral_clustering_cut_a_series_frame_by_frame():
    frame = np.zeros((12, 12))
    frame[:, 6:] = 1.0  # two halves
    series = np.stack([frame, frame[:, ::-1]])  # (T, Y, X)
    # segments numbered in raster order within each frame, then offset by the ids of the frames before
    expected = np.stack([np.where(frame > 0, 2, 1), np.where(frame[:, ::-1] > 0, 3, 4)])
    np.testing.assert_array_equal(normalized_cut(series, n_segments=2, spatial_dims=2, rng=0), expected)
    np.testing.assert_array_equal(spectral_clustering(series, 2, spatial_dims=2, rng=0), expected)
    # the caller's superpixels of the series' shape are used frame by frame
    superpixels = np.stack([np.arange(1, 13)[None, :].repeat(12, axis=0)] * 2)  # one superpixel per column
    labels = normalized_cut(series, n_segments=2, spatial_dims=2, superpixels=superpixels, rng=0)
    np.testing.assert_array_equal(labels, expected)
