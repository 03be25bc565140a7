"""The synthetic samples: truth, seeds and the properties the tests and benchmarks rely on."""

import numpy as np

from napari_segkit.samples import voronoi_rgb


def test_voronoi_rgb_regions_seeds_and_grain():
    sample = voronoi_rgb((96, 128), n_regions=5, noise=10.0, rng=4)
    assert sample.image.shape == (96, 128, 3) and sample.image.dtype == np.uint8
    assert sample.labels.dtype == np.int32 and set(np.unique(sample.labels)) == {1, 2, 3, 4, 5}
    for region in range(1, 6):  # each region seeded with its own label, inside it
        seeded = sample.seeds == region
        assert seeded.any() and (sample.labels[seeded] == region).all()
    # the image follows the truth: per-region colours differ much more than the noise
    means = np.array([sample.image[sample.labels == r].mean(axis=0) for r in range(1, 6)])
    assert np.median(np.abs(means[:, None] - means[None]).max(axis=-1)[np.triu_indices(5, 1)]) > 30
    # a grainy region has region 1's mean colour but three times its noise
    grainy = voronoi_rgb((96, 128), n_regions=5, noise=10.0, grainy_region=2, grain=30.0, rng=4)
    one, two = (grainy.image[grainy.labels == r].astype(float) for r in (1, 2))
    assert np.abs(one.mean(axis=0) - two.mean(axis=0)).max() < 6
    assert 2.0 < two.std(axis=0).mean() / one.std(axis=0).mean() < 4.0
    assert np.array_equal(voronoi_rgb(rng=1).image, voronoi_rgb(rng=1).image)
