"""Layer <-> array conversion and the worker's job runner, without a window."""

from __future__ import annotations

import threading
import numpy as np
import pytest

pytest.importorskip("napari")

from napari.layers import Image, Labels, Points

from napari_segkit import InputError, ResourceLimitError, estimate_graph_cut_memory, graph_cut
from napari_segkit._napari import _layers
from napari_segkit._napari._graph_cut_job import (
    GraphCutJob,
    choose_level,
    downsample_seeds,
    run_graph_cut_job,
)
from napari_segkit._napari._layers import image_input, output_layer_kwargs, seeds_snapshot
from napari_segkit.samples import nuclei_2d


@pytest.fixture(scope="module")
def sample():
    return nuclei_2d()


def test_grey_image_keeps_scale_and_translate(sample):
    layer = Image(sample.image, name="img", scale=(2, 0.5), translate=(10, -3))
    image = image_input(layer)
    assert image.channel_axis is None and image.n_channels == 1
    assert image.shape == (256, 256)
    assert image.scale == (2.0, 0.5) and image.translate == (10.0, -3.0)
    assert image.spacing(None) == (2.0, 0.5)
    kwargs = output_layer_kwargs(image, method="graph cut")
    assert kwargs["name"] == "img graph cut"
    assert kwargs["scale"] == (2.0, 0.5) and kwargs["translate"] == (10.0, -3.0)


def test_negative_scale_gives_positive_spacing(sample):
    image = image_input(Image(sample.image, scale=(-1.5, 1)))
    assert image.spacing(None) == (1.5, 1.0)
    assert output_layer_kwargs(image, method="graph cut")["scale"] == (-1.5, 1.0)


@pytest.mark.parametrize("channels", [3, 4])
def test_rgb_and_rgba(channels):
    data = np.zeros((40, 50, channels), dtype=np.uint8)
    layer = Image(data, rgb=True, name="colour")
    image = image_input(layer, channel_axis=0)  # ignored for RGB
    assert image.channel_axis == 2 and image.n_channels == 3
    assert image.drop_alpha is (channels == 4)
    assert image.shape == (40, 50)
    assert _layers.load_level(image, 0).shape == (40, 50, 3)


def test_channel_axis_first_removes_it_from_scale():
    layer = Image(np.zeros((2, 30, 40)), scale=(1, 2, 3), translate=(0, 5, 6))
    image = image_input(layer, channel_axis=0)
    assert image.channel_axis == 0 and image.n_channels == 2
    assert image.shape == (30, 40) and image.scale == (2.0, 3.0) and image.translate == (5.0, 6.0)
    last = image_input(Image(np.zeros((30, 40, 2))), channel_axis=-1)
    assert last.channel_axis == 2 and last.shape == (30, 40)


def test_zero_scale_refused():
    # napari refuses a zero scale itself; a layer subclass can still report one
    class ZeroScale(Image):
        scale = property(lambda self: np.array([0.0, 1.0]), lambda self, value: None)

    with pytest.raises(InputError, match=r"'flat' has scale \(0, 1\)"):
        image_input(ZeroScale(np.zeros((8, 8)), name="flat"))


def test_wrong_layer_types_named():
    with pytest.raises(InputError, match="Points layer 'pts'.*napari.layers.Image"):
        image_input(Points(np.zeros((1, 2)), name="pts"))
    image = image_input(Image(np.zeros((8, 8))))
    with pytest.raises(InputError, match="Image layer 'x'.*napari.layers.Labels"):
        seeds_snapshot(Image(np.zeros((8, 8)), name="x"), image)


def test_seeds_shape_mismatch_names_both_layers(sample):
    image = image_input(Image(sample.image, name="img"))
    seeds = Labels(np.zeros((10, 256, 256), dtype=np.int32), name="seeds")
    with pytest.raises(InputError, match=r"labels 'seeds' shape \(10, 256, 256\).*image 'img' shape \(256, 256\)"):
        seeds_snapshot(seeds, image)


@pytest.mark.parametrize("attr", [{"scale": (2, 1)}, {"translate": (0, 4)}])
def test_seeds_on_another_grid_refused(sample, attr):
    image = image_input(Image(sample.image, name="img"))
    seeds = Labels(sample.seeds, name="seeds", **attr)
    with pytest.raises(InputError, match="labels 'seeds'.*image 'img'.*same pixel grid"):
        seeds_snapshot(seeds, image)


def test_seeds_snapshot_is_a_copy(sample):
    layer = Labels(sample.seeds.copy(), name="seeds")
    snapshot = seeds_snapshot(layer, image_input(Image(sample.image)))
    layer.data[:] = 0
    assert np.array_equal(snapshot, sample.seeds)


def test_rotation_is_copied_to_the_output(sample):
    layer = Image(sample.image, rotate=30, name="tilted")
    image = image_input(layer)
    assert "rotate" in output_layer_kwargs(image, method="graph cut")
    with pytest.raises(InputError, match="rotate/shear/affine"):
        seeds_snapshot(Labels(sample.seeds), image)
    assert seeds_snapshot(Labels(sample.seeds, rotate=30), image).shape == (256, 256)


def test_downsample_keeps_thin_strokes():
    seeds = np.zeros((8, 8), dtype=np.int32)
    seeds[3, :] = 2  # a one-pixel line
    seeds[6, 6] = 1
    small = downsample_seeds(seeds, (2, 2), (4, 4))
    assert small.shape == (4, 4)
    assert (small[1] == 2).all() and small[3, 3] == 1
    assert downsample_seeds(seeds, (1, 1), (8, 8)) is seeds


def _pyramid(image):
    return Image([image, image[::2, ::2]], multiscale=True, name="pyr", scale=(0.5, 0.5),
                 translate=(3, 4), contrast_limits=(0, 4095))


def _budget(shape):
    return estimate_graph_cut_memory(shape, n_labels=2).total_bytes


def test_multiscale_picks_finest_level_that_fits(sample):
    image = image_input(_pyramid(sample.image))
    assert image.n_levels == 2 and image.level_shape(1) == (128, 128)
    assert choose_level(image, memory_limit=10**12) == 0
    between = (_budget((256, 256)) + _budget((128, 128))) // 2
    assert choose_level(image, memory_limit=between) == 1
    assert output_layer_kwargs(image, 1, method="graph cut")["scale"] == (1.0, 1.0)
    assert output_layer_kwargs(image, 1, method="graph cut")["translate"] == (3.0, 4.0)
    with pytest.raises(ResourceLimitError, match="crop the image"):
        choose_level(image, memory_limit=1000)


def test_job_on_coarse_level(sample):
    image = image_input(_pyramid(sample.image))
    between = (_budget((256, 256)) + _budget((128, 128))) // 2
    result = run_graph_cut_job(GraphCutJob(image=image, seeds=sample.seeds.copy(), memory_limit=between))
    assert result.error is None and result.level == 1
    assert result.labels.shape == (128, 128)
    truth = sample.labels[::2, ::2] > 0
    fg = result.labels == 1
    assert (fg & truth).sum() / (fg | truth).sum() > 0.8


def test_lazy_image_not_read_before_memory_check(sample):
    da = pytest.importorskip("dask.array")
    reads = []

    def count(block):
        reads.append(block.shape)
        return block

    lazy = da.from_array(sample.image, chunks=64).map_blocks(count, dtype=sample.image.dtype)
    layer = Image(lazy, name="lazy", contrast_limits=(0, 4095))
    image = image_input(layer)
    reads.clear()
    result = run_graph_cut_job(GraphCutJob(image=image, seeds=sample.seeds.copy(), memory_limit=1000))
    assert result.labels is None and "memory" in result.error
    assert reads == []
    result = run_graph_cut_job(GraphCutJob(image=image, seeds=sample.seeds.copy()))
    assert result.error is None and reads
    assert np.array_equal(result.labels, graph_cut(sample.image, sample.seeds))


def test_job_cancel_and_errors(sample):
    image = image_input(Image(sample.image))
    job = GraphCutJob(image=image, seeds=sample.seeds.copy())
    job.cancel()
    assert run_graph_cut_job(job).cancelled

    one_value = (sample.seeds == 1).astype(np.int32)
    result = run_graph_cut_job(GraphCutJob(image=image, seeds=one_value))
    assert result.labels is None and "paint at least 2 regions" in result.error


def test_cancel_from_progress_stops_between_frames():
    from napari_segkit.samples import nuclei_time_series

    sample = nuclei_time_series()
    image = image_input(Image(sample.image))
    job = GraphCutJob(image=image, seeds=sample.seeds.copy(), spatial_dims=2)
    frames = []

    def progress(fraction, message):
        frames.append(message)
        if "frame 2/" in message:
            job.cancel()

    result = run_graph_cut_job(job, progress)
    assert result.cancelled and result.labels is None
    assert not any("frame 3/" in m for m in frames)


def test_job_runs_in_a_plain_thread(sample):
    image = image_input(Image(sample.image))
    out = {}
    thread = threading.Thread(
        target=lambda: out.setdefault("r", run_graph_cut_job(GraphCutJob(image=image, seeds=sample.seeds.copy())))
    )
    thread.start()
    thread.join(30)
    assert out["r"].labels.shape == (256, 256)
