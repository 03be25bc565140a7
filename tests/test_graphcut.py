"""Seeded graph cut: exact outcomes on small synthetic images."""

import warnings

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_segkit import Cancelled, InputError, ResourceLimitError, graph_cut
from napari_segkit.samples import nuclei_2d, nuclei_3d, nuclei_time_series

pytest.importorskip("maxflow")


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.fixture(scope="module")
def two_regions():
    """A noisy step: left half dark, right half bright, with one seed line each."""
    rng = np.random.default_rng(0)
    truth = np.zeros((40, 50), dtype=np.int32)
    truth[:, 25:] = 1
    image = 0.3 + 0.4 * truth + rng.normal(0, 0.06, truth.shape)
    seeds = np.zeros(truth.shape, dtype=np.int32)
    seeds[5:35, 5] = 7
    seeds[5:35, 45] = 9
    return image, seeds, np.where(truth == 1, 9, 7)


def test_locality_keeps_labels_near_their_seeds(two_regions):
    image, seeds, expected = two_regions
    flat = np.full_like(image, 0.5)  # no appearance cue: distance alone decides
    with pytest.warns(UserWarning, match="constant"):
        out = graph_cut(flat, seeds, locality=0.1, smoothness=0.01, background=None)
    np.testing.assert_array_equal(out[:, :20], 7)
    np.testing.assert_array_equal(out[:, 30:], 9)


def test_two_regions_exact(two_regions):
    image, seeds, expected = two_regions
    out = graph_cut(image, seeds, background=None)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, expected)


def test_zero_smoothness_is_pixelwise_and_noisier(two_regions):
    image, seeds, expected = two_regions
    rough = graph_cut(image, seeds, smoothness=0, background=None)
    smooth = graph_cut(image, seeds, smoothness=2, background=None)
    assert (rough != expected).sum() > (smooth != expected).sum()


@pytest.mark.parametrize(
    "convert",
    [
        lambda v: v.astype(np.float64),
        lambda v: (v / 4095.0).astype(np.float32),
        lambda v: v.astype(np.int32) - 2000,  # negatives
        lambda v: v.astype(np.float64) * 1000.0 + 1e6,  # offset and range
        lambda v: v.astype(">u2"),  # big-endian, as some TIFFs are
        lambda v: np.ascontiguousarray(v[:, ::-1])[:, ::-1],  # negative strides
    ],
    ids=["float64", "float32-unit", "int32-negative", "float-offset", "big-endian", "neg-strides"],
)
def test_dtype_and_layout_invariance(convert):
    sample = nuclei_2d((96, 96), n_nuclei=6)
    reference = graph_cut(sample.image, sample.seeds, background=None)
    other = convert(sample.image)
    other.setflags(write=False)
    np.testing.assert_array_equal(graph_cut(other, sample.seeds, background=None), reference)


def test_uint8_bool_images():
    truth = np.zeros((30, 30), bool)
    truth[8:20, 10:25] = True
    seeds = np.zeros(truth.shape, np.uint8)
    seeds[12, 15] = 1
    seeds[0, :] = 2
    for image in (truth, truth.astype(np.uint8) * 200):
        out = graph_cut(image, seeds, background=None)
        np.testing.assert_array_equal(out == 1, truth)


def test_input_never_mutated():
    sample = nuclei_2d((64, 64), n_nuclei=3)
    image, seeds = sample.image.copy(), sample.seeds.copy()
    graph_cut(sample.image, sample.seeds, background=None)
    np.testing.assert_array_equal(sample.image, image)
    np.testing.assert_array_equal(sample.seeds, seeds)


def test_nuclei_2d_sample_iou():
    sample = nuclei_2d()
    out = graph_cut(sample.image, sample.seeds, background=None)
    assert iou(out == 1, sample.labels > 0) >= 0.87
    # every seed respected
    seeded = sample.seeds != 0
    np.testing.assert_array_equal(out[seeded], sample.seeds[seeded])


def test_touching_cells_multi_label():
    """Two touching cells of different brightness and the background: three labels."""
    yy, xx = np.mgrid[:60, :80]
    left = (yy - 30) ** 2 + (xx - 28) ** 2 < 15**2
    right = ((yy - 30) ** 2 + (xx - 52) ** 2 < 15**2) & ~left
    rng = np.random.default_rng(0)
    image = 0.1 + 0.5 * left + 0.9 * right + rng.normal(0, 0.05, left.shape)
    seeds = np.zeros(left.shape, np.int32)
    seeds[30, 20:26] = 1
    seeds[30, 55:60] = 2
    seeds[2, :] = 3
    seeds[:, 2] = 3
    out = graph_cut(image, seeds, background=None)
    for value in (1, 2, 3):  # each region is one piece holding its seeds
        assert ndi.label(out == value)[1] == 1
    assert iou(out == 1, left) > 0.95
    assert iou(out == 2, right) > 0.95
    assert iou(out == 3, ~(left | right)) > 0.95


def test_many_cells_with_one_seed_value_each():
    sample = nuclei_2d((128, 128), n_nuclei=8, rng=3)
    seeds = np.where(sample.seeds == 1, sample.labels + 1, sample.seeds == 2).astype(np.int32)
    out = graph_cut(sample.image, seeds, progress=None, background=None)
    assert set(np.unique(out)) == set(np.unique(seeds[seeds > 0]))
    scores = [iou(out == k + 1, sample.labels == k) for k in range(1, sample.labels.max() + 1)]
    assert min(scores) > 0.8 and np.mean(scores) > 0.88, scores
    assert iou(out == 1, sample.labels == 0) > 0.97
    # without the connection constraint, cells that look alike swap pixels
    alike = graph_cut(sample.image, seeds, connected=False, background=None)
    assert np.mean([iou(alike == k + 1, sample.labels == k) for k in range(1, 9)]) < np.mean(scores)


def _geometry_problem():
    """Constant image: the cut is decided by geometry (and so by spacing) alone.

    Seeds 1 fill the bottom plane z = 0, seeds 2 the last x column above it.
    Cutting the free voxels from the bottom costs (W - 1) z-edges per row;
    cutting them from the column costs (Z - 1) x-edges.
    """
    shape = (5, 3, 9)  # Z, Y, X
    seeds = np.zeros(shape, np.int32)
    seeds[0] = 1
    seeds[1:, :, -1] = 2
    return np.zeros(shape, np.float32), seeds


def test_spacing_changes_the_cut_in_3d():
    image, seeds = _geometry_problem()
    free = seeds == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # constant image
        iso = graph_cut(image, seeds, background=None)
        aniso = graph_cut(image, seeds, spacing=(4, 1, 1), background=None)
        units = graph_cut(image, seeds, spacing=(2.0, 0.5, 0.5), background=None)  # same ratios
    # isotropic: 4 x-edges per row are cheaper than 8 z-edges -> free voxels join the bottom
    assert np.all(iso[free] == 1)
    # z-steps 4x longer -> z-edges 4x cheaper: 8/4 = 2 < 4 -> free voxels join the column
    assert np.all(aniso[free] == 2)
    np.testing.assert_array_equal(units, aniso)


def test_constant_image_warns():
    image, seeds = _geometry_problem()
    with pytest.warns(UserWarning, match="image is constant"):
        graph_cut(image, seeds, background=None)


def test_nuclei_3d_anisotropic_sample():
    sample = nuclei_3d()
    out = graph_cut(sample.image, sample.seeds, spacing=sample.spacing, background=None)
    assert out.shape == sample.image.shape
    assert iou(out == 1, sample.labels > 0) >= 0.88


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_3d_connectivities(connectivity):
    sample = nuclei_3d((16, 64, 64), n_nuclei=3, rng=2)
    out = graph_cut(sample.image, sample.seeds, spacing=sample.spacing, connectivity=connectivity, background=None)
    assert iou(out == 1, sample.labels > 0) >= 0.8


def test_time_series_frame_by_frame_with_seeds_on_first_frame():
    sample = nuclei_time_series(n_frames=4, shape=(96, 96), n_nuclei=5)
    assert not sample.seeds[1:].any()
    done = []
    out = graph_cut(sample.image, sample.seeds, spatial_dims=2, progress=lambda f, m: done.append(f), background=None)
    for t in range(4):
        assert iou(out[t] == 1, sample.labels[t] > 0) >= 0.85, t
    assert done[-1] == pytest.approx(1.0)
    assert done == sorted(done)


def test_seeds_of_one_frame_apply_to_every_frame(two_regions):
    image, seeds, expected = two_regions
    stack = np.stack([image, image[:, ::-1]])
    out = graph_cut(stack, seeds, spatial_dims=2, background=None)
    np.testing.assert_array_equal(out[0], expected)
    assert out.shape == stack.shape


def test_singleton_leading_axis_matches_2d(two_regions):
    image, seeds, expected = two_regions
    out = graph_cut(image[np.newaxis], seeds[np.newaxis], background=None)
    np.testing.assert_array_equal(out[0], expected)


def test_colour_separates_what_grey_cannot():
    """Red disk on a green background of the same brightness."""
    yy, xx = np.mgrid[:40, :40]
    disk = (yy - 20) ** 2 + (xx - 20) ** 2 < 10**2
    rgb = np.zeros((40, 40, 3), np.uint8)
    rgb[disk] = (200, 0, 0)
    rgb[~disk] = (0, 200, 0)
    seeds = np.zeros((40, 40), np.int32)
    seeds[20, 20] = 1
    seeds[0, 0] = 2
    out = graph_cut(rgb, seeds, channel_axis=-1, background=None)
    np.testing.assert_array_equal(out == 1, disk)
    channels_first = np.moveaxis(rgb, -1, 0)
    np.testing.assert_array_equal(graph_cut(channels_first, seeds, channel_axis=0, background=None), out)


def test_five_channel_fluorescence():
    """The object exists only in channel 3 of five."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:40, :40]
    disk = (yy - 20) ** 2 + (xx - 20) ** 2 < 10**2
    image = rng.normal(100, 5, (5, 40, 40))
    image[3][disk] += 60
    seeds = np.zeros((40, 40), np.int32)
    seeds[18:22, 20] = 1
    seeds[0, :] = 2
    out = graph_cut(image.astype(np.float32), seeds, channel_axis=0, background=None)
    assert iou(out == 1, disk) > 0.95


def test_large_seed_values_widen_dtype(two_regions):
    image, seeds, expected = two_regions
    big = np.where(seeds == 9, np.int64(2**40), seeds.astype(np.int64))
    out = graph_cut(image, big, background=None)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, np.where(expected == 9, 2**40, 7))


def test_seeds_covering_everything_returned_with_warning():
    seeds = np.ones((6, 6), np.int32)
    seeds[:, 3:] = 2
    with pytest.warns(UserWarning, match="seeds cover every pixel"):
        out = graph_cut(np.random.default_rng(0).random((6, 6)), seeds, background=None)
    np.testing.assert_array_equal(out, seeds)


def test_progress_can_cancel(two_regions):
    image, seeds, _ = two_regions

    def cancel(fraction, message):
        raise Cancelled()

    with pytest.raises(Cancelled):
        graph_cut(image, seeds, progress=cancel, background=None)


@pytest.mark.parametrize(
    "image, seeds, kwargs, match",
    [
        (np.zeros((8, 8)), np.zeros((8, 8), float), {}, "seeds has dtype float64"),
        (np.zeros((8, 8)), np.zeros((10, 512, 512), int), {}, r"seeds has shape \(10, 512, 512\)"),
        (np.zeros((8, 8)), np.zeros((8, 8), int), {}, "seeds are empty"),
        (np.zeros((8, 8)), np.eye(8, dtype=int), {}, r"only the value \[1\]"),
        (np.zeros((8, 8)), -np.eye(8, dtype=int), {}, "negative values"),
        (np.full((8, 8), np.nan), np.eye(8, dtype=int) * 2 + np.fliplr(np.eye(8, dtype=int)), {}, "64 NaN"),
        (np.zeros((8, 8), complex), np.zeros((8, 8), int), {}, "complex"),
        (np.zeros(8), np.zeros(8, int), {}, "graph_cut accepts 2-D or 3-D"),
        (np.zeros((0, 8)), np.zeros((0, 8), int), {}, r"shape \(0, 8\): empty"),
        (np.zeros((8, 8)), np.eye(8, dtype=int), {"spacing": (1, 1, 1)}, "one value per spatial axis"),
        (np.zeros((8, 8)), np.eye(8, dtype=int), {"smoothness": -1}, "smoothness must be non-negative"),
        (np.zeros((8, 8)), np.eye(8, dtype=int), {"connectivity": 6}, "connectivity=6 is not valid"),
        (np.zeros((8, 8)), np.eye(8, dtype=int), {"channel_axis": 2}, "channel_axis=2 is out of range"),
        (np.zeros((8, 8)), np.eye(8, dtype=int), {"max_iter": 0}, "max_iter"),
    ],
)
def test_bad_input_errors_name_the_problem(image, seeds, kwargs, match):
    with pytest.raises(InputError, match=match):
        graph_cut(image, seeds, **kwargs, background=None)


def test_memory_guard_refuses_before_building():
    image = np.zeros((64, 64), np.float32)
    seeds = np.zeros((64, 64), np.int32)
    seeds[0, 0], seeds[-1, -1] = 1, 2
    with pytest.raises(ResourceLimitError, match=r"needs about .* GB .* crop the image"):
        graph_cut(image, seeds, memory_limit=10_000, background=None)


def test_dask_input_checked_before_it_is_read(two_regions):
    da = pytest.importorskip("dask.array")
    image, seeds, expected = two_regions
    np.testing.assert_array_equal(graph_cut(da.from_array(image, chunks=16), seeds, background=None), expected)

    def never_read(block):
        raise AssertionError("the image was read before the memory check")

    lazy = da.zeros((4096, 4096), chunks=1024).map_blocks(never_read, dtype=float)
    big_seeds = np.zeros((4096, 4096), np.uint8)
    big_seeds[0, 0], big_seeds[1, 1] = 1, 2
    with pytest.raises(ResourceLimitError):
        graph_cut(lazy, big_seeds, memory_limit=10**6, background=None)


def test_int32_arc_limit_refused():
    from napari_segkit.graph.memory import GraphBudget, check_graph_budget

    with pytest.raises(ResourceLimitError, match="over PyMaxflow's limit"):
        check_graph_budget(GraphBudget(2048**3, 3 * 2048**3, 0, 0), memory_limit=2**62)
