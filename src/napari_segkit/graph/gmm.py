"""Full-covariance Gaussian mixtures for colour/intensity data terms, in numpy.

GrabCut (Rother, Kolmogorov and Blake 2004) models object and background each
with a mixture of ``K`` Gaussians over the pixel's channel vector and
re-estimates them between graph cuts by *hard* EM: every sample goes to its
most likely component, then each component's weight, mean and covariance are
recomputed from its samples.  This module does that for any number of
channels, without a loop over pixels:

- the log-density of every sample under every component comes from whitening
  by the inverse Cholesky factor, in element-wise float32 passes over the
  samples in (C, n) layout;
- per-component sums come from ``np.bincount``.

Covariances get ``reg`` added to their diagonal, so a component of identical
samples (flat 8-bit regions) stays positive definite.  Samples are centred on
``centre`` (a fixed point, typically the data mean), so float32 keeps the
densities accurate and callers can centre once and score many times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

__all__ = ["GaussianMixture", "kmeans_plus_plus", "kmeans"]

_LOG_2PI = float(np.log(2.0 * np.pi))
# samples used to initialise the components by k-means (more add nothing but time)
KMEANS_SAMPLES = 4000
KMEANS_ITERATIONS = 10
# samples an initial fit learns from by default (a random subset beyond this)
FIT_SAMPLES = 20000
# samples evaluated at a time (temporaries stay in the CPU cache)
BLOCK = 8192


def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def kmeans_plus_plus(samples: np.ndarray, k: int, rng=None) -> np.ndarray:
    """``k`` initial centres chosen by k-means++ (Arthur and Vassilvitskii 2007).

    Fewer centres are returned when the samples have fewer distinct values.
    """
    rng = _rng(rng)
    n = samples.shape[0]
    centres = [samples[rng.integers(n)]]
    d2 = ((samples - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = d2.sum()
        if total <= 0:
            break  # every sample coincides with a centre
        centre = samples[rng.choice(n, p=d2 / total)]
        centres.append(centre)
        np.minimum(d2, ((samples - centre) ** 2).sum(axis=1), out=d2)
    return np.asarray(centres)


def kmeans(
    samples: np.ndarray, k: int, rng=None, *, n_iter: int = KMEANS_ITERATIONS
) -> np.ndarray:
    """Lloyd's k-means from k-means++ centres; returns the centres (k' <= k, C)."""
    centres = kmeans_plus_plus(samples, k, rng)
    for _ in range(n_iter):
        labels = _nearest(samples, centres)
        counts = np.bincount(labels, minlength=len(centres))
        keep = counts > 0
        sums = np.stack(
            [np.bincount(labels, weights=samples[:, c], minlength=len(centres)) for c in range(samples.shape[1])],
            axis=1,
        )
        new = sums[keep] / counts[keep, None]
        if new.shape == centres.shape and np.allclose(new, centres):
            break
        centres = new
    return centres


def _nearest(samples: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of each (n, C) sample (column passes, no BLAS)."""
    columns = np.ascontiguousarray(samples.T)
    n = columns.shape[1]
    best = np.zeros(n, dtype=np.intp)
    best_d = np.full(n, np.inf)
    d = np.empty(n)
    tmp = np.empty(n)
    closer = np.empty(n, dtype=bool)
    for k, centre in enumerate(centres):
        d[...] = 0.0
        for c, value in enumerate(centre):
            np.subtract(columns[c], value, out=tmp)
            np.square(tmp, out=tmp)
            d += tmp
        np.less(d, best_d, out=closer)
        best[closer] = k
        np.minimum(best_d, d, out=best_d)
    return best


@dataclass
class GaussianMixture:
    """A mixture of full-covariance Gaussians over (n, C) samples.

    Attributes
    ----------
    weights : (K,) ndarray
    means : (K, C) ndarray
    covariances : (K, C, C) ndarray
        Regularised (``reg`` already on the diagonal).
    reg : float
        Added to each covariance's diagonal when it is estimated.
    centre : (C,) ndarray
        Samples are centred on this point before evaluating densities.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    reg: float
    centre: np.ndarray

    def __post_init__(self) -> None:
        self._prepare()

    @property
    def n_components(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.means.shape[1])

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_assignments(
        cls,
        samples: np.ndarray,
        assignments: np.ndarray,
        n_components: int,
        *,
        reg: float = 1e-6,
        centre: Optional[np.ndarray] = None,
    ) -> "GaussianMixture":
        """Weights, means and covariances of each component from its samples.

        Components with no sample are dropped.

        Parameters
        ----------
        samples : (n, C) ndarray of float
        assignments : (n,) ndarray of int in [0, n_components)
        n_components : int
        reg : float
            Added to the diagonal of each covariance.
        centre : (C,) ndarray, optional
            Default: the samples' mean.

        Raises
        ------
        ValueError
            If there are no samples.
        """
        samples = np.asarray(samples, dtype=np.float64)
        if samples.shape[0] == 0:
            raise ValueError("cannot fit a Gaussian mixture to no samples")
        if centre is None:
            centre = samples.mean(axis=0)
        centre = np.asarray(centre, dtype=np.float64)
        return cls.from_columns((samples - centre).T, assignments, n_components, reg=reg, centre=centre)

    @classmethod
    def from_columns(
        cls,
        columns: np.ndarray,
        assignments: np.ndarray,
        n_components: int,
        *,
        reg: float,
        centre: np.ndarray,
    ) -> "GaussianMixture":
        """:meth:`from_assignments` for (C, n) samples already centred on ``centre``."""
        c, n = columns.shape
        if n == 0:
            raise ValueError("cannot fit a Gaussian mixture to no samples")
        counts = np.bincount(assignments, minlength=n_components).astype(np.float64)
        keep = counts > 0
        sums = np.stack([np.bincount(assignments, weights=columns[i], minlength=n_components) for i in range(c)], axis=1)
        rows, cols = np.triu_indices(c)
        second = np.stack(
            [
                np.bincount(assignments, weights=columns[i].astype(np.float64) * columns[j], minlength=n_components)
                for i, j in zip(rows, cols)
            ],
            axis=1,
        )
        counts, sums, second = counts[keep], sums[keep], second[keep]
        means = sums / counts[:, None]
        cov = np.zeros((len(counts), c, c))
        cov[:, rows, cols] = second / counts[:, None]
        cov[:, cols, rows] = cov[:, rows, cols]
        cov -= means[:, :, None] * means[:, None, :]
        cov[:, np.arange(c), np.arange(c)] += reg
        return cls(counts / counts.sum(), means + centre, cov, float(reg), np.asarray(centre, float))

    @classmethod
    def fit(
        cls,
        samples: np.ndarray,
        n_components: int,
        rng=None,
        *,
        reg: float = 1e-6,
        centre: Optional[np.ndarray] = None,
        max_samples: Optional[int] = FIT_SAMPLES,
    ) -> "GaussianMixture":
        """Initialise by k-means (k-means++ seeding on a subsample) and one
        hard-assignment estimate, as GrabCut does.

        ``n_components`` is capped so each component has about 10 samples.
        With more than ``max_samples`` samples, a random subset of that many
        is used (None: all).
        """
        rng = _rng(rng)
        samples = np.asarray(samples)
        n = samples.shape[0]
        if n == 0:
            raise ValueError("cannot fit a Gaussian mixture to no samples")
        if centre is None:
            centre = samples.mean(axis=0, dtype=np.float64)
        if max_samples is not None and n > max_samples:
            samples = samples[np.sort(rng.choice(n, int(max_samples), replace=False))]
            n = samples.shape[0]
        samples = samples.astype(np.float64)
        k = max(1, min(int(n_components), n // 10))
        subset = samples if n <= KMEANS_SAMPLES else samples[rng.choice(n, KMEANS_SAMPLES, replace=False)]
        centres = kmeans(subset - centre, k, rng) + centre
        assignments = _nearest(samples - centre, centres - centre)
        return cls.from_assignments(samples, assignments, len(centres), reg=reg, centre=centre)

    # -- evaluation ---------------------------------------------------------------------
    def _prepare(self) -> None:
        """Whitening factors: ``(x - mu)^T Sigma^-1 (x - mu) = ||U (x - mu)||^2``, U upper."""
        c = self.n_channels
        # Sigma = R R^T (Cholesky, R lower) => Sigma^-1 = R^-T R^-1, so U = R^-1
        chol = np.linalg.cholesky(self.covariances)
        eye = np.broadcast_to(np.eye(c), chol.shape)
        self._whiten = np.linalg.solve(chol, eye)  # (K, C, C) lower triangular R^-1
        logdet = 2.0 * np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
        self._const = np.log(np.maximum(self.weights, 1e-300)) - 0.5 * (c * _LOG_2PI + logdet)
        self._mu32 = (self.means - self.centre).astype(np.float32)[:, :, None]
        self._whiten32 = self._whiten.astype(np.float32)
        self._const32 = self._const.astype(np.float32)

    def component_log_prob_columns(self, columns: np.ndarray) -> np.ndarray:
        """(K, n) float32 ``log(w_k N(x_n | k))`` from samples in (C, n) layout, already centred.

        Element-wise passes over float32 rows (no BLAS call: tall-skinny
        products of a few channels are slow and thread-hungry in BLAS).
        """
        out = np.empty((self.n_components, columns.shape[1]), dtype=np.float32)
        for start in range(0, columns.shape[1], BLOCK):
            stop = min(start + BLOCK, columns.shape[1])
            self._log_prob_block(columns[:, start:stop], out[:, start:stop])
        return out

    def _log_prob_block(self, columns: np.ndarray, out: np.ndarray) -> None:
        c, n = columns.shape
        diff = np.empty((c, n), dtype=np.float32)
        row = np.empty(n, dtype=np.float32)
        tmp = np.empty(n, dtype=np.float32)
        for k in range(self.n_components):
            np.subtract(columns, self._mu32[k], out=diff)
            acc = out[k]
            whiten = self._whiten32[k]
            for j in range(c):  # row j of R^-1 has entries in columns 0..j
                np.multiply(diff[0], whiten[j, 0], out=row)
                for i in range(1, j + 1):
                    np.multiply(diff[i], whiten[j, i], out=tmp)
                    row += tmp
                if j == 0:
                    np.square(row, out=acc)
                else:
                    np.square(row, out=row)
                    acc += row
            acc *= np.float32(-0.5)
            acc += self._const32[k]

    def centred_columns(self, samples: np.ndarray) -> np.ndarray:
        """(n, C) samples -> (C, n) float32, centred on ``centre``."""
        samples = np.asarray(samples)
        return (samples.T - self.centre[:, None]).astype(np.float32)

    def component_log_prob(self, samples: np.ndarray) -> np.ndarray:
        """(n, K) ``log(w_k N(x_n | mu_k, Sigma_k))`` (float32)."""
        return self.component_log_prob_columns(self.centred_columns(samples)).T

    def neg_log_likelihood(self, samples: np.ndarray) -> np.ndarray:
        """(n,) ``-log sum_k w_k N(x_n | k)``."""
        nll, _ = self.score(samples)
        return nll

    def score(self, samples: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Negative log-likelihood (n,) and most likely component (n,) of each sample."""
        return self.score_columns(self.centred_columns(samples))

    def score_columns(self, columns: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """:meth:`score` for centred (C, n) float32 samples (see :meth:`centred_columns`)."""
        n = columns.shape[1]
        nll = np.empty(n, dtype=np.float64)
        best = np.zeros(n, dtype=np.intp)
        for start in range(0, n, BLOCK):
            stop = min(start + BLOCK, n)
            self._score_block(columns[:, start:stop], nll[start:stop], best[start:stop])
        return nll, best

    def _score_block(self, columns: np.ndarray, nll: np.ndarray, best: np.ndarray) -> None:
        n = columns.shape[1]
        logp = np.empty((self.n_components, n), dtype=np.float32)
        self._log_prob_block(columns, logp)
        if self.n_components == 1:
            np.negative(logp[0], out=nll)
            return
        # row-wise passes (a reduction along axis 0 of (K, n) is slow in numpy)
        top = logp[0].copy()
        larger = np.empty(n, dtype=bool)
        for k in range(1, self.n_components):
            np.greater(logp[k], top, out=larger)
            np.copyto(best, k, where=larger)
            np.maximum(top, logp[k], out=top)
        total = np.zeros(n, dtype=np.float32)
        tmp = np.empty(n, dtype=np.float32)
        for k in range(self.n_components):
            np.subtract(logp[k], top, out=tmp)
            np.exp(tmp, out=tmp)
            total += tmp
        np.log(total, out=total)
        total += top
        np.negative(total, out=nll)

    def refit(self, samples: np.ndarray, assignments: np.ndarray) -> "GaussianMixture":
        """One hard-EM step: a new mixture from (n, C) samples and their components."""
        return GaussianMixture.from_assignments(
            samples, assignments, self.n_components, reg=self.reg, centre=self.centre
        )

    def refit_columns(self, columns: np.ndarray, assignments: np.ndarray) -> "GaussianMixture":
        """:meth:`refit` for (C, n) samples centred on this mixture's ``centre``."""
        return GaussianMixture.from_columns(
            columns, assignments, self.n_components, reg=self.reg, centre=self.centre
        )
