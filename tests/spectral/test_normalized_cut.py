import numpy as np
import pytest
from skimage.segmentation import slic

from napari_segkit import Cancelled, InputError, ResourceLimitError
from napari_segkit.spectral import normalized_cut

from spectral_cases import ari, regions_2d, same_partition, texture_2d


@pytest.mark.parametrize("method", ["recursive", "kway"])
def test_three_regions_on_pixels(method):
    image, truth = regions_2d()
    labels = normalized_cut(image, n_segments=3, method=method)
    assert labels.dtype == np.int32 and labels.shape == image.shape
    assert same_partition(labels, truth)


def test_labels_numbered_by_first_pixel():
    image, truth = regions_2d()
    labels = normalized_cut(image, n_segments=3)
    # background holds pixel (0, 0); the square comes before the rectangle in raster order
    assert labels[0, 0] == 1
    assert np.all(labels[truth == 1] == 2) and np.all(labels[truth == 2] == 3)


def test_two_halves_doc_example():
    image = np.zeros((30, 30))
    image[:, 15:] = 1
    labels = normalized_cut(image, n_segments=2)
    assert np.all(labels[:, :15] == 1) and np.all(labels[:, 15:] == 2)


def test_threshold_stops_splitting():
    image, truth = regions_2d()
    labels = normalized_cut(image)  # default threshold, no n_segments
    assert same_partition(labels, truth)
    assert np.unique(normalized_cut(image, threshold=1e-12)).size == 1


def test_deterministic_and_rng_reproducible():
    image, _ = regions_2d(noise=0.08, seed=3)
    a = normalized_cut(image, n_segments=4, rng=5)
    b = normalized_cut(image, n_segments=4, rng=np.random.default_rng(5))
    c = normalized_cut(image, n_segments=4, rng=5)
    assert np.array_equal(a, b) and np.array_equal(a, c)


def test_texture_regions_of_equal_mean_on_superpixels():
    image, truth = texture_2d()
    assert abs(image[truth == 1].mean() - image[truth == 0].mean()) < 0.01
    # texture statistics need superpixels much larger than the grain (the object-scale default
    # sees the grain as the objects)
    with_texture = normalized_cut(image, n_segments=2, superpixels="slic", n_superpixels=400, texture_weight=1.0)
    without = normalized_cut(image, n_segments=2, superpixels="slic", n_superpixels=400, texture_weight=0.0)
    assert ari(truth, with_texture) > 0.7
    assert ari(truth, without) < 0.3  # the intensity alone cannot see the disc


def test_given_superpixels_equal_auto_slic():
    image, _ = regions_2d(shape=(96, 96), noise=0.05)
    # a float image with min 0 and max 1 is used as is, so skimage's slic sees the same data
    image = (image - image.min()) / (image.max() - image.min())
    sp = slic(image, n_segments=100, compactness=0.1, sigma=1.0, channel_axis=None, start_label=1)
    auto = normalized_cut(image, n_segments=3, superpixels="slic", n_superpixels=100)
    given = normalized_cut(image, n_segments=3, superpixels=sp)
    assert np.array_equal(auto, given)
    # a segment never splits a superpixel
    for value in np.unique(sp):
        assert np.unique(given[sp == value]).size == 1


def test_auto_slic_on_a_noisy_rgb_image_keeps_the_regions():
    # without pre-smoothing, skimage's SLIC left this image as one superpixel (and one segment)
    from napari_segkit.samples import voronoi_rgb

    sample = voronoi_rgb((256, 256), n_regions=5, noise=20.0, rng=1)
    labels = normalized_cut(sample.image, channel_axis=-1, superpixels="slic", n_superpixels=200, n_segments=5)
    assert ari(sample.labels, labels) > 0.9


def test_degenerate_slic_is_retried_then_reported(monkeypatch):
    import skimage.segmentation

    from napari_segkit.spectral.affinity import slic_superpixels

    calls = []

    def one_superpixel(data, **kwargs):
        calls.append(kwargs["compactness"])
        return np.ones(data.shape[:-1], dtype=np.int64)

    monkeypatch.setattr(skimage.segmentation, "slic", one_superpixel)
    with pytest.warns(UserWarning, match="SLIC gave a superpixel of 4,096 pixels .*compactness 9"):
        slic_superpixels(np.zeros((64, 64, 1)), (1.0, 1.0), n_superpixels=100, compactness=1.0)
    assert calls == [1.0, 3.0, 9.0]


def test_superpixel_zero_is_left_out():
    image, truth = regions_2d()
    sp = np.arange(image.size).reshape(image.shape) % 7 + 1
    sp[:, :4] = 0
    labels = normalized_cut(image, n_segments=2, superpixels=sp)
    assert np.all(labels[:, :4] == 0) and np.all(labels[:, 4:] > 0)


def test_3d_anisotropic_spacing():
    rng = np.random.default_rng(0)
    truth = np.zeros((6, 20, 20), dtype=np.int32)
    truth[2:5, 5:15, 5:15] = 1
    image = truth * 0.8 + 0.1 + rng.normal(0, 0.03, truth.shape)
    labels = normalized_cut(image, n_segments=2, spacing=(3.0, 1.0, 1.0))
    assert labels.shape == image.shape
    assert same_partition(labels, truth)
    labels_sp = normalized_cut(image, n_segments=2, spacing=(3.0, 1.0, 1.0), superpixels="slic", n_superpixels=60)
    assert ari(truth, labels_sp) > 0.9


def test_rgb_channel_axis_first_and_last_agree():
    image, truth = regions_2d()
    rgb = np.stack([image, 1 - image, 0.5 * image], axis=-1)
    last = normalized_cut(rgb, n_segments=3, channel_axis=-1)
    first = normalized_cut(np.moveaxis(rgb, -1, 0), n_segments=3, channel_axis=0)
    assert np.array_equal(last, first)
    assert same_partition(last, truth)


def test_progress_and_cancel():
    image, _ = regions_2d()
    seen = []
    normalized_cut(image, n_segments=3, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)

    calls = []

    def cancel(fraction, message):
        calls.append(message)
        if "segments" in message:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        normalized_cut(image, n_segments=3, progress=cancel)
    assert sum("segments" in m for m in calls) == 1  # stopped after the first split


def test_pixel_graph_refused_over_memory_limit():
    image, _ = regions_2d()
    with pytest.raises(ResourceLimitError, match="superpixels"):
        normalized_cut(image, n_segments=2, superpixels="pixels", memory_limit=1000)


def test_large_image_uses_superpixels_with_warning():
    image, _ = regions_2d(shape=(160, 160))
    with pytest.warns(UserWarning, match="SLIC superpixels"):
        labels = normalized_cut(image, n_segments=3, n_superpixels=80)
    assert labels.shape == image.shape


def test_kway_needs_n_segments():
    with pytest.raises(InputError, match="kway"):
        normalized_cut(np.zeros((8, 8)), method="kway")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "spectral"}, "method"),
        ({"n_segments": 0}, "n_segments"),
        ({"n_segments": 2.5}, "n_segments"),
        ({"threshold": -1.0}, "threshold"),
        ({"superpixels": "watershed"}, "superpixels"),
        ({"superpixels": np.ones((5, 5), int)}, "superpixels has shape"),
        ({"superpixels": np.ones((16, 16))}, "integer"),
        ({"solver": "magic"}, "solver"),
        ({"solver": "amg"}, "pyamg"),
        ({"rng": "seed"}, "rng"),
        ({"contrast": float("nan")}, "contrast"),
    ],
)
def test_bad_options(kwargs, match):
    image = np.random.default_rng(0).random((16, 16))
    if kwargs.get("solver") == "amg":
        pytest.importorskip("numpy")
        try:
            import pyamg  # noqa: F401

            pytest.skip("pyamg is installed")
        except ImportError:
            pass
    with pytest.raises(InputError, match=match):
        normalized_cut(image, **kwargs)
