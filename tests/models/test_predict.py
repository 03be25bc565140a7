"""predict_probabilities / predict_labels: tiled == whole, dask == numpy, seams, inputs."""

import warnings

import numpy as np
import pytest

from _model_helpers import instance_f1, same_up_to_permutation, touching_nuclei
from napari_segkit import Cancelled, InputError
from napari_segkit.models import predict_labels, predict_probabilities


@pytest.fixture(scope="module")
def image():
    return touching_nuclei((120, 136), n=30, seed=4)


def test_whole_image_probabilities(trained, image, one_thread):
    model, _ = trained
    prob = predict_probabilities(image[0], model)
    assert prob.shape == image[0].shape + (3,) and prob.dtype == np.float32
    np.testing.assert_allclose(prob.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("tile, overlap", [((64, 64), 0.0), ((72, 100), 0.25), ((60, 136), 0.5)])
def test_tiled_equals_untiled(trained, image, one_thread, tile, overlap):
    model, _ = trained
    whole = predict_probabilities(image[0], model)
    tiled = predict_probabilities(image[0], model, tile_shape=tile, overlap=overlap, batch_size=2)
    assert np.abs(tiled - whole).max() <= 1e-5


@pytest.mark.parametrize("chunks", [(32, 32), (40, 72), (120, 50)])
def test_dask_equals_numpy(trained, image, one_thread, chunks):
    import dask.array as da

    model, _ = trained
    whole = predict_probabilities(image[0], model)
    lazy = predict_probabilities(da.from_array(image[0], chunks=chunks), model, block_shape=chunks)
    assert isinstance(lazy, da.Array)
    assert np.abs(lazy.compute() - whole).max() <= 1e-5


def test_objects_on_seams_neither_split_nor_merged(trained, image, one_thread):
    import dask.array as da

    model, _ = trained
    img, truth = image
    block = 32
    seams = np.zeros(truth.shape, bool)
    seams[block::block, :] = True
    seams[:, block::block] = True
    crossing = np.unique(truth[seams & (truth > 0)])
    assert len(crossing) >= 15  # most nuclei straddle a block seam
    ref = predict_labels(img, model)
    lazy = predict_labels(da.from_array(img, chunks=block), model, block_shape=block)
    assert isinstance(lazy, da.Array)
    out = lazy.compute()
    assert same_up_to_permutation(out, ref)  # same objects, each with one id
    assert instance_f1(truth, out) >= 0.9
    # ids are unique over the volume: every id is one connected object
    from scipy import ndimage as ndi

    for i in np.unique(out[out > 0]):
        assert ndi.label(out == i)[1] == 1


def test_input_kinds_give_the_same_result(trained, image, one_thread):
    model, _ = trained
    img = image[0]
    ref = predict_probabilities(img, model)
    big_endian = img.astype(">u2")
    reversed_ro = np.ascontiguousarray(img[::-1])[::-1]
    reversed_ro.flags.writeable = False
    scaled = img.astype(np.float64) * 1000.0 + 1e6
    for variant in (big_endian, reversed_ro, scaled, img.astype(np.float16).astype(np.float32)):
        out = predict_probabilities(variant, model)
        assert np.abs(out - ref).max() < 2e-3
    before = img.copy()
    predict_probabilities(img, model)
    assert np.array_equal(img, before)


def test_small_and_odd_images(trained, one_thread):
    model, _ = trained
    for shape in [(1, 1), (2, 2), (5, 3), (33, 17)]:
        image = np.random.default_rng(0).random(shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a 1 x 1 image is constant
            prob = predict_probabilities(image, model)
            labels = predict_labels(image, model)
        assert prob.shape == shape + (3,) and labels.shape == shape


def test_leading_axes_and_singletons(trained, image, one_thread):
    model, _ = trained
    img = image[0][:48, :64]
    stack = np.stack([img, img[::-1]])
    labels = predict_labels(stack, model)
    assert labels.shape == stack.shape
    assert np.array_equal(labels[0], predict_labels(img, model))
    single = predict_probabilities(img[None], model)
    assert single.shape == (1,) + img.shape + (3,)
    trailing = predict_labels(img[..., None], model)  # (Y, X, 1): the 1 is a channel
    assert np.array_equal(trailing, predict_labels(img, model))


def test_semantic_output(trained, image, one_thread):
    model, _ = trained
    semantic = predict_labels(image[0], model, output="semantic")
    assert set(np.unique(semantic)) <= {0, 1, 2}
    assert (semantic[image[1] == 0] == 0).mean() > 0.9


def test_spacing_is_rescaled_to_the_training_voxel_size(trained, image, one_thread):
    from scipy import ndimage as ndi

    model, _ = trained
    img, truth = image
    # the same scene sampled at half the resolution in y and x
    coarse = ndi.zoom(img.astype(float), 0.5, order=1)
    coarse_truth = ndi.zoom(truth, 0.5, order=0)
    prob = predict_probabilities(coarse, model, spacing=(2.0, 2.0))
    assert prob.shape == coarse.shape + (3,)
    # the same as resampling to the model's voxel size by hand and back
    fine = predict_probabilities(ndi.zoom(coarse, 2.0, order=1, mode="nearest"), model)
    by_hand = np.stack([ndi.zoom(fine[..., k], 0.5, order=1, mode="nearest") for k in range(3)], -1)
    np.testing.assert_allclose(prob, by_hand[: prob.shape[0], : prob.shape[1]], atol=0.05)
    rescaled = predict_labels(coarse, model, spacing=(2.0, 2.0))
    plain = predict_labels(coarse, model)
    assert instance_f1(coarse_truth, rescaled) >= max(0.8, instance_f1(coarse_truth, plain))
    with pytest.warns(UserWarning, match="dask input is not rescaled"):
        import dask.array as da

        predict_probabilities(da.from_array(coarse), model, spacing=(2.0, 2.0))


def test_progress_names_device_and_cancel_stops_between_tiles(trained, image, one_thread):
    model, _ = trained
    messages = []

    def progress(fraction, message):
        messages.append(message)
        if message.startswith("tile 2/"):
            raise Cancelled()

    with pytest.raises(Cancelled):
        predict_probabilities(image[0], model, tile_shape=64, progress=progress)
    assert messages[0] == "running on CPU: no CUDA or MPS device found"
    assert messages[-1].startswith("tile 2/")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(channel_axis=-1, image=np.zeros((32, 32, 3))), "model expects 1 input channel"),
        (dict(image=np.zeros(32)), "the model is 2-D but image has 1 non-channel"),
        (dict(image=np.full((32, 32), np.inf)), "infinite"),
        (dict(tile_shape=(64,)), "tile_shape must be 2 positive integers"),
        (dict(tile_shape=40), "leaves no core"),
        (dict(overlap=1.0), "overlap must be a fraction"),
        (dict(spacing=(0.0, 1.0)), "spacing values must be positive"),
        (dict(device="cuda:3"), r"device 'cuda:3' is not present .*available: cpu"),
        (dict(output="boxes"), "output must be 'instances' or 'semantic'"),
        (dict(model=None), "model is None"),
    ],
)
def test_bad_inputs(trained, kwargs, match):
    model, _ = trained
    image = kwargs.pop("image", np.zeros((32, 32)))
    model = kwargs.pop("model", model)
    with pytest.raises(InputError, match=match), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        predict_labels(image, model, **kwargs)


def test_test_time_augmentation_averages_the_eight_views(trained, one_thread):
    import dask.array as da

    from napari_segkit import InputError
    from napari_segkit.models.tta import transforms

    model, _ = trained
    image = touching_nuclei((40, 56), n=6, seed=7)[0]
    views = []
    for forward, inverse, _swap in transforms(2):
        views.append(np.moveaxis(inverse(np.moveaxis(
            predict_probabilities(forward(image[None])[0], model), -1, 0)), 0, -1))
    expected = np.mean(views, axis=0)
    got = predict_probabilities(image, model, tta=True)
    assert np.abs(got - expected).max() <= 1e-6
    assert np.abs(got - views[0]).max() > 1e-3  # the views do differ
    # tiled == untiled holds with TTA too
    tiled = predict_probabilities(image, model, tta=True, tile_shape=2 * model.halo + 16)
    assert np.abs(tiled - got).max() <= 1e-5
    assert len(transforms(3)) == 8 and not any(swap for _, _, swap in transforms(3))
    with pytest.raises(InputError, match="needs a numpy image"):
        predict_probabilities(da.from_array(image), model, tta=True)


def test_post_processing_options():
    from napari_segkit.models.instances import instances_from_probabilities

    # two touching squares of interior with a boundary line between, and a speck
    prob = np.zeros((40, 40, 3), np.float32)
    prob[..., 0] = 1.0
    for ys, xs in [(slice(5, 20), slice(5, 19)), (slice(5, 20), slice(21, 35)), (slice(30, 33), slice(30, 33))]:
        prob[ys, xs] = (0.0, 1.0, 0.0)
    prob[5:20, 19:21] = (0.0, 0.2, 0.8)
    prob[25:28, 5:35] = (0.6, 0.0, 0.4)  # a doubtful band: foreground only below threshold 0.4
    labels = instances_from_probabilities(prob)
    assert len(np.unique(labels)) == 4  # background, two squares, the speck
    assert labels[5:20, 5:19].max() != labels[5:20, 21:35].max()
    assert len(np.unique(instances_from_probabilities(prob, min_size=10))) == 3  # the 3x3 speck goes
    assert (instances_from_probabilities(prob, min_size=10) > 0).sum() == 2 * 15 * 15  # boundary shared out
    # the doubtful band joins no object: it has no seed either way, the foreground mask alone changes
    assert not instances_from_probabilities(prob, foreground_threshold=0.3)[25:28].any()
