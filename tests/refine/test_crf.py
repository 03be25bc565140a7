"""Dense CRF refinement: the lattice against brute force, and better boundaries."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_segkit import Cancelled, InputError, ResourceLimitError
from napari_segkit.refine import crf_refine
from napari_segkit.refine.reference import dense_crf_brute_force
from napari_segkit.samples import nuclei_2d, nuclei_3d

SOFT = dict(theta_alpha=5.0, theta_beta=0.2, theta_gamma=1.5, w_appearance=1.0, w_smoothness=0.5)


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def noisy_disc(shape=(12, 12), seed=1):
    rng = np.random.default_rng(seed)
    grids = np.indices(shape)
    centre = [(s - 1) / 2 for s in shape]
    truth = sum((g - c) ** 2 for g, c in zip(grids, centre)) < (min(shape) / 3) ** 2
    image = 0.2 + 0.6 * truth + rng.normal(0, 0.05, shape)
    fg = np.clip(0.5 + 0.2 * (2 * truth - 1) + rng.normal(0, 0.2, shape), 0.01, 0.99)
    return image, np.stack([1 - fg, fg], axis=-1), truth


def brute_force(probs, image, **kwargs):
    """The exact CRF (classes first inside) on a class-last map."""
    return np.moveaxis(dense_crf_brute_force(np.moveaxis(probs, -1, 0), image, **kwargs), 0, -1)


@pytest.mark.parametrize(
    "params",
    [SOFT, dict(SOFT, w_smoothness=0.0), dict(SOFT, w_appearance=0.0), dict(SOFT, theta_alpha=20.0, theta_beta=0.1)],
)
def test_matches_brute_force_on_a_tiny_image(params):
    # weak weights keep Q away from 0 and 1, so differences show.  The
    # smoothness filter is exact (sampled Gaussian); the appearance filter's
    # lattice error is a few percent per message (test_lattice), which after
    # 5 iterations moves Q by at most ~0.02: allow 0.03 max and 0.005 mean,
    # against a refinement that changes Q by 0.02 to 0.1 on average.
    image, probs, _ = noisy_disc()
    ours = crf_refine(image, probs, max_iter=5, **params)
    ref = brute_force(probs, image, max_iter=5, **params)
    assert np.abs(ours - ref).max() < 0.03
    assert np.abs(ours - ref).mean() < 0.005
    assert np.abs(ref - probs).mean() > 0.02


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (3.0, 1.0, 1.0)])
def test_3d_anisotropic_matches_brute_force(spacing):
    image, probs, _ = noisy_disc((6, 10, 10), seed=2)
    ours = crf_refine(image, probs, spacing=spacing, **SOFT)
    ref = brute_force(probs, image, spacing=spacing, **SOFT)
    assert np.abs(ours - ref).max() < 0.03
    assert np.abs(ours - ref).mean() < 0.005


def test_spacing_changes_the_result_as_brute_force_does():
    image, probs, _ = noisy_disc((6, 10, 10), seed=2)
    iso = crf_refine(image, probs, **SOFT)
    aniso = crf_refine(image, probs, spacing=(4.0, 1.0, 1.0), **SOFT)
    ref_aniso = brute_force(probs, image, spacing=(4.0, 1.0, 1.0), **SOFT)
    # with spacing, ours is much closer to the anisotropic reference than the
    # isotropic result is
    assert np.abs(aniso - ref_aniso).mean() < 0.5 * np.abs(iso - ref_aniso).mean()
    # only ratios matter
    scaled = crf_refine(image, probs, spacing=(8.0, 2.0, 2.0), **SOFT)
    np.testing.assert_allclose(scaled, aniso, atol=1e-5)


@pytest.fixture(scope="module")
def nuclei():
    sample = nuclei_2d((128, 128), n_nuclei=14, rng=3)
    truth = sample.labels > 0
    fg = np.clip(ndi.gaussian_filter(truth.astype(float), 4) * 0.8 + 0.1, 0.01, 0.99)
    return sample.image, np.stack([1 - fg, fg], axis=-1).astype(np.float32), truth


def test_improves_boundaries_of_a_blurred_map(nuclei):
    image, probs, truth = nuclei
    before = iou(probs[..., 1] > 0.5, truth)
    refined = crf_refine(image, probs)
    after = iou(refined.argmax(axis=-1) == 1, truth)
    assert before < 0.86 and after > before + 0.06
    assert refined.shape == probs.shape and refined.dtype == np.float32
    np.testing.assert_allclose(refined.sum(axis=-1), 1.0, atol=1e-5)


def test_3d_volume_with_spacing_runs_and_improves():
    sample = nuclei_3d((16, 64, 64), n_nuclei=5, rng=1)
    truth = sample.labels > 0
    fg = np.clip(ndi.gaussian_filter(truth.astype(float), [1, 3, 3]) * 0.8 + 0.1, 0.01, 0.99)
    refined = crf_refine(sample.image, fg, spacing=sample.spacing)
    assert refined.shape == fg.shape
    assert iou(refined > 0.5, truth) > iou(fg > 0.5, truth) + 0.03


def test_input_layouts_give_the_same_result(nuclei):
    image, probs, _ = nuclei
    image, probs = image[:40, :48], probs[:40, :48]
    base = crf_refine(image, probs)
    # one object map, with or without a class axis of length 1
    single = crf_refine(image, probs[..., 1])
    assert single.shape == (40, 48)
    np.testing.assert_allclose(single, base[..., 1], atol=1e-5)
    kept = crf_refine(image, probs[..., 1:])
    assert kept.shape == (40, 48, 1)
    np.testing.assert_allclose(kept[..., 0], single, atol=1e-6)
    # logits
    logits = np.log(probs.astype(np.float64))
    np.testing.assert_allclose(crf_refine(image, logits, from_logits=True), base, atol=1e-4)
    # the same image in another dtype and range: the same features
    scaled = image.astype(np.float64) * 1000.0 + 1e6
    np.testing.assert_allclose(crf_refine(scaled, probs), base, atol=1e-4)
    # inputs are not modified
    assert probs.flags.writeable


def test_every_channel_counts(nuclei):
    image, probs, truth = nuclei
    # the nuclei are visible in the second channel only; the first is noise
    noise = np.random.default_rng(5).normal(100, 10, image.shape)
    two = np.stack([noise, image], axis=0)
    out = crf_refine(two, probs, channel_axis=0)
    assert out.shape == probs.shape
    assert iou(out.argmax(axis=-1) == 1, truth) > iou(probs[..., 1] > 0.5, truth) + 0.04


def test_zero_iterations_return_the_input(nuclei):
    image, probs, _ = nuclei
    np.testing.assert_allclose(crf_refine(image, probs, max_iter=0), probs, atol=1e-6)


def test_constant_image_warns(nuclei):
    _, probs, _ = nuclei
    with pytest.warns(UserWarning, match="constant"):
        crf_refine(np.full((20, 20), 7, np.uint8), probs[:20, :20])


def test_progress_and_cancel(nuclei):
    image, probs, _ = nuclei
    seen = []
    crf_refine(image, probs, max_iter=3, progress=lambda f, m: seen.append((f, m)))
    assert seen[0][0] == 0.0 and seen[-1][0] == pytest.approx(1.0)
    assert sum("iteration" in m for _, m in seen) == 3

    def cancel(fraction, message):
        if "iteration 2" in message:
            raise Cancelled()

    with pytest.raises(Cancelled):
        crf_refine(image, probs, max_iter=5, progress=cancel)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda p, i: (p[:, :10], i), r"spatial shape \(20, 20\) plus a last axis"),
        (lambda p, i: (np.moveaxis(p, -1, 0), i), r"class-first.*np.moveaxis\(probabilities, 0, -1\)"),
        (lambda p, i: (p * 2, i), "values outside"),
        (lambda p, i: (np.concatenate([p, p[..., :1]], axis=-1), i), "do not sum to 1"),
        (lambda p, i: ((p * 255).astype(np.uint8), i), "dtype uint8"),
        (lambda p, i: (np.where(np.arange(20)[:, None, None] < 3, np.nan, p), i), "probabilities has 120 NaN"),
        (lambda p, i: (p, np.where(np.arange(20) < 2, np.inf, i)), "image has 40 infinite"),
        (lambda p, i: (p, i.astype(complex)), "complex"),
        (lambda p, i: (p, i[:0]), "empty"),
        (lambda p, i: (p[0], i[0]), "2-D or 3-D"),
    ],
)
def test_bad_inputs(change, match):
    rng = np.random.default_rng(0)
    fg = rng.random((20, 20))
    probs, image = change(np.stack([1 - fg, fg], axis=-1), rng.random((20, 20)))
    with pytest.raises(InputError, match=match):
        crf_refine(image, probs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(max_iter=-1), "max_iter"),
        (dict(theta_alpha=0), "theta_alpha"),
        (dict(theta_beta=np.nan), "theta_beta"),
        (dict(w_appearance=-1), "w_appearance"),
        (dict(spacing=(1, 0)), "spacing"),
        (dict(channel_axis=2), "channel_axis=2"),
    ],
)
def test_bad_options(kwargs, match):
    fg = np.random.default_rng(0).random((20, 20))
    with pytest.raises(InputError, match=match):
        crf_refine(fg, np.stack([1 - fg, fg], axis=-1), **kwargs)


def test_memory_limit_is_checked_before_work():
    fg = np.random.default_rng(0).random((20, 20))
    with pytest.raises(ResourceLimitError, match="crf_refine needs about"):
        crf_refine(fg, fg, memory_limit=1000)
