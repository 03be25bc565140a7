"""Gaussian mixtures against scipy's densities and known clusters."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from napari_segkit.graph.gmm import GaussianMixture, kmeans_plus_plus


def _random_mixture(rng, k, c):
    means = rng.normal(0, 1, (k, c))
    a = rng.normal(0, 0.5, (k, c, c))
    cov = a @ np.swapaxes(a, 1, 2) + 0.1 * np.eye(c)
    weights = rng.dirichlet(np.ones(k))
    return GaussianMixture(weights, means, cov, 0.0, rng.normal(0, 1, c))


@pytest.mark.parametrize("c", [1, 2, 3, 5])
def test_log_densities_match_scipy(c):
    rng = np.random.default_rng(c)
    gmm = _random_mixture(rng, 4, c)
    x = rng.normal(0, 1.5, (300, c))
    expected = np.stack(
        [np.log(w) + multivariate_normal(m, s).logpdf(x) for w, m, s in zip(gmm.weights, gmm.means, gmm.covariances)],
        axis=1,
    ).reshape(300, 4)
    np.testing.assert_allclose(gmm.component_log_prob(x), expected, rtol=1e-4, atol=1e-3)
    nll, best = gmm.score(x)
    np.testing.assert_allclose(nll, -logsumexp(expected, axis=1), rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(best, np.argmax(expected, axis=1))


def test_from_assignments_gives_sample_statistics():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (500, 3)) + 5.0
    assign = rng.integers(0, 3, 500)
    gmm = GaussianMixture.from_assignments(x, assign, 3, reg=0.0)
    for k in range(3):
        sel = x[assign == k]
        np.testing.assert_allclose(gmm.means[k], sel.mean(axis=0), atol=1e-10)
        np.testing.assert_allclose(gmm.covariances[k], np.cov(sel.T, bias=True), atol=1e-8)
        assert gmm.weights[k] == pytest.approx(len(sel) / 500)


def test_empty_components_are_dropped():
    x = np.arange(20, dtype=float).reshape(10, 2)
    gmm = GaussianMixture.from_assignments(x, np.array([0] * 5 + [2] * 5), 3, reg=1e-3)
    assert gmm.n_components == 2


def test_fit_finds_separated_clusters():
    rng = np.random.default_rng(2)
    truth = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    x = np.concatenate([rng.normal(m, 0.3, (400, 2)) for m in truth])
    gmm = GaussianMixture.fit(x, 3, rng=0)
    found = gmm.means[np.argsort(gmm.means[:, 0] + 2 * gmm.means[:, 1])]
    np.testing.assert_allclose(found, truth, atol=0.1)
    again = GaussianMixture.fit(x, 3, rng=0)
    np.testing.assert_array_equal(again.means, gmm.means)


def test_identical_samples_stay_positive_definite():
    x = np.ones((50, 3))
    gmm = GaussianMixture.fit(x, 5, rng=0, reg=1e-6)
    nll, _ = gmm.score(np.vstack([x[:3], [[2.0, 2.0, 2.0]]]))
    assert np.all(np.isfinite(nll))
    assert nll[3] > nll[0] + 100


def test_components_capped_by_samples_and_distinct_values():
    rng = np.random.default_rng(3)
    assert GaussianMixture.fit(rng.normal(size=(15, 2)), 5, rng=0).n_components == 1
    two_values = np.repeat([[0.0], [1.0]], 50, axis=0)
    assert len(kmeans_plus_plus(two_values, 5, rng=0)) == 2


def test_refit_is_one_hard_em_step():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(-2, 0.5, (300, 1)), rng.normal(2, 0.5, (300, 1))])
    gmm = GaussianMixture(np.array([0.5, 0.5]), np.array([[-1.0], [1.0]]), np.ones((2, 1, 1)), 1e-6, np.zeros(1))
    _, best = gmm.score(x)
    new = gmm.refit(x, best)
    np.testing.assert_allclose(np.sort(new.means[:, 0]), [-2, 2], atol=0.1)
    assert new.score(x)[0].sum() < gmm.score(x)[0].sum()
