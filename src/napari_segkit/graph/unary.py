"""Data terms learned from seeds: one intensity/colour histogram per seed value.

Features are scaled per channel to [0, 1] using the image's own minimum and
maximum, so the result does not depend on the dtype or the intensity range
(a uint8 image and the same image as uint16 or float give the same costs).
Up to three channels share one joint histogram (64 bins for one channel, 32
per axis for two, 16 for three); more channels are modelled channel by channel
(naive Bayes).  Histograms are smoothed with a Gaussian kernel whose width follows Scott's rule
for the seed samples (at least one bin), so a few scribbled pixels give a
smooth density rather than a comb, and given a small floor so an unseen value
costs a finite amount.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import ndimage as ndi

__all__ = ["HistogramModel", "normalise_features"]

_JOINT_BINS = {1: 64, 2: 32, 3: 16}
_PER_CHANNEL_BINS = 32
_MIN_SMOOTHING_BINS = 1.0
_FLOOR = 1e-3  # added to each normalised bin: caps a cost at about -log(1e-3) = 6.9


def normalise_features(image: np.ndarray) -> np.ndarray:
    """Return (..., C) float32 features scaled to [0, 1] per channel.

    A constant channel becomes all zeros.
    """
    features = np.asarray(image, dtype=np.float64)
    lo = features.min(axis=tuple(range(features.ndim - 1)))
    hi = features.max(axis=tuple(range(features.ndim - 1)))
    span = np.where(hi > lo, hi - lo, 1.0)
    return ((features - lo) / span).astype(np.float32)


class HistogramModel:
    """Per-label intensity histograms and their negative log-likelihoods.

    Parameters
    ----------
    n_channels : int
        Number of feature channels.
    """

    def __init__(self, n_channels: int) -> None:
        self.n_channels = int(n_channels)
        self.joint = self.n_channels in _JOINT_BINS
        self.n_bins = _JOINT_BINS.get(self.n_channels, _PER_CHANNEL_BINS)
        self.costs: list = []

    def _bin_index(self, features: np.ndarray) -> np.ndarray:
        """(..., C) features in [0, 1] -> (..., C) bin indices."""
        idx = (features * self.n_bins).astype(np.intp)
        np.minimum(idx, self.n_bins - 1, out=idx)
        np.maximum(idx, 0, out=idx)
        return idx

    def _joint_index(self, bins: np.ndarray) -> np.ndarray:
        flat = np.zeros(bins.shape[:-1], dtype=np.intp)
        for c in range(self.n_channels):
            flat *= self.n_bins
            flat += bins[..., c]
        return flat

    def fit(self, features: np.ndarray, seeds: np.ndarray, values: Sequence[int]) -> "HistogramModel":
        """Learn one histogram per seed value.

        Parameters
        ----------
        features : (..., C) ndarray of float in [0, 1]
        seeds : (...) ndarray of int
            0 = unknown; each value in ``values`` marks samples of one label.
        values : sequence of int
            The seed values, in the order of the cost rows returned later.
        """
        bins = self._bin_index(features)
        self.costs = []
        for value in values:
            selected = seeds == value
            sample = bins[selected]
            width = self._kernel_width(features[selected])
            if self.joint:
                hist = np.bincount(
                    self._joint_index(sample), minlength=self.n_bins**self.n_channels
                ).reshape((self.n_bins,) * self.n_channels)
                self.costs.append(self._neg_log(hist.astype(np.float64), width))
            else:
                per_channel = [
                    self._neg_log(
                        np.bincount(sample[:, c], minlength=self.n_bins).astype(np.float64),
                        width[c],
                    )
                    for c in range(self.n_channels)
                ]
                self.costs.append(np.stack(per_channel))
        return self

    def _kernel_width(self, samples: np.ndarray) -> np.ndarray:
        """Per-channel Gaussian kernel width in bins (Scott's rule, >= 1 bin)."""
        n = max(len(samples), 1)
        dims = self.n_channels if self.joint else 1
        spread = samples.std(axis=0, dtype=np.float64) if len(samples) > 1 else np.zeros(self.n_channels)
        width = spread * n ** (-1.0 / (dims + 4)) * self.n_bins
        return np.maximum(width, _MIN_SMOOTHING_BINS)

    @staticmethod
    def _neg_log(hist: np.ndarray, width) -> np.ndarray:
        hist = ndi.gaussian_filter(hist, width, mode="constant")
        total = hist.sum()
        prob = hist / total if total > 0 else np.full_like(hist, 1.0 / hist.size)
        return -np.log(prob + _FLOOR)

    def unary(self, features: np.ndarray) -> np.ndarray:
        """Return (L, ...) float64 costs: ``costs[l][p] = -log p(I_p | label l)``."""
        bins = self._bin_index(features)
        out = np.empty((len(self.costs),) + features.shape[:-1], dtype=np.float64)
        if self.joint:
            flat = self._joint_index(bins)
            for i, table in enumerate(self.costs):
                np.take(table.ravel(), flat, out=out[i])
        else:
            for i, table in enumerate(self.costs):
                out[i] = 0.0
                for c in range(self.n_channels):
                    out[i] += table[c][bins[..., c]]
        return out
